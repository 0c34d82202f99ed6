//! A signed-in [`Session`] and where its token came from ([`Origin`]).

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use tapis_auth_core::{AccessToken, BaseUrl, SecretString, TokenSet};

use super::{LoginOptions, renew};
use crate::client::{ApiRequest, ApiResponse, TapisClient};
use crate::error::AuthError;
use crate::prompt::{NoPrompt, Prompter};
use crate::secrets::Held;

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
    /// The token was given by the caller ([`session_from_token`](crate::session_from_token)); nothing was read or written.
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
    /// Made on first use, and again in a forked child (see [`client_in`]).
    client: Option<TapisClient>,
    /// Keeps the tokens remembered for redaction while the session has them.
    held: Held,
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
        let held = crate::secrets::hold_tokens(&tokens);
        Self { tokens, options: options.clone(), origin, saved, client, held }
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
    ///
    /// When the server refuses the token itself (revoked, or expired by its clock), the
    /// token is renewed once and the request made once more, as [`Session::call`] does.
    pub async fn userinfo(&mut self) -> Result<serde_json::Value, AuthError> {
        self.userinfo_with_prompter(&mut NoPrompt).await
    }

    /// [`Session::userinfo`], with a prompter for the renewal.
    pub async fn userinfo_with_prompter(
        &mut self,
        prompter: &mut dyn Prompter,
    ) -> Result<serde_json::Value, AuthError> {
        let client = client_in(&mut self.client, &self.options)?;
        match client.userinfo(self.tokens.access.expose_secret()).await {
            Err(AuthError::Server { url, status, message }) if crate::client::refuses_token(status, &message) => {
                self.renew_after_refusal(url, status, message, prompter).await?;
                client_in(&mut self.client, &self.options)?.userinfo(self.tokens.access.expose_secret()).await
            }
            outcome => outcome,
        }
    }

    /// Sends `request` with the session's token and returns the whole answer, whatever its
    /// status. The HTTP client is set up on first use, so a session that makes no request
    /// costs no network setup.
    ///
    /// If the server refuses the token itself ([`ApiResponse::says_token_refused`]: a 401
    /// `TAPIS_SECURITY_JWT_EXPIRED ...` after a clock difference, or `Token is revoked.`), the
    /// token is renewed once as [`crate::connect`] would (asking for a token other than the refused
    /// one, with no prompting) and the request is sent once more. When it cannot be renewed (a
    /// session from [`session_from_token`](crate::session_from_token) never is), the error is
    /// [`AuthError::TokenRefused`].
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
        let client = client_in(&mut self.client, &self.options)?;
        let answer = client.call(self.tokens.access.expose_secret(), request).await?;
        if !answer.says_token_refused() {
            return Ok(answer);
        }
        let url = self.options.base_url.join(&request.path);
        self.renew_after_refusal(url, answer.status, answer.message(), prompter).await?;
        client_in(&mut self.client, &self.options)?.call(self.tokens.access.expose_secret(), request).await
    }

    /// Renews the token after the server refused it, as [`crate::connect`] would, asking for a
    /// token other than the refused one. A failure that means "not logged in" (no refresh token and
    /// nobody to ask, a refused renewal), and any refusal of a given token, becomes
    /// [`AuthError::TokenRefused`], which names the refusal.
    async fn renew_after_refusal(
        &mut self,
        url: String,
        status: u16,
        message: String,
        prompter: &mut dyn Prompter,
    ) -> Result<(), AuthError> {
        let refused = |renewal| AuthError::TokenRefused { url, status, message, renewal };
        if self.origin == Origin::Given {
            return Err(refused(None));
        }
        // A token other than the refused one is what is needed, not one that outlives it:
        // a revoked token may have hours left.
        let mut options = self.options.clone();
        options.refused_token = Some(SecretString::from(self.tokens.access.expose_secret().to_owned()));
        options.force = false;
        let renewed = match renew(&options, prompter).await {
            Ok(renewed) => renewed,
            Err(error) if error.kind() == crate::ErrorKind::NotLoggedIn => return Err(refused(Some(Box::new(error)))),
            Err(error) => return Err(error),
        };
        // The renewed tokens replace this session's; its options and HTTP client stay.
        self.tokens = renewed.tokens;
        self.held = renewed.held;
        self.origin = renewed.origin;
        self.saved = renewed.saved;
        Ok(())
    }

    /// What signing in came to, in one sentence (see [`Summary`]), with the time left
    /// counted from `now`.
    pub fn summary(&self, now: DateTime<Utc>) -> Summary {
        Summary {
            base_url: self.base_url().to_string(),
            username: self.username().map(str::to_owned),
            token_file: self.token_file().map(Path::to_path_buf),
            origin: self.origin,
            saved: self.saved,
            expires_at: self.expires_at(),
            left: self.expires_at() - now,
        }
    }
}

/// The session's HTTP client, made on first use, and made again when the session is used in
/// a forked child: the child then opens connections of its own and never touches its
/// parent's.
fn client_in<'a>(slot: &'a mut Option<TapisClient>, options: &LoginOptions) -> Result<&'a TapisClient, AuthError> {
    let client = match slot.take() {
        Some(client) if client.is_of_this_process() => client,
        _ => TapisClient::new(options.base_url.clone(), options.client.clone())?,
    };
    Ok(slot.insert(client))
}

/// What signing in came to, for people: who, where, which file, until when. Its `Display` is
/// the one sentence every front end prints ("Logged in to ... as jdoe. Token saved to ...; it
/// expires at ... (3h 59m left)."); front ends add only their own hints.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Summary {
    /// The server.
    pub base_url: String,
    /// The user, from the token's claims.
    pub username: Option<String>,
    /// The token file; `None` for a given token.
    pub token_file: Option<PathBuf>,
    /// Where the token came from.
    pub origin: Origin,
    /// Whether the token is in the token file.
    pub saved: bool,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// How long it has left.
    pub left: TimeDelta,
}

impl Summary {
    /// Whether a fresh token (a login or a renewal) could not be saved: it is usable for
    /// this run only.
    pub fn is_unsaved_new_token(&self) -> bool {
        matches!(self.origin, Origin::Renewed | Origin::LoggedIn) && !self.saved
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Summary { base_url, origin, .. } = self;
        let user = self.username.as_deref().unwrap_or("an unknown user");
        let expiry = format!(
            "expires at {} ({})",
            self.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            tapis_auth_core::duration::format_time_left(self.left)
        );
        // "the token in FILE", or for a token read from no file, "the given token".
        let the_token = match &self.token_file {
            Some(file) => format!("the token in {}", file.display()),
            None => "the given token".to_owned(),
        };
        match (origin, &self.token_file) {
            _ if self.is_unsaved_new_token() => {
                write!(f, "Logged in to {base_url} as {user}, but the token was not saved; it {expiry}.")
            }
            (Origin::Given, _) => write!(f, "Using the given token for {base_url} as {user}; it {expiry}."),
            (Origin::SavedByAnotherProcess, _) => {
                write!(f, "Logged in to {base_url} as {user} by another process; {the_token} {expiry}.")
            }
            (Origin::Renewed, Some(file)) => write!(
                f,
                "Renewed the token for {base_url} as {user} without a password. Token saved to {}; it {expiry}.",
                file.display()
            ),
            (Origin::LoggedIn, Some(file)) => {
                write!(f, "Logged in to {base_url} as {user}. Token saved to {}; it {expiry}.", file.display())
            }
            _ => write!(f, "Already logged in to {base_url} as {user}; {the_token} {expiry}."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(origin: Origin, saved: bool, token_file: Option<&str>) -> Summary {
        Summary {
            base_url: "https://designsafe.tapis.io".into(),
            username: Some("jdoe".into()),
            token_file: token_file.map(PathBuf::from),
            origin,
            saved,
            expires_at: DateTime::from_timestamp(1_741_119_331, 0).expect("a time"),
            left: TimeDelta::minutes(239),
        }
    }

    fn check(summary: Summary, expected: &str) {
        assert_eq!(summary.to_string(), expected, "{summary:?}");
    }

    #[test]
    fn summaries_in_words() {
        let at = "expires at 2025-03-04T20:15:31Z (3h 59m left)";
        let file = Some("/home/jdoe/.tapis_tokens.json");
        check(
            summary(Origin::LoggedIn, true, file),
            &format!(
                "Logged in to https://designsafe.tapis.io as jdoe. Token saved to /home/jdoe/.tapis_tokens.json; it {at}."
            ),
        );
        check(
            summary(Origin::Renewed, true, file),
            &format!(
                "Renewed the token for https://designsafe.tapis.io as jdoe without a password. Token saved to /home/jdoe/.tapis_tokens.json; it {at}."
            ),
        );
        check(
            summary(Origin::Saved, true, file),
            &format!(
                "Already logged in to https://designsafe.tapis.io as jdoe; the token in /home/jdoe/.tapis_tokens.json {at}."
            ),
        );
        check(
            summary(Origin::SavedByAnotherProcess, true, file),
            &format!(
                "Logged in to https://designsafe.tapis.io as jdoe by another process; the token in /home/jdoe/.tapis_tokens.json {at}."
            ),
        );
        check(
            summary(Origin::LoggedIn, false, file),
            &format!("Logged in to https://designsafe.tapis.io as jdoe, but the token was not saved; it {at}."),
        );
        // A given token has no file: no empty path is printed.
        check(
            summary(Origin::Given, false, None),
            &format!("Using the given token for https://designsafe.tapis.io as jdoe; it {at}."),
        );
        let mut expired = summary(Origin::Saved, true, file);
        expired.left = TimeDelta::seconds(-302);
        assert!(expired.to_string().ends_with("(expired 5m 02s ago)."), "{expired}");
    }
}
