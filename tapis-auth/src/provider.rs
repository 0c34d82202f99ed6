//! A shared, self-renewing source of access tokens for long-running async programs.

use std::sync::Arc;
use std::time::Instant;

use chrono::TimeDelta;
use tapis_auth_core::{AccessToken, TokenSet, TokenState};

use crate::error::AuthError;
use crate::flow::{LoginOptions, renew};
use crate::prompt::NoPrompt;

/// Hands out a valid access token on every call, renewing it when it gets close to expiry.
///
/// Cheap to clone (an [`Arc`] inside) and `Send + Sync`: give a clone to every task. The
/// token is kept in memory; when it has `min_valid` or less left, one caller renews it as
/// [`crate::connect`] would, with no prompting: the saved token if another process has renewed it
/// already, else the refresh grant under the token file's lock (else a password login, when
/// the options carry credentials). The others wait for that renewal and share its result,
/// so a hundred tasks asking at once cause one renewal in this process, and the file lock
/// makes it one across processes. A failed renewal is shared too: the callers that waited for
/// it get its error, and for [`crate::RENEWAL_BACKOFF`] after it so does every new caller (of
/// any provider or session on the same token file in this process), without a request.
///
/// ```no_run
/// # async fn run() -> Result<(), tapis_auth::AuthError> {
/// use tapis_auth::{BaseUrl, LoginOptions, TokenProvider, default_token_file_path};
///
/// let base_url = BaseUrl::parse("https://designsafe.tapis.io").expect("a valid URL");
/// let provider = TokenProvider::new(LoginOptions::new(base_url, default_token_file_path().expect("a home")));
/// let token = provider.token(chrono::TimeDelta::minutes(5)).await?;
/// println!("valid until {}", token.expires_at());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: LoginOptions,
    current: tokio::sync::Mutex<Current>,
}

#[derive(Debug, Default)]
struct Current {
    tokens: Option<TokenSet>,
    /// When the last renewal finished.
    renewed_at: Option<Instant>,
    /// Keeps `tokens` remembered for redaction while they are handed out.
    held: crate::secrets::Held,
}

impl TokenProvider {
    /// A provider for `options` (server, token file, lock wait, HTTP settings, and optionally
    /// credentials for a password login). Nothing is read until the first [`Self::token`].
    pub fn new(options: LoginOptions) -> Self {
        Self { inner: Arc::new(Inner { options, current: tokio::sync::Mutex::default() }) }
    }

    /// The options it was made with.
    pub fn options(&self) -> &LoginOptions {
        &self.inner.options
    }

    /// A token with more than `min_valid` left: the one in memory when it has, else a renewed
    /// one. A caller that waited while another renewed takes that fresh token even if it has
    /// less than `min_valid` left, so that waiters never renew again one after another.
    pub async fn token(&self, min_valid: TimeDelta) -> Result<AccessToken, AuthError> {
        let asked_at = Instant::now();
        let mut current = self.inner.current.lock().await;
        let now = self.inner.options.client.clock.now();
        let base_url = &self.inner.options.base_url;
        if let Some(tokens) = &current.tokens {
            let renewed_meanwhile = current.renewed_at.is_some_and(|at| at >= asked_at);
            let margin = if renewed_meanwhile { TimeDelta::zero() } else { min_valid };
            if tokens.state(base_url, now, margin) == TokenState::Valid {
                return Ok(tokens.access.clone());
            }
        }
        let mut options = self.inner.options.clone();
        options.min_valid = min_valid;
        let session = renew(&options, &mut NoPrompt).await?;
        current.held = crate::secrets::hold_tokens(session.tokens());
        current.tokens = Some(session.tokens().clone());
        current.renewed_at = Some(Instant::now());
        Ok(session.access_token().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenProvider;

    #[test]
    fn is_a_shareable_handle() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<TokenProvider>();
    }
}
