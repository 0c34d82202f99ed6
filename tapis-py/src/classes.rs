//! The Python exception class of each kind of library error: the one decision of the
//! binding about errors. Pure (no PyO3), so that it is tested without an interpreter: the
//! table test that pins the class of every library error is `xtask/src/python_classes.rs`,
//! which includes this file (`tapis-py`'s own test harness would need libpython, and the
//! published `tapis-auth` tarball has no `tapis-py` to include).

use tapis_auth::ErrorKind;

/// The exception classes an error is raised as: the classes of `errors.rs` (all under
/// `TapisConnectError`), and Python's own `KeyboardInterrupt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExceptionClass {
    TapisConnectError,
    NotLoggedIn,
    CredentialsRejected,
    ServerUnavailable,
    TokenFileError,
    KeyboardInterrupt,
}

impl ExceptionClass {
    /// The class's name in Python.
    #[allow(dead_code)] // used by the table test only
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::TapisConnectError => "TapisConnectError",
            Self::NotLoggedIn => "NotLoggedIn",
            Self::CredentialsRejected => "CredentialsRejected",
            Self::ServerUnavailable => "ServerUnavailable",
            Self::TokenFileError => "TokenFileError",
            Self::KeyboardInterrupt => "KeyboardInterrupt",
        }
    }
}

/// The exception class raised for an error of `kind`: the binding's one decision about errors.
pub(crate) fn exception_class(kind: ErrorKind) -> ExceptionClass {
    match kind {
        ErrorKind::NotLoggedIn => ExceptionClass::NotLoggedIn,
        ErrorKind::CredentialsRejected => ExceptionClass::CredentialsRejected,
        ErrorKind::ServerUnavailable | ErrorKind::ServerError => ExceptionClass::ServerUnavailable,
        ErrorKind::TokenFile => ExceptionClass::TokenFileError,
        ErrorKind::Interrupted => ExceptionClass::KeyboardInterrupt,
        ErrorKind::InvalidInput | ErrorKind::Internal => ExceptionClass::TapisConnectError,
        _ => ExceptionClass::TapisConnectError,
    }
}
