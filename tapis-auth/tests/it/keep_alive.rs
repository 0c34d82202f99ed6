//! An HTTP/1.1 server on loopback that keeps connections open, which mockito does not (it
//! answers every request with `connection: close`, so no connection is ever pooled): a few
//! lines that answer every request as userinfo does and count requests and connections.
//! Used by the thread tests of `it` and by the fork test, which has a binary of its own.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tapis_auth::{BaseUrl, LoginOptions, SecretString, Session, session_from_token};

/// The user of the server's tokens and answers.
const USERNAME: &str = "jdoe";

/// Short, so that a call stuck on an undriven connection fails fast instead of taking the
/// default 30 s; a working call takes milliseconds.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP/1.1 server on loopback that keeps connections alive and answers every request
/// 200 with a userinfo envelope.
pub(crate) struct KeepAlive {
    url: String,
    /// The session's token, made once: two tokens made a second apart differ in `exp`.
    token: String,
    /// Requests answered, and how many of them carried the expected `X-Tapis-Token`.
    pub(crate) n_requests: Arc<AtomicUsize>,
    n_with_token: Arc<AtomicUsize>,
    pub(crate) n_connections: Arc<AtomicUsize>,
}

impl KeepAlive {
    /// Starts the server; it expects requests to carry `X-Tapis-Token` of the token that
    /// [`KeepAlive::session`] is given.
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let counters = [0; 3].map(|_| Arc::new(AtomicUsize::new(0)));
        let [n_requests, n_with_token, n_connections] = counters.clone();
        let token = Self::token_for(&url);
        let expected_header = format!("x-tapis-token: {token}\r\n");
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
        Self { url, token, n_requests, n_with_token, n_connections }
    }

    fn token_for(url: &str) -> String {
        tapis_testkit::jwt(&tapis_testkit::claims(USERNAME, tapis_testkit::now_unix() + 4 * 3600, url))
    }

    /// A session on this server from a given token (no request made), with a short request
    /// timeout.
    pub(crate) fn session(&self, folder: &std::path::Path) -> Session {
        let mut options = LoginOptions::new(BaseUrl::parse(&self.url).expect("a loopback URL"), folder.join("t.json"));
        options.client.request_timeout = REQUEST_TIMEOUT;
        session_from_token(&options, SecretString::from(self.token.clone())).expect("a session")
    }

    /// Asserts that exactly `n` requests came, all with the token, over one connection.
    #[track_caller]
    pub(crate) fn assert_requests(&self, n: usize) {
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
