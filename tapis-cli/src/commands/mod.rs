//! One module per verb, and what they share: resolving where to work (profile, base URL,
//! token file), credentials, and getting a session.

pub(crate) mod api;
pub(crate) mod completions;
pub(crate) mod exec;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod profiles;
pub(crate) mod status;
pub(crate) mod token;
pub(crate) mod whoami;

use std::io::{self, BufRead as _};

use anyhow::{Context as _, bail};
use chrono::TimeDelta;
use tapis_auth::{ClientConfig, LoginOptions, SecretString, Session, blocking, session_from_token};

use crate::cli::{CredentialArgs, GlobalArgs};
use crate::profile::{self, Target};
use crate::prompt::TerminalPrompter;

/// The variable CI jobs put a ready token in; used as it is, with nothing on disk.
pub(crate) const TOKEN_VARIABLE: &str = "TAPIS_TOKEN";

/// Timeouts for HTTP requests, from the global options.
pub(crate) fn client_config(global: &GlobalArgs) -> ClientConfig {
    let mut config = ClientConfig::default();
    config.connect_timeout = global.http_timeout.min(config.connect_timeout);
    config.request_timeout = global.http_timeout;
    config.user_agent_suffix = Some(concat!("tapis-cli/", env!("CARGO_PKG_VERSION")).to_owned());
    config
}

/// Options for where a command works, with nothing about credentials.
pub(crate) fn target_options(global: &GlobalArgs, target: &Target) -> LoginOptions {
    let mut options = LoginOptions::new(target.base_url.clone(), target.token_file.clone());
    options.lock_timeout = global.lock_timeout;
    options.client = client_config(global);
    options
}

/// Login options for a target and the credential flags. The username comes from
/// `--username`/`TAPIS_USERNAME`, else the profile; the password from `--password-stdin` (one
/// line), else `TAPIS_PASSWORD`. Missing parts are prompted for.
pub(crate) fn login_options(
    global: &GlobalArgs,
    target: &Target,
    credentials: &CredentialArgs,
) -> anyhow::Result<LoginOptions> {
    let mut options = target_options(global, target);
    let password = if credentials.password_stdin {
        Some(read_password_line()?)
    } else {
        std::env::var("TAPIS_PASSWORD").ok().filter(|password| !password.is_empty()).map(SecretString::from)
    };
    let username = credentials
        .username
        .as_deref()
        .or(target.username.as_deref())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    options.credentials.username = username;
    options.credentials.password = password;
    options.client_description = format!("tapis CLI on {}", tapis_store::host_name());
    Ok(options)
}

/// A valid session for `token`, `exec`, `api` and `whoami`: `TAPIS_TOKEN` as it is when set,
/// else the saved token, renewed or logged in for as `login` would.
pub(crate) fn session(
    global: &GlobalArgs,
    credentials: &CredentialArgs,
    min_valid: TimeDelta,
) -> anyhow::Result<(Session, Target)> {
    let target = profile::resolve(global)?;
    if let Some(token) = given_token() {
        let session = session_from_token(&target_options(global, &target), token)
            .with_context(|| format!("cannot use {TOKEN_VARIABLE}"))?;
        return Ok((session, target));
    }
    let mut options = login_options(global, &target, credentials)?;
    options.min_valid = min_valid;
    let session = blocking::connect(&options, &mut TerminalPrompter::new())
        .with_context(|| format!("cannot get a token for {}", options.base_url))?;
    if session.origin() == tapis_auth::Origin::LoggedIn {
        remember_profile(&target, session.username());
    }
    Ok((session, target))
}

/// `TAPIS_TOKEN`, when set and not empty.
pub(crate) fn given_token() -> Option<SecretString> {
    std::env::var(TOKEN_VARIABLE).ok().filter(|token| !token.trim().is_empty()).map(SecretString::from)
}

/// Records a named profile after a login (created on first use); a failure is a warning.
pub(crate) fn remember_profile(target: &Target, username: Option<&str>) {
    match profile::remember(target, username) {
        Ok(Some(path)) if target.is_new_profile => crate::output::say(&format!(
            "Created the profile `{}` in {}.",
            target.profile.as_deref().unwrap_or_default(),
            path.display()
        )),
        Ok(_) => {}
        Err(error) => crate::output::warn(&format!("the profile was not saved: {}", describe(&error))),
    }
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
        let message = crate::exit::cli_message(cause).unwrap_or_else(|| cause.to_string());
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
