//! [`device_login`]: the device-code grant, with a bounded wait.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tapis_auth_core::{KeptClient, OAuthClient, TokenSet};
use tapis_store::TokenStore;

use super::connect::{SavedFile, is_valid, read_saved};
use super::{DeviceClient, Locked, LoginOptions, MAX_DEVICE_WAIT, MIN_DEVICE_POLL_INTERVAL, Origin, Session};
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
/// tokens cannot be renewed ([`Notice::RenewalOff`]); the client the token file holds then
/// stays in it, key and all.
///
/// The wait holds no lock. Before saving, it takes the lock and reads the token file again:
/// the OAuth client another login saved meanwhile, and the record of the client this tool
/// created, are kept, so that no client is left on the server that no file names.
///
/// Like [`crate::connect`], it first reads the token file: a valid saved token for this server
/// is returned as it is (no request) unless `options.force`, and another server's tokens that
/// are worth something are refused with [`AuthError::OtherServer`] and left as they are.
pub async fn device_login(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    let store = TokenStore::new(&options.token_file);
    let SavedFile { tokens: saved, kept_client, held: _held, .. } =
        read_saved(&store, store.load(), options, prompter, true)?;
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| is_valid(tokens, options))
    {
        return Ok(Session::new(options, tokens.clone(), Origin::Saved, true, None));
    }
    let oauth = choose_device_client(options, saved, kept_client)?;
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
    // Only the save needs the lock: the wait above may take minutes, and other processes
    // must not time out on the lock meanwhile. The file is read again under it: another
    // process may have logged in meanwhile and saved a client, which must not be dropped.
    // Where nothing can be saved (a read-only file system), the tokens are still handed out.
    let locked = Locked::take(&store, options.lock_timeout, prompter).await?;
    let (contents, guard) = locked.read(&store)?;
    // Another process may have saved another server's tokens meanwhile: they are not replaced.
    let now_saved = read_saved(&store, contents, options, prompter, false)?;
    settle_clients(&mut tokens, &oauth, now_saved, prompter);
    let saved = locked.save_or_tell(guard, &tokens, prompter);
    Ok(Session::new(options, tokens, Origin::LoggedIn, saved, Some(client)))
}

/// Gives the device login's tokens their OAuth client, from what the token file holds now
/// (`now_saved`, read under the lock just before the save), so that no client the file
/// names is dropped:
///
/// - With the device client's key known (given, or the file's own for the same client), the
///   tokens go through it and can be renewed.
/// - With the key unknown, the tokens cannot be renewed, so their refresh token is dropped
///   and the client the file holds stays in it, key and all, for the next password login.
/// - The client this tool created, as the file records it now (another process may have
///   made one meanwhile), stays recorded, so that a logout deletes it: none is left on the
///   server that no file names.
fn settle_clients(
    tokens: &mut TokenSet,
    device_client: &DeviceClient,
    now_saved: SavedFile,
    prompter: &mut dyn Prompter,
) {
    let (file_client, file_created) = match (now_saved.tokens, now_saved.kept_client) {
        (Some(saved), _) => (saved.client, saved.created_client_id),
        (None, Some(kept)) => (Some(kept.client), kept.created_client_id),
        (None, None) => (None, None),
    };
    let client_id = device_client.client_id.as_str();
    let key = device_client.client_key.clone().or_else(|| {
        file_client.as_ref().filter(|saved| saved.client_id == client_id).map(|saved| saved.client_key.clone())
    });
    match key {
        Some(client_key) => tokens.client = Some(OAuthClient { client_id: client_id.to_owned(), client_key }),
        None => {
            prompter.notice(&Notice::RenewalOff { reason: format!("the key of the client {client_id} is not known") });
            tokens.refresh = None;
            tokens.client = file_client;
        }
    }
    tokens.created_client_id = file_created;
}

/// When a device login that started at `started` stops waiting: 30 s after the code's
/// expiry (the server may lag), or [`MAX_DEVICE_WAIT`] after the start when the expiry is
/// unknown or past the calendar's end.
fn device_give_up_at(started: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> DateTime<Utc> {
    expires_at.and_then(|at| at.checked_add_signed(TimeDelta::seconds(30))).unwrap_or(started + MAX_DEVICE_WAIT)
}

/// The OAuth client of a device login (see [`device_login`]).
fn choose_device_client(
    options: &LoginOptions,
    saved: Option<TokenSet>,
    kept_client: Option<KeptClient>,
) -> Result<DeviceClient, AuthError> {
    if let Some(key) = options.device_client.as_ref().and_then(|given| given.client_key.as_ref()) {
        crate::secrets::remember(key);
    }
    let saved_client = match (saved, kept_client) {
        (Some(tokens), _) => tokens.client,
        (None, Some(kept)) => Some(kept.client),
        (None, None) => None,
    };
    match (&options.device_client, saved_client) {
        (Some(given), Some(saved)) if given.client_key.is_none() && saved.client_id == given.client_id => {
            Ok(DeviceClient { client_id: saved.client_id, client_key: Some(saved.client_key) })
        }
        (Some(given), _) => Ok(given.clone()),
        (None, Some(saved)) => Ok(DeviceClient { client_id: saved.client_id, client_key: Some(saved.client_key) }),
        (None, None) => Err(AuthError::NoClient { base_url: options.base_url.to_string() }),
    }
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
        let code_left = expires_at.map(|at| at - clock.now());
        prompter.notice(&Notice::DeviceWaiting { expires_at, left: code_left });
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
