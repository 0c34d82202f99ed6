//! A signed-in [`Session`] and where its token came from ([`Origin`]).

use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, Utc};
use tapis_auth_core::{AccessToken, BaseUrl, TokenSet};

use super::{LoginOptions, connect};
use crate::client::{ApiRequest, ApiResponse, TapisClient};
use crate::error::AuthError;
use crate::prompt::{NoPrompt, Prompter};

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
    pub(super) fn new(
        options: &LoginOptions,
        tokens: TokenSet,
        origin: Origin,
        saved: bool,
        client: Option<TapisClient>,
    ) -> Self {
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

    /// The token file; `None` for a session from a given token ([`Origin::Given`]), which
    /// reads and writes no file.
    pub fn token_file(&self) -> Option<&Path> {
        (self.origin != Origin::Given).then_some(self.options.token_file.as_path())
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
        let left = self.expires_at() - self.options.client.clock.now();
        let mut options = self.options.clone();
        options.min_valid = left.max(TimeDelta::zero()) + TimeDelta::seconds(1);
        options.force = false;
        // The renewed tokens replace this session's; its options and HTTP client stay.
        let renewed = connect(&options, prompter).await?;
        self.tokens = renewed.tokens;
        self.origin = renewed.origin;
        self.saved = renewed.saved;
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
