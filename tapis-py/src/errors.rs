//! One Python exception class per exit code of the `tapis` command, under one base class,
//! and the mapping from [`AuthError`] to them (the twin of `tapis-cli/src/exit.rs`).

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use tapis_auth::{AuthError, PromptError};
use tapis_auth_core::BaseUrl;

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

/// The Python exception for a failed login, with the text `tapis login` prints for it.
pub(crate) fn to_python(error: &AuthError, base_url: &BaseUrl) -> PyErr {
    let message = describe(&format!("cannot log in to {base_url}"), error);
    match error {
        AuthError::CredentialsRejected { .. } => CredentialsRejected::new_err(message),
        AuthError::Server { .. } | AuthError::Unavailable { .. } | AuthError::InvalidResponse { .. } => {
            ServerUnavailable::new_err(message)
        }
        AuthError::NoCredentials { .. } | AuthError::RenewalRejected { .. } | AuthError::DeviceCodeExpired => {
            NotLoggedIn::new_err(message)
        }
        AuthError::Prompt(PromptError::Interrupted) => PyKeyboardInterrupt::new_err(message),
        AuthError::Prompt(PromptError::EndOfInput | PromptError::Empty(_) | PromptError::Terminal(_)) => {
            NotLoggedIn::new_err(message)
        }
        AuthError::Store(_) => TokenFileError::new_err(message),
        AuthError::NoClient { .. }
        | AuthError::UnusableGivenToken { .. }
        | AuthError::ForeignPath { .. }
        | AuthError::HttpClient(_) => TapisConnectError::new_err(message),
        _ => TapisConnectError::new_err(message),
    }
}

/// The context line and the error's causes, one per line, as the `tapis` command prints
/// them: a cause the line above already quotes is not repeated.
fn describe(context: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = context.to_owned();
    let mut previous = context.to_owned();
    let mut cause = Some(error);
    while let Some(current) = cause {
        let message = current.to_string();
        if !previous.contains(&message) {
            text.push_str("\n  caused by: ");
            text.push_str(&message);
            previous = message;
        }
        cause = current.source();
    }
    text
}
