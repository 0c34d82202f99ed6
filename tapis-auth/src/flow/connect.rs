//! [`connect`]: the saved token, else a renewal, else a password login, under the lock.

use chrono::{DateTime, TimeDelta, Utc};
use tapis_auth_core::{AccessToken, BaseUrl, KeptClient, SecretString, TokenSet, TokenState};
use tapis_store::{Loaded, LooseMode, StoreError, TokenStore};

use super::password::{PreviousClient, log_in_with_password};
use super::{Locked, LoginOptions, Origin, Session};
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
///    in or renewed meanwhile, and its token is used (no request). Where nothing can be
///    saved (a read-only file system, a folder this user may not write to), go on without
///    the lock; the token is then handed out unsaved, with [`Notice::NotSaved`].
/// 4. With a live refresh token and its OAuth client, renew with one refresh-grant request.
///    If the server refuses, fall back to a password login when credentials are at hand,
///    else fail with [`AuthError::RenewalRejected`].
/// 5. Log in with the password grant. Prompted credentials that the server rejects are asked
///    for again, up to `n_prompt_attempts` times; supplied ones are not retried. Unless
///    `no_refresh`, the login goes through the saved OAuth client (one request, which also
///    yields a refresh token; a client kept by [`crate::logout`] counts as saved); without
///    one, a personal client is created after the first grant and the grant is repeated
///    through it (three requests, once per machine).
/// 6. Save atomically, still under the lock, only if the file still holds what was read
///    under it. A failed save is reported as [`Notice::NotSaved`] and the session is still
///    returned.
///
/// A token file that cannot be read (an I/O error, a stale NFS handle, ...) is an error,
/// [`AuthError::Store`], and is never replaced; only a missing file means no token. A file
/// whose contents are unusable counts as no token, and is kept as a copy before a login
/// replaces it ([`Notice::UnusableFileKept`]).
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
    let saved_file = read_saved(&store, store.load(), options, prompter, true)?;
    let saved = saved_file.tokens;
    let now = options.client.clock.now();
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| {
            !is_refused(tokens, options) && (is_valid(tokens, options) || is_best_to_be_had(tokens, options, now))
        })
    {
        tell_if_short(&tokens.access, options, now, prompter);
        return Ok(Start::Ready(Box::new(Session::new(options, tokens.clone(), Origin::Saved, true, None))));
    }

    let can_renew = !options.force && saved.as_ref().is_some_and(|tokens| tokens.renewal(now).is_some());
    if !has_password_way(options, prompter) && !can_renew {
        let credentials = &options.credentials;
        if credentials.password.is_some() && credentials.username.is_none() {
            return Err(AuthError::PasswordWithoutUsername {
                base_url: options.base_url.to_string(),
                path: options.token_file.clone(),
            });
        }
        // A saved login whose refresh token has expired lapsed; it was not never made.
        let lapsed_at = saved
            .as_ref()
            .and_then(|tokens| tokens.refresh.as_ref()?.expires_at())
            .filter(|expired_at| *expired_at <= now);
        return Err(AuthError::NoCredentials { base_url: options.base_url.to_string(), lapsed_at });
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

    let locked = Locked::take(&store, options.lock_timeout, prompter).await?;
    let (contents, guard) = locked.read(&store)?;
    let SavedFile { tokens: saved, kept_client, displaced, held: _held } =
        read_saved(&store, contents, options, prompter, false)?;
    let now = options.client.clock.now();
    let previous = match (&saved, &kept_client) {
        (Some(tokens), _) => PreviousClient::of_tokens(tokens, now),
        (None, Some(kept)) => PreviousClient::of_kept(kept),
        (None, None) => PreviousClient::default(),
    };
    // Another process renewed or logged in while this one waited: its token is the one to
    // use, even if it falls short of `min_valid` (no request of ours would do better).
    let renewed_meanwhile = |tokens: &TokenSet| {
        tokens.access.time_left(now) > TimeDelta::zero()
            && first_read.is_none_or(|first| tokens.access.expires_at() > first)
    };
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| {
            !is_refused(tokens, options)
                && (is_valid(tokens, options) || renewed_meanwhile(tokens) || is_best_to_be_had(tokens, options, now))
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
                (log_in_with_password(&client, options, prompter, previous, &store).await?, Origin::LoggedIn)
            }
            Err(error) => return Err(error),
        },
        None => (log_in_with_password(&client, options, prompter, previous, &store).await?, Origin::LoggedIn),
    };
    if origin == Origin::Renewed {
        tokens.created_client_id = saved.as_ref().and_then(|saved| saved.created_client_id.clone());
    }
    tell_if_short(&tokens.access, options, options.client.clock.now(), prompter);
    // A login as another user than the saved one (known only from a prompt) replaces that
    // user's client, as a forced one replaces another server's.
    let displaced = displaced.or_else(|| {
        let replaced_user =
            origin == Origin::LoggedIn && previous.is_other_users(tokens.access.username().unwrap_or_default());
        match (&saved, &kept_client) {
            (Some(saved), _) if replaced_user => Displaced::of_tokens(saved),
            (None, Some(kept)) if replaced_user => Some(Displaced::of_kept(kept)),
            _ => None,
        }
    });
    let saved = locked.save_or_tell(guard, &tokens, prompter);
    if let Some(displaced) = displaced.filter(|_| saved) {
        retire(displaced, options, prompter).await;
    }
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

/// Whether saved tokens hold the access token the server has just refused (see
/// [`LoginOptions::refused_token`]): never handed out again.
fn is_refused(tokens: &TokenSet, options: &LoginOptions) -> bool {
    use tapis_auth_core::ExposeSecret as _;
    options.refused_token.as_ref().is_some_and(|refused| refused.expose_secret() == tokens.access.expose_secret())
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

/// What the token file holds for this server and the user asked for.
#[derive(Default)]
pub(super) struct SavedFile {
    /// Its tokens, when they belong to this server (and to the user asked for, if any).
    pub(super) tokens: Option<TokenSet>,
    /// The OAuth client a logout kept, when the file holds only that, for this server (and
    /// the user asked for, if any).
    pub(super) kept_client: Option<KeptClient>,
    /// The OAuth client of another server's or user's tokens that a forced login replaces.
    pub(super) displaced: Option<Displaced>,
    /// Keeps the tokens read remembered for redaction while the flow works with them.
    pub(super) held: crate::secrets::Held,
}

/// The OAuth client of tokens that a forced login replaces (another server's or another
/// user's): deleted after the login with its own still-valid token where it can be, else
/// named as left behind ([`retire`]).
#[derive(Debug)]
pub(super) struct Displaced {
    /// The client's server, when known.
    server: Option<BaseUrl>,
    /// The client's id.
    client_id: String,
    /// Whether this tool made it (only those are deleted).
    made_here: bool,
    /// The access token of the replaced tokens, to delete the client with.
    access: Option<AccessToken>,
}

impl Displaced {
    /// The client of `tokens`, if they carry one.
    pub(super) fn of_tokens(tokens: &TokenSet) -> Option<Self> {
        let client = tokens.client.as_ref()?;
        Some(Self {
            server: tokens.server(),
            made_here: tokens.created_client_id.as_ref() == Some(&client.client_id),
            client_id: client.client_id.clone(),
            access: Some(tokens.access.clone()),
        })
    }

    /// A client kept without tokens.
    pub(super) fn of_kept(kept: &KeptClient) -> Self {
        Self {
            server: Some(kept.base_url.clone()),
            made_here: kept.created_client_id.as_ref() == Some(&kept.client.client_id),
            client_id: kept.client.client_id.clone(),
            access: None,
        }
    }
}

/// Deletes the client a forced login replaced, with the replaced tokens' own access token
/// on their own server, where this tool made it and that token is still valid; otherwise,
/// or when the deletion fails, tells the prompter it is left behind.
pub(super) async fn retire(displaced: Displaced, options: &LoginOptions, prompter: &mut dyn Prompter) {
    let Displaced { server, client_id, made_here, access } = displaced;
    let now = options.client.clock.now();
    let live = access.filter(|access| access.time_left(now) > TimeDelta::zero());
    let reason = match (&server, made_here, live) {
        (None, _, _) => "its server is not known".to_owned(),
        (Some(_), false, _) => "this tool did not make it".to_owned(),
        (Some(_), true, None) => "there is no valid token to delete it with".to_owned(),
        (Some(server), true, Some(access)) => {
            let deleted = match TapisClient::new(server.clone(), options.client.clone()) {
                Ok(client) => client.delete_client(access.expose_secret(), &client_id).await,
                Err(error) => Err(error),
            };
            match deleted {
                Ok(()) => {
                    prompter.notice(&Notice::PreviousClientDeleted { client_id, server: server.clone() });
                    return;
                }
                Err(error) => error.to_string(),
            }
        }
    };
    prompter.notice(&Notice::PreviousClientLeftBehind { client_id, server, reason });
}

/// Whether `owner` (the user of saved tokens or of a kept client) is not the user asked for.
/// Nobody asked for is nobody refused; an unknown owner is not the user asked for.
fn is_other_user(owner: Option<&str>, options: &LoginOptions) -> bool {
    options.credentials.username.as_deref().is_some_and(|asked| owner != Some(asked))
}

/// [`AuthError::OtherUser`] for the tokens of `owner` in `store`.
pub(super) fn other_user(owner: Option<&str>, asked: &str, options: &LoginOptions, store: &TokenStore) -> AuthError {
    AuthError::OtherUser {
        user: owner.map(str::to_owned),
        asked: asked.to_owned(),
        base_url: options.base_url.to_string(),
        path: store.path().to_path_buf(),
    }
}

/// Judges what a read of the token file found (`loaded`): its tokens if they belong to this server and to the user
/// asked for, if any (fresh or not: an expired token may still carry a refresh token and a
/// client), or the client kept there for them. Tokens of another server or user that are
/// worth something (see [`TokenSet::has_something_to_lose`]), and a client kept for another
/// server or user, are [`AuthError::OtherServer`] or [`AuthError::OtherUser`] unless
/// `options.force`: whoever reads the file to replace it must not discard them. When forced,
/// their client is returned as [`SavedFile::displaced`]. Notices are given only on the first
/// read (`tell`), not again under the lock. Only unusable contents count as no token; a file
/// that could not be read is an error.
pub(super) fn read_saved(
    store: &TokenStore,
    loaded: Result<Loaded, StoreError>,
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    tell: bool,
) -> Result<SavedFile, AuthError> {
    let path = store.path();
    let loaded = match loaded {
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
    let now = options.client.clock.now();
    let other_server = |server: &tapis_auth_core::BaseUrl| AuthError::OtherServer {
        server: server.to_string(),
        base_url: options.base_url.to_string(),
        path: store.path().to_path_buf(),
    };
    let asked = options.credentials.username.as_deref().unwrap_or_default();
    let told_other_user = |user: Option<&str>, prompter: &mut dyn Prompter| {
        if tell {
            prompter.notice(&Notice::TokenForOtherUser { path: path.to_path_buf(), user: user.map(str::to_owned) });
        }
    };
    let (server, displaced) = match (loaded.tokens, loaded.kept_client) {
        (Some(tokens), _) if tokens.belongs_to(&options.base_url) => {
            let owner = tokens.access.username();
            if !is_other_user(owner, options) {
                return Ok(SavedFile { tokens: Some(tokens), held, ..SavedFile::default() });
            }
            if !options.force && tokens.has_something_to_lose(now) {
                return Err(other_user(owner, asked, options, store));
            }
            told_other_user(owner, prompter);
            return Ok(SavedFile { displaced: Displaced::of_tokens(&tokens), held, ..SavedFile::default() });
        }
        (Some(tokens), _) => match tokens.server() {
            Some(server) if !options.force && tokens.has_something_to_lose(now) => {
                return Err(other_server(&server));
            }
            server => (server, Displaced::of_tokens(&tokens)),
        },
        (None, Some(kept)) if kept.base_url == options.base_url => {
            let owner = kept.username.as_deref();
            if !is_other_user(owner, options) {
                return Ok(SavedFile { kept_client: Some(kept), held, ..SavedFile::default() });
            }
            if !options.force {
                return Err(other_user(owner, asked, options, store));
            }
            told_other_user(owner, prompter);
            return Ok(SavedFile { displaced: Some(Displaced::of_kept(&kept)), held, ..SavedFile::default() });
        }
        (None, Some(kept)) if !options.force => return Err(other_server(&kept.base_url)),
        (None, Some(kept)) => (Some(kept.base_url.clone()), Some(Displaced::of_kept(&kept))),
        (None, None) => return Ok(SavedFile::default()),
    };
    if tell {
        prompter.notice(&Notice::TokenForOtherServer { path: store.path().to_path_buf(), server });
    }
    Ok(SavedFile { displaced, ..SavedFile::default() })
}
