//! Where `connect_tapis()` works: the server, the token file and the username, chosen in the
//! `tapis` command's order. For each setting: the argument when the caller gave one, else its
//! environment variable, else the named profile's setting, else the default. The profile is
//! the argument, else `TAPIS_PROFILE`; `profiles.toml` is read (by `tapis_store::profiles`,
//! as the command reads it) only when one is named. As in the command, a named profile keeps
//! its server: an inherited `TAPIS_BASE_URL` that differs from it is refused, and only the
//! `base_url` argument may point the profile elsewhere.

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tapis_auth_core::{BaseUrl, DEFAULT_BASE_URL, SecretString};
use tapis_store::profiles::{self, DEFAULT_PROFILE};

use crate::errors::TapisConnectError;

/// The variables, as the `tapis` command names them.
pub(crate) const PROFILE_VARIABLE: &str = "TAPIS_PROFILE";
pub(crate) const BASE_URL_VARIABLE: &str = "TAPIS_BASE_URL";
pub(crate) const TOKEN_FILE_VARIABLE: &str = "TAPIS_TOKEN_FILE";
pub(crate) const USERNAME_VARIABLE: &str = "TAPIS_USERNAME";
pub(crate) const PASSWORD_VARIABLE: &str = "TAPIS_PASSWORD";
pub(crate) const TOKEN_VARIABLE: &str = "TAPIS_TOKEN";

/// What the caller passed; `None` (or an empty string) is "left at its default".
pub(crate) struct Arguments<'a> {
    pub(crate) profile: Option<&'a str>,
    pub(crate) base_url: Option<&'a str>,
    pub(crate) token_file: Option<PathBuf>,
    pub(crate) username: Option<&'a str>,
}

/// Where to work.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) base_url: BaseUrl,
    pub(crate) token_file: PathBuf,
    pub(crate) username: Option<String>,
}

/// Chooses the server, token file and username (see the module's documentation).
pub(crate) fn resolve(arguments: &Arguments<'_>) -> PyResult<Target> {
    let base_url_argument = given(arguments.base_url).map(|url| parse_base_url(url, "the base URL")).transpose()?;
    let base_url_variable =
        variable(BASE_URL_VARIABLE).map(|url| parse_base_url(&url, BASE_URL_VARIABLE)).transpose()?;
    let token_file = arguments
        .token_file
        .clone()
        .filter(|path| !path.as_os_str().is_empty())
        .or_else(|| variable(TOKEN_FILE_VARIABLE).map(PathBuf::from));
    let username = given(arguments.username).map(str::to_owned).or_else(|| variable(USERNAME_VARIABLE));
    let profile_name = given(arguments.profile)
        .map(str::to_owned)
        .or_else(|| variable(PROFILE_VARIABLE))
        .filter(|name| name != DEFAULT_PROFILE);
    let Some(name) = profile_name else {
        let base_url = match base_url_argument.or(base_url_variable) {
            Some(url) => url,
            None => default_base_url(),
        };
        let token_file = match token_file {
            Some(path) => path,
            None => tapis_store::default_token_file_path().ok_or_else(|| {
                TapisConnectError::new_err(format!(
                    "cannot find a home folder for the default token file; pass token_filePath or set {TOKEN_FILE_VARIABLE}"
                ))
            })?,
        };
        return Ok(Target { base_url, token_file, username: trimmed(username) });
    };
    if !profiles::is_profile_name(&name) {
        return Err(PyValueError::new_err(format!(
            "`{name}` is not a profile name; use letters, digits, `-`, `_` and `.` (not first), at most {} characters",
            profiles::MAX_PROFILE_NAME_LEN
        )));
    }
    let config_path = profiles::config_path()
        .ok_or_else(|| TapisConnectError::new_err("cannot find a home folder for the profiles"))?;
    let config = profiles::load_config(&config_path).map_err(|error| TapisConnectError::new_err(chain(&error)))?;
    let Some(profile) = config.profiles.get(&name) else {
        return Err(PyValueError::new_err(unknown_profile(&name, &config_path, config.profiles.keys())));
    };
    let own_url = BaseUrl::parse(profile.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL)).map_err(|error| {
        PyValueError::new_err(format!(
            "the base URL of the profile `{name}` in {} is not usable: {error}",
            config_path.display()
        ))
    })?;
    let base_url = match (base_url_argument, base_url_variable) {
        (Some(url), _) => url,
        (None, Some(url)) if url != own_url => {
            return Err(PyValueError::new_err(format!(
                "the profile `{name}` is for {own_url}, but {BASE_URL_VARIABLE} in the environment says {url}; \
                 unset {BASE_URL_VARIABLE} to use the profile, or pass base_url to choose the server"
            )));
        }
        (None, _) => own_url,
    };
    let token_file = match token_file.or_else(|| profile.token_file.clone()) {
        Some(path) => path,
        None => profiles::profile_token_file_path(&name)
            .ok_or_else(|| TapisConnectError::new_err("cannot find a home folder for the profile's tokens"))?,
    };
    Ok(Target { base_url, token_file, username: trimmed(username.or_else(|| profile.username.clone())) })
}

/// The password argument, else `TAPIS_PASSWORD`.
pub(crate) fn password(argument: &str) -> Option<SecretString> {
    given(Some(argument)).map(SecretString::from).or_else(|| variable(PASSWORD_VARIABLE).map(SecretString::from))
}

/// `TAPIS_TOKEN`, when set and not blank.
pub(crate) fn given_token() -> Option<SecretString> {
    std::env::var(TOKEN_VARIABLE).ok().filter(|token| !token.trim().is_empty()).map(SecretString::from)
}

/// An argument that is not empty.
fn given(argument: Option<&str>) -> Option<&str> {
    argument.filter(|value| !value.is_empty())
}

/// A variable that is set and not empty.
fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn trimmed(username: Option<String>) -> Option<String> {
    username.map(|name| name.trim().to_owned()).filter(|name| !name.is_empty())
}

fn default_base_url() -> BaseUrl {
    BaseUrl::parse(DEFAULT_BASE_URL).expect("the default base URL is valid")
}

fn parse_base_url(url: &str, what: &str) -> PyResult<BaseUrl> {
    BaseUrl::parse(url).map_err(|error| PyValueError::new_err(format!("{what} `{url}` cannot be used: {error}")))
}

fn unknown_profile<'a>(name: &str, config_path: &Path, known: impl Iterator<Item = &'a String>) -> String {
    let known: Vec<String> = known.map(|name| format!("`{name}`")).collect();
    let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
    format!(
        "there is no profile `{name}` in {}; the profiles are: {known} (make one with `tapis login --profile {name}`)",
        config_path.display()
    )
}

/// An error and its causes, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}
