//! The blocking API, for the CLI and for programs without an async runtime: the same flow
//! as the crate root's async functions, run to completion on a private runtime.
//!
//! ```no_run
//! use tapis_auth::{ApiRequest, BaseUrl, LoginOptions, NoPrompt, blocking};
//!
//! let options = LoginOptions::new(BaseUrl::parse("https://designsafe.tapis.io")?, "/tmp/tokens.json");
//! let mut session = blocking::connect(&options, &mut NoPrompt)?;
//! let answer = blocking::call(&mut session, &ApiRequest::get("/v3/oauth2/userinfo"))?;
//! println!("{} until {}", answer.status, session.expires_at());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every function runs its future on one runtime shared by the whole process: a tokio
//! runtime with a single worker thread, made on first use (so the cached path of [`connect`]
//! builds none). The future itself runs on the calling thread (`block_on`), so it may borrow
//! the caller's session, options and prompter; the worker drives the I/O and the HTTP
//! connections' own tasks. A session's pooled connections therefore keep working whichever
//! thread makes its next call: a `Session` made on one thread can be used from another. (A
//! forked child process makes a runtime of its own on its first request.)
//! Called from inside a tokio runtime, where blocking the thread on a runtime would panic,
//! the future runs instead on a scoped helper thread (on the same shared runtime) while the
//! caller's thread waits: the call works, but it blocks that worker thread meanwhile. Async
//! programs should use the async functions at the crate root.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};

use crate::client::{ApiRequest, ApiResponse};
use crate::error::AuthError;
use crate::flow::{self, LoginOptions, LogoutReport, Session, Start};
use crate::prompt::{PromptError, Prompter};

/// The runtime of the blocking calls, and the process it was made in. A forked child does
/// not inherit the worker thread, so it makes its own runtime (the parent's is left alone:
/// shutting it down would wait for a thread that does not exist there).
static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The shared runtime, made on first use.
fn runtime() -> Result<&'static Runtime, AuthError> {
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    runtime_of(&mut slot, std::process::id())
}

/// The runtime in `slot` when it was made in `process`, else a new one, put there.
fn runtime_of(slot: &mut Option<(u32, &'static Runtime)>, process: u32) -> Result<&'static Runtime, AuthError> {
    if let Some((made_in, runtime)) = *slot
        && made_in == process
    {
        return Ok(runtime);
    }
    let runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tapis-auth-io")
        .enable_all()
        .build()
        .map_err(|error| AuthError::HttpClient(format!("cannot start the async runtime: {error}")))?;
    // Kept for the life of the process, as a `static` runtime would be.
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    *slot = Some((process, runtime));
    Ok(runtime)
}

/// Runs `future` to completion from synchronous code (see the module's documentation).
fn run<T: Send>(future: impl Future<Output = Result<T, AuthError>> + Send) -> Result<T, AuthError> {
    let runtime = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(future);
    }
    std::thread::scope(|scope| {
        let helper = scope.spawn(|| runtime.block_on(future));
        helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// How often [`connect_interruptible`] asks whether to stop.
pub const INTERRUPT_CHECK_PERIOD: Duration = Duration::from_millis(100);

/// Runs `future` as [`run`] does, calling `interrupted` every [`INTERRUPT_CHECK_PERIOD`]
/// while it waits; when that returns true the future is dropped, which stops every wait in
/// it (the lock's, a backoff, an HTTP request).
fn run_interruptible<T: Send>(
    future: impl Future<Output = Result<T, AuthError>> + Send,
    interrupted: &mut (dyn FnMut() -> bool + Send),
) -> Result<T, AuthError> {
    run(async move {
        let mut future = std::pin::pin!(future);
        let mut tick = Box::pin(tokio::time::sleep(INTERRUPT_CHECK_PERIOD));
        std::future::poll_fn(|context| {
            if let Poll::Ready(outcome) = future.as_mut().poll(context) {
                return Poll::Ready(outcome);
            }
            while tick.as_mut().poll(context).is_ready() {
                if interrupted() {
                    return Poll::Ready(Err(AuthError::Prompt(PromptError::Interrupted)));
                }
                tick.set(tokio::time::sleep(INTERRUPT_CHECK_PERIOD));
            }
            Poll::Pending
        })
        .await
    })
}

/// [`connect`], for a front end that must stay interruptible (the Python binding, where
/// Ctrl-C must raise `KeyboardInterrupt`). While the flow waits (for the lock, a retry's
/// backoff, an answer), `interrupted` is called every [`INTERRUPT_CHECK_PERIOD`] on the
/// calling thread; once it returns true, the flow is dropped and the error is
/// [`PromptError::Interrupted`]. The flow is dropped only where it waits, never while it
/// writes the token file (a save has no wait in it), so nothing is left half-written.
pub fn connect_interruptible(
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    interrupted: &mut (dyn FnMut() -> bool + Send),
) -> Result<Session, AuthError> {
    match flow::start(options, prompter)? {
        Start::Ready(session) => Ok(*session),
        Start::NeedsServer(first_read) => {
            run_interruptible(flow::log_in_or_renew(options, prompter, first_read), interrupted)
        }
    }
}

/// [`crate::connect`], blocking. A valid saved token is returned without any runtime or HTTP
/// client being made.
pub fn connect(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    match flow::start(options, prompter)? {
        Start::Ready(session) => Ok(*session),
        Start::NeedsServer(first_read) => run(flow::log_in_or_renew(options, prompter, first_read)),
    }
}

/// [`crate::device_login`], blocking.
pub fn device_login(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    run(flow::device_login(options, prompter))
}

/// [`crate::logout`], blocking.
pub fn logout(options: &LoginOptions) -> Result<LogoutReport, AuthError> {
    run(flow::logout(options))
}

/// [`Session::call`], blocking.
pub fn call(session: &mut Session, request: &ApiRequest) -> Result<ApiResponse, AuthError> {
    run(session.call(request))
}

/// [`Session::call_with_prompter`], blocking.
pub fn call_with_prompter(
    session: &mut Session,
    request: &ApiRequest,
    prompter: &mut dyn Prompter,
) -> Result<ApiResponse, AuthError> {
    run(session.call_with_prompter(request, prompter))
}

/// [`Session::userinfo`], blocking (renewing once when the server refuses the token).
pub fn userinfo(session: &mut Session) -> Result<serde_json::Value, AuthError> {
    run(session.userinfo())
}

/// [`Session::userinfo_with_prompter`], blocking.
pub fn userinfo_with_prompter(
    session: &mut Session,
    prompter: &mut dyn Prompter,
) -> Result<serde_json::Value, AuthError> {
    run(session.userinfo_with_prompter(prompter))
}

#[cfg(test)]
mod tests {
    use super::{RUNTIME, runtime_of};
    use crate::flow::{LoginOptions, Origin};
    use crate::prompt::NoPrompt;

    /// No other test of this crate's unit tests makes a blocking request, so the shared
    /// runtime exists only if the cached path made it.
    #[test]
    fn the_cached_path_builds_no_runtime() {
        let folder = tempfile::tempdir().expect("temp folder");
        let url = "http://127.0.0.1:9"; // nothing listens: no request may be made
        let exp = tapis_testkit::now_unix() + 4 * 3600;
        let access = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", exp, url));
        let fields = serde_json::json!({
            "access_token": access, "expires_at": tapis_testkit::isoformat_seconds(exp), "base_url": url,
        });
        let token_file = folder.path().join("tokens.json");
        std::fs::write(&token_file, fields.to_string()).expect("write the token file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
        }
        let options = LoginOptions::new(url.parse().expect("a loopback URL"), token_file);

        let session = super::connect(&options, &mut NoPrompt).expect("the saved token");

        assert_eq!(session.origin(), Origin::Saved);
        assert!(RUNTIME.lock().expect("not poisoned").is_none(), "the cached path built the runtime");
    }

    /// The runtime is made once per process: a forked child (another process id) makes its
    /// own, since it has no worker thread to drive the parent's.
    #[test]
    fn each_process_has_its_runtime() {
        let mut slot = None;
        let first = runtime_of(&mut slot, 1).expect("a runtime");
        let again = runtime_of(&mut slot, 1).expect("the same runtime");
        let child = runtime_of(&mut slot, 2).expect("a new runtime");

        assert!(std::ptr::eq(first, again), "one runtime per process");
        assert!(!std::ptr::eq(first, child), "a forked child makes its own");
        assert_eq!(child.block_on(async { 7 }), 7);
    }
}
