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

use anyhow::Context as _;
use chrono::TimeDelta;
use secrecy::zeroize::{Zeroize as _, Zeroizing};
use tapis_auth::{AuthError, ClientConfig, LoginOptions, SecretString, Session, blocking, session_from_token};

use crate::cli::{CredentialArgs, GlobalArgs};
use crate::profile::{self, Target};
use crate::prompt::TerminalPrompter;

/// The variable CI jobs put a ready token in; used as it is, with nothing on disk.
pub(crate) const TOKEN_VARIABLE: &str = "TAPIS_TOKEN";

/// The password for a login when there is no `--password-stdin`.
pub(crate) const PASSWORD_VARIABLE: &str = "TAPIS_PASSWORD";

/// The key of a `--client-id` OAuth client, for a renewable device login.
pub(crate) const CLIENT_KEY_VARIABLE: &str = "TAPIS_CLIENT_KEY";

/// Every variable tapis reads that holds a long-lived secret. `tapis exec` removes them from
/// its command's environment: the command gets `TAPIS_TOKEN` (short-lived) and nothing more.
pub(crate) const SECRET_VARIABLES: [&str; 2] = [PASSWORD_VARIABLE, CLIENT_KEY_VARIABLE];

/// Timeouts for HTTP requests, from the global options.
pub(crate) fn client_config(global: &GlobalArgs) -> ClientConfig {
    let mut config = ClientConfig::default();
    config.connect_timeout = global.http_timeout.min(config.connect_timeout);
    config.request_timeout = global.http_timeout;
    config.user_agent_suffix = Some(concat!("tapis-cli/", env!("CARGO_PKG_VERSION")).to_owned());
    #[cfg(debug_assertions)]
    if let Some(clock) = crate::test_clock::from_environment() {
        config.clock = clock;
    }
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
/// `--username`/`TAPIS_USERNAME`, else the profile, else — when a password is given — the
/// user of the tokens saved for this server; the password from `--password-stdin` (one
/// line), else `TAPIS_PASSWORD`. Missing parts are prompted for (see [`connect`] for a
/// password given without a username and no terminal).
pub(crate) fn login_options(
    global: &GlobalArgs,
    target: &Target,
    credentials: &CredentialArgs,
) -> anyhow::Result<LoginOptions> {
    let mut options = target_options(global, target);
    let password = if credentials.password_stdin {
        Some(read_password_line()?)
    } else {
        std::env::var(PASSWORD_VARIABLE).ok().filter(|password| !password.is_empty()).map(SecretString::from)
    };
    let username = credentials
        .username
        .as_deref()
        .or(target.username.as_deref())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    // A password without a username is for the user already signed in here. A token file
    // that cannot be read names nobody; the login then says what is missing.
    let username = match (username, &password) {
        (None, Some(_)) => {
            tapis_store::TokenStore::new(&target.token_file).saved_username(&target.base_url).ok().flatten()
        }
        (username, _) => username,
    };
    options.credentials.username = username;
    options.credentials.password = password;
    options.client_description = format!("tapis CLI on {}", tapis_store::host_name());
    Ok(options)
}

/// `blocking::connect`, with the CLI's words for the two ways a login without a terminal
/// falls short that the library tells apart from "never logged in" only by context: a
/// password given without a username (a usage error naming the flag and the variable), and
/// a saved login whose refresh token has expired (not "not logged in": it lapsed).
pub(crate) fn connect(options: &LoginOptions, prompter: &mut TerminalPrompter) -> anyhow::Result<Session> {
    let credentials = &options.credentials;
    match blocking::connect(options, prompter) {
        Err(AuthError::NoCredentials { .. }) if credentials.password.is_some() && credentials.username.is_none() => {
            crate::exit::usage!(
                "a password was given but no username, and the token file {} holds no login to {} to take it from; pass --username or set TAPIS_USERNAME",
                options.token_file.display(),
                options.base_url
            )
        }
        Err(error @ AuthError::NoCredentials { .. }) => match refresh_expired_at(options) {
            Some(expired_at) => Err(crate::exit::NotLoggedInError(format!(
                "the login to {} has lapsed: its refresh token expired at {}, so the token cannot be renewed, and there is no terminal to ask for a password; run `tapis login` in a terminal, or set TAPIS_USERNAME and TAPIS_PASSWORD",
                options.base_url,
                crate::output::instant(expired_at)
            ))
            .into()),
            None => Err(error.into()),
        },
        outcome => Ok(outcome?),
    }
}

/// When the tokens saved for this server hold a refresh token that has expired, its expiry.
fn refresh_expired_at(options: &LoginOptions) -> Option<chrono::DateTime<chrono::Utc>> {
    let loaded = tapis_store::TokenStore::new(&options.token_file).load_read_only().ok()?;
    let tokens = loaded.tokens.filter(|tokens| tokens.belongs_to(&options.base_url))?;
    let expires_at = tokens.refresh.as_ref()?.expires_at()?;
    (expires_at <= chrono::Utc::now()).then_some(expires_at)
}

/// A valid session for `token`, `exec`, `api` and `whoami`: `TAPIS_TOKEN` as it is when set
/// and valid for more than `min_valid`, else the saved token, renewed or logged in for as
/// `login` would (a stale `TAPIS_TOKEN` is passed over with a note).
pub(crate) fn session(
    global: &GlobalArgs,
    credentials: &CredentialArgs,
    min_valid: TimeDelta,
) -> anyhow::Result<(Session, Target)> {
    let target = profile::resolve(global)?;
    let mut stale_given = None;
    if let Some(token) = given_token() {
        let mut options = target_options(global, &target);
        options.min_valid = min_valid;
        match session_from_token(&options, token) {
            Ok(session) => return Ok((session, target)),
            Err(AuthError::GivenTokenExpiring { expires_at }) => stale_given = Some(expires_at),
            Err(error) => return Err(error).with_context(|| format!("cannot use {TOKEN_VARIABLE}")),
        }
    }
    let stale = |expires_at: chrono::DateTime<chrono::Utc>| {
        let at = crate::output::instant(expires_at);
        if expires_at <= chrono::Utc::now() {
            format!("{TOKEN_VARIABLE} expired at {at}")
        } else {
            let margin = tapis_auth_core::duration::format_duration(min_valid);
            format!("{TOKEN_VARIABLE} is valid only until {at}, less than the {margin} it must stay valid for")
        }
    };
    let mut options = login_options(global, &target, credentials)?;
    options.min_valid = min_valid;
    let session = connect(&options, &mut TerminalPrompter::new()).with_context(|| match stale_given {
        Some(expires_at) => format!("{}, and cannot get a token for {} instead", stale(expires_at), options.base_url),
        None => format!("cannot get a token for {}", options.base_url),
    })?;
    if let Some(expires_at) = stale_given {
        let file = options.token_file.display();
        crate::output::note(&format!("{}; using the token file {file} instead", stale(expires_at)));
    }
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

/// The first line of standard input, for `--password-stdin`. It is read a byte at a time
/// ([`crate::platform::stdin`], unbuffered on Unix), into a buffer that is zeroed afterwards: through std's
/// buffered stdin, a copy would stay in its buffer for the life of the process (and nothing
/// past the first line is consumed).
fn read_password_line() -> anyhow::Result<SecretString> {
    let mut line = Zeroizing::new(Vec::with_capacity(128));
    loop {
        let mut byte = [0_u8; 1];
        match crate::platform::stdin::read_byte(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(error) => return Err(error).context("cannot read the password from standard input"),
        }
        byte.zeroize();
    }
    let password = line.strip_suffix(b"\r").unwrap_or(&line);
    if password.is_empty() {
        crate::exit::usage!(
            "--password-stdin was given but standard input had no password on its first line; pipe the password in, e.g. `tapis login --password-stdin < password-file`"
        );
    }
    let Ok(password) = std::str::from_utf8(password) else {
        crate::exit::usage!("--password-stdin was given but the password on standard input is not UTF-8");
    };
    Ok(SecretString::from(password))
}

/// An error and its causes on one line each, as the library joins them
/// ([`tapis_auth::chain_text`]), in the CLI's words ([`crate::exit::cli_message`]). Each cause
/// is escaped whole (a server's message may hold line breaks or escape sequences), so the
/// line breaks in the result are tapis's own.
pub(crate) fn describe(error: &anyhow::Error) -> String {
    tapis_auth::chain_text(error.chain().map(|cause| {
        let message = crate::exit::cli_message(cause).unwrap_or_else(|| cause.to_string());
        crate::output::escape_controls(&message).into_owned()
    }))
}
