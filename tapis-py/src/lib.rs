//! The Python binding of `tapis-auth`: the native module `tapis_connect._native`, which the
//! package's `tapis_connect.connect_tapis()` calls.
//!
//! It converts and nothing else: Python arguments into [`tapis_auth::LoginOptions`], Python's
//! `input()`/`getpass()` into a [`tapis_auth::Prompter`] (`prompt.rs`), the resulting
//! session into a [`Token`], and [`tapis_auth::AuthError`] into one exception class per exit
//! code of the `tapis` command. The login flow itself (saved token, renewal, bounded prompts,
//! the lock, the atomic 0600 save) is `tapis-auth`'s. The GIL is released for the whole flow
//! and taken again only to prompt or print, and every 100 ms while the flow waits to check
//! for Ctrl-C, which stops the flow and raises `KeyboardInterrupt`.
//!
//! ```python
//! from tapis_connect import connect_tapis
//! t = connect_tapis()                      # a tapipy client, or a Token without tapipy
//! ```

mod classes;
mod errors;
mod prompt;
mod target;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use pyo3::prelude::*;
use tapis_auth::{AuthError, Credentials, LoginOptions, Prompter, Session};
use tapis_auth_core::{ExposeSecret as _, SecretString};

use crate::prompt::PythonPrompter;
use crate::target::TOKEN_VARIABLE;

/// The one call into the login flow, kept alone so that a change of its path is one edit.
/// Python's signals are checked every 100 ms while it waits: a Ctrl-C stops it, and the
/// `KeyboardInterrupt` (or whatever the signal's handler raised) is left in `interrupt`.
fn sign_in(
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    interrupt: &mut Option<PyErr>,
) -> Result<Session, AuthError> {
    debug_log_if_asked();
    tapis_auth::blocking::connect_interruptible(
        options,
        prompter,
        &mut || match Python::attach(|py| py.check_signals()) {
            Ok(()) => false,
            Err(raised) => {
                *interrupt = Some(raised);
                true
            }
        },
    )
}

/// `TAPIS_DEBUG=1`, as for the `tapis` command: the library's debug log on the process's
/// standard error, redacted (a kernel's, which Jupyter forwards to the notebook). Read at each
/// sign-in, so that setting `os.environ["TAPIS_DEBUG"]` after the import works too.
fn debug_log_if_asked() {
    let asked = std::env::var("TAPIS_DEBUG").is_ok_and(|value| {
        !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off" | "n" | "f")
    });
    if asked {
        tapis_auth::debug_log::init_stderr();
    }
}

/// A signed-in token, as Python sees it: what `connect_tapis()` returns when tapipy is not
/// installed, and what the package builds a tapipy client from. Its `repr` shows no secret.
#[pyclass(frozen, module = "tapis_connect._native")]
pub struct Token {
    access_token: SecretString,
    expires_at: DateTime<Utc>,
    base_url: String,
    username: Option<String>,
    tenant_id: Option<String>,
    token_file: PathBuf,
    refresh_token: Option<SecretString>,
    client_id: Option<String>,
    client_key: Option<SecretString>,
    message: String,
}

#[pymethods]
impl Token {
    /// The access token (a JWT).
    #[getter]
    fn access_token(&self) -> &str {
        self.access_token.expose_secret()
    }

    /// When the access token expires (an aware `datetime` in UTC).
    #[getter]
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The tenant's base URL.
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The user the token is for (from its claims).
    #[getter]
    fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The tenant the token is for (its `tapis/tenant_id` claim).
    #[getter]
    fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The token file (empty for a token given in `TAPIS_TOKEN`).
    #[getter]
    fn token_file(&self) -> PathBuf {
        self.token_file.clone()
    }

    /// The headers that authenticate a request: `{"X-Tapis-Token": ...}`.
    #[getter]
    fn headers(&self) -> HashMap<&'static str, &str> {
        HashMap::from([("X-Tapis-Token", self.access_token.expose_secret())])
    }

    /// The refresh token, when the login went through an OAuth client.
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(|token| token.expose_secret())
    }

    /// The OAuth client's id, when there is one.
    #[getter]
    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The OAuth client's key, when there is one.
    #[getter]
    fn client_key(&self) -> Option<&str> {
        self.client_key.as_ref().map(|key| key.expose_secret())
    }

    /// What happened, in one sentence: reused or logged in, where saved, expiry, time left.
    #[getter]
    fn message(&self) -> &str {
        &self.message
    }

    fn __repr__(&self) -> String {
        format!(
            "Token(base_url={:?}, username={:?}, expires_at={:?}, access_token='[REDACTED]')",
            self.base_url,
            self.username.as_deref().unwrap_or(""),
            instant(self.expires_at)
        )
    }
}

/// Signs in as `tapis token` does and returns the [`Token`]: `TAPIS_TOKEN` as it is when it
/// is set and valid for more than `min_valid_seconds` (unless `force`), else the saved token
/// with no request when it has that long left, else a renewal, else a password login (the
/// arguments, else `TAPIS_USERNAME`/`TAPIS_PASSWORD`, else the profile's username, else
/// prompts through `input()` and `getpass.getpass()`, at most 3 times). The server, the token
/// file and the profile are the arguments when not `None` or empty, else `TAPIS_BASE_URL`,
/// `TAPIS_TOKEN_FILE`, `TAPIS_PROFILE`, else the profile's settings, else the defaults.
#[pyfunction]
#[pyo3(signature = (token_file_path, base_url, username, password, force, min_valid_seconds, profile=None))]
#[allow(clippy::too_many_arguments)]
fn connect(
    py: Python<'_>,
    token_file_path: Option<PathBuf>,
    base_url: Option<&str>,
    username: &str,
    password: &str,
    force: bool,
    min_valid_seconds: i64,
    profile: Option<&str>,
) -> PyResult<Token> {
    let arguments = target::Arguments {
        profile,
        base_url,
        token_file: token_file_path,
        username: Some(username),
        password: Some(password),
    };
    // `force_connect=True` signs in anew: a given token is not used.
    let target = target::resolve(&arguments, !force)?;
    let mut options = LoginOptions::new(target.base_url.clone(), target.token_file.clone());
    options.force = force;
    options.min_valid = TimeDelta::seconds(min_valid_seconds.max(0));
    let mut prompter = PythonPrompter::new(py);
    if let Some(given) = target.given_token.clone()
        && let Some(session) = tapis_auth::settings::use_given_token(&options, given, TOKEN_VARIABLE, &mut prompter)
    {
        return Ok(token(&session, &options));
    }
    options.credentials = Credentials::default();
    options.credentials.username = target.username;
    options.credentials.password = target.password;
    options.client_description = format!("tapis-connect on {}", tapis_store::host_name());
    let mut interrupt = None;
    let outcome = py.detach(|| sign_in(&options, &mut prompter, &mut interrupt));
    match outcome {
        Ok(session) => Ok(token(&session, &options)),
        Err(error) => Err(interrupt
            .or_else(|| prompter.take_interrupt())
            .unwrap_or_else(|| errors::to_python(&error, &options.base_url))),
    }
}

/// Where `connect()` with these arguments would sign in, and as whom, without signing in:
/// `{"profile", "base_url", "token_file", "username"}` (the username asked for, if any), as
/// the library resolves it. For tests of the one resolution through this front door.
#[pyfunction]
#[pyo3(name = "target", signature = (token_file_path=None, base_url=None, username="", profile=None))]
fn resolve_target(
    token_file_path: Option<PathBuf>,
    base_url: Option<&str>,
    username: &str,
    profile: Option<&str>,
) -> PyResult<HashMap<&'static str, Option<String>>> {
    let arguments =
        target::Arguments { profile, base_url, token_file: token_file_path, username: Some(username), password: None };
    let target = target::resolve(&arguments, false)?;
    Ok(HashMap::from([
        ("profile", target.profile),
        ("base_url", Some(target.base_url.to_string())),
        ("token_file", Some(target.token_file.display().to_string())),
        ("username", target.username),
    ]))
}

fn token(session: &Session, options: &LoginOptions) -> Token {
    let tokens = session.tokens();
    Token {
        access_token: SecretString::from(session.access_token().expose_secret().to_owned()),
        expires_at: session.expires_at(),
        base_url: session.base_url().as_str().to_owned(),
        username: session.username().map(str::to_owned),
        tenant_id: tapis_auth_core::jwt::read_claims(session.access_token().expose_secret())
            .ok()
            .and_then(|claims| claims.tenant_id),
        token_file: session.token_file().map(Path::to_path_buf).unwrap_or_default(),
        refresh_token: tokens.refresh.as_ref().map(|refresh| SecretString::from(refresh.expose_secret().to_owned())),
        client_id: tokens.client.as_ref().map(|client| client.client_id.clone()),
        client_key: tokens.client.as_ref().map(|client| client.client_key.clone()),
        message: session.summary(options.client.clock.now()).to_string(),
    }
}

/// An instant as people read it: RFC 3339 in UTC, whole seconds.
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The module `tapis_connect._native`.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(connect, module)?)?;
    module.add_function(wrap_pyfunction!(resolve_target, module)?)?;
    module.add_class::<Token>()?;
    errors::register(module)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
