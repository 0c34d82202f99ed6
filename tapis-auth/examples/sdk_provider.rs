//! The official Tapis SDK (`tapis-authenticator` here; `tapis-jobs`, `tapis-systems`, ... take
//! the same `Configuration`) with a [`TokenProvider`] behind it: `tapis_auth::sdk::client` sets
//! a valid token on every request and renews it before it expires, so a long-running
//! program's SDK calls keep working. Needs the `sdk` feature.
//!
//! ```text
//! cargo run -p tapis-auth --example sdk_provider -- https://designsafe.tapis.io
//! ```
//!
//! The first token comes from the token file (log in once with a password, e.g. with the
//! `blocking_connect` example); renewals use its refresh token, with no prompting.
//!
//! Not `TapisAuthenticator::with_token_provider(base, Some(token), provider)`: in the SDK's
//! 0.4 crates that client never asks the provider for a new token (its middleware looks for
//! the token in the request, but the SDK adds it later, as a default header), so its calls
//! fail once the first token expires; it also prints every request on stdout.

use tapis_auth::{BaseUrl, LoginOptions, TokenProvider, default_token_file_path};
use tapis_authenticator::apis::{configuration::Configuration, profiles_api};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = BaseUrl::parse(&std::env::args().nth(1).unwrap_or_else(|| "https://designsafe.tapis.io".into()))?;
    let token_file = default_token_file_path().ok_or("no home folder")?;
    let provider = TokenProvider::new(LoginOptions::new(base_url.clone(), token_file));

    // One configuration for the whole program; clones of the provider share one token and
    // one renewal, so it can also go into other services' configurations.
    let config = Configuration {
        base_path: base_url.to_string(),
        client: tapis_auth::sdk::client(provider.clone())?,
        ..Default::default()
    };
    let userinfo = profiles_api::get_userinfo(&config).await?;
    println!("{:?}", userinfo.result);
    Ok(())
}
