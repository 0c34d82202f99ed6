//! Exit codes, and the one place that maps errors to them.

use tapis_auth::{AuthError, PromptError};
use tapis_store::StoreError;

/// The exit codes, as `--help` and the README document them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success.
    Ok,
    /// Something unexpected (a token file that cannot be used or written, a bug).
    Unexpected,
    /// Bad usage: unknown option, bad value (clap exits with 2 itself).
    Usage,
    /// Not logged in, and no way to log in without a terminal (or `status`: no valid token).
    NotLoggedIn,
    /// The server rejected the credentials.
    CredentialsRejected,
    /// The server failed or could not be reached, after retries.
    ServerOrNetwork,
    /// `tapis api`: the server answered with a status other than 2xx.
    ApiError,
    /// Interrupted at a prompt (Ctrl-C), as shells report SIGINT.
    Interrupted,
    /// `tapis exec`: the command's own exit code (127: not found, 126: cannot run).
    Passthrough(u8),
}

impl Exit {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Unexpected => 1,
            Self::Usage => 2,
            Self::NotLoggedIn => 3,
            Self::CredentialsRejected => 4,
            Self::ServerOrNetwork => 5,
            Self::ApiError => 6,
            Self::Interrupted => 130,
            Self::Passthrough(code) => code,
        }
    }
}

pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    unexpected error (e.g. the token file cannot be written)
  2    usage error
  3    not logged in, and cannot log in without a terminal (status: no valid token)
  4    credentials rejected by the server
  5    server or network failure, after retries
  6    tapis api: the server answered with an error status
  130  interrupted at a prompt
tapis exec exits with the command's own code (127: command not found).";

/// A usage error found after parsing (a bad profile name, a path that is a URL, ...): exit 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns early with a [`UsageError`].
macro_rules! usage {
    ($($argument:tt)*) => {
        return Err(crate::exit::UsageError(format!($($argument)*)).into())
    };
}
pub(crate) use usage;

/// The exit code for an error: the first error in the chain that has a known kind decides.
pub(crate) fn exit_code_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(auth) = cause.downcast_ref::<AuthError>() {
            return match auth {
                AuthError::CredentialsRejected { .. } => Exit::CredentialsRejected,
                AuthError::Server { .. } | AuthError::Unavailable { .. } | AuthError::InvalidResponse { .. } => {
                    Exit::ServerOrNetwork
                }
                AuthError::NoCredentials { .. } | AuthError::RenewalRejected { .. } | AuthError::DeviceCodeExpired => {
                    Exit::NotLoggedIn
                }
                AuthError::NoClient { .. } | AuthError::UnusableGivenToken { .. } => Exit::Usage,
                AuthError::Prompt(prompt) => exit_code_for_prompt(prompt),
                AuthError::ForeignPath { .. } => Exit::Usage,
                AuthError::Store(_) | AuthError::HttpClient(_) => Exit::Unexpected,
            };
        }
        if let Some(prompt) = cause.downcast_ref::<PromptError>() {
            return exit_code_for_prompt(prompt);
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage;
        }
        if cause.downcast_ref::<StoreError>().is_some() {
            return Exit::Unexpected;
        }
    }
    Exit::Unexpected
}

fn exit_code_for_prompt(error: &PromptError) -> Exit {
    match error {
        PromptError::Interrupted => Exit::Interrupted,
        PromptError::EndOfInput | PromptError::Empty(_) | PromptError::Terminal(_) => Exit::NotLoggedIn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: anyhow::Error, expected: Exit) {
        assert_eq!(exit_code_for(&error), expected, "{error:#}");
    }

    #[test]
    fn mapping() {
        let rejected =
            AuthError::CredentialsRejected { message: "Invalid username/password combination.".into(), n_attempts: 1 };
        check(anyhow::Error::new(rejected).context("cannot log in"), Exit::CredentialsRejected);
        let unavailable = AuthError::Unavailable { url: "u".into(), n_attempts: 3, last: "HTTP 503".into() };
        check(unavailable.into(), Exit::ServerOrNetwork);
        check(AuthError::NoCredentials { base_url: "b".into() }.into(), Exit::NotLoggedIn);
        check(AuthError::Prompt(PromptError::Interrupted).into(), Exit::Interrupted);
        check(PromptError::EndOfInput.into(), Exit::NotLoggedIn);
        check(anyhow::anyhow!("something else"), Exit::Unexpected);
    }
}
