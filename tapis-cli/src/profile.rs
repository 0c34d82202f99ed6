//! Profiles: named sets of base URL, username and token file, for working with several
//! tenants or accounts.
//!
//! - With no profile named (`--profile`, `TAPIS_PROFILE`), nothing is read: the defaults are
//!   DesignSafe and the notebooks' `~/.tapis_tokens.json`, exactly as without profiles.
//! - Profiles live in `profiles.toml` in the platform config folder (on Linux
//!   `$XDG_CONFIG_HOME/tapis/profiles.toml`, by default `~/.config/tapis/profiles.toml`).
//! - A profile's tokens live in the platform data folder, one 0600 file per profile (on Linux
//!   `~/.local/share/tapis/tokens/<name>.json`), unless the profile names a token file.
//! - Explicit flags and environment variables override a profile's settings, except the
//!   server: `TAPIS_BASE_URL` that differs from a named profile's base URL is a usage error
//!   (only `--base-url` on the command line may point a profile elsewhere), so an inherited
//!   variable never sends a profile's login, or its saved settings, to another server.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tapis_auth_core::{BaseUrl, DEFAULT_BASE_URL};
pub(crate) use tapis_store::profiles::{Config, DEFAULT_PROFILE, Profile};

use crate::cli::GlobalArgs;
use crate::exit::usage;

/// Where a command works: the server, the token file and the username to use.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The profile's name; `None` for the defaults.
    pub(crate) profile: Option<String>,
    /// Whether the named profile is not in the config file yet (`login` creates it).
    pub(crate) is_new_profile: bool,
    pub(crate) base_url: BaseUrl,
    pub(crate) token_file: PathBuf,
    pub(crate) username: Option<String>,
}

/// Checks a profile name: letters, digits, `-`, `_` and `.`, not starting with `.`, at most 64.
pub(crate) fn check_name(name: &str) -> anyhow::Result<()> {
    if !tapis_store::profiles::is_profile_name(name) {
        usage!(
            "`{name}` is not a profile name; use letters, digits, `-`, `_` and `.` (not first), at most 64 characters"
        );
    }
    Ok(())
}

/// `profiles.toml` in the platform config folder.
pub(crate) fn config_path() -> anyhow::Result<PathBuf> {
    tapis_store::profiles::config_path().context("cannot find a home folder for the config")
}

/// The token file of a profile that does not name one.
fn profile_token_file(name: &str) -> anyhow::Result<PathBuf> {
    tapis_store::profiles::profile_token_file_path(name).context("cannot find a home folder for tokens")
}

/// Reads the config file; a missing file is an empty config.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(tapis_store::profiles::load_config(path)?)
}

/// Resolves where a command works. Reads the config file only when a profile is named; a
/// named profile that is not in it is a usage error that lists those that are (only a login
/// creates a profile, see [`resolve_for_login`]).
pub(crate) fn resolve(global: &GlobalArgs) -> anyhow::Result<Target> {
    resolve_with(global, false)
}

/// [`resolve`] for `login`, which creates a named profile that does not exist yet.
pub(crate) fn resolve_for_login(global: &GlobalArgs) -> anyhow::Result<Target> {
    resolve_with(global, true)
}

fn resolve_with(global: &GlobalArgs, may_create: bool) -> anyhow::Result<Target> {
    let profile_name = global.profile.as_deref().filter(|name| !name.is_empty() && *name != DEFAULT_PROFILE);
    let Some(name) = profile_name else {
        let token_file = match &global.token_file {
            Some(path) => path.clone(),
            None => tapis_store::default_token_file_path().context(
                "cannot find a home folder for the default token file; pass --token-file or set TAPIS_TOKEN_FILE",
            )?,
        };
        let base_url = match &global.base_url {
            Some(url) => url.clone(),
            None => BaseUrl::parse(DEFAULT_BASE_URL)?,
        };
        return Ok(Target { profile: None, is_new_profile: false, base_url, token_file, username: None });
    };
    check_name(name)?;
    let config_path = config_path()?;
    let config = load_config(&config_path)?;
    let saved = config.profiles.get(name);
    if saved.is_none() && !may_create {
        usage!("{}", unknown_profile_message(name, &config, &config_path));
    }
    // The profile's own server: the one it records, else the default it was made with.
    let own_url = match saved {
        Some(profile) => Some(match profile.base_url.as_deref() {
            Some(url) => {
                BaseUrl::parse(url).with_context(|| format!("the base URL of the profile `{name}` is not usable"))?
            }
            None => BaseUrl::parse(DEFAULT_BASE_URL)?,
        }),
        None => None,
    };
    let base_url = match (&global.base_url, own_url) {
        // `--base-url` is the user's word for this command.
        (Some(url), _) if global.base_url_on_command_line => url.clone(),
        // An inherited TAPIS_BASE_URL (which `tapis token --format env` and `tapis exec`
        // export) must not send a profile's login to another server.
        (Some(url), Some(own)) if *url != own => usage!(
            "the profile `{name}` is for {own}, but TAPIS_BASE_URL in the environment says {url}; \
             unset TAPIS_BASE_URL to use the profile, or pass --base-url to choose the server for this command"
        ),
        (Some(url), _) => url.clone(),
        (None, Some(own)) => own,
        (None, None) => BaseUrl::parse(DEFAULT_BASE_URL)?,
    };
    let token_file = match (&global.token_file, saved.and_then(|profile| profile.token_file.clone())) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => path,
        (None, None) => profile_token_file(name)?,
    };
    Ok(Target {
        profile: Some(name.to_owned()),
        is_new_profile: saved.is_none(),
        base_url,
        token_file,
        username: saved.and_then(|profile| profile.username.clone()),
    })
}

/// Why a profile name is not usable: the profiles there are, where they are kept, and how
/// to make this one.
fn unknown_profile_message(name: &str, config: &Config, config_path: &Path) -> String {
    let path = config_path.display();
    let known = if config.profiles.is_empty() {
        format!("the only profile is `{DEFAULT_PROFILE}` (the notebooks' settings; {path} names no other)")
    } else {
        let names: Vec<String> = config.profiles.keys().map(|known| format!("`{known}`")).collect();
        format!("the profiles are `{DEFAULT_PROFILE}` and, in {path}, {}", names.join(", "))
    };
    format!("there is no profile `{name}`; {known}; `tapis login --profile {name}` creates it")
}

/// Every profile as it would be used without flags or variables: the defaults first
/// (`default`), then each profile in the config file.
pub(crate) fn all_targets() -> anyhow::Result<Vec<Target>> {
    let default_token_file = tapis_store::default_token_file_path().context("cannot find a home folder")?;
    let mut targets = vec![Target {
        profile: None,
        is_new_profile: false,
        base_url: BaseUrl::parse(DEFAULT_BASE_URL)?,
        token_file: default_token_file,
        username: None,
    }];
    for (name, profile) in load_config(&config_path()?)?.profiles {
        let base_url = BaseUrl::parse(profile.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
            .with_context(|| format!("the base URL of the profile `{name}` is not usable"))?;
        let token_file = match profile.token_file {
            Some(path) => path,
            None => profile_token_file(&name)?,
        };
        targets.push(Target {
            profile: Some(name),
            is_new_profile: false,
            base_url,
            token_file,
            username: profile.username,
        });
    }
    Ok(targets)
}

/// Records a profile after a login: created on first use, its base URL and username updated.
pub(crate) fn remember(target: &Target, username: Option<&str>) -> anyhow::Result<Option<PathBuf>> {
    let Some(name) = &target.profile else { return Ok(None) };
    let path = config_path()?;
    // Under the config file's lock, so that logins to other profiles at the same moment
    // lose nothing.
    let changed = tapis_store::profiles::update_config(&path, |config| {
        let entry = config.profiles.entry(name.clone()).or_default();
        let updated = Profile::new(
            Some(target.base_url.to_string()),
            username.map(str::to_owned).or_else(|| entry.username.clone()),
            entry.token_file.clone(),
        );
        let changed = *entry != updated;
        *entry = updated;
        changed
    })?;
    Ok(changed.then_some(path))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn profile_names() {
        for good in ["tacc", "design-safe", "a.b_c", "X9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "..", ".hidden", "a/b", "../etc", "a\\b", "sp ace", "ünï", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_round_trips() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("nested").join("profiles.toml");
        let mut config = Config::default();
        config
            .profiles
            .insert("tacc".into(), Profile::new(Some("https://tacc.tapis.io".into()), Some("jdoe".into()), None));
        tapis_store::profiles::update_config(&path, |saved| *saved = config.clone()).expect("save");
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.contains("[profiles.tacc]") && text.contains("base_url = \"https://tacc.tapis.io\""), "{text}");
        let again = load_config(&path).expect("load");
        assert_eq!(again.profiles.get("tacc"), config.profiles.get("tacc"));
        assert!(load_config(&folder.path().join("missing.toml")).expect("missing is empty").profiles.is_empty());
    }
}
