//! The Python binding's exception class of every library error, pinned: `tapis-py`'s
//! `classes.rs` is pure and is included here, since `tapis-py`'s own test harness would need
//! libpython and the published `tapis-auth` tarball has no `tapis-py` to include.

#[path = "../../tapis-py/src/classes.rs"]
#[allow(unreachable_pub)]
mod classes;

mod tests {
    use std::path::PathBuf;

    use tapis_auth::{AuthError, PromptError, StoreError};

    use super::classes::exception_class;

    /// The class of every `AuthError` variant (and of the token-file errors inside one).
    #[test]
    fn every_variant_has_its_exception_class() {
        let url = || "https://tapis.example/v3/x".to_owned();
        let path = || PathBuf::from("/t.json");
        let io = || std::io::Error::other("disk");
        let corrupt = || tapis_store::format::parse_token_file(b"{").expect_err("not a token file");
        let table: Vec<(AuthError, &str)> = vec![
            (AuthError::CredentialsRejected { message: "m".into(), n_attempts: 1 }, "CredentialsRejected"),
            (AuthError::Server { url: url(), status: 404, message: "m".into() }, "ServerUnavailable"),
            (AuthError::Unavailable { url: url(), n_attempts: 3, last: "HTTP 503".into() }, "ServerUnavailable"),
            (AuthError::Unconfirmed { url: url(), last: "timed out".into() }, "ServerUnavailable"),
            (AuthError::InvalidResponse { url: url(), reason: "r".into() }, "ServerUnavailable"),
            (AuthError::NoCredentials { base_url: url(), lapsed_at: None }, "NotLoggedIn"),
            (AuthError::PasswordWithoutUsername { base_url: url(), path: path() }, "TapisConnectError"),
            (AuthError::RenewalRejected { base_url: url(), message: "m".into() }, "NotLoggedIn"),
            (AuthError::NoClient { base_url: url() }, "TapisConnectError"),
            (AuthError::UnusableGivenToken { reason: "r".into() }, "TapisConnectError"),
            (AuthError::GivenTokenExpiring { expires_at: chrono::DateTime::UNIX_EPOCH }, "NotLoggedIn"),
            (AuthError::DeviceCodeExpired, "NotLoggedIn"),
            (AuthError::Prompt(PromptError::EndOfInput), "NotLoggedIn"),
            (AuthError::Prompt(PromptError::Interrupted), "KeyboardInterrupt"),
            (AuthError::Prompt(PromptError::Empty("username")), "NotLoggedIn"),
            (AuthError::Prompt(PromptError::Terminal(io())), "NotLoggedIn"),
            (AuthError::Prompt(PromptError::NobodyToAsk), "NotLoggedIn"),
            (AuthError::Store(StoreError::Corrupt { path: path(), reason: corrupt() }), "TokenFileError"),
            (AuthError::Store(StoreError::Unreadable { path: path(), source: io() }), "TokenFileError"),
            (AuthError::Store(StoreError::NotOwned { path: path(), owner: 0 }), "TokenFileError"),
            (AuthError::Store(StoreError::Symlink { path: path() }), "TokenFileError"),
            (AuthError::Store(StoreError::Write { path: path(), source: io() }), "TokenFileError"),
            (AuthError::Store(StoreError::Remove { path: path(), source: io() }), "TokenFileError"),
            (AuthError::Store(StoreError::Lock { path: path(), source: io() }), "TokenFileError"),
            (AuthError::Store(StoreError::LockNotOwned { path: path(), owner: 0 }), "TokenFileError"),
            (
                AuthError::Store(StoreError::LockTimeout { path: path(), waited: std::time::Duration::from_secs(1) }),
                "TokenFileError",
            ),
            (AuthError::HttpClient("tls".into()), "TapisConnectError"),
            (AuthError::InvalidRequest { reason: "r".into() }, "TapisConnectError"),
            (
                AuthError::TokenRefused { url: url(), status: 500, message: "Token is revoked.".into(), renewal: None },
                "NotLoggedIn",
            ),
            (
                AuthError::OtherUser { user: None, asked: "alice".into(), base_url: url(), path: path() },
                "TapisConnectError",
            ),
            (AuthError::ForeignPath { path: "https://x".into(), base_url: url() }, "TapisConnectError"),
        ];
        for (error, expected) in table {
            assert_eq!(exception_class(error.kind()).name(), expected, "{error}");
        }
    }
}
