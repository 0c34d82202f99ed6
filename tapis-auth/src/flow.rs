//! The login flow — the notebooks' `connect_tapis()` done right — and logout.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use reqwest::blocking::RequestBuilder;
use tapis_core::{AccessToken, BaseUrl, OAuthClient, SecretString, TokenSet, TokenState};
use tapis_store::{DEFAULT_LOCK_TIMEOUT, TokenStore};

use crate::client::{ClientConfig, DevicePoll, INVALID_CLIENT_PREFIX, TapisClient};
use crate::error::AuthError;
use crate::prompt::{Notice, PromptError, Prompter};

/// How many times prompted credentials are asked for by default.
pub const DEFAULT_N_PROMPT_ATTEMPTS: u32 = 3;

/// The margin a saved token must have left to be used without logging in again.
pub const DEFAULT_MIN_VALID: TimeDelta = TimeDelta::seconds(60);

/// Credentials the caller already has (from flags, the environment or stdin). Supplied
/// credentials are tried once: a rejection is final, since asking again would give the same.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    /// The username, if supplied.
    pub username: Option<String>,
    /// The password, if supplied.
    pub password: Option<SecretString>,
}

/// What [`connect`] needs to know.
#[derive(Debug, Clone)]
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
}

/// How often a device login polls by default.
pub const DEFAULT_DEVICE_POLL_INTERVAL: Duration = Duration::from_secs(5);

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
        }
    }
}

/// Where a session's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The saved token was valid; no request was made.
    Saved,
    /// Another process logged in while this one waited for the lock; no request was made.
    SavedByAnotherProcess,
    /// This call renewed the token with the refresh token (no password).
    Renewed,
    /// This call logged in.
    LoggedIn,
    /// The token was given by the caller (e.g. `TAPIS_TOKEN`); nothing was read or written.
    Given,
}

/// A signed-in session: a valid access token for one base URL.
#[derive(Debug)]
pub struct Session {
    tokens: TokenSet,
    base_url: BaseUrl,
    token_file: PathBuf,
    origin: Origin,
    saved: bool,
    client_config: ClientConfig,
    client: OnceLock<TapisClient>,
}

impl Session {
    /// A session on `options`' server and token file; `client`, when the caller already built
    /// one, is kept for the session's requests.
    fn new(options: &LoginOptions, tokens: TokenSet, origin: Origin, saved: bool, client: Option<TapisClient>) -> Self {
        let session = Self {
            tokens,
            base_url: options.base_url.clone(),
            token_file: options.token_file.clone(),
            origin,
            saved,
            client_config: options.client.clone(),
            client: OnceLock::new(),
        };
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
        &self.base_url
    }

    /// The token file (empty for a session from a given token, [`Origin::Given`]).
    pub fn token_file(&self) -> &std::path::Path {
        &self.token_file
    }

    /// Where the token came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Whether the token is in the token file (false only when saving a fresh one failed).
    pub fn is_saved(&self) -> bool {
        self.saved
    }

    /// A request to `path` on the base URL with `X-Tapis-Token` set. The HTTP client is set
    /// up on first use, so a session that makes no request costs no network setup.
    ///
    /// `path` must be a path such as `/v3/oauth2/userinfo`; an absolute URL is refused with
    /// [`AuthError::ForeignPath`], so the token is never sent to another host.
    pub fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, AuthError> {
        self.client()?.request(method, path, self.tokens.access.expose_secret())
    }

    /// `GET path` with the token.
    pub fn get(&self, path: &str) -> Result<RequestBuilder, AuthError> {
        self.request(Method::GET, path)
    }

    /// `POST path` with the token.
    pub fn post(&self, path: &str) -> Result<RequestBuilder, AuthError> {
        self.request(Method::POST, path)
    }

    /// The user's profile from `GET /v3/oauth2/userinfo` (the envelope's `result`).
    pub fn userinfo(&self) -> Result<serde_json::Value, AuthError> {
        self.client()?.userinfo(self.tokens.access.expose_secret())
    }

    fn client(&self) -> Result<&TapisClient, AuthError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = TapisClient::new(self.base_url.clone(), self.client_config.clone())?;
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
/// use tapis_auth::{LoginOptions, NoPrompt, connect};
/// use tapis_core::BaseUrl;
///
/// let base_url = BaseUrl::parse("https://designsafe.tapis.io")?;
/// let token_file = tapis_store::default_token_file_path().expect("a home folder");
/// let session = connect(&LoginOptions::new(base_url, token_file), &mut NoPrompt)?;
/// let answer = session.get("/v3/oauth2/userinfo")?.send()?;
/// println!("{} until {}", answer.status(), session.expires_at());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect(options: &LoginOptions, prompter: &mut dyn Prompter) -> Result<Session, AuthError> {
    let store = TokenStore::new(&options.token_file);

    let saved = read_saved(&store, options, prompter, true)?;
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| is_valid(tokens, options))
    {
        return Ok(Session::new(options, tokens.clone(), Origin::Saved, true, None));
    }

    let supplied = &options.credentials;
    let fully_supplied = supplied.username.is_some() && supplied.password.is_some();
    let has_password_way = fully_supplied || prompter.can_prompt();
    let can_renew = !options.force && saved.as_ref().is_some_and(|tokens| tokens.renewal(Utc::now()).is_some());
    if !has_password_way && !can_renew {
        return Err(AuthError::NoCredentials { base_url: options.base_url.to_string() });
    }

    let _lock = store.lock(options.lock_timeout)?;
    let saved = read_saved(&store, options, prompter, false)?;
    if !options.force
        && let Some(tokens) = saved.as_ref().filter(|tokens| is_valid(tokens, options))
    {
        prompter.notice(&Notice::LoggedInByAnotherProcess);
        return Ok(Session::new(options, tokens.clone(), Origin::SavedByAnotherProcess, true, None));
    }

    let client = TapisClient::new(options.base_url.clone(), options.client.clone())?;
    let renewal = if options.force { None } else { saved.as_ref().and_then(|tokens| tokens.renewal(Utc::now())) };
    let (tokens, origin) = match renewal {
        Some((refresh, oauth)) => match client.refresh_grant(refresh, oauth) {
            Ok(tokens) => (tokens, Origin::Renewed),
            Err(AuthError::Server { status: 400..=499, message, .. }) => {
                if !has_password_way {
                    return Err(AuthError::RenewalRejected { base_url: options.base_url.to_string(), message });
                }
                prompter.notice(&Notice::RenewalRejected { message });
                (log_in_with_password(&client, options, prompter, saved.as_ref())?, Origin::LoggedIn)
            }
            Err(error) => return Err(error),
        },
        None => (log_in_with_password(&client, options, prompter, saved.as_ref())?, Origin::LoggedIn),
    };
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

/// A session for a token given by the caller, such as a CI job's `TAPIS_TOKEN`: used as it
/// is, with nothing read from or written to disk, and never renewed.
///
/// The token must be a Tapis JWT (its claims give the expiry and user). If its `iss` names a
/// server other than `base_url`, it is refused: a token is only sent to its own server.
pub fn session_from_token(base_url: BaseUrl, token: SecretString, config: ClientConfig) -> Result<Session, AuthError> {
    use tapis_core::ExposeSecret as _;
    let unusable = |reason: String| AuthError::UnusableGivenToken { reason };
    tapis_core::jwt::read_claims(token.expose_secret()).map_err(|error| unusable(error.to_string()))?;
    let access = AccessToken::new(token, None).map_err(|error| unusable(error.to_string()))?;
    let tokens = TokenSet::new(access);
    if let Some(server) = tokens.server()
        && server != base_url
    {
        return Err(unusable(format!("it was issued by {server}, not {base_url}; set TAPIS_BASE_URL to its server")));
    }
    Ok(Session {
        tokens: TokenSet { base_url: Some(base_url.clone()), ..tokens },
        base_url,
        token_file: PathBuf::new(),
        origin: Origin::Given,
        saved: false,
        client_config: config,
        client: OnceLock::new(),
    })
}

/// Whether saved tokens are good for this request as they are.
fn is_valid(tokens: &TokenSet, options: &LoginOptions) -> bool {
    tokens.state(&options.base_url, Utc::now(), options.min_valid) == TokenState::Valid
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
fn log_in_with_password(
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
        let mut outcome = client.password_grant_via(&username, &password, oauth.as_ref());
        if let (Err(AuthError::Server { status: 400, message, .. }), Some(rejected)) = (&outcome, &oauth)
            && message.starts_with(INVALID_CLIENT_PREFIX)
        {
            // The saved client is gone (deleted on the server): log in without it, and a new
            // one is made below.
            prompter.notice(&Notice::ClientRejected { client_id: rejected.client_id.clone() });
            oauth = None;
            outcome = client.password_grant_via(&username, &password, None);
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
    if options.no_refresh {
        // Keep a known client in the file, so that `logout` can still delete it.
        tokens.client = saved.and_then(|tokens| tokens.client.clone());
        return Ok(tokens);
    }
    if tokens.refresh.is_some() {
        return Ok(tokens);
    }
    // No client yet: make a personal one with the new access token, then log in through it to
    // get a refresh token as well.
    match client.create_client(tokens.access.expose_secret(), &options.client_description) {
        Ok(new_client) => {
            prompter.notice(&Notice::ClientCreated { client_id: new_client.client_id.clone() });
            match client.password_grant_via(&username, &password, Some(&new_client)) {
                Ok(with_refresh) => Ok(with_refresh),
                Err(error) => {
                    prompter.notice(&Notice::RenewalOff { reason: error.to_string() });
                    tokens.client = Some(new_client);
                    Ok(tokens)
                }
            }
        }
        Err(error) => {
            prompter.notice(&Notice::RenewalOff { reason: error.to_string() });
            Ok(tokens)
        }
    }
}

fn non_empty(answer: String, what: &'static str) -> Result<String, PromptError> {
    if answer.is_empty() { Err(PromptError::Empty(what)) } else { Ok(answer) }
}

/// Logs in with the device-code grant: shows the user a page and a code (as
/// [`Notice::DeviceCode`]), then polls every `device_poll_interval` until the user approves,
/// the code expires, or the process is interrupted. The tokens are saved like a password
/// login's.
///
/// `client` is the OAuth client to log in through: its id is required; its key, when known,
/// is saved so that the tokens can be renewed.
pub fn device_login(
    options: &LoginOptions,
    client_id: &str,
    client_key: Option<SecretString>,
    prompter: &mut dyn Prompter,
) -> Result<Session, AuthError> {
    let store = TokenStore::new(&options.token_file);
    let client = TapisClient::new(options.base_url.clone(), options.client.clone())?;
    let code = client.device_code(client_id)?;
    let expires_at = code.expires_at.or_else(|| {
        code.expires_in_seconds
            .and_then(|seconds| TimeDelta::try_seconds(i64::try_from(seconds).ok()?))
            .map(|left| Utc::now() + left)
    });
    prompter.notice(&Notice::DeviceCode {
        verification_uri: code.verification_uri.clone(),
        user_code: code.user_code.clone(),
        expires_at,
    });
    let mut tokens = loop {
        wait_for_next_poll(options.device_poll_interval, expires_at, prompter);
        match client.poll_device_token(client_id, &code.device_code)? {
            DevicePoll::Approved(tokens) => break *tokens,
            DevicePoll::Expired => return Err(AuthError::DeviceCodeExpired),
            DevicePoll::Pending if expires_at.is_some_and(|at| Utc::now() > at + TimeDelta::seconds(30)) => {
                // The server keeps saying "not ready" long after the code's expiry.
                return Err(AuthError::DeviceCodeExpired);
            }
            DevicePoll::Pending => {}
        }
    };
    tokens.client = client_key.map(|client_key| OAuthClient { client_id: client_id.to_owned(), client_key });
    if tokens.client.is_none() {
        prompter.notice(&Notice::RenewalOff {
            reason: format!("the key of the client {client_id} is not known (set TAPIS_CLIENT_KEY)"),
        });
    }
    // Only the save needs the lock: the wait above may take minutes, and other processes
    // must not time out on the lock meanwhile.
    let _lock = store.lock(options.lock_timeout)?;
    let saved = save_or_tell(&store, &tokens, prompter);
    Ok(Session::new(options, tokens, Origin::LoggedIn, saved, Some(client)))
}

/// Sleeps until the next device poll, telling the prompter about once a second.
fn wait_for_next_poll(interval: Duration, expires_at: Option<DateTime<Utc>>, prompter: &mut dyn Prompter) {
    let mut left = interval;
    while !left.is_zero() {
        prompter.notice(&Notice::DeviceWaiting { expires_at });
        let step = left.min(Duration::from_secs(1));
        std::thread::sleep(step);
        left -= step;
    }
}

/// What [`logout`] did.
#[derive(Debug, Default)]
pub struct LogoutReport {
    /// Whether there was a token file to remove.
    pub removed_file: bool,
    /// Whether the access token was revoked on the server.
    pub revoked: bool,
    /// Whether the refresh token was revoked on the server.
    pub revoked_refresh: bool,
    /// The personal OAuth client deleted on the server, if one was.
    pub deleted_client: Option<String>,
    /// Why the access token was not revoked, when it was not (none saved, expired, another
    /// server, or the server's error).
    pub not_revoked_because: Option<String>,
    /// What failed on the server side. Never fatal: the file is removed regardless.
    pub warnings: Vec<String>,
}

/// Logs out: deletes the personal OAuth client (unless `keep_client`), revokes the refresh
/// and access tokens (best effort) and deletes the token file. A missing file is not an
/// error. Tokens are only ever sent to `base_url`, and only if they belong to it.
pub fn logout(
    base_url: &BaseUrl,
    token_file: &std::path::Path,
    config: &ClientConfig,
    keep_client: bool,
) -> Result<LogoutReport, AuthError> {
    let store = TokenStore::new(token_file);
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
        Some(tokens) => log_out_on_server(base_url, config, tokens, keep_client, &mut report),
    }
    report.removed_file = store.remove()?;
    Ok(report)
}

fn log_out_on_server(
    base_url: &BaseUrl,
    config: &ClientConfig,
    tokens: &TokenSet,
    keep_client: bool,
    report: &mut LogoutReport,
) {
    let client = match TapisClient::new(base_url.clone(), config.clone()) {
        Ok(client) => client,
        Err(error) => {
            report.not_revoked_because = Some(error.to_string());
            return;
        }
    };
    let now = Utc::now();
    let access_is_live = tokens.access.time_left(now) > TimeDelta::zero();
    if let Some(oauth) = tokens.client.as_ref().filter(|_| !keep_client) {
        if access_is_live {
            match client.delete_client(tokens.access.expose_secret(), &oauth.client_id) {
                Ok(()) => report.deleted_client = Some(oauth.client_id.clone()),
                Err(error) => {
                    report.warnings.push(format!("the OAuth client {} was not deleted: {error}", oauth.client_id))
                }
            }
        } else {
            report.warnings.push(format!(
                "the OAuth client {} was not deleted: the access token has expired (delete it with a fresh login, then `tapis logout`)",
                oauth.client_id
            ));
        }
    }
    if let Some(refresh) = tokens.refresh.as_ref().filter(|refresh| refresh.is_live(now)) {
        match client.revoke(refresh.expose_secret()) {
            Ok(()) => report.revoked_refresh = true,
            Err(error) => report.warnings.push(format!("the refresh token was not revoked: {error}")),
        }
    }
    if access_is_live {
        match client.revoke(tokens.access.expose_secret()) {
            Ok(()) => report.revoked = true,
            Err(error) => report.not_revoked_because = Some(error.to_string()),
        }
    } else {
        report.not_revoked_because = Some("the saved token had already expired".to_owned());
    }
}
