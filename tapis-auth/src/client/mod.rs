//! HTTP against one Tapis tenant, with classified, bounded retries: the client and its
//! settings here, the OAuth requests per endpoint in `oauth`, authenticated calls in `api`,
//! and the send-and-retry core in `send`.

use std::time::Duration;

use reqwest::Client;
use tapis_auth_core::BaseUrl;

use crate::error::AuthError;
use crate::retry::RetryPolicy;
use crate::time::SharedClock;

mod api;
mod oauth;
mod send;

pub(crate) use api::refuses_token;
pub use api::{ApiRequest, ApiResponse, DEFAULT_MAX_ANSWER_BYTES};
pub use oauth::{DeviceCode, DevicePoll};
#[cfg(feature = "sdk")]
pub(crate) use send::{ReadError, read_capped};

/// The largest answer body read from a server; a token answer is about 2 KiB.
pub(crate) const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// How much of an unexpected (non-JSON) body an error message quotes.
const BODY_EXCERPT_CHARS: usize = 120;

/// The token endpoint, relative to the base URL.
pub(crate) const TOKENS_PATH: &str = "/v3/oauth2/tokens";

/// The revoke endpoint, relative to the base URL.
pub(crate) const REVOKE_PATH: &str = "/v3/oauth2/tokens/revoke";

/// The OAuth clients endpoint, relative to the base URL.
pub(crate) const CLIENTS_PATH: &str = "/v3/oauth2/clients";

/// The device-code endpoint, relative to the base URL.
pub(crate) const DEVICE_CODE_PATH: &str = "/v3/oauth2/device/code";

/// The userinfo endpoint, relative to the base URL.
pub(crate) const USERINFO_PATH: &str = "/v3/oauth2/userinfo";

/// The start of the token endpoint's answer when the HTTP Basic client is not valid.
pub(crate) const INVALID_CLIENT_PREFIX: &str = "Invalid client credentials";

/// The header Tapis reads the access token from.
pub(crate) const TOKEN_HEADER: &str = "X-Tapis-Token";

/// Credentials-rejected messages of the password grant (HTTP 400), per the Tapis
/// authenticator: a wrong password and an unknown user answer the same.
const REJECTED_PREFIXES: [&str; 2] = ["Invalid username/password combination", "Invalid username;"];

/// Timeouts and retries for talking to Tapis.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Bound on establishing a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Bound on a whole request, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Appended to the user agent `tapis-auth/<version>`, to name the program using the
    /// library (e.g. `my-workflow/1.2`).
    pub user_agent_suffix: Option<String>,
    /// The clock the client and the flow read and sleep on (retry backoff, device-login
    /// polls, token expiry); the system clock by default.
    pub clock: SharedClock,
}

/// The default bound on establishing a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default bound on a whole request.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The user agent's first word: this library and its version.
const USER_AGENT: &str = concat!("tapis-auth/", env!("CARGO_PKG_VERSION"));

impl ClientConfig {
    /// The user agent sent: `tapis-auth/<version>`, then the caller's suffix if any.
    pub fn user_agent(&self) -> String {
        match self.user_agent_suffix.as_deref().map(str::trim).filter(|suffix| !suffix.is_empty()) {
            Some(suffix) => format!("{USER_AGENT} {suffix}"),
            None => USER_AGENT.to_owned(),
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_HTTP_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent_suffix: None,
            clock: SharedClock::default(),
        }
    }
}

/// An HTTP client for one Tapis base URL. Never follows redirects, so nothing it sends
/// (credentials, tokens) can be led to another host.
#[derive(Debug, Clone)]
pub struct TapisClient {
    base_url: BaseUrl,
    http: Client,
    config: ClientConfig,
    /// The process it was made in: its pooled connections are that process's.
    made_in: u32,
}

impl TapisClient {
    /// Sets up the HTTP client (TLS included). Call this only when a request is needed.
    pub fn new(base_url: BaseUrl, config: ClientConfig) -> Result<Self, AuthError> {
        let http = http_client(&config)?;
        Ok(Self { base_url, http, config, made_in: std::process::id() })
    }

    /// Whether it was made in this process. A forked child must not use its parent's client:
    /// the pooled connections are the parent's sockets, driven by the parent's runtime, so
    /// the child's requests would stall or share a TLS stream with the parent.
    pub(crate) fn is_of_this_process(&self) -> bool {
        self.made_in == std::process::id()
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }
}

/// The HTTP client every request of this crate goes through: `config`'s timeouts and user
/// agent, and no redirects followed.
pub(crate) fn http_client(config: &ClientConfig) -> Result<Client, AuthError> {
    Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(config.user_agent())
        .build()
        .map_err(|error| AuthError::HttpClient(error.to_string()))
}
