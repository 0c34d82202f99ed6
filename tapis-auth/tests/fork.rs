//! A session used in a forked child. It has a process of its own: `fork` copies only the
//! calling thread, so no other test may be running in this one.

// `fork` and `waitpid` have no safe wrapper in the crates this workspace uses.
#![allow(unsafe_code)]
// Windows has no `fork`.
#![cfg(unix)]

#[path = "it/keep_alive.rs"]
mod keep_alive;

use std::sync::atomic::Ordering;

use tapis_auth::{ApiRequest, Session, blocking};

use crate::keep_alive::KeepAlive;

/// Whether a call on `session` gets the server's 200.
fn call_succeeds(session: &mut Session) -> bool {
    blocking::call(session, &ApiRequest::get("/v3/oauth2/userinfo")).is_ok_and(|answer| answer.status == 200)
}

/// The parent's pooled connection is its own: a child that used it would wait for an answer
/// that the parent's runtime (absent in the child) was to read, until the request timeout.
/// The child makes a connection of its own, and the parent's keeps working.
#[test]
fn a_session_used_in_a_forked_child_makes_its_own_connection() {
    let server = KeepAlive::start();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut session = server.session(folder.path());
    // Two calls, so that the first one's connection is back in the pool.
    assert!(call_succeeds(&mut session) && call_succeeds(&mut session), "the parent's calls");
    let n_connections = server.n_connections.load(Ordering::SeqCst);

    // SAFETY: this test binary runs this one test, so no other thread of the test holds a
    // lock the child could need; the child makes its call and leaves with `_exit`, running
    // no destructor of the parent's.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        let code = if call_succeeds(&mut session) { 0 } else { 1 };
        // SAFETY: ends the child at once, as a forked child of a threaded process should.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child made above.
    let waited = unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(waited, child, "waitpid failed");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child's call failed: status {status}");
    assert_eq!(server.n_connections.load(Ordering::SeqCst), n_connections + 1, "the child's own connection");

    assert!(call_succeeds(&mut session), "the parent's call after the fork");
    server.assert_requests(4);
}
