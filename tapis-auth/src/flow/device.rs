//! [`device_login`]: the device-code grant, with a bounded wait.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tapis_auth_core::{KeptClient, OAuthClient, TokenSet};
use tapis_store::TokenStore;

use super::connect::{SavedFile, is_valid, read_saved};
use super::{
    DeviceClient, LoginOptions, MAX_DEVICE_WAIT, MIN_DEVICE_POLL_INTERVAL, Origin, Session, lock, save_or_tell,
};
use crate::client::{DevicePoll, TapisClient};
use crate::error::AuthError;
use crate::prompt::{Notice, Prompter};
use crate::time::SharedClock;

/// Logs in with the device-code grant: shows the user a page and a code (as
/// [`Notice::DeviceCode`]), then polls every `device_poll_interval` until the user approves,
/// the code expires, or the future is dropped. The tokens are saved like a password login's.
///
/// The OAuth client is `options.device_client` when given (its key, when not given, comes
/// from the token file if that holds the same client), else the client in the token file;
/// with neither, [`AuthError::NoClient`]. Without the client's key the login works but the
/// tokens cannot be renewed ([`Notice::RenewalOff`]).
///
/// Like [`crate::connect`], it first reads the token file: a valid saved token for this server
/// is returned as it is (no request) unless `options.force`, and another server's tokens that
/// are worth something are refused with [`AuthError::OtherServer`] and left as they are.
pub async fn device_login(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    let store = TokenStore::new(&options.token_file);
    let SavedFile { tokens: saved, kept_client, held: _held } = read_saved(&store, options, prompter, true)?;
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| is_valid(tokens, options))
    {
        return Ok(Session::new(options, tokens.clone(), Origin::Saved, true, None));
    }
    let (oauth, created_client_id) = choose_device_client(options, saved, kept_client)?;
    let client_id = oauth.client_id.as_str();
    let client = TapisClient::new(options.base_url.clone(), options.client.clone())?;
    let code = client.device_code(client_id).await?;
    let clock = &options.client.clock;
    let started = clock.now();
    // Server-supplied times, in checked arithmetic: an absurd one counts as unknown.
    let expires_at = code.expires_at.or_else(|| {
        let left = TimeDelta::try_seconds(i64::try_from(code.expires_in_seconds?).ok()?)?;
        started.checked_add_signed(left)
    });
    let give_up_at = device_give_up_at(started, expires_at);
    let interval = options.device_poll_interval.max(MIN_DEVICE_POLL_INTERVAL);
    prompter.notice(&Notice::DeviceCode {
        verification_uri: code.verification_uri.clone(),
        user_code: code.user_code.clone(),
        expires_at,
    });
    let mut tokens = loop {
        wait_for_next_poll(clock, interval, expires_at, prompter).await;
        match client.poll_device_token(client_id, &code.device_code).await? {
            DevicePoll::Approved(tokens) => break *tokens,
            DevicePoll::Expired => return Err(AuthError::DeviceCodeExpired),
            DevicePoll::Pending if clock.now() > give_up_at => {
                // The server keeps saying "not ready" long after the code's expiry, or for
                // longer than any device login lasts when it gave no expiry.
                return Err(AuthError::DeviceCodeExpired);
            }
            DevicePoll::Pending => {}
        }
    };
    tokens.client =
        oauth.client_key.clone().map(|client_key| OAuthClient { client_id: client_id.to_owned(), client_key });
    if tokens.client.is_none() {
        prompter.notice(&Notice::RenewalOff { reason: format!("the key of the client {client_id} is not known") });
    }
    // A client made earlier for this user stays recorded, so that a logout still deletes it.
    tokens.created_client_id = created_client_id;
    // Only the save needs the lock: the wait above may take minutes, and other processes
    // must not time out on the lock meanwhile.
    let held = lock(&store, options.lock_timeout).await?;
    crate::prompt::tell_once_if_lock_fallback(&held, prompter);
    // Another process may have saved another server's tokens meanwhile: they are not replaced.
    read_saved(&store, options, prompter, false)?;
    let saved = save_or_tell(&store, &tokens, prompter);
    Ok(Session::new(options, tokens, Origin::LoggedIn, saved, Some(client)))
}

/// When a device login that started at `started` stops waiting: 30 s after the code's
/// expiry (the server may lag), or [`MAX_DEVICE_WAIT`] after the start when the expiry is
/// unknown or past the calendar's end.
fn device_give_up_at(started: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> DateTime<Utc> {
    expires_at.and_then(|at| at.checked_add_signed(TimeDelta::seconds(30))).unwrap_or(started + MAX_DEVICE_WAIT)
}

/// The OAuth client of a device login (see [`device_login`]), and the id of the client this
/// tool created, as the token file records it (its tokens', or the client a logout kept).
fn choose_device_client(
    options: &LoginOptions,
    saved: Option<TokenSet>,
    kept_client: Option<KeptClient>,
) -> Result<(DeviceClient, Option<String>), AuthError> {
    if let Some(key) = options.device_client.as_ref().and_then(|given| given.client_key.as_ref()) {
        crate::secrets::remember(key);
    }
    let (saved_client, created_client_id) = match (saved, kept_client) {
        (Some(tokens), _) => (tokens.client, tokens.created_client_id),
        (None, Some(kept)) => (Some(kept.client), kept.created_client_id),
        (None, None) => (None, None),
    };
    let chosen = match (&options.device_client, saved_client) {
        (Some(given), Some(saved)) if given.client_key.is_none() && saved.client_id == given.client_id => {
            Ok(DeviceClient { client_id: saved.client_id, client_key: Some(saved.client_key) })
        }
        (Some(given), _) => Ok(given.clone()),
        (None, Some(saved)) => Ok(DeviceClient { client_id: saved.client_id, client_key: Some(saved.client_key) }),
        (None, None) => Err(AuthError::NoClient { base_url: options.base_url.to_string() }),
    };
    Ok((chosen?, created_client_id))
}

/// Waits until the next device poll, telling the prompter about once a second.
async fn wait_for_next_poll(
    clock: &SharedClock,
    interval: Duration,
    expires_at: Option<DateTime<Utc>>,
    prompter: &mut dyn Prompter,
) {
    let mut left = interval;
    while !left.is_zero() {
        prompter.notice(&Notice::DeviceWaiting { expires_at });
        let step = left.min(Duration::from_secs(1));
        clock.sleep(step).await;
        left -= step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expires_at: Option<DateTime<Utc>>, expected: Option<DateTime<Utc>>) {
        let started = DateTime::from_timestamp(1_741_119_331, 0).expect("valid");
        let expected = expected.unwrap_or(started + TimeDelta::minutes(15));
        assert_eq!(device_give_up_at(started, expires_at), expected, "expiry {expires_at:?}");
    }

    #[test]
    fn a_device_wait_is_always_bounded() {
        let at = |seconds| DateTime::from_timestamp(seconds, 0);
        check(None, None);
        check(at(1_741_119_931), at(1_741_119_961));
        check(Some(DateTime::<Utc>::MAX_UTC), None);
        check(Some(DateTime::<Utc>::MAX_UTC - TimeDelta::seconds(10)), None);
    }
}
