//! A blocking `Session` is `Send`: made and used on one thread, its next call from another
//! thread, or from inside a tokio runtime, must not wait on a pooled connection that belongs
//! to a runtime nobody drives any more (reqwest issue #2501).
//!
//! These tests need a server that keeps connections open, which mockito does not:
//! [`KeepAlive`].

use std::time::{Duration, Instant};

use tapis_auth::{ApiRequest, Session, blocking};

use crate::keep_alive::{KeepAlive, REQUEST_TIMEOUT};

use crate::support::*;

/// Well within [`REQUEST_TIMEOUT`].
const PROMPT: Duration = Duration::from_millis(2500);

/// Calls made on the first thread, before the session moves.
const N_CALLS_HERE: usize = 2;

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
