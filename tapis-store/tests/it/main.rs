//! The token file through the public API, on real files in temporary folders: load, save,
//! permissions, removal, the lock and its fallback where `flock` is refused.
//!
//! Most tests are tables. Each row's outcome is rendered as one line of text (see
//! [`describe_load`] and [`describe_error`]) and compared through [`check`], with the temporary
//! paths and token strings replaced by placeholders such as `<path>` and `<jwt>`, so a row
//! reads as what the user would see.

mod load;
mod lock;
// The lock folder, for file systems that refuse `flock`, is Unix only; these tests make
// `flock` fail through an LD_PRELOAD shim, which only Linux's loader reads (macOS's reads
// DYLD_INSERT_LIBRARIES, and not for a hardened binary).
#[cfg(target_os = "linux")]
mod lock_cluster;
#[cfg(target_os = "linux")]
mod lock_fallback;
// Modes: Windows has none; a new file takes its folder's access list.
#[cfg(unix)]
mod permissions;
mod save;

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tapis_auth_core::expiry::format_expires_at;
use tapis_auth_core::{AccessToken, BaseUrl, ExposeSecret as _, OAuthClient, RefreshToken, SecretString, TokenSet};
use tapis_store::{Loaded, LooseMode, StoreError, TokenStore, Written};

/// The server the test tokens' `iss` claim names.
const DESIGNSAFE: &str = "https://designsafe.tapis.io";

/// 2100-01-01T00:00:00Z: an `exp` far enough away that no test token is ever expired.
const EXP_2100: i64 = 4_102_444_800;

/// Prepares a case in a fresh folder and returns the token path to use.
type Setup = fn(&Path) -> PathBuf;

/// Saves `tokens` the one way there is: under the lock, over what was read.
fn save(store: &TokenStore, tokens: &TokenSet) -> Result<Written, StoreError> {
    let lock = store.lock(std::time::Duration::from_secs(5))?;
    store.read_for_update(&lock)?.guard.replace_tokens(tokens)
}

/// Removes the token file the one way there is; whether there was one.
fn remove(store: &TokenStore) -> Result<bool, StoreError> {
    let lock = store.lock(std::time::Duration::from_secs(5))?;
    Ok(store.read_for_update(&lock)?.guard.remove()?.replaced_file)
}

/// The one comparison every table goes through; `case` names the row when it fails.
fn check(case: &str, actual: &str, expected: &str) {
    assert_eq!(actual, expected, "\ncase: {case}");
}

/// A fake Tapis access token (JWT) for `username`, issued by DesignSafe, expiring at `exp`.
fn jwt(username: &str, exp: i64) -> String {
    tapis_testkit::jwt(&tapis_testkit::claims(username, exp, DESIGNSAFE))
}

/// An access token from its string and an optional recorded expiry.
fn access(token: &str, expires_at: Option<DateTime<Utc>>) -> AccessToken {
    AccessToken::new(SecretString::from(token.to_owned()), expires_at).expect("a usable access token")
}

/// A token set holding only an access token, as a notebook login produces.
fn access_only(token: &str) -> TokenSet {
    TokenSet::new(access(token, None))
}

/// A token set with every field filled in; the OAuth client is `tapis-cli-test` / `client-key-1`.
fn full_set(token: &str, refresh: &str, base_url: &str) -> TokenSet {
    TokenSet {
        access: access(token, None),
        refresh: Some(RefreshToken::new(SecretString::from(refresh.to_owned()), None).expect("a usable refresh token")),
        base_url: Some(BaseUrl::parse(base_url).expect("a valid base URL")),
        client: Some(OAuthClient {
            client_id: "tapis-cli-test".to_owned(),
            client_key: SecretString::from("client-key-1".to_owned()),
        }),
        created_client_id: Some("tapis-cli-test".to_owned()),
        obtained_at: None,
    }
}

/// The permission bits of `path` (not following a final symbolic link).
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Sets the permission bits of `path`.
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Makes a FIFO at `path` with the POSIX `mkfifo` program (rustix's `mkfifoat` is not
/// there on macOS).
#[cfg(unix)]
fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {}: {status}", path.display());
}

/// How this C library words `errno`, as std shows it: `<text> (os error <n>)`. Messages that
/// carry an OS error are compared with this, not with one C library's wording.
#[cfg(unix)]
fn os_error(errno: rustix::io::Errno) -> String {
    std::io::Error::from_raw_os_error(errno.raw_os_error()).to_string()
}

/// The names in `folder`, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .expect("read the folder")
        .map(|entry| entry.expect("a folder entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Replaces each `(text, placeholder)` pair's text, unless empty, by its placeholder.
fn redact(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .filter(|(from, _)| !from.is_empty())
        .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
}

/// `<Variant>[ no-token]: <Display>`, with `path` shown as `<path>`.
fn describe_error(error: &StoreError, path: &Path) -> String {
    let debug = format!("{error:?}");
    let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
    let no_token = if error.counts_as_no_token() { " no-token" } else { "" };
    let path = path.to_str().expect("UTF-8 temporary path");
    redact(&format!("{variant}{no_token}: {error}"), &[(path, "<path>")])
}

/// A token set as text: `secret=... expires=... server=...`, then the refresh token if any.
fn describe_tokens(tokens: &TokenSet) -> String {
    let server = tokens.server().map(|url| url.to_string()).unwrap_or_else(|| "-".to_owned());
    let mut text = format!(
        "secret={} expires={} server={server}",
        tokens.access.expose_secret(),
        tokens.access.expires_at().to_rfc3339()
    );
    if let Some(refresh) = &tokens.refresh {
        let expires = refresh.expires_at().map(format_expires_at).unwrap_or_else(|| "-".to_owned());
        text.push_str(&format!(" refresh={} refresh_expires={expires}", refresh.expose_secret()));
    }
    if let Some(client) = &tokens.client {
        text.push_str(&format!(" client={}:{}", client.client_id, client.client_key.expose_secret()));
    }
    text
}

/// A load's outcome as text: `none`, `ok <tokens>` or the error; then ` tightened from 0o...`
/// when the file's mode was tightened. `path` is shown as `<path>`.
fn describe_load(result: Result<Loaded, StoreError>, path: &Path) -> String {
    match result {
        Ok(Loaded { tokens, loose_mode, .. }) => {
            let mut text = match tokens {
                None => "none".to_owned(),
                Some(tokens) => format!("ok {}", describe_tokens(&tokens)),
            };
            if let Some(LooseMode::Tightened(mode)) = loose_mode {
                text.push_str(&format!(" tightened from {mode:#o}"));
            }
            text
        }
        Err(error) => describe_error(&error, path),
    }
}
