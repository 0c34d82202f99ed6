//! [`connect`]: the saved token, else a renewal, else a password login, under the lock.

use chrono::{DateTime, TimeDelta, Utc};
use tapis_auth_core::{AccessToken, KeptClient, SecretString, TokenSet, TokenState};
use tapis_store::{LooseMode, TokenStore};

use super::password::{PreviousClient, log_in_with_password};
use super::{LoginOptions, Origin, Session, lock, save_or_tell};
use crate::client::TapisClient;
use crate::error::AuthError;
use crate::prompt::{Notice, Prompter};

/// How long after a token came from the server it counts as the best one to be had: a
/// renewal within this time would gain less than this much validity.
const RECENTLY_OBTAINED: TimeDelta = TimeDelta::seconds(60);

/// Signs in: the saved token if it is valid for this server, else a renewal, else a login.
///
/// 1. Read the token file (no lock). A valid token for `base_url` with more than
///    `min_valid` left is returned at once: no request, no network setup. A file that holds
///    another server's tokens with something to lose in them (a live token, a client's key)
///    is refused with [`AuthError::OtherServer`] and left as it is, unless `force`.
/// 2. Otherwise, if the token cannot be renewed and credentials are neither supplied nor can
///    be prompted for, fail with [`AuthError::NoCredentials`] at once.
/// 3. Take the token file's lock and read the file again: another process may have logged
///    in or renewed meanwhile, and its token is used (no request).
/// 4. With a live refresh token and its OAuth client, renew with one refresh-grant request.
///    If the server refuses, fall back to a password login when credentials are at hand,
///    else fail with [`AuthError::RenewalRejected`].
/// 5. Log in with the password grant. Prompted credentials that the server rejects are asked
///    for again, up to `n_prompt_attempts` times; supplied ones are not retried. Unless
///    `no_refresh`, the login goes through the saved OAuth client (one request, which also
///    yields a refresh token; a client kept by [`crate::logout`] counts as saved); without
///    one, a personal client is created after the first grant and the grant is repeated
///    through it (three requests, once per machine).
/// 6. Save atomically, still under the lock. A failed save is reported as
///    [`Notice::NotSaved`] and the session is still returned.
///
/// ```no_run
/// # async fn run() -> Result<(), tapis_auth::AuthError> {
/// use tapis_auth::{ApiRequest, BaseUrl, LoginOptions, NoPrompt, connect, default_token_file_path};
///
/// let base_url = BaseUrl::parse("https://designsafe.tapis.io").expect("a valid URL");
/// let token_file = default_token_file_path().expect("a home folder");
/// let mut session = connect(&LoginOptions::new(base_url, token_file), &mut NoPrompt).await?;
/// let answer = session.call(&ApiRequest::get("/v3/oauth2/userinfo")).await?;
/// println!("{} until {}", answer.status, session.expires_at());
/// # Ok(()) }
/// ```
pub async fn connect(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    match start(options, prompter)? {
        Start::Ready(session) => Ok(*session),
        Start::NeedsServer(first_read) => log_in_or_renew(options, prompter, first_read).await,
    }
}

/// What the synchronous first step of [`connect`] found.
pub(crate) enum Start {
    /// The saved token is valid: the session, made with no request and no HTTP client.
    Ready(Box<Session>),
    /// The server is needed (a renewal or a login); the expiry of the token read first, if
    /// any, so that a newer one found under the lock is taken.
    NeedsServer(Option<DateTime<Utc>>),
}

/// Steps 1 and 2 of [`connect`]: read the token file and judge it, synchronously, before any
/// runtime or HTTP client exists.
pub(crate) fn start(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Start, AuthError> {
    let store = TokenStore::new(&options.token_file);
    let saved_file = read_saved(&store, options, prompter, true)?;
    let saved = saved_file.tokens;
    let now = options.client.clock.now();
    if !options.force
        && let Some(tokens) =
            saved.as_ref().filter(|tokens| is_valid(tokens, options) || is_best_to_be_had(tokens, options, now))
    {
        tell_if_short(&tokens.access, options, now, prompter);
        return Ok(Start::Ready(Box::new(Session::new(options, tokens.clone(), Origin::Saved, true, None))));
    }

    let can_renew = !options.force && saved.as_ref().is_some_and(|tokens| tokens.renewal(now).is_some());
    if !has_password_way(options, prompter) && !can_renew {
        return Err(AuthError::NoCredentials { base_url: options.base_url.to_string() });
    }
    Ok(Start::NeedsServer(saved.map(|tokens| tokens.access.expires_at())))
}

/// Whether a password login is possible: both credentials supplied, or someone to ask.
fn has_password_way(options: &LoginOptions, prompter: &dyn Prompter) -> bool {
    let supplied = &options.credentials;
    (supplied.username.is_some() && supplied.password.is_some()) || prompter.can_prompt()
}

/// Steps 3 to 6 of [`connect`]: under the lock, renew or log in, and save. `first_read` is
/// the expiry of the token read before the lock was taken.
pub(crate) async fn log_in_or_renew(
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    first_read: Option<DateTime<Utc>>,
) -> Result<Session, AuthError> {
    let store = TokenStore::new(&options.token_file);
    let has_password_way = has_password_way(options, prompter);

    let held = lock(&store, options.lock_timeout).await?;
    crate::prompt::tell_once_if_lock_fallback(&held, prompter);
    let SavedFile { tokens: saved, kept_client, held: _held } = read_saved(&store, options, prompter, false)?;
    let previous = match (&saved, &kept_client) {
        (Some(tokens), _) => PreviousClient::of_tokens(tokens),
        (None, Some(kept)) => PreviousClient::of_kept(kept),
        (None, None) => PreviousClient::default(),
    };
    let now = options.client.clock.now();
    // Another process renewed or logged in while this one waited: its token is the one to
    // use, even if it falls short of `min_valid` (no request of ours would do better).
    let renewed_meanwhile = |tokens: &TokenSet| {
        tokens.access.time_left(now) > TimeDelta::zero()
            && first_read.is_none_or(|first| tokens.access.expires_at() > first)
    };
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| {
            is_valid(tokens, options) || renewed_meanwhile(tokens) || is_best_to_be_had(tokens, options, now)
        })
    {
        prompter.notice(&Notice::LoggedInByAnotherProcess);
        tell_if_short(&tokens.access, options, now, prompter);
        return Ok(Session::new(options, tokens.clone(), Origin::SavedByAnotherProcess, true, None));
    }

    let client = TapisClient::new(options.base_url.clone(), options.client.clone())?;
    let renewal = if options.force { None } else { saved.as_ref().and_then(|tokens| tokens.renewal(now)) };
    let (mut tokens, origin) = match renewal {
        Some((refresh, oauth)) => match client.refresh_grant(refresh, oauth).await {
            Ok(mut tokens) => {
                // An answer without a refresh token leaves the saved one in force.
                if tokens.refresh.is_none() {
                    tokens.refresh = Some(refresh.clone());
                }
                (tokens, Origin::Renewed)
            }
            Err(AuthError::Server { status: 400..=499, message, .. }) => {
                if !has_password_way {
                    return Err(AuthError::RenewalRejected { base_url: options.base_url.to_string(), message });
                }
                prompter.notice(&Notice::RenewalRejected { message });
                (log_in_with_password(&client, options, prompter, previous).await?, Origin::LoggedIn)
            }
            Err(error) => return Err(error),
        },
        None => (log_in_with_password(&client, options, prompter, previous).await?, Origin::LoggedIn),
    };
    if origin == Origin::Renewed {
        tokens.created_client_id = saved.as_ref().and_then(|saved| saved.created_client_id.clone());
    }
    tell_if_short(&tokens.access, options, options.client.clock.now(), prompter);
    let saved = save_or_tell(&store, &tokens, prompter);
    Ok(Session::new(options, tokens, origin, saved, Some(client)))
}

/// A session for a token given by the caller (say, one a CI job was handed): used as it is,
/// with nothing read from or written to disk, and never renewed. Of `options`, only the base
/// URL, `min_valid` and the HTTP settings are used.
///
/// The token must be a Tapis JWT (its claims give the expiry and user). If its `iss` names a
/// server other than the base URL, it is refused: a token is only sent to its own server. A
/// token with no more than `min_valid` left is refused with [`AuthError::GivenTokenExpiring`]
/// (a caller may then fall back to [`connect`], as if no token had been given).
pub fn session_from_token(options: &LoginOptions, token: SecretString) -> Result<Session, AuthError> {
    let base_url = options.base_url.clone();
    use tapis_auth_core::ExposeSecret as _;
    let _held = crate::secrets::hold_text(token.expose_secret());
    let unusable = |reason: String| AuthError::UnusableGivenToken { reason };
    tapis_auth_core::jwt::read_claims(token.expose_secret()).map_err(|error| unusable(error.to_string()))?;
    let access = AccessToken::new(token, None).map_err(|error| unusable(error.to_string()))?;
    let tokens = TokenSet::new(access);
    if let Some(server) = tokens.server()
        && server != base_url
    {
        return Err(unusable(format!("it was issued by {server}, not {base_url}; use the base URL of its server")));
    }
    if !tokens.access.is_fresh(options.client.clock.now(), options.min_valid) {
        return Err(AuthError::GivenTokenExpiring { expires_at: tokens.access.expires_at() });
    }
    Ok(Session::new(options, TokenSet { base_url: Some(base_url), ..tokens }, Origin::Given, false, None))
}

/// Whether saved tokens are good for this request as they are.
pub(super) fn is_valid(tokens: &TokenSet, options: &LoginOptions) -> bool {
    tokens.state(&options.base_url, options.client.clock.now(), options.min_valid) == TokenState::Valid
}

/// Whether saved tokens, though short of `min_valid`, are as good as a request would give:
/// they came from the server moments ago, and `min_valid` is longer than the lifetime the
/// server gave them, so a renewal now could not meet it either.
fn is_best_to_be_had(tokens: &TokenSet, options: &LoginOptions, now: DateTime<Utc>) -> bool {
    let Some(obtained_at) = tokens.obtained_at else { return false };
    let age = now - obtained_at;
    tokens.access.time_left(now) > TimeDelta::zero()
        && age >= TimeDelta::zero()
        && age < RECENTLY_OBTAINED
        && options.min_valid >= tokens.access.expires_at() - obtained_at
}

/// The saved token's state for the debug log: `valid`, `expired`, ..., with its expiry and
/// whether it can be renewed.
fn describe_state(tokens: &TokenSet, options: &LoginOptions) -> String {
    let now = Utc::now();
    let state = match tokens.state(&options.base_url, now, options.min_valid) {
        TokenState::Valid => "valid",
        TokenState::ExpiringSoon => "expiring within the margin",
        TokenState::Expired => "expired",
        TokenState::OtherServer => "for another server",
        _ => "unknown",
    };
    let expires_at = tokens.access.expires_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let renewable = if tokens.renewal(now).is_some() { "renewable" } else { "not renewable" };
    format!("{state} (until {expires_at}, {renewable})")
}

/// Tells the prompter when the token handed out is valid for less than `min_valid`.
fn tell_if_short(access: &AccessToken, options: &LoginOptions, now: DateTime<Utc>, prompter: &mut dyn Prompter) {
    if !access.is_fresh(now, options.min_valid) {
        prompter.notice(&Notice::ShorterThanAsked { valid_for: access.time_left(now), min_valid: options.min_valid });
    }
}

/// What the token file holds for this server.
#[derive(Default)]
pub(super) struct SavedFile {
    /// Its tokens, when they belong to this server.
    pub(super) tokens: Option<TokenSet>,
    /// The OAuth client a logout kept, when the file holds only that, for this server.
    pub(super) kept_client: Option<KeptClient>,
    /// Keeps the tokens read remembered for redaction while the flow works with them.
    pub(super) held: crate::secrets::Held,
}

/// Reads the token file and returns its tokens if they belong to this server (fresh or not:
/// an expired token may still carry a refresh token and a client), or the client kept there
/// for this server. Tokens of another server that are worth something (see
/// [`TokenSet::has_something_to_lose`]), and a client kept for another server, are
/// [`AuthError::OtherServer`] unless `options.force`: whoever reads the file to replace it
/// must not discard them. Notices are given only on the first read (`tell`), not again under
/// the lock.
pub(super) fn read_saved(
    store: &TokenStore,
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    tell: bool,
) -> Result<SavedFile, AuthError> {
    let path = store.path();
    let loaded = match store.load() {
        Ok(loaded) => loaded,
        Err(error) if error.counts_as_no_token() => {
            crate::secrets::debug_redacted!("read the token file {}: no usable token ({error})", path.display());
            if tell {
                prompter.notice(&Notice::UnusableTokenFile(error));
            }
            return Ok(SavedFile::default());
        }
        Err(error) => {
            crate::secrets::debug_redacted!("cannot read the token file {}: {error}", path.display());
            return Err(error.into());
        }
    };
    let held = loaded.tokens.as_ref().map(crate::secrets::hold_tokens).unwrap_or_default();
    crate::secrets::debug_redacted!(
        "read the token file {}: {}",
        path.display(),
        match &loaded.tokens {
            None => "no token".to_owned(),
            Some(tokens) => describe_state(tokens, options),
        }
    );
    if let Some(kept) = &loaded.kept_client {
        crate::secrets::remember_client(&kept.client);
    }
    if let Some(LooseMode::Tightened(old_mode)) = loaded.loose_mode
        && tell
    {
        prompter.notice(&Notice::TightenedPermissions { path: store.path().to_path_buf(), old_mode });
    }
    let other_server = |server: &tapis_auth_core::BaseUrl| AuthError::OtherServer {
        server: server.to_string(),
        base_url: options.base_url.to_string(),
        path: store.path().to_path_buf(),
    };
    let server = match (loaded.tokens, loaded.kept_client) {
        (Some(tokens), _) if tokens.belongs_to(&options.base_url) => {
            return Ok(SavedFile { tokens: Some(tokens), kept_client: None, held });
        }
        (Some(tokens), _) => match tokens.server() {
            Some(server) if !options.force && tokens.has_something_to_lose(options.client.clock.now()) => {
                return Err(other_server(&server));
            }
            server => server,
        },
        (None, Some(kept)) if kept.base_url == options.base_url => {
            return Ok(SavedFile { tokens: None, kept_client: Some(kept), held });
        }
        (None, Some(kept)) if !options.force => return Err(other_server(&kept.base_url)),
        (None, Some(kept)) => Some(kept.base_url),
        (None, None) => return Ok(SavedFile::default()),
    };
    if tell {
        prompter.notice(&Notice::TokenForOtherServer { path: store.path().to_path_buf(), server });
    }
    Ok(SavedFile::default())
}
