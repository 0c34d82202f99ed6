//! A blocking `Session` is `Send`: made and used on one thread, its next call from another
//! thread, or from inside a tokio runtime, must not wait on a pooled connection that belongs
//! to a runtime nobody drives any more (reqwest issue #2501).
//!
//! These tests need a server that keeps connections open, which mockito does not (it answers
//! every request with `connection: close`, so no connection is ever pooled): [`KeepAlive`] is
//! a few lines of HTTP/1.1 on loopback that answers every request as userinfo does and
//! counts requests and connections.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tapis_auth::{ApiRequest, BaseUrl, LoginOptions, SecretString, Session, blocking, session_from_token};

use crate::support::*;

/// Short, so that a call stuck on an undriven connection fails fast instead of taking the
/// default 30 s; a working call takes milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Well within [`REQUEST_TIMEOUT`].
const PROMPT: Duration = Duration::from_millis(2500);

/// Calls made on the first thread, before the session moves.
const N_CALLS_HERE: usize = 2;

/// An HTTP/1.1 server on loopback that keeps connections alive and answers every request
/// 200 with a userinfo envelope.
struct KeepAlive {
    url: String,
    /// Requests answered, and how many of them carried the expected `X-Tapis-Token`.
    n_requests: Arc<AtomicUsize>,
    n_with_token: Arc<AtomicUsize>,
    n_connections: Arc<AtomicUsize>,
}

impl KeepAlive {
    /// Starts the server; it expects requests to carry `X-Tapis-Token` of a token made by
    /// [`KeepAlive::token`].
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let counters = [0; 3].map(|_| Arc::new(AtomicUsize::new(0)));
        let [n_requests, n_with_token, n_connections] = counters.clone();
        let expected_header = format!("x-tapis-token: {}\r\n", Self::token_for(&url));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                n_connections.fetch_add(1, Ordering::SeqCst);
                let (n_requests, n_with_token) = (Arc::clone(&n_requests), Arc::clone(&n_with_token));
                let expected_header = expected_header.clone();
                std::thread::spawn(move || {
                    while let Some(head) = read_head(&stream) {
                        n_requests.fetch_add(1, Ordering::SeqCst);
                        if head.to_ascii_lowercase().contains(&expected_header.to_ascii_lowercase()) {
                            n_with_token.fetch_add(1, Ordering::SeqCst);
                        }
                        let body =
                            tapis_testkit::envelope("User info retrieved.", serde_json::json!({"username": USERNAME}))
                                .to_string();
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if (&stream).write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let [n_requests, n_with_token, n_connections] = counters;
        Self { url, n_requests, n_with_token, n_connections }
    }

    fn token_for(url: &str) -> String {
        jwt(url, USERNAME, valid_exp())
    }

    /// A session on this server from a given token (no request made), with a short request
    /// timeout.
    fn session(&self, folder: &std::path::Path) -> Session {
        let mut options = LoginOptions::new(BaseUrl::parse(&self.url).expect("a loopback URL"), folder.join("t.json"));
        options.client.request_timeout = REQUEST_TIMEOUT;
        session_from_token(&options, SecretString::from(Self::token_for(&self.url))).expect("a session")
    }

    /// Asserts that exactly `n` requests came, all with the token, over one connection.
    #[track_caller]
    fn assert_requests(&self, n: usize) {
        assert_eq!(self.n_requests.load(Ordering::SeqCst), n, "requests answered");
        assert_eq!(self.n_with_token.load(Ordering::SeqCst), n, "requests with the session's token");
        // hyper puts a connection back in its pool from a task of its own, so a call made at
        // once may find the pool empty and open another: the count is not fixed, and what
        // the tests assert is that every call is answered promptly.
        let n_connections = self.n_connections.load(Ordering::SeqCst);
        assert!((1..=n).contains(&n_connections), "{n_connections} connections for {n} requests");
    }
}

/// A request's head (up to its empty line), or `None` at the end of the connection. The
/// requests these tests send have no body.
fn read_head(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Some(head);
        }
    }
}

/// A session on `server` that has made [`N_CALLS_HERE`] calls on this thread, so that its
/// pool holds an idle connection made here.
fn a_session_used_here(server: &KeepAlive, folder: &std::path::Path) -> Session {
    let mut session = server.session(folder);
    for _ in 0..N_CALLS_HERE {
        let answer = blocking::call(&mut session, &ApiRequest::get(USERINFO_PATH)).expect("answered here");
        assert_eq!(answer.status, 200);
    }
    session
}

/// Calls userinfo through `session`, timed.
fn timed_call(session: &mut Session) -> (Duration, Result<u16, String>) {
    let started = Instant::now();
    let answer = blocking::call(session, &ApiRequest::get(USERINFO_PATH));
    (started.elapsed(), answer.map(|answer| answer.status).map_err(|error| error.to_string()))
}

#[track_caller]
fn assert_prompt_success((elapsed, answer): (Duration, Result<u16, String>), context: &str) {
    assert_eq!(answer, Ok(200), "{context}");
    assert!(elapsed < PROMPT, "{context}: took {elapsed:?}, with a request timeout of {REQUEST_TIMEOUT:?}");
}

#[test]
fn a_blocking_session_moved_to_another_thread_calls_promptly() {
    let server = KeepAlive::start();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut session = a_session_used_here(&server, folder.path());

    // This thread stays alive (and idle) while another one uses the session.
    let timed = std::thread::spawn(move || timed_call(&mut session)).join().expect("the thread ran");

    assert_prompt_success(timed, "the call from another thread");
    server.assert_requests(N_CALLS_HERE + 1);
}

#[test]
fn a_blocking_session_used_outside_then_inside_a_runtime_calls_promptly() {
    let multi_thread = || tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let current_thread = || tokio::runtime::Builder::new_current_thread().enable_all().build();
    for (flavour, runtime) in [("multi-thread", multi_thread()), ("current-thread", current_thread())] {
        let server = KeepAlive::start();
        let folder = tempfile::tempdir().expect("temp folder");
        let mut session = a_session_used_here(&server, folder.path());

        let timed = runtime.expect("a runtime").block_on(async { timed_call(&mut session) });

        assert_prompt_success(timed, &format!("the call inside a {flavour} runtime"));
        server.assert_requests(N_CALLS_HERE + 1);
    }
}
