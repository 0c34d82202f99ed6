//! The login flow — the notebooks' `connect_tapis()` done right — one file per operation:
//! the options, the session, [`connect`] (with the password login), [`device_login`] and
//! [`logout`]. What several of them share, the lock and the save, is here.

use std::time::Duration;

use tapis_auth_core::TokenSet;
use tapis_store::{ForUpdate, Loaded, StoreError, StoreLock, TokenStore, WriteGuard, Written};

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

/// The token file's lock, or, where nothing can be saved (a read-only file system, a folder
/// this user may not write to), the reason: the caller then goes on without the lock and
/// saves nothing, as nobody else can write there either.
struct Locked {
    held: Option<StoreLock>,
    // Taken out when told, while a guard of the read still borrows the lock.
    nowhere_to_save: std::cell::Cell<Option<StoreError>>,
}

impl Locked {
    /// Takes the lock (see [`Locked`]), telling the prompter if it is the lock folder.
    async fn take(store: &TokenStore, timeout: Duration, prompter: &mut dyn Prompter) -> Result<Self, AuthError> {
        match lock(store, timeout).await {
            Ok(held) => {
                crate::prompt::tell_once_if_lock_fallback(&held, prompter);
                Ok(Self { held: Some(held), nowhere_to_save: None.into() })
            }
            Err(AuthError::Store(error)) if error.is_read_only_place() => {
                tracing::debug!("nothing can be saved next to {}: {error}", store.path().display());
                Ok(Self { held: None, nowhere_to_save: Some(error).into() })
            }
            Err(error) => Err(error),
        }
    }

    /// Reads the token file: under the lock, with the guard to write it; without the lock
    /// where nothing can be saved.
    fn read<'a>(
        &'a self,
        store: &'a TokenStore,
    ) -> Result<(Result<Loaded, StoreError>, Option<WriteGuard<'a>>), StoreError> {
        match &self.held {
            Some(held) => {
                let ForUpdate { contents, guard } = store.read_for_update(held)?;
                Ok((contents, Some(guard)))
            }
            None => Ok((store.load(), None)),
        }
    }

    /// Saves `tokens` through `guard` (from [`Locked::read`]), or tells why nothing could be
    /// saved; whether they were saved.
    fn save_or_tell(&self, guard: Option<WriteGuard<'_>>, tokens: &TokenSet, prompter: &mut dyn Prompter) -> bool {
        let saved = guard.is_some_and(|guard| save_or_tell(guard, tokens, prompter));
        if let Some(reason) = self.nowhere_to_save.take() {
            prompter.notice(&Notice::NotSaved(reason));
        }
        saved
    }
}

/// Saves `tokens` through the guard of the read under the lock. A failure is told as
/// [`Notice::NotSaved`] (the tokens stay usable for this run). Returns whether they were
/// saved.
fn save_or_tell(guard: WriteGuard<'_>, tokens: &TokenSet, prompter: &mut dyn Prompter) -> bool {
    match guard.replace_tokens(tokens) {
        Ok(written) => {
            tell_if_copy_kept(&written, prompter);
            true
        }
        Err(error) => {
            prompter.notice(&Notice::NotSaved(error));
            false
        }
    }
}

/// Tells where an unusable token file was kept before it was replaced or removed.
fn tell_if_copy_kept(written: &Written, prompter: &mut dyn Prompter) {
    if let Some(copy) = &written.corrupt_copy {
        prompter.notice(&Notice::UnusableFileKept { copy: copy.clone() });
    }
}
