//! What `connect_tapis()` was given, gathered for the library's one resolution
//! ([`tapis_auth::settings::resolve`], the same as the `tapis` command's): each argument by
//! its Python name, else the variable it falls back on by the variable's name, the password
//! and `TAPIS_TOKEN`. This module decides nothing: which setting wins, how `~` is expanded and
//! what a profile means are the library's.

use std::path::PathBuf;

use pyo3::prelude::*;
use tapis_auth::settings::{self, Given, Places, Purpose, Sources, Target};
use tapis_auth_core::SecretString;

use crate::errors;

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
    pub(crate) password: Option<&'a str>,
}

/// The sources: each argument, else its variable.
pub(crate) fn sources(arguments: &Arguments<'_>, given_token: bool) -> Sources {
    let argument = |name: &'static str, value: Option<&str>| {
        value.filter(|value| !value.is_empty()).map(|value| Given::caller(name, value))
    };
    let variable = |name: &'static str| {
        std::env::var(name).ok().filter(|value| !value.is_empty()).map(|value| Given::environment(name, value))
    };
    let mut sources = Sources::default();
    sources.profile = Given::first(argument("profile=", arguments.profile), variable(PROFILE_VARIABLE));
    sources.base_url = Given::first(argument("base_url=", arguments.base_url), variable(BASE_URL_VARIABLE));
    let token_file = arguments.token_file.as_ref().map(|path| path.to_string_lossy().into_owned());
    sources.token_file =
        Given::first(argument("token_filePath=", token_file.as_deref()), variable(TOKEN_FILE_VARIABLE));
    sources.username = Given::first(argument("username=", arguments.username), variable(USERNAME_VARIABLE));
    sources.password = arguments
        .password
        .filter(|password| !password.is_empty())
        .map(SecretString::from)
        .or_else(|| variable(PASSWORD_VARIABLE).map(|given| SecretString::from(given.value)));
    if given_token {
        sources.given_token =
            std::env::var(TOKEN_VARIABLE).ok().filter(|token| !token.trim().is_empty()).map(SecretString::from);
    }
    sources.places = Places::platform();
    sources
}

/// Where and as whom to sign in, as the library resolves it; its errors are raised as the
/// class of their kind, worded as the `tapis` command words them.
pub(crate) fn resolve(arguments: &Arguments<'_>, given_token: bool) -> PyResult<Target> {
    settings::resolve(&sources(arguments, given_token), Purpose::Use)
        .map_err(|error| errors::settings_to_python(&error))
}
