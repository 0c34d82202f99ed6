//! The login flow — the notebooks' `connect_tapis()` done right — and logout.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tapis_core::{AccessToken, BaseUrl, OAuthClient, SecretString, TokenSet, TokenState};
use tapis_store::{DEFAULT_LOCK_TIMEOUT, StoreLock, TokenStore};

use crate::client::{ApiRequest, ApiResponse, ClientConfig, DevicePoll, INVALID_CLIENT_PREFIX, TapisClient};
use crate::error::AuthError;
use crate::prompt::{NoPrompt, Notice, PromptError, Prompter};

/// How many times prompted credentials are asked for by default.
pub const DEFAULT_N_PROMPT_ATTEMPTS: u32 = 3;

/// The margin a saved token must have left to be used without logging in again.
pub const DEFAULT_MIN_VALID: TimeDelta = TimeDelta::seconds(60);

/// Credentials the caller already has (from flags, the environment or stdin). Supplied
/// credentials are tried once: a rejection is final, since asking again would give the same.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct Credentials {
    /// The username, if supplied.
    pub username: Option<String>,
    /// The password, if supplied.
    pub password: Option<SecretString>,
}

/// The OAuth client a device login goes through, when the caller names one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceClient {
    /// The client's id.
    pub client_id: String,
    /// The client's key, when known: with it the tokens can be renewed; without it they
    /// cannot (a device login still works).
    pub client_key: Option<SecretString>,
}

impl DeviceClient {
    /// A client by id, its key unknown.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self { client_id: client_id.into(), client_key: None }
    }
}

/// Where to sign in and how: the one options type of [`connect`], [`device_login`],
/// [`logout`], [`session_from_token`] and [`crate::TokenProvider`] (and their
/// [`crate::blocking`] forms).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tapis_auth::{BaseUrl, LoginOptions};
///
/// let mut options = LoginOptions::new(BaseUrl::parse("https://designsafe.tapis.io")?, "/tmp/tokens.json");
/// options.force = true;
/// options.client.user_agent_suffix = Some("my-workflow/1.0".into());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginOptions {
    /// The tenant.
    pub base_url: BaseUrl,
    /// The token file.
    pub token_file: PathBuf,
    /// A saved token with at most this much left is replaced.
    pub min_valid: TimeDelta,
    /// Log in even if the saved token is valid.
    pub force: bool,
    /// Credentials supplied by the caller; missing parts are prompted for.
    pub credentials: Credentials,
    /// How many times prompted credentials are asked for (at least 1).
    pub n_prompt_attempts: u32,
    /// How long to wait for another process that holds the token file's lock.
    pub lock_timeout: Duration,
    /// Timeouts and retries for the HTTP requests.
    pub client: ClientConfig,
    /// Do not use or create an OAuth client: log in for an access token only, no renewal.
    pub no_refresh: bool,
    /// The description given to a personal OAuth client made at login, so that the user can
    /// recognise it among their clients.
    pub client_description: String,
    /// How often a device login asks whether the user has approved it.
    pub device_poll_interval: Duration,
    /// The OAuth client of a device login; `None` uses the client in the token file.
    pub device_client: Option<DeviceClient>,
    /// [`logout`] keeps the personal OAuth client instead of deleting it.
    pub keep_client: bool,
}

/// How often a device login polls by default.
pub const DEFAULT_DEVICE_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The shortest wait between two device-login polls: a shorter `device_poll_interval` is
/// raised to it.
pub const MIN_DEVICE_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long a device login waits for approval when the server does not say (or says
/// nonsense about) when its code expires.
pub const MAX_DEVICE_WAIT: TimeDelta = TimeDelta::minutes(15);

/// How long after a token came from the server it counts as the best one to be had: a
/// renewal within this time would gain less than this much validity.
const RECENTLY_OBTAINED: TimeDelta = TimeDelta::seconds(60);

impl LoginOptions {
    /// Options with the defaults: 60 s margin, 3 prompt attempts, 2 min lock wait, renewal on.
    pub fn new(base_url: BaseUrl, token_file: impl Into<PathBuf>) -> Self {
        Self {
            base_url,
            token_file: token_file.into(),
            min_valid: DEFAULT_MIN_VALID,
            force: false,
            credentials: Credentials::default(),
            n_prompt_attempts: DEFAULT_N_PROMPT_ATTEMPTS,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            client: ClientConfig::default(),
            no_refresh: false,
            client_description: "tapis".to_owned(),
            device_poll_interval: DEFAULT_DEVICE_POLL_INTERVAL,
            device_client: None,
            keep_client: false,
        }
    }
}

/// Where a session's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The saved token was valid; no request was made.
    Saved,
    /// Another process logged in while this one waited for the lock; no request was made.
    SavedByAnotherProcess,
    /// This call renewed the token with the refresh token (no password).
    Renewed,
    /// This call logged in.
    LoggedIn,
    /// The token was given by the caller ([`session_from_token`]); nothing was read or written.
    Given,
}

/// A signed-in session: a valid access token for one base URL.
#[derive(Debug)]
pub struct Session {
    tokens: TokenSet,
    /// The options it was made with (for a renewal), `min_valid` included.
    options: LoginOptions,
    origin: Origin,
    saved: bool,
    client: OnceLock<TapisClient>,
}

impl Session {
    /// A session on `options`' server and token file; `client`, when the caller already built
    /// one, is kept for the session's requests.
    fn new(options: &LoginOptions, tokens: TokenSet, origin: Origin, saved: bool, client: Option<TapisClient>) -> Self {
        let session = Self { tokens, options: options.clone(), origin, saved, client: OnceLock::new() };
        if let Some(client) = client {
            let _ = session.client.set(client);
        }
        session
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.tokens.access
    }

    /// All tokens of the session.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.tokens.access.expires_at()
    }

    /// The user the token is for, from its claims.
    pub fn username(&self) -> Option<&str> {
        self.tokens.access.username()
    }

    /// The tenant.
    pub fn base_url(&self) -> &BaseUrl {
        &self.options.base_url
    }

    /// The token file (empty for a session from a given token, [`Origin::Given`]).
    pub fn token_file(&self) -> &std::path::Path {
        if self.origin == Origin::Given { std::path::Path::new("") } else { &self.options.token_file }
    }

    /// Where the token came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Whether the token is in the token file (false only when saving a fresh one failed).
    pub fn is_saved(&self) -> bool {
        self.saved
    }

    /// The user's profile from `GET /v3/oauth2/userinfo` (the envelope's `result`).
    pub async fn userinfo(&self) -> Result<serde_json::Value, AuthError> {
        self.client()?.userinfo(self.tokens.access.expose_secret()).await
    }

    /// Sends `request` with the session's token and returns the whole answer, whatever its
    /// status. The HTTP client is set up on first use, so a session that makes no request
    /// costs no network setup.
    ///
    /// If the server answers 401 `TAPIS_SECURITY_JWT_EXPIRED ...` (a clock difference, or a
    /// revoked token), the token is renewed once as [`connect`] would (asking for more time
    /// than this token has, with no prompting) and the request is sent once more. A session
    /// from [`session_from_token`] is never renewed.
    ///
    /// `request.path` must be a path such as `/v3/jobs/list`; an absolute URL is refused
    /// with [`AuthError::ForeignPath`], so the token is never sent to another host.
    pub async fn call(&mut self, request: &ApiRequest) -> Result<ApiResponse, AuthError> {
        self.call_with_prompter(request, &mut NoPrompt).await
    }

    /// [`Session::call`], with a prompter for the renewal (it may ask for a password when
    /// the refresh token is refused).
    pub async fn call_with_prompter(
        &mut self,
        request: &ApiRequest,
        prompter: &mut dyn Prompter,
    ) -> Result<ApiResponse, AuthError> {
        let answer = self.client()?.call(self.tokens.access.expose_secret(), request).await?;
        if !answer.says_token_expired() || self.origin == Origin::Given {
            return Ok(answer);
        }
        let left = self.expires_at() - Utc::now();
        let mut options = self.options.clone();
        options.min_valid = left.max(TimeDelta::zero()) + TimeDelta::seconds(1);
        options.force = false;
        let renewed = connect(&options, prompter).await?;
        let client = self.client.take();
        let original = std::mem::replace(self, renewed).options;
        self.options = original;
        if let Some(client) = client {
            let _ = self.client.set(client);
        }
        self.client()?.call(self.tokens.access.expose_secret(), request).await
    }

    fn client(&self) -> Result<&TapisClient, AuthError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = TapisClient::new(self.options.base_url.clone(), self.options.client.clone())?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// Signs in: the saved token if it is valid for this server, else a renewal, else a login.
///
/// 1. Read the token file (no lock). A valid token for `base_url` with more than
///    `min_valid` left is returned at once: no request, no network setup.
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
///    yields a refresh token); without one, a personal client is created after the first
///    grant and the grant is repeated through it (three requests, once per machine).
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
    let saved = read_saved(&store, options, prompter, true)?;
    let now = Utc::now();
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

/// Takes the token file's lock without blocking the async runtime's worker thread: at once
/// when it is free, else waiting on a blocking-pool thread.
async fn lock(store: &TokenStore, timeout: Duration) -> Result<StoreLock, AuthError> {
    match store.lock(Duration::ZERO) {
        Ok(lock) => return Ok(lock),
        Err(tapis_store::StoreError::LockTimeout { .. }) if !timeout.is_zero() => {}
        Err(error) => return Err(error.into()),
    }
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.lock(timeout)).await {
        Ok(locked) => Ok(locked?),
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
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
    let saved = read_saved(&store, options, prompter, false)?;
    let now = Utc::now();
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
                (log_in_with_password(&client, options, prompter, saved.as_ref()).await?, Origin::LoggedIn)
            }
            Err(error) => return Err(error),
        },
        None => (log_in_with_password(&client, options, prompter, saved.as_ref()).await?, Origin::LoggedIn),
    };
    if origin == Origin::Renewed {
        tokens.created_client_id = saved.as_ref().and_then(|saved| saved.created_client_id.clone());
    }
    tell_if_short(&tokens.access, options, Utc::now(), prompter);
    let saved = save_or_tell(&store, &tokens, prompter);
    Ok(Session::new(options, tokens, origin, saved, Some(client)))
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
    use tapis_core::ExposeSecret as _;
    let unusable = |reason: String| AuthError::UnusableGivenToken { reason };
    tapis_core::jwt::read_claims(token.expose_secret()).map_err(|error| unusable(error.to_string()))?;
    let access = AccessToken::new(token, None).map_err(|error| unusable(error.to_string()))?;
    let tokens = TokenSet::new(access);
    if let Some(server) = tokens.server()
        && server != base_url
    {
        return Err(unusable(format!("it was issued by {server}, not {base_url}; use the base URL of its server")));
    }
    if !tokens.access.is_fresh(Utc::now(), options.min_valid) {
        return Err(AuthError::GivenTokenExpiring { expires_at: tokens.access.expires_at() });
    }
    Ok(Session::new(options, TokenSet { base_url: Some(base_url), ..tokens }, Origin::Given, false, None))
}

/// Whether saved tokens are good for this request as they are.
fn is_valid(tokens: &TokenSet, options: &LoginOptions) -> bool {
    tokens.state(&options.base_url, Utc::now(), options.min_valid) == TokenState::Valid
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

/// Tells the prompter when the token handed out is valid for less than `min_valid`.
fn tell_if_short(access: &AccessToken, options: &LoginOptions, now: DateTime<Utc>, prompter: &mut dyn Prompter) {
    if !access.is_fresh(now, options.min_valid) {
        prompter.notice(&Notice::ShorterThanAsked { valid_for: access.time_left(now), min_valid: options.min_valid });
    }
}

/// Reads the token file and returns its tokens if they belong to this server (fresh or not:
/// an expired token may still carry a refresh token and a client). Notices are given only on
/// the first read (`tell`), not again under the lock.
fn read_saved(
    store: &TokenStore,
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    tell: bool,
) -> Result<Option<TokenSet>, AuthError> {
    let loaded = match store.load() {
        Ok(loaded) => loaded,
        Err(error) if error.counts_as_no_token() => {
            if tell {
                prompter.notice(&Notice::UnusableTokenFile(error));
            }
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(old_mode) = loaded.tightened_from
        && tell
    {
        prompter.notice(&Notice::TightenedPermissions { path: store.path().to_path_buf(), old_mode });
    }
    let Some(tokens) = loaded.tokens else { return Ok(None) };
    if tokens.belongs_to(&options.base_url) {
        return Ok(Some(tokens));
    }
    if tell {
        prompter.notice(&Notice::TokenForOtherServer { path: store.path().to_path_buf(), server: tokens.server() });
    }
    Ok(None)
}

/// The bounded login loop: at most `n_prompt_attempts` tries when anything is prompted for,
/// exactly one when everything was supplied. Unless `no_refresh`, the grant goes through the
/// saved OAuth client, or a personal client is made for the purpose (see [`connect`]).
async fn log_in_with_password(
    client: &TapisClient,
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    saved: Option<&TokenSet>,
) -> Result<TokenSet, AuthError> {
    let supplied = &options.credentials;
    let prompts_for_something = supplied.username.is_none() || supplied.password.is_none();
    let n_attempts = if prompts_for_something { options.n_prompt_attempts.max(1) } else { 1 };
    let mut oauth = if options.no_refresh { None } else { saved.and_then(|tokens| tokens.client.clone()) };
    let mut attempt = 1;
    let (mut tokens, username, password) = loop {
        let username = match &supplied.username {
            Some(username) => username.clone(),
            None => non_empty(prompter.username(&options.base_url)?.trim().to_owned(), "username")?,
        };
        let password = match &supplied.password {
            Some(password) => password.clone(),
            None => prompter.password(&username)?,
        };
        let mut outcome = client.password_grant_via(&username, &password, oauth.as_ref()).await;
        if let (Err(AuthError::Server { status: 400, message, .. }), Some(rejected)) = (&outcome, &oauth)
            && message.starts_with(INVALID_CLIENT_PREFIX)
        {
            // The saved client is gone (deleted on the server): log in without it, and a new
            // one is made below.
            prompter.notice(&Notice::ClientRejected { client_id: rejected.client_id.clone() });
            oauth = None;
            outcome = client.password_grant_via(&username, &password, None).await;
        }
        match outcome {
            Ok(tokens) => break (tokens, username, password),
            Err(AuthError::CredentialsRejected { message, .. }) if attempt < n_attempts => {
                prompter.notice(&Notice::CredentialsRejected { message, attempts_left: n_attempts - attempt });
                attempt += 1;
            }
            Err(AuthError::CredentialsRejected { message, .. }) => {
                return Err(AuthError::CredentialsRejected { message, n_attempts: attempt });
            }
            Err(error) => return Err(error),
        }
    };
    let saved_created = saved.and_then(|tokens| tokens.created_client_id.clone());
    if options.no_refresh {
        // Keep a known client in the file, so that a logout can still delete it.
        tokens.client = saved.and_then(|tokens| tokens.client.clone());
        tokens.created_client_id = saved_created;
        return Ok(tokens);
    }
    if let Some(oauth) = &oauth {
        // The saved client took part and is usable: never make another one.
        tokens.created_client_id = saved_created;
        if tokens.refresh.is_none() {
            let reason = format!("the server gave no refresh token through the client {}", oauth.client_id);
            prompter.notice(&Notice::RenewalOff { reason });
        }
        return Ok(tokens);
    }
    // No client yet: make a personal one with the new access token, then log in through it to
    // get a refresh token as well. The description is unique to this login, so that a client
    // whose creation went unanswered can be found again instead of being made twice.
    let access_token = tokens.access.expose_secret().to_owned();
    let description = format!("{} ({:08x})", options.client_description, rand::random::<u32>());
    let new_client = match client.create_client(&access_token, &description).await {
        Ok(new_client) => new_client,
        Err(AuthError::Unconfirmed { .. }) => match client.find_client(&access_token, &description).await {
            Ok(Some(found)) => found,
            Ok(None) | Err(_) => {
                let reason = format!(
                    "the answer to creating an OAuth client was lost, and no client described as `{description}` was found"
                );
                prompter.notice(&Notice::RenewalOff { reason });
                return Ok(tokens);
            }
        },
        Err(error) => {
            prompter.notice(&Notice::RenewalOff { reason: error.to_string() });
            return Ok(tokens);
        }
    };
    prompter.notice(&Notice::ClientCreated { client_id: new_client.client_id.clone() });
    let created_client_id = Some(new_client.client_id.clone());
    match client.password_grant_via(&username, &password, Some(&new_client)).await {
        Ok(with_refresh) => Ok(TokenSet { created_client_id, ..with_refresh }),
        Err(error) => {
            prompter.notice(&Notice::RenewalOff { reason: error.to_string() });
            tokens.client = Some(new_client);
            tokens.created_client_id = created_client_id;
            Ok(tokens)
        }
    }
}

fn non_empty(answer: String, what: &'static str) -> Result<String, PromptError> {
    if answer.is_empty() { Err(PromptError::Empty(what)) } else { Ok(answer) }
}

/// Logs in with the device-code grant: shows the user a page and a code (as
/// [`Notice::DeviceCode`]), then polls every `device_poll_interval` until the user approves,
/// the code expires, or the future is dropped. The tokens are saved like a password login's.
///
/// The OAuth client is `options.device_client` when given (its key, when not given, comes
/// from the token file if that holds the same client), else the client in the token file;
/// with neither, [`AuthError::NoClient`]. Without the client's key the login works but the
/// tokens cannot be renewed ([`Notice::RenewalOff`]).
pub async fn device_login(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    let (oauth, created_client_id) = choose_device_client(options)?;
    let client_id = oauth.client_id.as_str();
    let store = TokenStore::new(&options.token_file);
    let client = TapisClient::new(options.base_url.clone(), options.client.clone())?;
    let code = client.device_code(client_id).await?;
    let started = Utc::now();
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
        wait_for_next_poll(interval, expires_at, prompter).await;
        match client.poll_device_token(client_id, &code.device_code).await? {
            DevicePoll::Approved(tokens) => break *tokens,
            DevicePoll::Expired => return Err(AuthError::DeviceCodeExpired),
            DevicePoll::Pending if Utc::now() > give_up_at => {
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
/// tool created, as the token file records it.
fn choose_device_client(options: &LoginOptions) -> Result<(DeviceClient, Option<String>), AuthError> {
    let saved = TokenStore::new(&options.token_file)
        .load()
        .ok()
        .and_then(|loaded| loaded.tokens)
        .filter(|tokens| tokens.belongs_to(&options.base_url));
    let created_client_id = saved.as_ref().and_then(|tokens| tokens.created_client_id.clone());
    let chosen = match (&options.device_client, saved.and_then(|tokens| tokens.client)) {
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
async fn wait_for_next_poll(interval: Duration, expires_at: Option<DateTime<Utc>>, prompter: &mut dyn Prompter) {
    let mut left = interval;
    while !left.is_zero() {
        prompter.notice(&Notice::DeviceWaiting { expires_at });
        let step = left.min(Duration::from_secs(1));
        tokio::time::sleep(step).await;
        left -= step;
    }
}

/// What [`logout`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct LogoutReport {
    /// Whether there was a token file to remove.
    pub removed_file: bool,
    /// Whether the access token was revoked on the server.
    pub revoked: bool,
    /// Whether the refresh token was revoked on the server.
    pub revoked_refresh: bool,
    /// The personal OAuth client deleted on the server, if one was.
    pub deleted_client: Option<String>,
    /// The OAuth client of the saved tokens that was kept because this tool did not create it
    /// (one the user named, or one recorded by a version that did not mark its own clients).
    pub kept_client: Option<String>,
    /// Why the access token was not revoked, when it was not (none saved, expired, another
    /// server, or the server's error).
    pub not_revoked_because: Option<String>,
    /// What failed on the server side. Never fatal: the file is removed regardless.
    pub warnings: Vec<String>,
}

/// Logs out: deletes the OAuth client this tool created at login (unless
/// `options.keep_client`; a client the user named, or one the token file does not record as
/// created here, is never deleted), revokes the refresh and access tokens (best effort) and
/// deletes the token file. A missing file is not an error. Tokens are only ever sent to the
/// base URL, and only if they belong to it.
///
/// It holds the token file's lock throughout, as every writer does, so that a renewal running
/// at the same moment can neither be deleted half-way nor bring the file back; when the lock
/// is not had within `options.lock_timeout`, nothing is changed.
pub async fn logout(options: &LoginOptions) -> Result<LogoutReport, AuthError> {
    let base_url = &options.base_url;
    let store = TokenStore::new(&options.token_file);
    let _lock = lock(&store, options.lock_timeout).await?;
    let tokens = match store.load() {
        Ok(loaded) => loaded.tokens,
        Err(error) if error.counts_as_no_token() => None,
        Err(error) => return Err(error.into()),
    };
    let mut report = LogoutReport::default();
    match &tokens {
        None => report.not_revoked_because = Some("no saved token".to_owned()),
        Some(tokens) if !tokens.belongs_to(base_url) => {
            report.not_revoked_because = Some(format!("the saved token does not belong to {base_url}"));
        }
        Some(tokens) => log_out_on_server(options, tokens, &mut report).await,
    }
    report.removed_file = store.remove()?;
    Ok(report)
}

async fn log_out_on_server(options: &LoginOptions, tokens: &TokenSet, report: &mut LogoutReport) {
    let client = match TapisClient::new(options.base_url.clone(), options.client.clone()) {
        Ok(client) => client,
        Err(error) => {
            report.not_revoked_because = Some(error.to_string());
            return;
        }
    };
    let now = Utc::now();
    let access_is_live = tokens.access.time_left(now) > TimeDelta::zero();
    if let Some(client_id) = tokens.created_client_id.as_ref().filter(|_| !options.keep_client) {
        if access_is_live {
            match client.delete_client(tokens.access.expose_secret(), client_id).await {
                Ok(()) => report.deleted_client = Some(client_id.clone()),
                Err(error) => report.warnings.push(format!("the OAuth client {client_id} was not deleted: {error}")),
            }
        } else {
            report.warnings.push(format!(
                "the OAuth client {client_id} was not deleted: the access token has expired (log in again, then log out, to delete it)"
            ));
        }
    }
    if let Some(oauth) =
        tokens.client.as_ref().filter(|oauth| tokens.created_client_id.as_ref() != Some(&oauth.client_id))
        && !options.keep_client
    {
        report.kept_client = Some(oauth.client_id.clone());
    }
    if let Some(refresh) = tokens.refresh.as_ref().filter(|refresh| refresh.is_live(now)) {
        match client.revoke(refresh.expose_secret()).await {
            Ok(()) => report.revoked_refresh = true,
            Err(error) => report.warnings.push(format!("the refresh token was not revoked: {error}")),
        }
    }
    if access_is_live {
        match client.revoke(tokens.access.expose_secret()).await {
            Ok(()) => report.revoked = true,
            Err(error) => report.not_revoked_because = Some(error.to_string()),
        }
    } else {
        report.not_revoked_because = Some("the saved token had already expired".to_owned());
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
