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
use tapis_auth::settings::Purpose;
use tapis_auth::{ClientConfig, LoginOptions, SecretString, Session, blocking};

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

/// The password for a verb that may log in: the first line of standard input with
/// `--password-stdin`, else `TAPIS_PASSWORD`.
pub(crate) fn password(credentials: &CredentialArgs) -> anyhow::Result<Option<SecretString>> {
    Ok(if credentials.password_stdin {
        Some(read_password_line()?)
    } else {
        std::env::var(PASSWORD_VARIABLE).ok().filter(|password| !password.is_empty()).map(SecretString::from)
    })
}

/// Login options for a target that the library resolved with the credentials: the user asked
/// for and the password. Missing parts are prompted for.
pub(crate) fn login_options(global: &GlobalArgs, target: &Target) -> LoginOptions {
    let mut options = target_options(global, target);
    options.credentials.username = target.username.clone();
    options.credentials.password = target.password.clone();
    options.client_description = format!("tapis CLI on {}", tapis_store::host_name());
    options
}

/// `blocking::connect`: the library words every way it falls short (the CLI's names for the
/// ways out are [`crate::exit::WAYS_OUT`]).
pub(crate) fn connect(options: &LoginOptions, prompter: &mut TerminalPrompter) -> anyhow::Result<Session> {
    Ok(blocking::connect(options, prompter)?)
}

/// A valid session for `token`, `exec`, `api` and `whoami`: `TAPIS_TOKEN` by the library's
/// rule ([`tapis_auth::settings::use_given_token`]: as it is while it is this server's and
/// valid for more than `min_valid`, else passed over with a note), else the saved token,
/// renewed or logged in for as `login` would.
pub(crate) fn session(
    global: &GlobalArgs,
    credentials: &CredentialArgs,
    min_valid: TimeDelta,
) -> anyhow::Result<(Session, Target)> {
    let password = password(credentials)?;
    let target = profile::resolve_with_credentials(global, credentials, password, Purpose::Use)?;
    let mut options = login_options(global, &target);
    options.min_valid = min_valid;
    let mut prompter = TerminalPrompter::new();
    if let Some(token) = target.given_token.clone()
        && let Some(session) = tapis_auth::settings::use_given_token(&options, token, TOKEN_VARIABLE, &mut prompter)
    {
        return Ok((session, target));
    }
    let session =
        connect(&options, &mut prompter).with_context(|| format!("cannot get a token for {}", options.base_url))?;
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
