//! Signing in to Tapis and staying signed in: the library form of the DesignSafe notebooks'
//! `connect_tapis()`, async at its core, with a [`blocking`] front for simple programs.
//!
//! ```no_run
//! use tapis_auth::{BaseUrl, LoginOptions, NoPrompt, blocking, default_token_file_path};
//!
//! let base_url = BaseUrl::parse("https://designsafe.tapis.io")?;
//! let options = LoginOptions::new(base_url, default_token_file_path().expect("a home folder"));
//! let session = blocking::connect(&options, &mut NoPrompt)?;
//! println!("{} token valid until {}", session.base_url(), session.expires_at());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`connect`] (and [`blocking::connect`]) returns a [`Session`]: the saved token when it is
//! still valid for this server (no request made, no runtime or HTTP client even built), else
//! a renewal or a fresh login, saved atomically under a cross-process lock so that many
//! processes log in once. [`LoginOptions`] is the one options type of every entry point.
//!
//! - Async programs: [`connect`], [`device_login`], [`logout`], [`Session::call`] (which
//!   renews once and retries when the server refuses the token: expired or revoked), and
//!   [`TokenProvider`], a shared handle that hands out a valid token on every call and
//!   renews it, once, as it nears expiry. With the `sdk` feature, `sdk::client` puts the
//!   provider behind the official Tapis SDK crates' generated APIs (see `examples/sdk_provider.rs`).
//! - Blocking programs: the same in [`blocking`]; a session works from any thread, and from
//!   inside a runtime as well.
//!
//! Errors are [`AuthError`] variants a caller can act on: rejected credentials, a server
//! error, a server that stayed unavailable through every retry, a login that needs a person.
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod blocking;
mod client;
#[cfg(feature = "debug-log")]
pub mod debug_log;
mod error;
mod flow;
mod prompt;
mod provider;
mod response;
mod retry;
#[cfg(feature = "sdk")]
pub mod sdk;
pub mod secrets;
pub mod settings;
pub mod time;
mod ways_out;

pub use client::{
    ApiRequest, ApiResponse, ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HTTP_TIMEOUT, DEFAULT_MAX_ANSWER_BYTES,
    DeviceCode, DevicePoll, TapisClient,
};
pub use error::{AuthError, ErrorKind, causes, chain_text};
pub use flow::{
    Credentials, DEFAULT_DEVICE_POLL_INTERVAL, DEFAULT_MIN_VALID, DEFAULT_N_PROMPT_ATTEMPTS, DeviceClient,
    LoginOptions, LogoutReport, MAX_DEVICE_WAIT, MIN_DEVICE_POLL_INTERVAL, Origin, RENEWAL_BACKOFF, Session, Summary,
    connect, device_login, logout, session_from_token,
};
pub use prompt::{NoPrompt, Notice, NoticeLevel, PromptError, Prompter};
pub use provider::TokenProvider;
pub use retry::{DEFAULT_N_ATTEMPTS, RetryPolicy};
pub use secrets::redact;
pub use tapis_auth_core::{AccessToken, BaseUrl, ExposeSecret, SecretString, TokenSet};
pub use tapis_store::{DEFAULT_LOCK_TIMEOUT, StoreError, default_token_file_path};
pub use time::{Clock, SharedClock, SystemClock};
pub use ways_out::{WaysOut, message_of};

/// The token-answer parser, for the fuzz targets only; not part of the stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::response::{envelope_message, parse_token_response};
}
