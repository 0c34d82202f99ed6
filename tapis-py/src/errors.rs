//! One Python exception class per exit code of the `tapis` command, under one base class,
//! and the raising of them for an [`AuthError`], by its kind (`classes.rs` names the class of
//! each kind, as `tapis-cli/src/exit.rs` names its exit code).

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use tapis_auth::AuthError;
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

/// The Python exception for a failed login, with the text `tapis login` prints for it. Its
/// class follows the library's [`tapis_auth::ErrorKind`] ([`exception_class`], in `classes.rs`).
pub(crate) fn to_python(error: &AuthError, base_url: &BaseUrl) -> PyErr {
    let context = format!("cannot log in to {base_url}");
    let message =
        tapis_auth::chain_text(std::iter::once(context).chain(tapis_auth::causes(error).map(ToString::to_string)));
    match exception_class(error.kind()) {
        ExceptionClass::NotLoggedIn => NotLoggedIn::new_err(message),
        ExceptionClass::CredentialsRejected => CredentialsRejected::new_err(message),
        ExceptionClass::ServerUnavailable => ServerUnavailable::new_err(message),
        ExceptionClass::TokenFileError => TokenFileError::new_err(message),
        ExceptionClass::KeyboardInterrupt => PyKeyboardInterrupt::new_err(message),
        ExceptionClass::TapisConnectError => TapisConnectError::new_err(message),
    }
}
