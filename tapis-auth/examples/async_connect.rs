//! Sign in from an async program, with the credentials in the environment (an async program
//! should not block on a terminal prompt), then call the Jobs service.
//!
//! ```text
//! MY_TAPIS_USERNAME=jdoe MY_TAPIS_PASSWORD=... cargo run -p tapis-auth --example async_connect
//! ```

use tapis_auth::{ApiRequest, BaseUrl, LoginOptions, NoPrompt, SecretString, connect, default_token_file_path};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = BaseUrl::parse("https://designsafe.tapis.io")?;
    let mut options = LoginOptions::new(base_url, default_token_file_path().ok_or("no home folder")?);
    options.credentials.username = std::env::var("MY_TAPIS_USERNAME").ok();
    options.credentials.password = std::env::var("MY_TAPIS_PASSWORD").ok().map(SecretString::from);
    options.client.user_agent_suffix = Some("async-connect-example/0.1".into());

    let mut session = connect(&options, &mut NoPrompt).await?;
    println!("signed in as {:?} until {}", session.username(), session.expires_at());
    let jobs = session.call(&ApiRequest::get("/v3/jobs/list?limit=5")).await?;
    println!("{}: {}", jobs.status, String::from_utf8_lossy(&jobs.body));
    Ok(())
}
