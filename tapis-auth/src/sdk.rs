//! The official Tapis SDK crates (`tapis-jobs`, `tapis-systems`, `tapis-authenticator`, ...)
//! with a [`TokenProvider`] behind them: [`client`] is an HTTP client for their generated
//! `Configuration`, whose every request carries a valid token. Needs the `sdk` feature.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tapis_auth::{BaseUrl, LoginOptions, TokenProvider, default_token_file_path};
//! use tapis_authenticator::apis::{configuration::Configuration, profiles_api};
//!
//! let base_url = BaseUrl::parse("https://designsafe.tapis.io")?;
//! let provider = TokenProvider::new(LoginOptions::new(base_url.clone(), default_token_file_path().ok_or("no home")?));
//! let config = Configuration {
//!     base_path: base_url.to_string(),
//!     client: tapis_auth::sdk::client(provider.clone())?,
//!     ..Default::default()
//! };
//! let userinfo = profiles_api::get_userinfo(&config).await?;
//! # Ok(()) }
//! ```
//!
//! Every service crate's generated API takes the same `Configuration` (`base_path`, `client`),
//! e.g. `tapis_jobs::apis::jobs_api::get_job_list(&config, ...)`; clones of the provider share
//! one token and one renewal.
//!
//! **Do not rely on the SDK's own `with_token_provider` to renew.** This module also
//! implements the SDK's `tapis_core::TokenProvider` trait (the SDK's `tapis-core` crate,
//! renamed `tapis-sdk-core` here), but as of the SDK's 0.4 crates a client made with
//! `TapisAuthenticator::with_token_provider(base, Some(token), provider)` never asks for a
//! new token: its refresh middleware looks for the token in the request's `X-Tapis-Token`
//! header, while the SDK puts the token in the HTTP client's default headers, which reqwest
//! adds only after the middleware has run. Its first token is used until the server refuses
//! it. That client also prints every request on stdout. [`client`] adds none of the SDK's
//! middleware.

use chrono::TimeDelta;
use http::Extensions;
use std::sync::{Mutex, PoisonError};

use reqwest::header::HeaderValue;
use reqwest::{Client, Request, Response, ResponseBuilderExt as _, Url};
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use tapis_auth_core::{AccessToken, BaseUrl};

use crate::client::{ApiResponse, MAX_RESPONSE_BYTES, ReadError, TOKEN_HEADER, http_client, read_capped};
use crate::error::AuthError;
use crate::provider::TokenProvider;

/// An HTTP client for the official SDK's generated APIs (their `Configuration.client`) that
/// sets `X-Tapis-Token` on every request from `provider`.
///
/// - Before each request it asks the provider for a token with more than the provider's
///   `min_valid` left ([`crate::LoginOptions::min_valid`]), so a token about to expire is
///   renewed first: once, for any number of concurrent requests.
/// - If the server still refuses the token itself, on exactly the rule [`crate::Session::call`]
///   renews on ([`ApiResponse::says_token_refused`]: a 401 `TAPIS_SECURITY_JWT_EXPIRED ...`
///   after a clock difference, or `Token is revoked.` with any error status), it asks the
///   provider for a token valid longer than the refused one and sends the request once more;
///   a second refusal is the caller's answer. To tell, the body of an error answer is read,
///   up to 1 MiB (a longer one with a `Content-Length` is passed on unread and unjudged; one
///   without, that runs past the cap, is an [`AuthError::InvalidResponse`]). A request whose
///   body cannot be copied (a stream) is sent once, whatever the answer.
/// - Used in a forked child, it sends through an HTTP client of the child's own, never
///   through the parent's pooled connections.
/// - A request to a URL that is not on the provider's base URL is refused with
///   [`AuthError::ForeignPath`] before any token is asked for, so the token goes only to its
///   server. Like every client of this crate it never follows redirects, and uses the
///   options' timeouts and user agent ([`crate::ClientConfig`]).
///
/// Errors of the provider (no token can be had without a person, say) and refusals come
/// back as the SDK's `Error::ReqwestMiddleware`, holding the [`AuthError`]. Setting up the
/// HTTP client (TLS) can fail, hence the `Result`; nothing is read or sent until the first
/// request.
pub fn client(provider: TokenProvider) -> Result<ClientWithMiddleware, AuthError> {
    let http = http_client(&provider.options().client)?;
    let renewing = Renewing { provider, made_in: std::process::id(), forked: Mutex::new(None) };
    Ok(reqwest_middleware::ClientBuilder::new(http).with(renewing).build())
}

/// The middleware of [`client`].
struct Renewing {
    provider: TokenProvider,
    /// The process the client was made in.
    made_in: u32,
    /// In a forked child, the HTTP client of that process.
    forked: Mutex<Option<(u32, Client)>>,
}

#[async_trait::async_trait]
impl Middleware for Renewing {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let base_url = &self.provider.options().base_url;
        if !is_on(base_url, request.url()) {
            let mut url = request.url().clone();
            url.set_query(None);
            let refused = AuthError::ForeignPath { path: url.to_string(), base_url: base_url.to_string() };
            return Err(reqwest_middleware::Error::middleware(refused));
        }
        let token = self.token(self.provider.options().min_valid).await?;
        set_token(&mut request, &token)?;
        let Some(mut again) = request.try_clone() else {
            return self.send(request, extensions, next).await;
        };
        let answer = self.send(request, extensions, next.clone()).await?;
        if answer.status().is_success() {
            return Ok(answer);
        }
        let (answer, refused) = says_token_refused(answer).await?;
        if !refused {
            return Ok(answer);
        }
        // As `Session::call`: a token that lives longer than the refused one.
        let left = token.expires_at() - self.provider.options().client.clock.now();
        let renewed = self.token(left.max(TimeDelta::zero()) + TimeDelta::seconds(1)).await?;
        set_token(&mut again, &renewed)?;
        self.send(again, extensions, next).await
    }
}

impl Renewing {
    /// Sends `request` on: down the middleware chain in the process the client was made in,
    /// else (a forked child) through a client of this process's own.
    async fn send(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let process = std::process::id();
        if process == self.made_in {
            return next.run(request, extensions).await;
        }
        let client = {
            let mut forked = self.forked.lock().unwrap_or_else(PoisonError::into_inner);
            match &*forked {
                Some((made_in, client)) if *made_in == process => client.clone(),
                _ => {
                    let client =
                        http_client(&self.provider.options().client).map_err(reqwest_middleware::Error::middleware)?;
                    *forked = Some((process, client.clone()));
                    client
                }
            }
        };
        Ok(client.execute(request).await?)
    }

    async fn token(&self, min_valid: TimeDelta) -> reqwest_middleware::Result<AccessToken> {
        self.provider.token(min_valid).await.map_err(reqwest_middleware::Error::middleware)
    }
}

/// Whether `url` is on `base_url` (the same scheme, host and port, under its path).
fn is_on(base_url: &BaseUrl, url: &Url) -> bool {
    // Both are normalised alike: lower-case scheme and host, no default port.
    url.as_str()
        .strip_prefix(base_url.as_str())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
}

/// Sets (or replaces) the request's `X-Tapis-Token`, marked sensitive so that no `Debug`
/// shows it.
fn set_token(request: &mut Request, token: &AccessToken) -> reqwest_middleware::Result<()> {
    let invalid = || AuthError::InvalidRequest { reason: "the access token is not valid in a header".to_owned() };
    let mut value =
        HeaderValue::from_str(token.expose_secret()).map_err(|_| reqwest_middleware::Error::middleware(invalid()))?;
    value.set_sensitive(true);
    request.headers_mut().insert(TOKEN_HEADER, value);
    Ok(())
}

/// Whether an error answer refuses the token itself ([`ApiResponse::says_token_refused`],
/// the rule of [`crate::Session::call`]), and the same answer, rebuilt around its body (which
/// had to be read to tell). A body declared longer than the cap is not read: the answer is
/// passed on as it is.
async fn says_token_refused(answer: Response) -> reqwest_middleware::Result<(Response, bool)> {
    if answer.content_length().is_some_and(|length| length > MAX_RESPONSE_BYTES) {
        return Ok((answer, false));
    }
    let (status, version, url, headers) =
        (answer.status(), answer.version(), answer.url().clone(), answer.headers().clone());
    let body = match read_capped(answer, MAX_RESPONSE_BYTES).await {
        Ok(body) => body,
        Err(ReadError::TooLarge) => {
            let reason = format!("the error answer is larger than {MAX_RESPONSE_BYTES} bytes");
            let url = crate::secrets::redacted(url.as_str());
            return Err(reqwest_middleware::Error::middleware(AuthError::InvalidResponse { url, reason }));
        }
        Err(ReadError::Transport(last)) => {
            let url = crate::secrets::redacted(url.as_str());
            return Err(reqwest_middleware::Error::middleware(AuthError::Unavailable { url, n_attempts: 1, last }));
        }
    };
    let judged = ApiResponse { status: status.as_u16(), headers: Vec::new(), body };
    let refused = judged.says_token_refused();
    let body = judged.body;
    let mut rebuilt =
        http::Response::builder().status(status).version(version).url(url).body(body).map_err(|error| {
            reqwest_middleware::Error::middleware(AuthError::HttpClient(format!("cannot pass the answer on: {error}")))
        })?;
    *rebuilt.headers_mut() = headers;
    Ok((Response::from(rebuilt), refused))
}

#[async_trait::async_trait]
impl tapis_sdk_core::TokenProvider for TokenProvider {
    /// A token with at least the options' `min_valid` left, renewed if needed; `None` when no
    /// token can be had (the SDK then sends the request with the token it holds). See the
    /// module's documentation: the SDK's 0.4 clients do not call this; use [`client`].
    async fn get_token(&self) -> Option<String> {
        let token = self.token(self.options().min_valid).await.ok()?;
        Some(token.expose_secret().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::is_on;
    use tapis_auth_core::BaseUrl;

    #[test]
    fn only_urls_on_the_base_url_get_the_token() {
        let check = |base: &str, url: &str, expected: bool| {
            let base_url = BaseUrl::parse(base).expect("a base URL");
            let url = reqwest::Url::parse(url).expect("a URL");
            assert_eq!(is_on(&base_url, &url), expected, "{url} on {base}");
        };
        check("https://designsafe.tapis.io", "https://designsafe.tapis.io/v3/jobs/list?limit=2", true);
        check("https://DesignSafe.tapis.io/", "https://designsafe.tapis.io:443/v3/jobs", true);
        check("https://designsafe.tapis.io", "https://designsafe.tapis.io", true);
        check("https://h.org/api", "https://h.org/api/v3/jobs", true);
        check("http://127.0.0.1:8080", "http://127.0.0.1:8080/v3/x", true);
        check("https://designsafe.tapis.io", "https://designsafe.tapis.io.evil.org/v3/jobs", false);
        check("https://designsafe.tapis.io", "http://designsafe.tapis.io/v3/jobs", false);
        check("https://designsafe.tapis.io", "https://designsafe.tapis.io:8443/v3/jobs", false);
        check("https://designsafe.tapis.io", "https://user@designsafe.tapis.io/v3/jobs", false);
        check("https://h.org/api", "https://h.org/apiary/v3", false);
        check("https://h.org/api", "https://h.org/api/../v3/jobs", false);
        check("http://127.0.0.1:8080", "http://127.0.0.1:8081/v3/x", false);
    }
}
