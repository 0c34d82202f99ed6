//! HTTP against one Tapis tenant: the token endpoint and authenticated requests, with
//! classified, bounded retries.

use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tapis_core::expiry::parse_http_date;
use tapis_core::{BaseUrl, ExposeSecret as _, OAuthClient, RefreshToken, SecretString, TokenSet};

use crate::error::AuthError;
use crate::response::{envelope_message, parse_token_response};
use crate::retry::RetryPolicy;

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
        }
    }
}

/// Whether a request may be sent again after a failure that leaves open whether the server
/// acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Reads, deletes, revocations, the password grant (a repeat costs at most an unused
    /// access token on the server).
    Safe,
    /// Client creation (a repeat leaves a second client, holding a secret, on the server)
    /// and the refresh grant (the server may rotate the refresh token): sent again only when
    /// the server surely did not act on it.
    Once,
}

/// An HTTP client for one Tapis base URL. Never follows redirects, so nothing it sends
/// (credentials, tokens) can be led to another host.
#[derive(Debug, Clone)]
pub struct TapisClient {
    base_url: BaseUrl,
    http: Client,
    config: ClientConfig,
}

/// What one attempt came to, before retries are decided.
enum Attempt<T> {
    Done(T),
    /// Worth another try; the text says what happened, the duration is a `Retry-After`, and
    /// the flag whether the server surely did not act on the request (no connection was
    /// made, or it answered 429 or 503), so that even a request that must not be repeated
    /// may be sent again.
    Transient(String, Option<Duration>, bool),
    Fatal(AuthError),
}

impl TapisClient {
    /// Sets up the HTTP client (TLS included). Call this only when a request is needed.
    pub fn new(base_url: BaseUrl, config: ClientConfig) -> Result<Self, AuthError> {
        let http = Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent())
            .build()
            .map_err(|error| AuthError::HttpClient(error.to_string()))?;
        Ok(Self { base_url, http, config })
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// The password grant: one `POST /v3/oauth2/tokens`, retried only on transient failures.
    /// Without an OAuth client the answer has an access token only.
    pub async fn password_grant(&self, username: &str, password: &SecretString) -> Result<TokenSet, AuthError> {
        self.password_grant_via(username, password, None).await
    }

    /// The password grant through an OAuth client (HTTP Basic `client_id:client_key`), which
    /// also yields a refresh token. A client the server does not know answers 400
    /// `Invalid client credentials: ...`.
    pub async fn password_grant_via(
        &self,
        username: &str,
        password: &SecretString,
        client: Option<&OAuthClient>,
    ) -> Result<TokenSet, AuthError> {
        let url = self.base_url.join(TOKENS_PATH);
        let body = json!({"username": username, "password": password.expose_secret(), "grant_type": "password"});
        let answer = self.send_with_retries(&url, || with_client(self.http.post(&url).json(&body), client)).await?;
        self.tokens_from(&url, &answer, client)
    }

    /// The refresh grant: a new access token and a new (rotated) refresh token, without the
    /// password. Needs the client the refresh token was issued through.
    pub async fn refresh_grant(&self, refresh: &RefreshToken, client: &OAuthClient) -> Result<TokenSet, AuthError> {
        let url = self.base_url.join(TOKENS_PATH);
        let body = json!({"grant_type": "refresh_token", "refresh_token": refresh.expose_secret()});
        let answer =
            self.send(&url, Repeat::Once, || with_client(self.http.post(&url).json(&body), Some(client))).await?;
        self.tokens_from(&url, &answer, Some(client))
    }

    /// Creates an OAuth client for the user the access token belongs to
    /// (`POST /v3/oauth2/clients`); the server chooses its id and key. Sent once: after a
    /// failure that leaves open whether the client was made, the error is
    /// [`AuthError::Unconfirmed`] (look for it with [`TapisClient::find_client`]).
    pub async fn create_client(&self, access_token: &str, description: &str) -> Result<OAuthClient, AuthError> {
        let url = self.base_url.join(CLIENTS_PATH);
        let body = json!({"description": description, "display_name": description, "callback_url": ""});
        let answer = self
            .send(&url, Repeat::Once, || self.http.post(&url).header(TOKEN_HEADER, access_token).json(&body))
            .await?;
        client_from(answer.get("result")).ok_or_else(|| AuthError::InvalidResponse {
            url,
            reason: "the new client has no client_id or client_key".into(),
        })
    }

    /// The user's OAuth client whose description is exactly `description`, from
    /// `GET /v3/oauth2/clients`; `None` when there is none, or when the list does not give
    /// its key.
    pub async fn find_client(&self, access_token: &str, description: &str) -> Result<Option<OAuthClient>, AuthError> {
        let url = self.base_url.join(CLIENTS_PATH);
        let answer = self.send(&url, Repeat::Safe, || self.http.get(&url).header(TOKEN_HEADER, access_token)).await?;
        let clients = answer.get("result").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        Ok(clients
            .iter()
            .filter(|client| client.get("description").and_then(Value::as_str) == Some(description))
            .find_map(|client| client_from(Some(client))))
    }

    /// Deletes an OAuth client (`DELETE /v3/oauth2/clients/{client_id}`).
    pub async fn delete_client(&self, access_token: &str, client_id: &str) -> Result<(), AuthError> {
        let url = self.base_url.join(&format!("{CLIENTS_PATH}/{}", path_segment(client_id)));
        self.send_with_retries(&url, || self.http.delete(&url).header(TOKEN_HEADER, access_token)).await.map(drop)
    }

    /// Starts a device login (`POST /v3/oauth2/device/code`).
    pub async fn device_code(&self, client_id: &str) -> Result<DeviceCode, AuthError> {
        let url = self.base_url.join(DEVICE_CODE_PATH);
        let body = json!({"client_id": client_id});
        let answer = self.send_with_retries(&url, || self.http.post(&url).json(&body)).await?;
        let result = answer.get("result");
        let field = |name: &str| result.and_then(|result| result.get(name)).and_then(Value::as_str);
        let invalid = |reason: &str| AuthError::InvalidResponse { url: url.clone(), reason: reason.to_owned() };
        let device_code = field("device_code").ok_or_else(|| invalid("there is no device_code in the answer"))?;
        let user_code = field("user_code").ok_or_else(|| invalid("there is no user_code in the answer"))?;
        let verification_uri =
            field("verification_uri").ok_or_else(|| invalid("there is no verification_uri in the answer"))?;
        // `expires_in` is an HTTP date here (the code's expiry), not seconds; a number of
        // seconds is accepted too, in case a server follows RFC 8628.
        let expires_in = result.and_then(|result| result.get("expires_in"));
        let expires_at = match expires_in {
            Some(Value::String(date)) => parse_http_date(date).ok(),
            _ => None,
        };
        Ok(DeviceCode {
            device_code: SecretString::from(device_code.to_owned()),
            user_code: user_code.to_owned(),
            verification_uri: verification_uri.to_owned(),
            expires_at,
            expires_in_seconds: expires_in.and_then(Value::as_u64),
        })
    }

    /// Asks once whether the user has approved a device login.
    pub async fn poll_device_token(
        &self,
        client_id: &str,
        device_code: &SecretString,
    ) -> Result<DevicePoll, AuthError> {
        let url = self.base_url.join(TOKENS_PATH);
        let body =
            json!({"grant_type": "device_code", "client_id": client_id, "device_code": device_code.expose_secret()});
        match self.send_with_retries(&url, || self.http.post(&url).json(&body)).await {
            Ok(answer) => Ok(DevicePoll::Approved(Box::new(self.tokens_from(&url, &answer, None)?))),
            Err(AuthError::Server { status: 400, message, .. }) if message.starts_with("device code not ready") => {
                Ok(DevicePoll::Pending)
            }
            Err(AuthError::Server { status: 400, message, .. }) if message.starts_with("device code has expired") => {
                Ok(DevicePoll::Expired)
            }
            Err(error) => Err(error),
        }
    }

    /// The signed-in user's profile (`GET /v3/oauth2/userinfo`): the envelope's `result`.
    pub async fn userinfo(&self, access_token: &str) -> Result<Value, AuthError> {
        let url = self.base_url.join(USERINFO_PATH);
        let answer = self.send_with_retries(&url, || self.http.get(&url).header(TOKEN_HEADER, access_token)).await?;
        match answer.get("result") {
            Some(result @ Value::Object(_)) => Ok(result.clone()),
            _ => Err(AuthError::InvalidResponse { url, reason: "there is no `result` object in the answer".into() }),
        }
    }

    fn tokens_from(&self, url: &str, answer: &Value, client: Option<&OAuthClient>) -> Result<TokenSet, AuthError> {
        let mut tokens = parse_token_response(answer)
            .map_err(|reason| AuthError::InvalidResponse { url: url.to_owned(), reason: reason.to_string() })?;
        tokens.base_url = Some(self.base_url.clone());
        tokens.client = client.cloned();
        tokens.obtained_at = Some(chrono::Utc::now());
        Ok(tokens)
    }

    /// Revokes a token: `POST /v3/oauth2/tokens/revoke`.
    pub async fn revoke(&self, token: &str) -> Result<(), AuthError> {
        let url = self.base_url.join(REVOKE_PATH);
        let body = json!({"token": token});
        self.send_with_retries(&url, || self.http.post(&url).json(&body)).await.map(drop)
    }

    /// Sends one authenticated request (`X-Tapis-Token`) to a path on the base URL and reads
    /// its whole answer, up to `request.max_answer_bytes`. Not retried: the request may not
    /// be idempotent. Any status is an answer; only a transport failure, a refused request or
    /// an answer over the cap is an error.
    pub(crate) async fn call(&self, access_token: &str, request: &ApiRequest) -> Result<ApiResponse, AuthError> {
        let path = request.path.as_str();
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(AuthError::ForeignPath { path: path.to_owned(), base_url: self.base_url.to_string() });
        }
        let invalid = |reason: String| AuthError::InvalidRequest { reason };
        let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", request.method)))?;
        let url = self.base_url.join(path);
        let mut builder = self.http.request(method, &url).header(TOKEN_HEADER, access_token);
        for (name, value) in &request.headers {
            if name.trim().eq_ignore_ascii_case(TOKEN_HEADER) {
                return Err(invalid(format!("the {TOKEN_HEADER} header is set from the session")));
            }
            let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            let value = reqwest::header::HeaderValue::from_str(value.trim())
                .map_err(|_| invalid(format!("the value of the header {name} is not valid in a header")))?;
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
        }
        let unavailable = |last: String| AuthError::Unavailable { url: url.clone(), n_attempts: 1, last };
        let response = builder.send().await.map_err(|error| unavailable(describe_transport_error(&error)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        match read_capped(response, request.max_answer_bytes).await {
            Ok(body) => Ok(ApiResponse { status, headers, body }),
            Err(ReadError::TooLarge) => Err(AuthError::InvalidResponse {
                url,
                reason: format!("the answer is larger than {} bytes", request.max_answer_bytes),
            }),
            Err(ReadError::Transport(what)) => Err(unavailable(what)),
        }
    }

    /// Sends a request that may be repeated; see [`TapisClient::send`].
    async fn send_with_retries(&self, url: &str, build: impl Fn() -> RequestBuilder) -> Result<Value, AuthError> {
        self.send(url, Repeat::Safe, build).await
    }

    /// Sends a request built by `build` up to `retry.n_attempts` times, retrying transient
    /// failures with backoff; a [`Repeat::Once`] request only while the server surely did not
    /// act on it. Returns the body of a 2xx answer, already checked to be JSON.
    async fn send(&self, url: &str, repeat: Repeat, build: impl Fn() -> RequestBuilder) -> Result<Value, AuthError> {
        let n_attempts = self.config.retry.n_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=n_attempts {
            match self.attempt(url, build()).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fatal(error) => return Err(error),
                Attempt::Transient(what, _, false) if repeat == Repeat::Once => {
                    return Err(AuthError::Unconfirmed { url: url.to_owned(), last: what });
                }
                Attempt::Transient(what, retry_after, _) => {
                    last = what;
                    if attempt < n_attempts {
                        tokio::time::sleep(self.config.retry.delay_before(attempt + 1, retry_after)).await;
                    }
                }
            }
        }
        Err(AuthError::Unavailable { url: url.to_owned(), n_attempts, last })
    }

    async fn attempt(&self, url: &str, request: RequestBuilder) -> Attempt<Value> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Attempt::Transient(describe_transport_error(&error), None, error.is_connect()),
        };
        let status = response.status();
        let retry_after = retry_after(&response);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(|value| format!(" to {value}"))
            .unwrap_or_default();
        let body = match read_capped(response, MAX_RESPONSE_BYTES).await {
            Ok(body) => body,
            Err(ReadError::TooLarge) => {
                return Attempt::Fatal(AuthError::InvalidResponse {
                    url: url.to_owned(),
                    reason: format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            Err(ReadError::Transport(what)) => return Attempt::Transient(what, None, false),
        };
        let json = serde_json::from_slice::<Value>(&body).ok().filter(Value::is_object);
        let message = json.as_ref().and_then(envelope_message).unwrap_or_else(|| excerpt(&body));

        if status.is_success() {
            return match json {
                Some(value) => Attempt::Done(value),
                // An HTML page or a cut-off answer with a 2xx: a proxy or gateway in the way.
                None => Attempt::Transient(format!("HTTP {status} but the answer is not JSON: {message}"), None, false),
            };
        }
        if status.is_redirection() {
            return Attempt::Fatal(AuthError::Server {
                url: url.to_owned(),
                status: status.as_u16(),
                message: format!("a redirect{location}; redirects are not followed, check the base URL"),
            });
        }
        if is_transient_status(status) {
            let not_acted_on = matches!(status.as_u16(), 429 | 503);
            return Attempt::Transient(format!("HTTP {status}: {message}"), retry_after, not_acted_on);
        }
        if status == StatusCode::BAD_REQUEST && REJECTED_PREFIXES.iter().any(|prefix| message.starts_with(prefix)) {
            return Attempt::Fatal(AuthError::CredentialsRejected { message, n_attempts: 1 });
        }
        Attempt::Fatal(AuthError::Server { url: url.to_owned(), status: status.as_u16(), message })
    }
}

/// The largest answer [`ApiRequest`] reads by default (256 MiB).
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// An authenticated request to the Tapis API, sent with [`crate::Session::call`].
///
/// ```
/// let request = tapis_auth::ApiRequest::new("POST", "/v3/jobs/submit")
///     .header("Accept", "application/json")
///     .json_body(br#"{"name": "test"}"#.to_vec());
/// assert_eq!(request.path, "/v3/jobs/submit");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiRequest {
    /// The HTTP method (`GET`, `POST`, ...; any case).
    pub method: String,
    /// A path on the base URL, such as `/v3/jobs/list?limit=2`; never an absolute URL.
    pub path: String,
    /// Extra headers. `X-Tapis-Token` is refused: the session sets it.
    pub headers: Vec<(String, String)>,
    /// A body, sent as `application/json`.
    pub body: Option<Vec<u8>>,
    /// The largest answer read; a longer one is an error, never cut silently.
    pub max_answer_bytes: u64,
}

impl ApiRequest {
    /// A request with no extra header and no body.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    #[must_use]
    pub fn json_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }
}

/// The whole answer to an [`ApiRequest`], whatever its status.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers whose values are text.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// How the Java services start a 401's body when the token has expired.
const JWT_EXPIRED_PREFIX: &str = "TAPIS_SECURITY_JWT_EXPIRED";

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The envelope's `message` when the body is a Tapis envelope, else the start of the body.
    pub fn message(&self) -> String {
        self.json().as_ref().and_then(envelope_message).unwrap_or_else(|| excerpt(&self.body))
    }

    /// Whether this is a 401 saying the token expired: a body, or an envelope message, that
    /// starts with `TAPIS_SECURITY_JWT_EXPIRED`.
    pub fn says_token_expired(&self) -> bool {
        let starts = |text: &str| text.trim_start().starts_with(JWT_EXPIRED_PREFIX);
        self.status == 401
            && (starts(&String::from_utf8_lossy(&self.body))
                || self.json().as_ref().and_then(envelope_message).is_some_and(|message| starts(&message)))
    }
}

/// A device login in progress: what to show the user, and what to poll with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceCode {
    /// The code the client polls with (secret).
    pub device_code: SecretString,
    /// The code the user types at the verification page.
    pub user_code: String,
    /// The page the user opens.
    pub verification_uri: String,
    /// When the code expires (Tapis sends an HTTP date).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The code's lifetime in seconds, when a server sends a number instead.
    pub expires_in_seconds: Option<u64>,
}

/// One answer while polling for a device login.
#[derive(Debug)]
#[non_exhaustive]
pub enum DevicePoll {
    /// Not approved yet (`device code not ready.`).
    Pending,
    /// The code expired before the user approved it.
    Expired,
    /// Approved: the tokens.
    Approved(Box<TokenSet>),
}

/// An OAuth client from a client object of the clients endpoint, when it has an id and a key.
fn client_from(result: Option<&Value>) -> Option<OAuthClient> {
    let field = |name: &str| result?.get(name)?.as_str().filter(|text| !text.is_empty());
    Some(OAuthClient {
        client_id: field("client_id")?.to_owned(),
        client_key: SecretString::from(field("client_key")?.to_owned()),
    })
}

/// Adds HTTP Basic client credentials when there is a client.
fn with_client(request: RequestBuilder, client: Option<&OAuthClient>) -> RequestBuilder {
    match client {
        Some(client) => request.basic_auth(&client.client_id, Some(client.client_key.expose_secret())),
        None => request,
    }
}

/// A client id as one URL path segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

enum ReadError {
    TooLarge,
    Transport(String),
}

/// Reads a body of at most `limit` bytes; a longer one is refused, not cut.
async fn read_capped(mut response: Response, limit: u64) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|length| length > limit) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(ReadError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => {
                return Err(ReadError::Transport(format!(
                    "the answer was cut off: {}",
                    describe_transport_error(&error)
                )));
            }
        }
    }
}

/// The start of a body, on one line, for an error message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty answer)".to_owned();
    }
    let mut shown: String = one_line.chars().take(BODY_EXCERPT_CHARS).collect();
    if one_line.chars().count() > BODY_EXCERPT_CHARS {
        shown.push('…');
    }
    shown
}

/// A transport error in words, without reqwest's URL (which is said elsewhere).
fn describe_transport_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() { kind.to_owned() } else { format!("{kind} ({cause})") }
}
