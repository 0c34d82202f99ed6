//! One renewal at a time for each token file in this process, and its outcome shared: the
//! renewals of a [`crate::TokenProvider`] and of [`Session::call`] after a refusal go
//! through [`renew`].
//!
//! A success is shared through the token file (the next caller finds the fresh token there
//! and makes no request); a failure is remembered here, and given to the callers that waited
//! for that attempt and, for [`RENEWAL_BACKOFF`] after it, to every new caller, so that a
//! failing server is not asked again by each of them in turn.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use tapis_store::StoreError;

use super::{LoginOptions, Session, Start, log_in_or_renew, start};
use crate::error::AuthError;
use crate::prompt::Prompter;

/// How long a failed renewal is given as the answer to new callers, instead of a new attempt
/// (a whole retry budget against a server that just failed one).
pub const RENEWAL_BACKOFF: TimeDelta = TimeDelta::seconds(5);

/// The renewals of one token file for one server.
#[derive(Default)]
struct Flight {
    /// Held for the length of an attempt; holds the last attempt's failure, if it failed.
    last_failure: tokio::sync::Mutex<Option<Failure>>,
    /// How many attempts have finished.
    n_finished: AtomicU64,
}

struct Failure {
    /// When it failed, by the options' clock.
    at: DateTime<Utc>,
    /// The attempt's number (`n_finished` once it had finished).
    number: u64,
    error: AuthError,
}

/// The flights in use or with a failure still within its back-off; the others are dropped
/// whenever a flight is looked up, so the map holds no more than that.
static FLIGHTS: LazyLock<Mutex<HashMap<FlightKey, Arc<Flight>>>> = LazyLock::new(Mutex::default);

/// A token file and the server.
type FlightKey = (PathBuf, String);

fn flight_for(options: &LoginOptions) -> Arc<Flight> {
    let now = options.client.clock.now();
    let mut flights = FLIGHTS.lock().unwrap_or_else(PoisonError::into_inner);
    flights.retain(|_, flight| {
        Arc::strong_count(flight) > 1
            || flight
                .last_failure
                .try_lock()
                .map_or(true, |last| last.as_ref().is_some_and(|failure| now - failure.at < RENEWAL_BACKOFF))
    });
    let key = (options.token_file.clone(), options.base_url.to_string());
    Arc::clone(flights.entry(key).or_default())
}

/// [`crate::connect`], one attempt at a time per token file in this process: a caller that
/// waited for another's attempt, or comes within [`RENEWAL_BACKOFF`] of a failed one, gets
/// that failure instead of making requests of its own. A valid saved token is still taken at
/// once, with no wait. With a prompter that can ask (a person may give another password), no
/// failure is shared.
pub(crate) async fn renew(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    let first_read = match start(options, prompter)? {
        Start::Ready(session) => return Ok(*session),
        Start::NeedsServer(first_read) => first_read,
    };
    if prompter.can_prompt() {
        return log_in_or_renew(options, prompter, first_read).await;
    }
    let flight = flight_for(options);
    let seen = flight.n_finished.load(Ordering::Acquire);
    let mut last_failure = flight.last_failure.lock().await;
    if let Some(failure) = last_failure.as_ref() {
        let waited_for_it = failure.number > seen;
        let recent = options.client.clock.now() - failure.at < RENEWAL_BACKOFF;
        if (waited_for_it || recent)
            && let Some(error) = copy(&failure.error)
        {
            crate::secrets::debug_redacted!(
                "renewing the token for {}: the attempt that just failed is the answer (no new requests for {} s)",
                options.base_url,
                RENEWAL_BACKOFF.num_seconds()
            );
            return Err(error);
        }
    }
    let outcome = log_in_or_renew(options, prompter, first_read).await;
    let number = flight.n_finished.fetch_add(1, Ordering::AcqRel) + 1;
    *last_failure = match &outcome {
        Ok(_) => None,
        Err(error) => copy(error).map(|error| Failure { at: options.client.clock.now(), number, error }),
    };
    outcome
}

/// The same error again, for another caller; `None` for the few that cannot be copied (an
/// interrupted prompt, a corrupt file's reason), which are then not shared.
fn copy(error: &AuthError) -> Option<AuthError> {
    let io = |error: &std::io::Error| std::io::Error::new(error.kind(), error.to_string());
    Some(match error {
        AuthError::CredentialsRejected { message, n_attempts } => {
            AuthError::CredentialsRejected { message: message.clone(), n_attempts: *n_attempts }
        }
        AuthError::Server { url, status, message } => {
            AuthError::Server { url: url.clone(), status: *status, message: message.clone() }
        }
        AuthError::Unavailable { url, n_attempts, last } => {
            AuthError::Unavailable { url: url.clone(), n_attempts: *n_attempts, last: last.clone() }
        }
        AuthError::Unconfirmed { url, last } => AuthError::Unconfirmed { url: url.clone(), last: last.clone() },
        AuthError::InvalidResponse { url, reason } => {
            AuthError::InvalidResponse { url: url.clone(), reason: reason.clone() }
        }
        AuthError::NoCredentials { base_url, lapsed_at } => {
            AuthError::NoCredentials { base_url: base_url.clone(), lapsed_at: *lapsed_at }
        }
        AuthError::PasswordWithoutUsername { base_url, path } => {
            AuthError::PasswordWithoutUsername { base_url: base_url.clone(), path: path.clone() }
        }
        AuthError::OtherUser { user, asked, base_url, path } => AuthError::OtherUser {
            user: user.clone(),
            asked: asked.clone(),
            base_url: base_url.clone(),
            path: path.clone(),
        },
        AuthError::RenewalRejected { base_url, message } => {
            AuthError::RenewalRejected { base_url: base_url.clone(), message: message.clone() }
        }
        AuthError::OtherServer { server, base_url, path } => {
            AuthError::OtherServer { server: server.clone(), base_url: base_url.clone(), path: path.clone() }
        }
        AuthError::HttpClient(reason) => AuthError::HttpClient(reason.clone()),
        AuthError::Store(store) => AuthError::Store(match store {
            StoreError::Unreadable { path, source } => {
                StoreError::Unreadable { path: path.clone(), source: io(source) }
            }
            StoreError::NotOwned { path, owner } => StoreError::NotOwned { path: path.clone(), owner: *owner },
            StoreError::Symlink { path } => StoreError::Symlink { path: path.clone() },
            StoreError::Write { path, source } => StoreError::Write { path: path.clone(), source: io(source) },
            StoreError::Lock { path, source } => StoreError::Lock { path: path.clone(), source: io(source) },
            StoreError::LockNotOwned { path, owner } => StoreError::LockNotOwned { path: path.clone(), owner: *owner },
            StoreError::LockTimeout { path, waited } => StoreError::LockTimeout { path: path.clone(), waited: *waited },
            StoreError::ChangedMeanwhile { path } => StoreError::ChangedMeanwhile { path: path.clone() },
            StoreError::LockLost { path, lock, source } => {
                StoreError::LockLost { path: path.clone(), lock: lock.clone(), source: io(source) }
            }
            _ => return None,
        }),
        _ => return None,
    })
}
