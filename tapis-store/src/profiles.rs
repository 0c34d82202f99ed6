//! Profiles: named sets of base URL, username and token file, kept in `profiles.toml`.
//!
//! This module reads and writes the file and says where things live; deciding which profile
//! and which setting wins is the caller's (a command line and a Python function weigh their
//! own arguments). Both front doors read profiles through it, so they agree on the file.
//!
//! Every change goes through [`update_config`], with the care the token file gets: under a
//! lock next to the file (`profiles.toml.lock`), read, changed, and written 0600 through a
//! temporary file renamed over it only if the file still holds what was read. Processes that
//! change it at the same moment therefore lose none of each other's changes.
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
//!
//! let created = tapis_store::profiles::update_config(&path, |config| {
//!     config.profiles.insert("other".into(), tapis_store::profiles::Profile::default()).is_none()
//! })?;
//! assert!(created);
//! assert_eq!(tapis_store::profiles::load_config(&path)?.profiles.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::guard::Seen;
use crate::{StoreError, Tighten, TokenStore};

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

/// How long [`update_config`] waits for another process that is changing the file.
pub const CONFIG_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// The first line of a `profiles.toml` this crate writes.
const CONFIG_HEADER: &str = "# tapis profiles: a base URL, a username and a token file for each name\n";

/// `profiles.toml` could not be read, locked or written.
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
    /// The file's lock could not be had (see [`StoreError`]'s lock variants, which name the
    /// lock file).
    #[error("cannot lock the config file {path}")]
    Lock {
        /// The config file.
        path: PathBuf,
        /// What the lock said.
        source: StoreError,
    },
    /// The file could not be written; it is unchanged.
    #[error("cannot write the config file {path} (it is unchanged)")]
    Write {
        /// The config file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file changed between the read and the write (a program that does not take the
    /// lock wrote it, or the lock was lost); nothing was written.
    #[error("the config file {path} changed while it was being updated; nothing was written — try again")]
    ChangedMeanwhile {
        /// The config file.
        path: PathBuf,
        /// What the check found.
        source: StoreError,
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

/// Changes the config file: under its lock (`<path>.lock`, waiting at most
/// [`CONFIG_LOCK_TIMEOUT`]), reads it (a missing file is an empty config), applies `change`,
/// and writes the result 0600 through a temporary file renamed over it, if the file still
/// holds what was read. Nothing is written when `change` leaves the config as it was, or
/// when the file cannot be read or is not valid (it is never replaced then).
pub fn update_config<R>(path: &Path, change: impl FnOnce(&mut Config) -> R) -> Result<R, ProfilesError> {
    let store = TokenStore::new(path);
    let lock =
        store.lock(CONFIG_LOCK_TIMEOUT).map_err(|source| ProfilesError::Lock { path: path.to_owned(), source })?;
    let (seen, _) = store.read_seen(Tighten::No).map_err(|error| store_error(path, error))?;
    let before = match &seen {
        Seen::Missing => Config::default(),
        Seen::File { bytes, .. } => parse(path, bytes)?,
    };
    let mut config = before.clone();
    let outcome = change(&mut config);
    if config == before {
        return Ok(outcome);
    }
    let text = toml::to_string_pretty(&config)
        .map_err(|error| ProfilesError::Write { path: path.to_owned(), source: io::Error::other(error) })?;
    let bytes = format!("{CONFIG_HEADER}{text}");
    store.write_guarded(&lock, &seen, Some(bytes.as_bytes())).map_err(|error| store_error(path, error))?;
    Ok(outcome)
}

/// What a token-file error means for the config file.
fn store_error(path: &Path, error: StoreError) -> ProfilesError {
    let path = path.to_owned();
    match error {
        StoreError::Unreadable { source, .. } => ProfilesError::Unreadable { path, source },
        StoreError::NotOwned { owner, .. } => ProfilesError::Unreadable {
            path,
            source: io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("it belongs to another user (uid {owner})"),
            ),
        },
        StoreError::Write { source, .. } | StoreError::Remove { source, .. } => ProfilesError::Write { path, source },
        StoreError::Symlink { .. } => ProfilesError::Write {
            path,
            source: io::Error::new(io::ErrorKind::InvalidInput, "it is a symbolic link; write the real file"),
        },
        error @ (StoreError::ChangedMeanwhile { .. } | StoreError::LockLost { .. }) => {
            ProfilesError::ChangedMeanwhile { path, source: error }
        }
        source => ProfilesError::Lock { path, source },
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Config, ProfilesError> {
    let invalid = |source| ProfilesError::Invalid { path: path.to_owned(), source: Box::new(source) };
    let text = std::str::from_utf8(bytes).map_err(|_| ProfilesError::Unreadable {
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })?;
    toml::from_str(text).map_err(invalid)
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

    #[test]
    fn an_update_creates_the_file_privately_and_keeps_what_it_does_not_change() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("nested").join("profiles.toml");
        let profile = |url: &str| Profile::new(Some(url.into()), None, None);
        update_config(&path, |config| config.profiles.insert("a".into(), profile("https://a.tapis.io")))
            .expect("create");
        update_config(&path, |config| config.profiles.insert("b".into(), profile("https://b.tapis.io"))).expect("add");
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.starts_with(CONFIG_HEADER), "{text}");
        let config = load_config(&path).expect("load");
        assert_eq!(config.profiles.keys().collect::<Vec<_>>(), ["a", "b"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path).expect("metadata").permissions().mode() & 0o777, 0o600);
        }
        let names = fs::read_dir(path.parent().expect("folder")).expect("list").count();
        assert_eq!(names, 2, "the file and its lock, no temporary left");
    }

    #[test]
    fn an_invalid_file_is_never_replaced() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("profiles.toml");
        fs::write(&path, "[profiles.tacc\n").expect("write");
        let error = update_config(&path, |config| config.profiles.clear()).expect_err("not TOML");
        assert!(matches!(error, ProfilesError::Invalid { .. }), "{error:?}");
        assert_eq!(fs::read_to_string(&path).expect("read"), "[profiles.tacc\n");

        // Only a missing file is an empty config: one that cannot be read stays as it is.
        let folder_at_path = folder.path().join("folder.toml");
        fs::create_dir(&folder_at_path).expect("mkdir");
        let error = update_config(&folder_at_path, |config| config.profiles.clear()).expect_err("a folder");
        assert!(matches!(error, ProfilesError::Unreadable { .. }), "{error:?}");
        assert!(folder_at_path.is_dir());
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("profiles.toml");
        std::thread::scope(|scope| {
            for index in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    update_config(path, |config| config.profiles.insert(format!("p{index}"), Profile::default()))
                        .expect("update")
                });
            }
        });
        assert_eq!(load_config(&path).expect("load").profiles.len(), 8);
    }
}
