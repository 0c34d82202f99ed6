//! Exit codes, and the one place that maps errors to them.

use tapis_auth::{ErrorKind, WaysOut};

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
    /// Standard output was closed early, as shells report SIGPIPE.
    BrokenPipe,
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
            Self::BrokenPipe => 141,
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
  141  standard output was closed early (e.g. piped to head); nothing is printed about it
tapis exec exits with the command's own code (127: command not found).";

/// Whether writing to a closed pipe is what failed.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

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

/// The exit code for an error: the first error in the chain that has a known kind decides
/// (a [`UsageError`] of the CLI's own, or the library's [`ErrorKind`]).
pub(crate) fn exit_code_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage;
        }
        if let Some(kind) = ErrorKind::of(cause) {
            return exit_for_kind(kind);
        }
    }
    Exit::Unexpected
}

/// The exit code for each kind of library error: the one place that decides it.
pub(crate) fn exit_for_kind(kind: ErrorKind) -> Exit {
    match kind {
        ErrorKind::NotLoggedIn => Exit::NotLoggedIn,
        ErrorKind::CredentialsRejected => Exit::CredentialsRejected,
        ErrorKind::ServerUnavailable | ErrorKind::ServerError => Exit::ServerOrNetwork,
        ErrorKind::InvalidInput => Exit::Usage,
        ErrorKind::Interrupted => Exit::Interrupted,
        ErrorKind::TokenFile | ErrorKind::Internal => Exit::Unexpected,
        _ => Exit::Unexpected,
    }
}

/// The CLI's name for each way out of a library error: the library words the sentence and
/// names no flag, variable or command; these fill them in.
pub(crate) const WAYS_OUT: WaysOut = {
    let mut ways = WaysOut::NEUTRAL;
    ways.log_in = "run `tapis login` in a terminal";
    ways.supply_credentials = "set TAPIS_USERNAME and TAPIS_PASSWORD (or pipe the password to --password-stdin)";
    ways.name_the_user = "pass --username or set TAPIS_USERNAME";
    ways.log_in_again = "log in again with `tapis login`";
    ways.force = "--force";
    ways.token_file = "--token-file";
    ways.profile = "--profile";
    ways.base_url = "--base-url";
    ways.give_client = "pass --client-id (TAPIS_CLIENT_ID)";
    ways.device_login = "run `tapis login --device` again";
    ways.wait_longer = "raise TAPIS_LOCK_TIMEOUT";
    ways.create_profile = "`tapis login --profile NAME`";
    ways
};

/// The CLI's wording of a library error: the library's sentence with the CLI's ways out.
pub(crate) fn cli_message(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    tapis_auth::message_of(cause, &WAYS_OUT)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tapis_auth::{AuthError, PromptError};
    use tapis_store::StoreError;

    use super::*;

    fn check(error: anyhow::Error, expected: Exit) {
        assert_eq!(exit_code_for(&error), expected, "{error:#}");
    }

    #[test]
    fn mapping() {
        let rejected =
            AuthError::CredentialsRejected { message: "Invalid username/password combination.".into(), n_attempts: 1 };
        check(anyhow::Error::new(rejected).context("cannot log in"), Exit::CredentialsRejected);
        check(AuthError::Prompt(PromptError::Interrupted).into(), Exit::Interrupted);
        check(PromptError::EndOfInput.into(), Exit::NotLoggedIn);
        let other = AuthError::OtherServer { server: "s".into(), base_url: "b".into(), path: "/t.json".into() };
        check(anyhow::Error::new(other).context("cannot log out of b"), Exit::Usage);
        check(anyhow::Error::new(UsageError("bad".into())).context("cannot log in"), Exit::Usage);
        let lock = StoreError::LockTimeout { path: "/t.lock".into(), waited: std::time::Duration::from_secs(1) };
        check(anyhow::Error::new(lock).context("cannot log in"), Exit::Unexpected);
        check(anyhow::anyhow!("something else"), Exit::Unexpected);
    }

    /// The exit code of every `AuthError` variant (and of the token-file errors inside
    /// one), as the README's table documents them.
    #[test]
    fn every_variant_has_its_documented_exit_code() {
        let url = || "https://tapis.example/v3/x".to_owned();
        let path = || PathBuf::from("/t.json");
        let io = || std::io::Error::other("disk");
        let table: Vec<(AuthError, u8)> = vec![
            (AuthError::CredentialsRejected { message: "m".into(), n_attempts: 1 }, 4),
            (AuthError::Server { url: url(), status: 404, message: "m".into() }, 5),
            (AuthError::Unavailable { url: url(), n_attempts: 3, last: "HTTP 503".into() }, 5),
            (AuthError::Unconfirmed { url: url(), last: "timed out".into() }, 5),
            (AuthError::InvalidResponse { url: url(), reason: "r".into() }, 5),
            (AuthError::NoCredentials { base_url: url(), lapsed_at: None }, 3),
            (AuthError::PasswordWithoutUsername { base_url: url(), path: path() }, 2),
            (AuthError::RenewalRejected { base_url: url(), message: "m".into() }, 3),
            (AuthError::NoClient { base_url: url() }, 2),
            (AuthError::UnusableGivenToken { reason: "r".into() }, 2),
            (AuthError::GivenTokenExpiring { expires_at: chrono::DateTime::UNIX_EPOCH }, 3),
            (AuthError::DeviceCodeExpired, 3),
            (AuthError::Prompt(PromptError::EndOfInput), 3),
            (AuthError::Prompt(PromptError::Interrupted), 130),
            (AuthError::Prompt(PromptError::Empty("username")), 3),
            (AuthError::Prompt(PromptError::Terminal(io())), 3),
            (AuthError::Prompt(PromptError::NobodyToAsk), 3),
            (
                AuthError::Store(StoreError::Corrupt {
                    path: path(),
                    reason: tapis_store::format::parse_token_file(b"{").unwrap_err(),
                }),
                1,
            ),
            (AuthError::Store(StoreError::Unreadable { path: path(), source: io() }), 1),
            (AuthError::Store(StoreError::NotOwned { path: path(), owner: 0 }), 1),
            (AuthError::Store(StoreError::Symlink { path: path() }), 1),
            (AuthError::Store(StoreError::Write { path: path(), source: io() }), 1),
            (AuthError::Store(StoreError::Remove { path: path(), source: io() }), 1),
            (AuthError::Store(StoreError::Lock { path: path(), source: io() }), 1),
            (AuthError::Store(StoreError::LockNotOwned { path: path(), owner: 0 }), 1),
            (AuthError::Store(StoreError::LockTimeout { path: path(), waited: std::time::Duration::from_secs(1) }), 1),
            (AuthError::HttpClient("tls".into()), 1),
            (AuthError::InvalidRequest { reason: "r".into() }, 2),
            (
                AuthError::TokenRefused { url: url(), status: 500, message: "Token is revoked.".into(), renewal: None },
                3,
            ),
            (
                AuthError::OtherUser {
                    user: Some("jdoe".into()),
                    asked: "alice".into(),
                    base_url: url(),
                    path: path(),
                },
                2,
            ),
            (AuthError::ForeignPath { path: "https://x".into(), base_url: url() }, 2),
        ];
        for (error, code) in table {
            let text = error.to_string();
            assert_eq!(exit_code_for(&anyhow::Error::new(error).context("cannot log in")).code(), code, "{text}");
        }
    }
}
