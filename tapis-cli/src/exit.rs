//! Exit codes, and the one place that maps errors to them.

use tapis_auth::{AuthError, PromptError};
use tapis_store::StoreError;

/// The exit codes, as `--help` and the README document them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success.
    Ok = 0,
    /// Something unexpected (a token file that cannot be used or written, a bug).
    Unexpected = 1,
    /// Bad usage: unknown option, bad value (clap exits with 2 itself).
    Usage = 2,
    /// Not logged in, and no way to log in without a terminal (or `status`: no valid token).
    NotLoggedIn = 3,
    /// The server rejected the credentials.
    CredentialsRejected = 4,
    /// The server failed or could not be reached, after retries.
    ServerOrNetwork = 5,
    /// Interrupted at a prompt (Ctrl-C), as shells report SIGINT.
    Interrupted = 130,
}

pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    unexpected error (e.g. the token file cannot be written)
  2    usage error
  3    not logged in, and cannot log in without a terminal (status: no valid token)
  4    credentials rejected by the server
  5    server or network failure, after retries
  130  interrupted at a prompt";

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
                AuthError::NoClient { .. } => Exit::Usage,
                AuthError::Prompt(prompt) => exit_code_for_prompt(prompt),
                AuthError::ForeignPath { .. } => Exit::Usage,
                AuthError::Store(_) | AuthError::HttpClient(_) => Exit::Unexpected,
            };
        }
        if let Some(prompt) = cause.downcast_ref::<PromptError>() {
            return exit_code_for_prompt(prompt);
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
