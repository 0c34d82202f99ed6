//! Profiles: named sets of base URL, username and token file, for working with several
//! tenants or accounts. This module only gathers what the command was given (each flag, or
//! the variable it fell back on, by its name) into [`tapis_auth::settings::Sources`]; which
//! one wins, and what a profile records after a login, is decided once, in the library
//! ([`tapis_auth::settings::resolve`]), for this command and the Python package alike.

use std::path::PathBuf;

use anyhow::Context as _;
use tapis_auth::SecretString;
pub(crate) use tapis_auth::settings::Target;
use tapis_auth::settings::{self, Given, Places, Purpose, Sources};
#[cfg(test)]
use tapis_store::profiles::{Config, Profile};

use crate::cli::{CredentialArgs, GlobalArgs};

/// What the command was given, by the names it goes by here. `password` is read by the
/// caller (from `--password-stdin` or `TAPIS_PASSWORD`), only for the verbs that log in.
pub(crate) fn sources(
    global: &GlobalArgs,
    credentials: Option<&CredentialArgs>,
    password: Option<SecretString>,
) -> Sources {
    let from = |on_command_line: bool, flag: &'static str, variable: &'static str, value: Option<String>| {
        value
            .map(|value| if on_command_line { Given::caller(flag, value) } else { Given::environment(variable, value) })
    };
    let on = &global.on_command_line;
    let mut sources = Sources::default();
    sources.profile = from(on.profile, "--profile", "TAPIS_PROFILE", global.profile.clone());
    sources.base_url = from(
        global.base_url_on_command_line,
        "--base-url",
        "TAPIS_BASE_URL",
        global.base_url.as_ref().map(ToString::to_string),
    );
    sources.token_file = from(
        on.token_file,
        "--token-file",
        "TAPIS_TOKEN_FILE",
        global.token_file.as_ref().map(|path| path.to_string_lossy().into_owned()),
    );
    // A verb without credential flags still knows the user the environment asks for.
    sources.username = match credentials {
        Some(credentials) => from(on.username, "--username", "TAPIS_USERNAME", credentials.username.clone()),
        None => from(false, "--username", "TAPIS_USERNAME", std::env::var("TAPIS_USERNAME").ok()),
    };
    sources.password = password;
    sources.given_token = crate::commands::given_token();
    sources.places = Places::platform();
    sources
}

/// Where a command works, as the library decides it from what this command was given.
pub(crate) fn resolve(global: &GlobalArgs) -> anyhow::Result<Target> {
    Ok(settings::resolve(&sources(global, None, None), Purpose::Use)?)
}

/// [`resolve`] with the credentials of a verb that may log in; `login` also creates or
/// changes a named profile.
pub(crate) fn resolve_with_credentials(
    global: &GlobalArgs,
    credentials: &CredentialArgs,
    password: Option<SecretString>,
    purpose: Purpose,
) -> anyhow::Result<Target> {
    Ok(settings::resolve(&sources(global, Some(credentials), password), purpose)?)
}

/// Every profile as the commands would use it: the defaults (with the environment applied,
/// as a command without a profile applies it) first, then each profile in the config file.
pub(crate) fn all_targets(global: &GlobalArgs) -> anyhow::Result<Vec<Target>> {
    Ok(settings::all_targets(&sources(global, None, None))?)
}

/// Records a profile after a login as `username`, as the library says it changes
/// ([`Target::profile_update`]); returns the config file when it was written.
pub(crate) fn remember(target: &Target, username: Option<&str>) -> anyhow::Result<Option<PathBuf>> {
    let (Some(name), Some(path)) = (&target.profile, &target.config_file) else { return Ok(None) };
    let written = tapis_store::profiles::update_config(path, |config| {
        let Some(updated) = target.profile_update(config.profiles.get(name), username) else { return false };
        config.profiles.insert(name.clone(), updated);
        true
    })
    .with_context(|| format!("cannot record the profile `{name}`"))?;
    Ok(written.then(|| path.clone()))
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn config_round_trips() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("nested").join("profiles.toml");
        let profile = Profile::new(Some("https://tacc.tapis.io".into()), Some("jdoe".into()), None);
        tapis_store::profiles::update_config(&path, |config: &mut Config| {
            config.profiles.insert("tacc".into(), profile.clone());
        })
        .expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("[profiles.tacc]") && text.contains("base_url = \"https://tacc.tapis.io\""), "{text}");
        let again = tapis_store::profiles::load_config(&path).expect("load");
        assert_eq!(again.profiles.get("tacc"), Some(&profile));
    }
}
