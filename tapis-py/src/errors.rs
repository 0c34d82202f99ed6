//! One Python exception class per exit code of the `tapis` command, under one base class,
//! and the raising of them for an [`AuthError`], by its kind (`classes.rs` names the class of
//! each kind, as `tapis-cli/src/exit.rs` names its exit code).

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use tapis_auth::{AuthError, WaysOut};
use tapis_auth_core::BaseUrl;

use crate::classes::{ExceptionClass, exception_class};

create_exception!(
    tapis_connect,
    TapisConnectError,
    PyException,
    "Base class of every error of tapis_connect (the `tapis` command's exit code 1, and the parent of the others)."
);
create_exception!(
    tapis_connect,
    NotLoggedIn,
    TapisConnectError,
    "Not logged in, and nobody can be asked for a password here (exit code 3)."
);
create_exception!(
    tapis_connect,
    CredentialsRejected,
    TapisConnectError,
    "The server rejected the username or password (exit code 4)."
);
create_exception!(
    tapis_connect,
    ServerUnavailable,
    TapisConnectError,
    "The server failed or could not be reached, after retries (exit code 5)."
);
create_exception!(
    tapis_connect,
    TokenFileError,
    TapisConnectError,
    "The token file cannot be used or written (exit code 1 of the `tapis` command)."
);

/// Adds the exception classes to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("TapisConnectError", py.get_type::<TapisConnectError>())?;
    module.add("NotLoggedIn", py.get_type::<NotLoggedIn>())?;
    module.add("CredentialsRejected", py.get_type::<CredentialsRejected>())?;
    module.add("ServerUnavailable", py.get_type::<ServerUnavailable>())?;
    module.add("TokenFileError", py.get_type::<TokenFileError>())?;
    Ok(())
}

/// The package's name for each way out of an error: the library words the sentence, as it
/// does for the `tapis` command, and these name the arguments.
pub(crate) const WAYS_OUT: WaysOut = {
    let mut ways = WaysOut::NEUTRAL;
    ways.log_in = "log in once from a notebook or with `tapis login`";
    ways.supply_credentials = "pass username= and password= (or set TAPIS_USERNAME and TAPIS_PASSWORD)";
    ways.name_the_user = "pass username= or set TAPIS_USERNAME";
    ways.log_in_again = "log in again with connect_tapis(force_connect=True) or `tapis login`";
    ways.force = "force_connect=True";
    ways.token_file = "token_filePath=";
    ways.profile = "profile=";
    ways.base_url = "base_url=";
    ways.device_login = "run `tapis login --device` again";
    ways.create_profile = "`tapis login --profile NAME`";
    ways
};

/// The Python exception for a failed login, with the text `tapis login` prints for it. Its
/// class follows the library's [`tapis_auth::ErrorKind`] ([`exception_class`], in `classes.rs`).
pub(crate) fn to_python(error: &AuthError, base_url: &BaseUrl) -> PyErr {
    let context = format!("cannot log in to {base_url}");
    let words = |cause: &(dyn std::error::Error + 'static)| {
        tapis_auth::message_of(cause, &WAYS_OUT).unwrap_or_else(|| cause.to_string())
    };
    let message = tapis_auth::chain_text(std::iter::once(context).chain(tapis_auth::causes(error).map(words)));
    raise(exception_class(error.kind()), message)
}

/// The Python exception for settings that cannot be used (an unknown profile, a server from
/// the environment that differs from the profile's, ...), in the class of its kind.
pub(crate) fn settings_to_python(error: &tapis_auth::settings::SettingsError) -> PyErr {
    let message = tapis_auth::message_of(error, &WAYS_OUT).unwrap_or_else(|| error.to_string());
    raise(exception_class(error.kind()), message)
}

fn raise(class: ExceptionClass, message: String) -> PyErr {
    match class {
        ExceptionClass::NotLoggedIn => NotLoggedIn::new_err(message),
        ExceptionClass::CredentialsRejected => CredentialsRejected::new_err(message),
        ExceptionClass::ServerUnavailable => ServerUnavailable::new_err(message),
        ExceptionClass::TokenFileError => TokenFileError::new_err(message),
        ExceptionClass::KeyboardInterrupt => PyKeyboardInterrupt::new_err(message),
        ExceptionClass::TapisConnectError => TapisConnectError::new_err(message),
    }
}
