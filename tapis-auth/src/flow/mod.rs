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
mod flight;
mod logout;
mod options;
mod password;
mod session;

pub(crate) use connect::{Start, log_in_or_renew, start};
pub use connect::{connect, session_from_token};
pub use device::device_login;
pub use flight::RENEWAL_BACKOFF;
pub(crate) use flight::renew;
pub use logout::{LogoutReport, logout};
pub use options::{
    Credentials, DEFAULT_DEVICE_POLL_INTERVAL, DEFAULT_MIN_VALID, DEFAULT_N_PROMPT_ATTEMPTS, DeviceClient,
    LoginOptions, MAX_DEVICE_WAIT, MIN_DEVICE_POLL_INTERVAL,
};
pub use session::{Origin, Session, Summary};

/// How often a wait for the token file's lock tries again.
const LOCK_RETRY_PERIOD: Duration = Duration::from_millis(50);

/// Takes the token file's lock without blocking the async runtime's worker thread: one
/// attempt that does not wait, then, while another process holds it, another every
/// [`LOCK_RETRY_PERIOD`] with an async sleep between, until `timeout`. Dropping the future
/// stops the wait at once (a Ctrl-C in Python, a cancelled task): no thread is left waiting.
async fn lock(store: &TokenStore, timeout: Duration) -> Result<StoreLock, AuthError> {
    let started = std::time::Instant::now();
    let mut announced = false;
    loop {
        let error = match store.lock(Duration::ZERO) {
            Ok(lock) if !announced => {
                crate::secrets::debug_redacted!("took the lock on {} at once", store.path().display());
                return Ok(lock);
            }
            Ok(lock) => {
                let waited_ms = started.elapsed().as_millis();
                crate::secrets::debug_redacted!("took the lock on {} after {waited_ms} ms", store.path().display());
                return Ok(lock);
            }
            Err(error @ tapis_store::StoreError::LockTimeout { .. }) => error,
            Err(error) => return Err(error.into()),
        };
        let waited = started.elapsed();
        if waited >= timeout {
            let tapis_store::StoreError::LockTimeout { path, .. } = error else { return Err(error.into()) };
            crate::secrets::debug_redacted!("no lock on {} after {} ms", store.path().display(), waited.as_millis());
            return Err(tapis_store::StoreError::LockTimeout { path, waited }.into());
        }
        if !announced {
            announced = true;
            crate::secrets::debug_redacted!(
                "the lock on {} is held by another process; waiting",
                store.path().display()
            );
        }
        tokio::time::sleep(LOCK_RETRY_PERIOD.min(timeout - waited)).await;
    }
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
