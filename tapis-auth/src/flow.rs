//! The login flow — the notebooks' `connect_tapis()` done right — and logout.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use reqwest::blocking::RequestBuilder;
use tapis_core::{AccessToken, BaseUrl, SecretString, TokenSet, TokenState};
use tapis_store::{DEFAULT_LOCK_TIMEOUT, TokenStore};

use crate::client::{ClientConfig, TapisClient};
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
}

impl LoginOptions {
    /// Options with the defaults: 60 s margin, 3 prompt attempts, 2 min lock wait.
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
    /// This call logged in.
    LoggedIn,
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

    /// The token file.
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

    fn client(&self) -> Result<&TapisClient, AuthError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = TapisClient::new(self.base_url.clone(), self.client_config.clone())?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// Signs in: the saved token if it is valid for this server, else a login.
///
/// 1. Read the token file (no lock). A valid token for `base_url` with more than
///    `min_valid` left is returned at once: no request, no network setup.
/// 2. Otherwise, if credentials are neither supplied nor can be prompted for, fail with
///    [`AuthError::NoCredentials`] at once.
/// 3. Take the token file's lock and read the file again: another process may have logged
///    in meanwhile, and its token is used (no request).
/// 4. Log in with one password-grant request. Prompted credentials that the server rejects
///    are asked for again, up to `n_prompt_attempts` times; supplied ones are not retried.
/// 5. Save atomically, still under the lock. A failed save is reported as
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
    let session = |tokens: TokenSet, origin: Origin, saved: bool| Session {
        tokens,
        base_url: options.base_url.clone(),
        token_file: options.token_file.clone(),
        origin,
        saved,
        client_config: options.client.clone(),
        client: OnceLock::new(),
    };

    if !options.force
        && let Some(tokens) = load_usable(&store, options, prompter, true)?
    {
        return Ok(session(tokens, Origin::Saved, true));
    }

    let supplied = &options.credentials;
    let fully_supplied = supplied.username.is_some() && supplied.password.is_some();
    if !fully_supplied && !prompter.can_prompt() {
        return Err(AuthError::NoCredentials { base_url: options.base_url.to_string() });
    }

    let _lock = store.lock(options.lock_timeout)?;
    if !options.force
        && let Some(tokens) = load_usable(&store, options, prompter, false)?
    {
        prompter.notice(&Notice::LoggedInByAnotherProcess);
        return Ok(session(tokens, Origin::SavedByAnotherProcess, true));
    }

    let client = TapisClient::new(options.base_url.clone(), options.client.clone())?;
    let tokens = log_in_with_password(&client, options, prompter)?;
    let saved = match store.save(&tokens) {
        Ok(()) => true,
        Err(error) => {
            prompter.notice(&Notice::NotSaved(error));
            false
        }
    };
    let session = session(tokens, Origin::LoggedIn, saved);
    let _ = session.client.set(client);
    Ok(session)
}

/// Reads the token file and returns its tokens if they are valid for this server with the
/// margin to spare. Notices are given only on the first read (`tell`), not again under the lock.
fn load_usable(
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
    match tokens.state(&options.base_url, Utc::now(), options.min_valid) {
        TokenState::Valid => Ok(Some(tokens)),
        TokenState::OtherServer => {
            if tell {
                prompter
                    .notice(&Notice::TokenForOtherServer { path: store.path().to_path_buf(), server: tokens.server() });
            }
            Ok(None)
        }
        TokenState::ExpiringSoon | TokenState::Expired => Ok(None),
    }
}

/// The bounded login loop: at most `n_prompt_attempts` tries when anything is prompted for,
/// exactly one when everything was supplied.
fn log_in_with_password(
    client: &TapisClient,
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
) -> Result<TokenSet, AuthError> {
    let supplied = &options.credentials;
    let prompts_for_something = supplied.username.is_none() || supplied.password.is_none();
    let n_attempts = if prompts_for_something { options.n_prompt_attempts.max(1) } else { 1 };
    let mut attempt = 1;
    loop {
        let username = match &supplied.username {
            Some(username) => username.clone(),
            None => non_empty(prompter.username(&options.base_url)?.trim().to_owned(), "username")?,
        };
        let password = match &supplied.password {
            Some(password) => password.clone(),
            None => prompter.password(&username)?,
        };
        match client.password_grant(&username, &password) {
            Err(AuthError::CredentialsRejected { message, .. }) if attempt < n_attempts => {
                prompter.notice(&Notice::CredentialsRejected { message, attempts_left: n_attempts - attempt });
                attempt += 1;
            }
            Err(AuthError::CredentialsRejected { message, .. }) => {
                return Err(AuthError::CredentialsRejected { message, n_attempts: attempt });
            }
            other => return other,
        }
    }
}

fn non_empty(answer: String, what: &'static str) -> Result<String, PromptError> {
    if answer.is_empty() { Err(PromptError::Empty(what)) } else { Ok(answer) }
}

/// What [`logout`] did.
#[derive(Debug)]
pub struct LogoutReport {
    /// Whether there was a token file to remove.
    pub removed_file: bool,
    /// Whether the token was revoked on the server.
    pub revoked: bool,
    /// Why the token was not revoked, when it was not (none saved, expired, another server,
    /// or the server's error). Never fatal: the file is removed regardless.
    pub not_revoked_because: Option<String>,
}

/// Logs out: revokes the saved token on its server (best effort) and deletes the token file.
/// A missing file is not an error. The token is only ever sent to `base_url`, and only if it
/// belongs to it.
pub fn logout(
    base_url: &BaseUrl,
    token_file: &std::path::Path,
    config: &ClientConfig,
) -> Result<LogoutReport, AuthError> {
    let store = TokenStore::new(token_file);
    let tokens = match store.load() {
        Ok(loaded) => loaded.tokens,
        Err(error) if error.counts_as_no_token() => None,
        Err(error) => return Err(error.into()),
    };
    let now = Utc::now();
    let (revoked, not_revoked_because) = match &tokens {
        None => (false, Some("no saved token".to_owned())),
        Some(tokens) => match tokens.state(base_url, now, TimeDelta::zero()) {
            TokenState::OtherServer => (false, Some(format!("the saved token does not belong to {base_url}"))),
            TokenState::Expired => (false, Some("the saved token had already expired".to_owned())),
            TokenState::Valid | TokenState::ExpiringSoon => {
                let outcome = TapisClient::new(base_url.clone(), config.clone())
                    .and_then(|client| client.revoke(tokens.access.expose_secret()));
                match outcome {
                    Ok(()) => (true, None),
                    Err(error) => (false, Some(error.to_string())),
                }
            }
        },
    };
    let removed_file = store.remove()?;
    Ok(LogoutReport { removed_file, revoked, not_revoked_because })
}
