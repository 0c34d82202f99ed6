//! One module per verb, and what they share: turning global options and credential flags
//! into the library's options.

pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod status;
pub(crate) mod token;
pub(crate) mod whoami;

use std::io::{self, BufRead as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use tapis_auth::{ClientConfig, Credentials, LoginOptions};
use tapis_core::SecretString;

use crate::cli::{CredentialArgs, GlobalArgs};

/// The token file: `--token-file`/`TAPIS_TOKEN_FILE`, else `~/.tapis_tokens.json`.
pub(crate) fn token_file(global: &GlobalArgs) -> anyhow::Result<PathBuf> {
    match &global.token_file {
        Some(path) => Ok(path.clone()),
        None => tapis_store::default_token_file_path()
            .context("cannot find a home folder for the default token file; pass --token-file or set TAPIS_TOKEN_FILE"),
    }
}

/// Timeouts for HTTP requests, from the global options.
pub(crate) fn client_config(global: &GlobalArgs) -> ClientConfig {
    ClientConfig {
        connect_timeout: global.http_timeout.min(ClientConfig::default().connect_timeout),
        request_timeout: global.http_timeout,
        ..ClientConfig::default()
    }
}

/// Login options from the global options and the credential flags. The password comes from
/// `--password-stdin` (one line), else `TAPIS_PASSWORD`; missing parts are prompted for.
pub(crate) fn login_options(global: &GlobalArgs, credentials: &CredentialArgs) -> anyhow::Result<LoginOptions> {
    let mut options = LoginOptions::new(global.base_url.clone(), token_file(global)?);
    options.lock_timeout = global.lock_timeout;
    options.client = client_config(global);
    let password = if credentials.password_stdin {
        Some(read_password_line()?)
    } else {
        std::env::var("TAPIS_PASSWORD").ok().filter(|password| !password.is_empty()).map(SecretString::from)
    };
    let username = credentials.username.as_deref().map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned);
    options.credentials = Credentials { username, password };
    options.client_description = format!("tapis CLI on {}", host_name());
    Ok(options)
}

/// This machine's name, for the description of a personal OAuth client.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this machine".to_owned())
}

fn read_password_line() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("--password-stdin was given but standard input had no password on its first line");
    }
    Ok(SecretString::from(password.to_owned()))
}

/// An error and its causes on one line each; a cause already quoted by the message above it
/// is not repeated.
pub(crate) fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if previous.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n  caused by: ");
        }
        text.push_str(&message);
        previous = message;
    }
    text
}
