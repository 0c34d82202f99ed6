//! Authenticated calls to any Tapis API path: [`ApiRequest`] in, [`ApiResponse`] out.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tapis_auth_core::BaseUrl;

use super::send::{ReadError, describe_transport_error, excerpt, read_capped};
use super::{TOKEN_HEADER, TapisClient};
use crate::error::AuthError;
use crate::response::envelope_message;
use crate::secrets::redacted;

impl TapisClient {
    /// Sends one authenticated request (`X-Tapis-Token`) to a path on the base URL and reads
    /// its whole answer, up to `request.max_answer_bytes`. Not retried: the request may not
    /// be idempotent. Any status is an answer; only a transport failure, a refused request or
    /// an answer over the cap is an error.
    pub(crate) async fn call(&self, access_token: &str, request: &ApiRequest) -> Result<ApiResponse, AuthError> {
        let Checked { method, url, headers } = request.checked(&self.base_url)?;
        // A body is JSON unless the caller says what it is: one Content-Type, never two.
        let says_type = headers.contains_key(reqwest::header::CONTENT_TYPE);
        let mut builder = self.http.request(method, &url).header(TOKEN_HEADER, access_token).headers(headers);
        if let Some(body) = &request.body {
            if !says_type {
                builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            builder = builder.body(body.clone());
        }
        let unavailable = |last: String| AuthError::Unavailable { url: url.clone(), n_attempts: 1, last };
        let started = std::time::Instant::now();
        let response = builder.send().await.map_err(|error| {
            let what = describe_transport_error(&error);
            crate::secrets::debug_redacted!(
                "{} {url}: no answer after {} ms: {what}",
                request.method,
                started.elapsed().as_millis()
            );
            unavailable(what)
        })?;
        let status = response.status().as_u16();
        crate::secrets::debug_redacted!("{} {url}: {status} in {} ms", request.method, started.elapsed().as_millis());
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
}

/// A request's parts once checked: what is sent.
struct Checked {
    method: Method,
    url: String,
    headers: HeaderMap,
}

impl ApiRequest {
    /// Checks that the request can be sent to `base_url` as it is: its path is a path on the
    /// base URL ([`AuthError::ForeignPath`] otherwise), its method an HTTP method, its headers
    /// valid names and values, without `X-Tapis-Token` ([`AuthError::InvalidRequest`]).
    /// [`crate::Session::call`] checks the same before sending; a front end may call this first
    /// to refuse a bad request before signing in.
    pub fn check(&self, base_url: &BaseUrl) -> Result<(), AuthError> {
        self.checked(base_url).map(|_| ())
    }

    fn checked(&self, base_url: &BaseUrl) -> Result<Checked, AuthError> {
        // A path on the base URL: `/v3/...`, never `https://...`, `//host/...` or `host/...`.
        let path = self.path.as_str();
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(AuthError::ForeignPath { path: path.to_owned(), base_url: base_url.to_string() });
        }
        let invalid = |reason: String| AuthError::InvalidRequest { reason };
        let method = Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", self.method)))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if name.trim().eq_ignore_ascii_case(TOKEN_HEADER) {
                return Err(invalid(format!("the {TOKEN_HEADER} header is set from the session")));
            }
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| invalid(format!("the value of the header {name} is not valid in a header")))?;
            headers.append(name, value);
        }
        Ok(Checked { method, url: base_url.join(path), headers })
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

/// How the services and the gateway word a revoked token (with a 400, 401 or 500).
const TOKEN_REVOKED_PREFIX: &str = "Token is revoked";

/// The one rule for "the server refused the token itself", which a renewal may cure: a 401
/// whose message starts `TAPIS_SECURITY_JWT_EXPIRED`, or an error of any status whose message
/// starts `Token is revoked`. Used for [`ApiResponse::says_token_refused`] and for the errors of
/// the client's own requests ([`AuthError::says_token_refused`]).
pub(crate) fn refuses_token(status: u16, message: &str) -> bool {
    let message = message.trim_start();
    (status == 401 && message.starts_with(JWT_EXPIRED_PREFIX))
        || (!(200..300).contains(&status) && message.starts_with(TOKEN_REVOKED_PREFIX))
}

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The envelope's `message` when the body is a Tapis envelope, else the start of the
    /// body on one line (`(empty answer)` for none).
    pub fn message(&self) -> String {
        self.json().as_ref().and_then(envelope_message).map_or_else(|| excerpt(&self.body), |text| redacted(&text))
    }

    /// Whether this is a 401 saying the token expired: a body, or an envelope message, that
    /// starts with `TAPIS_SECURITY_JWT_EXPIRED`.
    pub fn says_token_expired(&self) -> bool {
        self.status == 401 && self.says(|message| message.trim_start().starts_with(JWT_EXPIRED_PREFIX))
    }

    /// Whether the server refused the token itself, so that a renewed token may succeed: a
    /// 401 saying the token expired (see [`ApiResponse::says_token_expired`]), or an error
    /// saying `Token is revoked.` (which the gateway answers with a 500). The body, or the
    /// envelope's message, is what is read.
    pub fn says_token_refused(&self) -> bool {
        self.says(|message| refuses_token(self.status, message))
    }

    /// Whether the body, or the envelope's message, satisfies `test`.
    fn says(&self, test: impl Fn(&str) -> bool) -> bool {
        test(&String::from_utf8_lossy(&self.body))
            || self.json().as_ref().and_then(envelope_message).is_some_and(|message| test(&message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, body: &str, expected: (bool, bool)) {
        let answer = ApiResponse { status, headers: Vec::new(), body: body.as_bytes().to_vec() };
        assert_eq!((answer.says_token_expired(), answer.says_token_refused()), expected, "{status} {body}");
    }

    #[test]
    fn which_answers_refuse_the_token() {
        let envelope = |message: &str| serde_json::json!({"status": "error", "message": message}).to_string();
        check(401, "TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired", (true, true));
        check(401, &envelope("TAPIS_SECURITY_JWT_EXPIRED ..."), (true, true));
        check(500, &envelope("Token is revoked."), (false, true));
        check(400, &envelope("Token is revoked."), (false, true));
        check(401, "Token is revoked.", (false, true));
        check(200, &envelope("Token is revoked."), (false, false));
        check(500, "TAPIS_SECURITY_JWT_EXPIRED", (false, false));
        check(403, "TAPIS_SECURITY_UNAUTHORIZED not allowed", (false, false));
        check(500, &envelope("Internal error."), (false, false));
    }
}
