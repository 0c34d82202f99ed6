//! Pure Tapis token types: expiry parsing, JWT claim reading and freshness.
//!
//! This crate does no I/O and reads no clock: functions that judge expiry take `now` as an
//! argument, so they are deterministic and testable. The token strings are wrapped in
//! [`secrecy::SecretString`] and never appear in `Debug` output.
//!
//! ```
//! use chrono::{DateTime, TimeDelta};
//! use secrecy::SecretString;
//! use tapis_auth_core::{AccessToken, BaseUrl, TokenSet, TokenState, expiry::parse_expires_at};
//!
//! // A token as the notebooks' `~/.tapis_tokens.json` holds it.
//! let expires_at = parse_expires_at("2025-09-05T02:30:48+00:00")?;
//! let access = AccessToken::new(SecretString::from("eyJ.opaque.jwt"), Some(expires_at))?;
//! let base_url = BaseUrl::parse("https://designsafe.tapis.io")?;
//! let tokens = TokenSet { base_url: Some(base_url.clone()), ..TokenSet::new(access) };
//!
//! let now = DateTime::from_timestamp(1_757_000_000, 0).unwrap(); // 2025-09-04T15:33:20Z
//! assert_eq!(tokens.state(&base_url, now, TimeDelta::seconds(60)), TokenState::Valid);
//! let tacc = BaseUrl::parse("https://tacc.tapis.io")?;
//! assert_eq!(tokens.state(&tacc, now, TimeDelta::seconds(60)), TokenState::OtherServer);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod base_url;
pub mod duration;
pub mod expiry;
pub mod jwt;
pub mod redact;
pub mod token;

pub use base_url::{BaseUrl, BaseUrlError, DEFAULT_BASE_URL};
pub use token::{AccessToken, KeptClient, OAuthClient, RefreshToken, TokenError, TokenSet, TokenState};

/// Re-exported so callers can build tokens without naming `secrecy` themselves.
pub use secrecy::{ExposeSecret, SecretString};
