//! Profiles: named sets of base URL, username and token file, kept in `profiles.toml`.
//!
//! This module reads the file and says where things live; deciding which profile and which
//! setting wins is the caller's (a command line and a Python function weigh their own
//! arguments). Both front doors read profiles through it, so they agree on the file.
//!
//! - `profiles.toml` is in the platform config folder (on Linux
//!   `$XDG_CONFIG_HOME/tapis/profiles.toml`, by default `~/.config/tapis/profiles.toml`).
//! - A profile's tokens are in the platform data folder, one file per profile (on Linux
//!   `~/.local/share/tapis/tokens/<name>.json`), unless the profile names a token file.
//!
//! ```
//! let folder = tempfile::tempdir()?;
//! let path = folder.path().join("profiles.toml");
//! std::fs::write(&path, "[profiles.tacc]\nbase_url = \"https://tacc.tapis.io\"\n")?;
//! let config = tapis_store::profiles::load_config(&path)?;
//! assert_eq!(config.profiles["tacc"].base_url.as_deref(), Some("https://tacc.tapis.io"));
//! assert!(tapis_store::profiles::is_profile_name("tacc"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The name that means "no profile": the notebooks' defaults.
pub const DEFAULT_PROFILE: &str = "default";

/// The longest profile name.
pub const MAX_PROFILE_NAME_LEN: usize = 64;

/// The contents of `profiles.toml`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile's settings; each may be left out.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// The tenant's base URL, as written (checked by whoever uses it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The username to log in as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The token file, when not the profile's own in the data folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

impl Profile {
    /// A profile with these settings.
    pub fn new(base_url: Option<String>, username: Option<String>, token_file: Option<PathBuf>) -> Self {
        Self { base_url, username, token_file }
    }
}

/// `profiles.toml` could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfilesError {
    /// The file exists but cannot be read.
    #[error("cannot read the config file {path}")]
    Unreadable {
        /// The config file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
    /// The file is not valid TOML or not the expected shape.
    #[error("the config file {path} is not valid")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// What the parser found.
        source: Box<toml::de::Error>,
    },
    /// The file cannot be written.
    #[error("cannot write the config file {path}")]
    Write {
        /// The config file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
}

/// Whether `name` may name a profile: letters, digits, `-`, `_` and `.`, not starting with
/// `.`, at most [`MAX_PROFILE_NAME_LEN`] bytes. Such a name is safe as a file name.
pub fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME_LEN
        && !name.starts_with('.')
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// `profiles.toml` in the platform config folder; `None` without a home folder.
pub fn config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tapis").map(|dirs| dirs.config_dir().join("profiles.toml"))
}

/// The token file of a profile that does not name one; `None` without a home folder or for
/// a name that [`is_profile_name`] refuses.
pub fn profile_token_file_path(name: &str) -> Option<PathBuf> {
    if !is_profile_name(name) {
        return None;
    }
    directories::ProjectDirs::from("", "", "tapis")
        .map(|dirs| dirs.data_dir().join("tokens").join(format!("{name}.json")))
}

/// Reads the config file; a missing file is an empty config.
pub fn load_config(path: &Path) -> Result<Config, ProfilesError> {
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|source| ProfilesError::Invalid { path: path.to_owned(), source: Box::new(source) }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
        Err(source) => Err(ProfilesError::Unreadable { path: path.to_owned(), source }),
    }
}

/// Reads the config file, lets `f` change it, and writes it back atomically (a temporary file
/// in the same folder renamed over it) when `f` changed it; returns what `f` returned.
pub fn update_config<R>(path: &Path, f: impl FnOnce(&mut Config) -> R) -> Result<R, ProfilesError> {
    use std::io::Write as _;
    let before = load_config(path)?;
    let mut config = before.clone();
    let result = f(&mut config);
    if config == before {
        return Ok(result);
    }
    let write = |source| ProfilesError::Write { path: path.to_owned(), source };
    let folder = path.parent().filter(|folder| !folder.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(write)?;
    let text = toml::to_string_pretty(&config).map_err(|error| write(io::Error::other(error)))?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder).map_err(write)?;
    temporary
        .write_all(format!("# tapis profiles: the servers, users and token files of named sign-ins\n{text}").as_bytes())
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(write)?;
    temporary.persist(path).map_err(|error| write(error.error))?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: bool) {
        assert_eq!(is_profile_name(name), expected, "{name:?}");
        assert_eq!(profile_token_file_path(name).is_some(), expected, "{name:?}");
    }

    #[test]
    fn profile_names() {
        for good in ["tacc", "design-safe", "a.b_c", "X9"] {
            check(good, true);
        }
        for bad in ["", "..", ".hidden", "a/b", "../etc", "a\\b", "sp ace", "ünï", &"x".repeat(65)] {
            check(bad, false);
        }
    }

    #[test]
    fn a_missing_file_is_empty_and_a_bad_one_names_its_path() {
        let folder = tempfile::tempdir().expect("temp");
        assert!(load_config(&folder.path().join("missing.toml")).expect("missing is empty").profiles.is_empty());
        let bad = folder.path().join("bad.toml");
        fs::write(&bad, "[profiles.tacc]\nbase_url = 3\n").expect("write");
        let error = load_config(&bad).expect_err("a number is not a URL");
        assert!(matches!(error, ProfilesError::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains("bad.toml"), "{error}");
    }

    #[test]
    fn an_update_is_written_and_read_back() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("nested").join("profiles.toml");
        let profile = Profile::new(Some("https://tacc.tapis.io".into()), Some("jdoe".into()), None);
        update_config(&path, |config| config.profiles.insert("tacc".into(), profile.clone())).expect("update");
        assert_eq!(load_config(&path).expect("load").profiles.get("tacc"), Some(&profile));
        let removed = update_config(&path, |config| config.profiles.remove("tacc")).expect("remove");
        assert_eq!(removed, Some(profile));
        assert!(load_config(&path).expect("load").profiles.is_empty());
    }

    #[test]
    fn a_profile_is_read_with_every_setting() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("profiles.toml");
        let text =
            "[profiles.tacc]\nbase_url = \"https://tacc.tapis.io\"\nusername = \"jdoe\"\ntoken_file = \"/t.json\"\n";
        fs::write(&path, text).expect("write");
        let config = load_config(&path).expect("load");
        let expected =
            Profile::new(Some("https://tacc.tapis.io".into()), Some("jdoe".into()), Some(PathBuf::from("/t.json")));
        assert_eq!(config.profiles.get("tacc"), Some(&expected));
    }
}
