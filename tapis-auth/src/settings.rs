//! Where and as whom to sign in, decided once for every front door.
//!
//! A front door gathers its [`Sources`] (each setting with the name it goes by there and
//! whether it came from the caller or the environment) and [`resolve`] turns them into a
//! [`Target`] with one precedence, the same for the `tapis` command and the Python package:
//!
//! - the profile: the caller's, else the environment's; `default` (or none) means the
//!   notebooks' defaults, and nothing is read;
//! - the server: the caller's, else the environment's, else the profile's, else
//!   [`DEFAULT_BASE_URL`]. A named profile keeps its server: one from the environment that
//!   differs from it is refused ([`SettingsError::ProfileServerFromEnvironment`]), since an
//!   inherited variable must not send a profile's login elsewhere; only the caller's word
//!   points a profile at another server (a login then changes the profile's server);
//! - the token file: the caller's, else the environment's, else the profile's, else the
//!   profile's own file, else the notebooks' `~/.tapis_tokens.json`; a leading `~` is the home
//!   folder wherever the path comes from;
//! - the user asked for: the caller's, else the environment's, else the profile's; a password
//!   given without a username is for the user of the tokens saved for this server;
//! - a given token (a CI job's) and a password are passed through.
//!
//! Only the caller's words, never the environment's, are recorded in `profiles.toml`
//! ([`Target::profile_update`]).

use std::path::{Path, PathBuf};

use tapis_auth_core::{BaseUrl, DEFAULT_BASE_URL, SecretString};

use crate::{AuthError, LoginOptions, Notice, Prompter, Session};
use tapis_store::profiles::{self, Config, DEFAULT_PROFILE, Profile};

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GivenBy {
    /// The caller: a command-line flag, a function argument.
    Caller,
    /// The environment: a variable, possibly inherited.
    Environment,
}

/// One setting as a front door found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// The value, as given.
    pub value: String,
    /// Where it came from.
    pub from: GivenBy,
    /// What it is called there (`--base-url`, `TAPIS_BASE_URL`, `base_url=`), for messages.
    pub name: &'static str,
}

impl Given {
    /// A setting from the caller.
    pub fn caller(name: &'static str, value: impl Into<String>) -> Self {
        Self { value: value.into(), from: GivenBy::Caller, name }
    }

    /// A setting from the environment.
    pub fn environment(name: &'static str, value: impl Into<String>) -> Self {
        Self { value: value.into(), from: GivenBy::Environment, name }
    }

    /// The first of `caller` and `environment` that is given and not blank.
    pub fn first(caller: Option<Given>, environment: Option<Given>) -> Option<Given> {
        caller.into_iter().chain(environment).find(|given| !given.value.trim().is_empty())
    }
}

/// The folders the defaults live in: the platform's, or a test's.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Places {
    /// The home folder, for `~` and the notebooks' token file.
    pub home: Option<PathBuf>,
    /// `profiles.toml`.
    pub config_file: Option<PathBuf>,
    /// The folder of the profiles' own token files.
    pub profile_tokens: Option<PathBuf>,
}

impl Places {
    /// The platform's folders (on Linux `~`, `~/.config/tapis/profiles.toml` and
    /// `~/.local/share/tapis/tokens`); a part without a home folder is `None`.
    pub fn platform() -> Self {
        Self {
            home: tapis_store::default_token_file_path().and_then(|path| path.parent().map(Path::to_path_buf)),
            config_file: profiles::config_path(),
            // The folder of any profile's own file (`tokens/<name>.json`).
            profile_tokens: profiles::profile_token_file_path(DEFAULT_PROFILE)
                .and_then(|path| path.parent().map(Path::to_path_buf)),
        }
    }

    /// Everything under `home`, as on Linux: for tests.
    pub fn under(home: &Path) -> Self {
        Self {
            home: Some(home.to_path_buf()),
            config_file: Some(home.join(".config/tapis/profiles.toml")),
            profile_tokens: Some(home.join(".local/share/tapis/tokens")),
        }
    }
}

/// Everything a front door gathered, before any precedence is applied.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Sources {
    /// The profile.
    pub profile: Option<Given>,
    /// The server.
    pub base_url: Option<Given>,
    /// The token file.
    pub token_file: Option<Given>,
    /// The user asked for.
    pub username: Option<Given>,
    /// The password, when supplied.
    pub password: Option<SecretString>,
    /// A token given as it is (a CI job's).
    pub given_token: Option<SecretString>,
    /// Where the defaults live.
    pub places: Places,
}

/// What a command means to do with the target: only a login may name a profile that does not
/// exist yet (it creates it) or change a profile's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Use the saved sign-in (or sign in) where the settings say.
    Use,
    /// Log in, creating or updating a named profile.
    Login,
}

/// Where and as whom to sign in: the one answer every command and binding consumes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Target {
    /// The profile's name; `None` for the defaults.
    pub profile: Option<String>,
    /// Whether the named profile is not in `profiles.toml` yet (a login creates it).
    pub is_new_profile: bool,
    /// The server.
    pub base_url: BaseUrl,
    /// The token file.
    pub token_file: PathBuf,
    /// The user asked for, if any: another user's saved tokens are not used for this target.
    pub username: Option<String>,
    /// Whether the username came from the environment (it is then not recorded).
    pub username_from_environment: bool,
    /// The password, when supplied.
    pub password: Option<SecretString>,
    /// A token given as it is.
    pub given_token: Option<SecretString>,
    /// The caller pointed the named profile at another server than the one it records: a login
    /// replaces the profile's tokens of the old server (as a forced login does).
    pub changes_server: bool,
    /// `profiles.toml`, when a profile is named.
    pub config_file: Option<PathBuf>,
}

impl Target {
    /// The profile as a login as `username` leaves it, when a profile is named: created on
    /// first use; its server the caller's (or, for a new profile, the one used); its user the
    /// one logged in as, unless that user came from the environment. `None` when nothing
    /// changes.
    pub fn profile_update(&self, saved: Option<&Profile>, username: Option<&str>) -> Option<Profile> {
        self.profile.as_ref()?;
        let saved_url = saved.and_then(|profile| profile.base_url.clone());
        let base_url = if self.changes_server || saved.is_none() { Some(self.base_url.to_string()) } else { saved_url };
        let username = match username {
            Some(name) if !self.username_from_environment => Some(name.to_owned()),
            _ => saved.and_then(|profile| profile.username.clone()),
        };
        let updated = Profile::new(base_url, username, saved.and_then(|profile| profile.token_file.clone()));
        (saved != Some(&updated)).then_some(updated)
    }
}

/// Why the settings cannot be used. The messages name each setting as its front door calls it
/// ([`Given::name`]) and the way out in that front door's words ([`crate::WaysOut`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A profile name that cannot name a profile.
    #[error(
        "`{name}` is not a profile name; use letters, digits, `-`, `_` and `.` (not first), at most {} characters",
        profiles::MAX_PROFILE_NAME_LEN
    )]
    NotAProfileName {
        /// The name given.
        name: String,
    },
    /// A named profile that is not in `profiles.toml`, for a command that does not create one.
    #[error("{}", crate::ways_out::settings_message(self, &crate::WaysOut::NEUTRAL))]
    UnknownProfile {
        /// The name given.
        name: String,
        /// The profiles there are.
        known: Vec<String>,
        /// `profiles.toml`.
        config_file: PathBuf,
    },
    /// The environment names another server than the named profile's.
    #[error("{}", crate::ways_out::settings_message(self, &crate::WaysOut::NEUTRAL))]
    ProfileServerFromEnvironment {
        /// The profile.
        profile: String,
        /// Its server.
        own: BaseUrl,
        /// The environment's server.
        url: String,
        /// The variable's name.
        variable: &'static str,
    },
    /// A new profile's server would come from the environment, which never writes
    /// `profiles.toml`.
    #[error("{}", crate::ways_out::settings_message(self, &crate::WaysOut::NEUTRAL))]
    NewProfileServerFromEnvironment {
        /// The profile.
        profile: String,
        /// The environment's server.
        url: String,
        /// The variable's name.
        variable: &'static str,
    },
    /// A base URL that cannot be used.
    #[error("{name} `{url}` cannot be used: {source}")]
    BaseUrl {
        /// Where it came from (a flag, a variable, a profile).
        name: String,
        /// The URL as given.
        url: String,
        /// Why.
        source: tapis_auth_core::BaseUrlError,
    },
    /// `profiles.toml` cannot be read.
    #[error(transparent)]
    Profiles(#[from] profiles::ProfilesError),
    /// A default needs a home folder and there is none.
    #[error("{}", crate::ways_out::settings_message(self, &crate::WaysOut::NEUTRAL))]
    NoHome {
        /// What needed it.
        what: &'static str,
    },
}

/// Turns what a front door gathered into the target (see the module's documentation).
pub fn resolve(sources: &Sources, purpose: Purpose) -> Result<Target, SettingsError> {
    let places = &sources.places;
    let parse = |given: &Given| {
        BaseUrl::parse(given.value.trim()).map_err(|source| SettingsError::BaseUrl {
            name: given.name.to_owned(),
            url: given.value.clone(),
            source,
        })
    };
    let base_url_given =
        sources.base_url.as_ref().map(|given| Ok::<_, SettingsError>((parse(given)?, given))).transpose()?;
    let token_file_given = sources.token_file.as_ref().map(|given| expand_home(Path::new(&given.value), places));
    let username_given = sources.username.as_ref().filter(|given| !given.value.trim().is_empty());
    let profile_name = sources
        .profile
        .as_ref()
        .map(|given| given.value.trim())
        .filter(|name| !name.is_empty() && *name != DEFAULT_PROFILE);

    let mut target = Target {
        profile: None,
        is_new_profile: false,
        base_url: default_base_url(),
        token_file: PathBuf::new(),
        username: username_given.map(|given| given.value.trim().to_owned()),
        username_from_environment: username_given.is_some_and(|given| given.from == GivenBy::Environment),
        password: sources.password.clone(),
        given_token: sources.given_token.clone(),
        changes_server: false,
        config_file: None,
    };
    match profile_name {
        None => {
            if let Some((url, _)) = base_url_given {
                target.base_url = url;
            }
            target.token_file = match token_file_given {
                Some(path) => path,
                None => places
                    .home
                    .as_ref()
                    .map(|home| home.join(tapis_store::DEFAULT_TOKEN_FILE_NAME))
                    .ok_or(SettingsError::NoHome { what: "the default token file" })?,
            };
        }
        Some(name) => {
            if !profiles::is_profile_name(name) {
                return Err(SettingsError::NotAProfileName { name: name.to_owned() });
            }
            let config_file = places.config_file.clone().ok_or(SettingsError::NoHome { what: "the profiles" })?;
            let config = profiles::load_config(&config_file)?;
            let saved = config.profiles.get(name);
            if saved.is_none() && purpose == Purpose::Use {
                return Err(unknown_profile(name, &config, &config_file));
            }
            let own = match saved {
                Some(profile) => Some(match profile.base_url.as_deref() {
                    Some(url) => BaseUrl::parse(url).map_err(|source| SettingsError::BaseUrl {
                        name: format!("the base URL of the profile `{name}` in {}", config_file.display()),
                        url: url.to_owned(),
                        source,
                    })?,
                    None => default_base_url(),
                }),
                None => None,
            };
            target.base_url = match (base_url_given, own) {
                (Some((url, given)), own) if given.from == GivenBy::Caller => {
                    target.changes_server = own.is_some_and(|own| own != url) && purpose == Purpose::Login;
                    url
                }
                (Some((url, given)), Some(own)) if url != own => {
                    return Err(SettingsError::ProfileServerFromEnvironment {
                        profile: name.to_owned(),
                        own,
                        url: given.value.clone(),
                        variable: given.name,
                    });
                }
                (Some((url, given)), None) if url != default_base_url() => {
                    return Err(SettingsError::NewProfileServerFromEnvironment {
                        profile: name.to_owned(),
                        url: given.value.clone(),
                        variable: given.name,
                    });
                }
                (_, Some(own)) => own,
                (_, None) => default_base_url(),
            };
            target.token_file = match (token_file_given, saved.and_then(|profile| profile.token_file.as_deref())) {
                (Some(path), _) => path,
                (None, Some(path)) => expand_home(path, places),
                (None, None) => places
                    .profile_tokens
                    .as_ref()
                    .map(|folder| folder.join(format!("{name}.json")))
                    .ok_or(SettingsError::NoHome { what: "the profile's tokens" })?,
            };
            if target.username.is_none() {
                target.username = saved.and_then(|profile| profile.username.clone());
            }
            target.profile = Some(name.to_owned());
            target.is_new_profile = saved.is_none();
            target.config_file = Some(config_file);
        }
    }
    // A password given without a username is for the user already signed in here. A token
    // file that cannot be read names nobody; the login then says what is missing.
    if target.username.is_none() && target.password.is_some() {
        target.username =
            tapis_store::TokenStore::new(&target.token_file).saved_username(&target.base_url).ok().flatten();
    }
    Ok(target)
}

/// Every profile as it would be used with these sources: the defaults first (with the
/// environment's server, token file and user applied, as a command without a profile uses
/// them), then each profile in `profiles.toml` with its own settings.
pub fn all_targets(sources: &Sources) -> Result<Vec<Target>, SettingsError> {
    let mut defaults = sources.clone();
    defaults.profile = None;
    let mut targets = vec![resolve(&defaults, Purpose::Use)?];
    let Some(config_file) = &sources.places.config_file else { return Ok(targets) };
    for name in profiles::load_config(config_file)?.profiles.into_keys() {
        let mut named = Sources { places: sources.places.clone(), ..Sources::default() };
        named.profile = Some(Given::caller("", name));
        targets.push(resolve(&named, Purpose::Use)?);
    }
    Ok(targets)
}

/// The one rule for a given token (`TAPIS_TOKEN`), in every front door: a session for it
/// when it is a token of this server valid for more than `options.min_valid`; otherwise
/// `None`, after telling the prompter why it is passed over
/// ([`Notice::GivenTokenPassedOver`], which calls it `name`), and the caller signs in as if
/// no token had been given.
pub fn use_given_token(
    options: &LoginOptions,
    token: SecretString,
    name: &str,
    prompter: &mut dyn Prompter,
) -> Option<Session> {
    let reason = match crate::session_from_token(options, token) {
        Ok(session) => return Some(session),
        Err(AuthError::GivenTokenExpiring { expires_at }) => {
            let at = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if expires_at <= options.client.clock.now() {
                format!("expired at {at}")
            } else {
                let margin = tapis_auth_core::duration::format_duration(options.min_valid);
                format!("is valid only until {at}, less than the {margin} it must stay valid for")
            }
        }
        Err(AuthError::UnusableGivenToken { reason }) => format!("cannot be used: {reason}"),
        Err(error) => format!("cannot be used: {error}"),
    };
    prompter.notice(&Notice::GivenTokenPassedOver {
        name: name.to_owned(),
        reason,
        token_file: options.token_file.clone(),
    });
    None
}

/// `~` and `~/...` as the home folder; any other path as it is.
pub fn expand_home(path: &Path, places: &Places) -> PathBuf {
    let Some(home) = &places.home else { return path.to_path_buf() };
    match path.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) => path.to_path_buf(),
    }
}

fn default_base_url() -> BaseUrl {
    BaseUrl::parse(DEFAULT_BASE_URL).expect("the default base URL is valid")
}

fn unknown_profile(name: &str, config: &Config, config_file: &Path) -> SettingsError {
    SettingsError::UnknownProfile {
        name: name.to_owned(),
        known: config.profiles.keys().cloned().collect(),
        config_file: config_file.to_path_buf(),
    }
}
