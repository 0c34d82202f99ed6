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
//! Each function runs its future on a current-thread tokio runtime kept per thread (made on
//! first use, so the cached path of [`connect`] builds none). Called from inside a tokio
//! runtime, where blocking on another runtime would panic, the future runs instead on a
//! scoped helper thread with a runtime of its own, and the caller's thread waits for it:
//! the call works, but it blocks that worker thread meanwhile. Async programs should use the
//! async functions at the crate root.

use std::cell::OnceCell;
use std::future::Future;

use tokio::runtime::{Builder, Runtime};

use crate::client::{ApiRequest, ApiResponse};
use crate::error::AuthError;
use crate::flow::{self, LoginOptions, LogoutReport, Session, Start};
use crate::prompt::Prompter;

thread_local! {
    /// This thread's runtime for blocking calls; kept so that a session's HTTP connections
    /// (which belong to the runtime they were made on) stay usable from call to call.
    static RUNTIME: OnceCell<Runtime> = const { OnceCell::new() };
}

fn new_runtime() -> Result<Runtime, AuthError> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| AuthError::HttpClient(format!("cannot start the async runtime: {error}")))
}

/// Runs `future` to completion from synchronous code (see the module's documentation).
fn run<T: Send>(future: impl Future<Output = Result<T, AuthError>> + Send) -> Result<T, AuthError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return std::thread::scope(|scope| {
            let helper = scope.spawn(|| new_runtime()?.block_on(future));
            helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
    }
    RUNTIME.with(|cell| {
        let runtime = match cell.get() {
            Some(runtime) => runtime,
            None => {
                let _ = cell.set(new_runtime()?);
                cell.get().expect("just set")
            }
        };
        runtime.block_on(future)
    })
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
