//! The official Tapis SDK (`tapis-authenticator` here; `tapis-jobs`, `tapis-systems`, ... take
//! the provider the same way) with a [`TokenProvider`] behind it, so a long-running program's
//! SDK client always sends a valid token. Needs the `sdk` feature.
//!
//! ```text
//! cargo run -p tapis-auth --example sdk_provider -- https://designsafe.tapis.io
//! ```
//!
//! The first token comes from the token file (log in once with a password, e.g. with the
//! `blocking_connect` example); renewals use its refresh token, with no prompting.

use std::sync::Arc;

use tapis_auth::{BaseUrl, DEFAULT_MIN_VALID, LoginOptions, TokenProvider, default_token_file_path};
use tapis_authenticator::TapisAuthenticator;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = BaseUrl::parse(&std::env::args().nth(1).unwrap_or_else(|| "https://designsafe.tapis.io".into()))?;
    let token_file = default_token_file_path().ok_or("no home folder")?;
    let provider = TokenProvider::new(LoginOptions::new(base_url.clone(), token_file));

    // The SDK client starts with a valid token and asks the provider for a new one whenever
    // the token it holds is about to expire; clones of the provider share one renewal.
    let first = provider.token(DEFAULT_MIN_VALID).await?;
    let authenticator =
        TapisAuthenticator::with_token_provider(base_url.as_str(), Some(first.expose_secret()), Arc::new(provider))?;
    let userinfo = authenticator.profiles.get_userinfo().await?;
    println!("{userinfo:?}");
    Ok(())
}
