//! The login flow — the notebooks' `connect_tapis()` done right — one file per operation:
//! the options, the session, [`connect`] (with the password login), [`device_login`] and
//! [`logout`]. What several of them share, the lock and the save, is here.

use std::time::Duration;

use tapis_auth_core::TokenSet;
use tapis_store::{StoreLock, TokenStore};

use crate::error::AuthError;
use crate::prompt::{Notice, Prompter};

mod connect;
mod device;
mod logout;
mod options;
mod password;
mod session;

pub(crate) use connect::{Start, log_in_or_renew, start};
pub use connect::{connect, session_from_token};
pub use device::device_login;
pub use logout::{LogoutReport, logout};
pub use options::{
    Credentials, DEFAULT_DEVICE_POLL_INTERVAL, DEFAULT_MIN_VALID, DEFAULT_N_PROMPT_ATTEMPTS, DeviceClient,
    LoginOptions, MAX_DEVICE_WAIT, MIN_DEVICE_POLL_INTERVAL,
};
pub use session::{Origin, Session, Summary};

/// Takes the token file's lock without blocking the async runtime's worker thread: at once
/// when it is free, else waiting on a blocking-pool thread.
async fn lock(store: &TokenStore, timeout: Duration) -> Result<StoreLock, AuthError> {
    match store.lock(Duration::ZERO) {
        Ok(lock) => {
            tracing::debug!("took the lock on {} at once", store.path().display());
            return Ok(lock);
        }
        Err(tapis_store::StoreError::LockTimeout { .. }) if !timeout.is_zero() => {}
        Err(error) => return Err(error.into()),
    }
    tracing::debug!("the lock on {} is held by another process; waiting", store.path().display());
    let started = std::time::Instant::now();
    let waiting = store.clone();
    let locked = match tokio::task::spawn_blocking(move || waiting.lock(timeout)).await {
        Ok(locked) => locked,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    let waited_ms = started.elapsed().as_millis();
    match &locked {
        Ok(_) => tracing::debug!("took the lock on {} after {waited_ms} ms", store.path().display()),
        Err(error) => tracing::debug!("no lock on {} after {waited_ms} ms: {error}", store.path().display()),
    }
    Ok(locked?)
}

/// Saves `tokens`; a failure is told as [`Notice::NotSaved`] (the tokens stay usable for this
/// run). Returns whether they were saved.
fn save_or_tell(store: &TokenStore, tokens: &TokenSet, prompter: &mut dyn Prompter) -> bool {
    match store.save(tokens) {
        Ok(()) => true,
        Err(error) => {
            prompter.notice(&Notice::NotSaved(error));
            false
        }
    }
}
