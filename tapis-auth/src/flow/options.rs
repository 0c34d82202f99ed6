//! The options of every entry point: [`LoginOptions`], [`Credentials`], [`DeviceClient`]
//! and their defaults.

use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use tapis_auth_core::{BaseUrl, SecretString};
use tapis_store::DEFAULT_LOCK_TIMEOUT;

use crate::client::ClientConfig;

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

/// Where to sign in and how: the one options type of [`connect`](crate::connect), [`device_login`](crate::device_login),
/// [`logout`](crate::logout), [`session_from_token`](crate::session_from_token) and [`crate::TokenProvider`] (and their
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
    /// [`logout`](crate::logout) keeps the personal OAuth client instead of deleting it.
    pub keep_client: bool,
    /// An access token the server has just refused (revoked, or expired by its clock): a
    /// saved token that is this one is never handed out, however long it has left. Set by a
    /// session's renewal after a refusal.
    pub(crate) refused_token: Option<SecretString>,
}

/// How often a device login polls by default.
pub const DEFAULT_DEVICE_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The shortest wait between two device-login polls: a shorter `device_poll_interval` is
/// raised to it.
pub const MIN_DEVICE_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long a device login waits for approval when the server does not say (or says
/// nonsense about) when its code expires.
pub const MAX_DEVICE_WAIT: TimeDelta = TimeDelta::minutes(15);

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
            refused_token: None,
        }
    }
}
