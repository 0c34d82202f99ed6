//! The send-and-retry core: one attempt classified as done, transient or fatal, retried
//! with backoff within the policy, and bodies read within a cap.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::{BODY_EXCERPT_CHARS, MAX_RESPONSE_BYTES, REJECTED_PREFIXES, TapisClient};
use crate::error::AuthError;
use crate::response::envelope_message;
use crate::secrets::redacted;

/// acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Reads, deletes, revocations, the password grant (a repeat costs at most an unused
    /// access token on the server).
    Safe,
    /// Client creation (a repeat leaves a second client, holding a secret, on the server)
    /// and the refresh grant (the server may rotate the refresh token): sent again only when
    /// the server surely did not act on it.
    Once,
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
    /// Sends a request that may be repeated; see [`TapisClient::send`].
    pub(super) async fn send_with_retries(
        &self,
        url: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Value, AuthError> {
        self.send(url, Repeat::Safe, build).await
    }

    /// Sends a request built by `build` up to `retry.n_attempts` times, retrying transient
    /// failures with backoff; a [`Repeat::Once`] request only while the server surely did not
    /// act on it. Returns the body of a 2xx answer, already checked to be JSON.
    pub(super) async fn send(
        &self,
        url: &str,
        repeat: Repeat,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Value, AuthError> {
        let n_attempts = self.config.retry.n_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=n_attempts {
            match self.attempt(url, build()).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fatal(error) => {
                    crate::secrets::debug_redacted!("{url}: not retried (another try would get the same answer)");
                    return Err(error);
                }
                Attempt::Transient(what, _, false) if repeat == Repeat::Once => {
                    crate::secrets::debug_redacted!(
                        "{url}: not sent again (the server may have acted on it, and it must not act twice)"
                    );
                    return Err(AuthError::Unconfirmed { url: url.to_owned(), last: what });
                }
                Attempt::Transient(what, retry_after, _) => {
                    last = what;
                    if attempt < n_attempts {
                        let delay = self.config.retry.delay_before(attempt + 1, retry_after);
                        crate::secrets::debug_redacted!(
                            "{url}: retrying in {} ms (attempt {} of {n_attempts})",
                            delay.as_millis(),
                            attempt + 1
                        );
                        self.config.clock.sleep(delay).await;
                    }
                }
            }
        }
        crate::secrets::debug_redacted!("{url}: giving up after {n_attempts} attempts");
        Err(AuthError::Unavailable { url: url.to_owned(), n_attempts, last })
    }

    async fn attempt(&self, url: &str, request: RequestBuilder) -> Attempt<Value> {
        let started = std::time::Instant::now();
        let (http, request) = request.build_split();
        let method = request.as_ref().map(|request| request.method().clone()).unwrap_or_default();
        let response = match async { http.execute(request?).await }.await {
            Ok(response) => response,
            Err(error) => {
                let what = describe_transport_error(&error);
                crate::secrets::debug_redacted!(
                    "{method} {url}: no answer after {} ms: {what}",
                    started.elapsed().as_millis()
                );
                return Attempt::Transient(what, None, error.is_connect());
            }
        };
        let status = response.status();
        let retry_after = retry_after(&response);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(|value| format!(" to {}", redacted(value)))
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
        let message = json.as_ref().and_then(envelope_message).map_or_else(|| excerpt(&body), |text| redacted(&text));
        let elapsed_ms = started.elapsed().as_millis();
        if status.is_success() {
            crate::secrets::debug_redacted!("{method} {url}: {status} in {elapsed_ms} ms");
        } else {
            crate::secrets::debug_redacted!("{method} {url}: {status} in {elapsed_ms} ms: {message}");
        }

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
        if !status.is_success() && super::refuses_token(status.as_u16(), &message) {
            // Not transient, even as a 500: the same token will be refused again.
            return Attempt::Fatal(AuthError::Server { url: url.to_owned(), status: status.as_u16(), message });
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

fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

pub(crate) enum ReadError {
    TooLarge,
    Transport(String),
}

/// Reads a body of at most `limit` bytes; a longer one is refused, not cut.
pub(crate) async fn read_capped(mut response: Response, limit: u64) -> Result<Vec<u8>, ReadError> {
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

/// The start of a body, on one line, for an error message, with the process's secrets masked.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = crate::secrets::redact(&text);
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

/// A transport error in words, without reqwest's URL (which is said elsewhere), with the
/// process's secrets masked.
pub(super) fn describe_transport_error(error: &reqwest::Error) -> String {
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
    if cause.is_empty() { kind.to_owned() } else { format!("{kind} ({})", redacted(&cause)) }
}
