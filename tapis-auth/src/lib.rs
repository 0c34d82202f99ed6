//! Signing in to Tapis: the password grant, revoke, and the login flow with its bounded
//! retry loop — the library form of the DesignSafe notebooks' `connect_tapis()`.
//!
//! [`connect`] returns a [`Session`]: the saved token when it is still valid for this server
//! (no request made, no HTTP client even built), else a fresh login, saved atomically under
//! a cross-process lock so that many processes log in once.
//!
//! ```no_run
//! use tapis_auth::{Credentials, LoginOptions, NoPrompt, connect};
//! use tapis_core::{BaseUrl, SecretString};
//!
//! let mut options = LoginOptions::new(BaseUrl::parse("https://designsafe.tapis.io")?, "/tmp/tokens.json");
//! options.credentials = Credentials {
//!     username: Some("jdoe".into()),
//!     password: Some(SecretString::from(std::env::var("TAPIS_PASSWORD")?)),
//! };
//! let session = connect(&options, &mut NoPrompt)?;
//! let jobs = session.get("/v3/jobs/list")?.send()?;
//! println!("{} as {:?}, token valid until {}", jobs.status(), session.username(), session.expires_at());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors are [`AuthError`] variants a caller can act on: rejected credentials, a server
//! error, a server that stayed unavailable through every retry, a login that needs a terminal.
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod client;
mod error;
mod flow;
mod prompt;
pub mod response;
pub mod retry;

pub use client::{ClientConfig, TapisClient};
pub use error::AuthError;
pub use flow::{
    Credentials, DEFAULT_DEVICE_POLL_INTERVAL, DEFAULT_MIN_VALID, DEFAULT_N_PROMPT_ATTEMPTS, LoginOptions,
    LogoutReport, Origin, Session, connect, device_login, logout, session_from_token,
};
pub use prompt::{NoPrompt, Notice, PromptError, Prompter};
pub use reqwest::Method;
pub use retry::RetryPolicy;
