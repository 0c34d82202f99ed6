//! The login flow — the notebooks' `connect_tapis()` done right — one file per operation:
//! the options, the session, [`connect`] (with the password login), [`device_login`] and
//! [`logout`]. What several of them share, the lock and the save, is here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tapis_auth_core::TokenSet;
use tapis_store::{ForUpdate, Loaded, StoreError, StoreLock, TokenStore, WriteGuard, Written};

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

/// Takes the token file's lock without blocking the async runtime's worker thread: one
/// attempt that does not wait, then, while another process holds it, one wait of the store's
/// own ([`TokenStore::lock_unless_stopped`], which watches another machine's lock folder for
/// its whole lease) on a blocking thread, until `timeout`. Dropping the future stops that wait
/// at its next poll (a Ctrl-C in Python, a cancelled task); a lock it took meanwhile is
/// released, as nothing receives it.
async fn lock(store: &TokenStore, timeout: Duration) -> Result<StoreLock, AuthError> {
    match store.lock(Duration::ZERO) {
        Ok(lock) => {
            crate::secrets::debug_redacted!("took the lock on {} at once", store.path().display());
            return Ok(lock);
        }
        Err(tapis_store::StoreError::LockTimeout { .. }) if !timeout.is_zero() => {}
        Err(error) => return Err(error.into()),
    }
    crate::secrets::debug_redacted!("the lock on {} is held by another process; waiting", store.path().display());
    let started = std::time::Instant::now();
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let (waiting, flag) = (store.clone(), Arc::clone(&stop.0));
    let wait = tokio::task::spawn_blocking(move || waiting.lock_unless_stopped(timeout, flag));
    let taken = match wait.await {
        Ok(taken) => taken,
        // The task is never aborted, and a panic in it is a bug: say so rather than go on.
        Err(join_error) => Err(tapis_store::StoreError::Lock {
            path: store.lock_path(),
            source: std::io::Error::other(format!("the wait for the lock ended abnormally: {join_error}")),
        }),
    };
    let waited_ms = started.elapsed().as_millis();
    match &taken {
        Ok(_) => crate::secrets::debug_redacted!("took the lock on {} after {waited_ms} ms", store.path().display()),
        Err(_) => crate::secrets::debug_redacted!("no lock on {} after {waited_ms} ms", store.path().display()),
    }
    Ok(taken?)
}

/// Sets its flag when dropped: tells a blocking wait that nobody waits for it any more.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
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
