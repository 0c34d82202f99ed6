//! The caller's side of a login: asking for credentials and hearing what happened.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use tapis_auth_core::{BaseUrl, SecretString};
use tapis_store::{StoreError, StoreLock};

/// Why asking for credentials failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// The input ended (Ctrl-D, a closed pipe) before an answer was given.
    #[error("no answer at the prompt (end of input); nothing was changed")]
    EndOfInput,
    /// The user interrupted the prompt (Ctrl-C).
    #[error("interrupted at the prompt; nothing was changed")]
    Interrupted,
    /// An empty answer where one is required.
    #[error("an empty {0} was given; nothing was changed")]
    Empty(&'static str),
    /// The terminal could not be used.
    #[error("cannot ask for credentials on the terminal: {0}")]
    Terminal(#[from] std::io::Error),
    /// The front end turned out to take no input at all (a notebook kernel run without one):
    /// nobody can be asked.
    #[error("nobody can be asked for a password here (this front end takes no input); nothing was changed")]
    NobodyToAsk,
}

/// Something the login flow wants the user to know. None of these is an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice {
    /// The token file's contents are not usable and are treated as no token; a login
    /// replaces it, keeping a copy ([`Notice::UnusableFileKept`]).
    UnusableTokenFile(StoreError),
    /// An unusable token file was kept as a copy before it was replaced or removed.
    UnusableFileKept {
        /// The copy, next to the token file.
        copy: PathBuf,
    },
    /// The token file was readable by others and has been set to 0600.
    TightenedPermissions {
        /// The token file.
        path: PathBuf,
        /// Its previous mode.
        old_mode: u32,
    },
    /// The saved token belongs to another server (or its origin is unknown), so it is not
    /// sent to this one.
    TokenForOtherServer {
        /// The token file.
        path: PathBuf,
        /// The server the token belongs to, when known.
        server: Option<BaseUrl>,
    },
    /// A forced login replaces the tokens or kept client of another user than the one asked for.
    TokenForOtherUser {
        /// The token file.
        path: PathBuf,
        /// The user they belong to, when known.
        user: Option<String>,
    },
    /// A forced login replaced another user's or server's OAuth client, which this tool had
    /// made: it was deleted on its server with its still-valid token.
    PreviousClientDeleted {
        /// The client's id.
        client_id: String,
        /// Its server.
        server: BaseUrl,
    },
    /// A forced login replaced another user's or server's OAuth client, and it could not be
    /// deleted: it is left behind on its server, and its key is no longer in the token file.
    PreviousClientLeftBehind {
        /// The client's id.
        client_id: String,
        /// Its server, when known.
        server: Option<BaseUrl>,
        /// Why it was not deleted.
        reason: String,
    },
    /// A given token (a CI job's) is passed over: it is not a token of this server that is
    /// valid for long enough; the token file is used instead.
    GivenTokenPassedOver {
        /// What the caller calls the given token (a variable's name).
        name: String,
        /// Why, in words (`expired at ...`, `cannot be used: ...`).
        reason: String,
        /// The token file used instead.
        token_file: PathBuf,
    },
    /// The server rejected the credentials; the user will be asked again.
    CredentialsRejected {
        /// The server's message.
        message: String,
        /// How many more tries there are.
        attempts_left: u32,
    },
    /// Logged in, but saving the token failed; the token is usable for this run only.
    NotSaved(StoreError),
    /// Another process logged in while this one waited for the lock; its token is used.
    LoggedInByAnotherProcess,
    /// The token handed out is valid for less than the asked-for margin: the server issues
    /// no longer-lived tokens, so no renewal now would meet it.
    ShorterThanAsked {
        /// How long the token is valid.
        valid_for: chrono::TimeDelta,
        /// The margin asked for.
        min_valid: chrono::TimeDelta,
    },
    /// A personal OAuth client was created, so that tokens can be renewed without the
    /// password. Said once, when it is created.
    ClientCreated {
        /// The new client's id.
        client_id: String,
    },
    /// Renewal is off for this login: only an access token was obtained.
    RenewalOff {
        /// Why.
        reason: String,
    },
    /// The saved OAuth client was refused by the server (deleted?); a new one will be made.
    ClientRejected {
        /// The client's id.
        client_id: String,
    },
    /// Renewal with the refresh token was refused; a password login follows.
    RenewalRejected {
        /// The server's message.
        message: String,
    },
    /// A device login has started: the user should open the page and enter the code.
    DeviceCode {
        /// The page to open.
        verification_uri: String,
        /// The code to enter there.
        user_code: String,
        /// When the code expires, if known.
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Still waiting for the device login to be approved (given about once a second).
    DeviceWaiting {
        /// When the code expires, if known.
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// How long the code has left, by the flow's clock, if known (a front end shows it
        /// without reading a clock of its own).
        left: Option<chrono::TimeDelta>,
    },
    /// The token file's file system does not support `flock`, so the lock is a lock folder
    /// ([`tapis_store::LockKind::LockFolder`]). Said at most once per process.
    LockFallback {
        /// The lock folder.
        path: PathBuf,
    },
}

/// How much a [`Notice`] matters, so that a front end can label it (`note:`, `warning:`,
/// `error:`) or leave it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeLevel {
    /// Progress a front end may show or leave out (a device login's wait, another process's
    /// login).
    Progress,
    /// Worth one line.
    Note,
    /// Something the user may want to act on.
    Warning,
    /// A failed attempt that will be retried.
    Error,
}

impl Notice {
    /// How much this notice matters.
    pub fn level(&self) -> NoticeLevel {
        match self {
            Notice::LoggedInByAnotherProcess | Notice::DeviceCode { .. } | Notice::DeviceWaiting { .. } => {
                NoticeLevel::Progress
            }
            Notice::TokenForOtherServer { .. }
            | Notice::TokenForOtherUser { .. }
            | Notice::GivenTokenPassedOver { .. }
            | Notice::PreviousClientDeleted { .. }
            | Notice::ClientCreated { .. }
            | Notice::LockFallback { .. } => NoticeLevel::Note,
            Notice::CredentialsRejected { .. } => NoticeLevel::Error,
            _ => NoticeLevel::Warning,
        }
    }
}

/// The notice in words, without a level label; front ends add the label and, where they
/// want, their own hints (a command to run). Every secret the process holds is masked
/// ([`crate::secrets::redact`]): a server's message may echo one.
impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::secrets::redact(&Words(self).to_string()))
    }
}

/// A notice's words before redaction.
struct Words<'a>(&'a Notice);

impl std::fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use tapis_auth_core::duration::format_duration;
        match self.0 {
            Notice::UnusableTokenFile(error) => {
                write!(f, "{error}; treating it as no token (a login replaces it, keeping a copy)")
            }
            Notice::UnusableFileKept { copy } => {
                write!(f, "a copy of the unusable token file was kept as {}", copy.display())
            }
            Notice::TightenedPermissions { path, old_mode } => write!(
                f,
                "the token file {} was readable by others (mode {old_mode:04o}); it is now 0600",
                path.display()
            ),
            Notice::TokenForOtherServer { path, server } => {
                let owner = server.as_ref().map_or_else(|| "an unknown server".to_owned(), ToString::to_string);
                write!(
                    f,
                    "the token in {} belongs to {owner}, not this server; it will not be sent here",
                    path.display()
                )
            }
            Notice::TokenForOtherUser { path, user } => write!(
                f,
                "the token in {} belongs to {}, not the user asked for; it will not be used",
                path.display(),
                user.as_deref().unwrap_or("an unknown user")
            ),
            Notice::GivenTokenPassedOver { name, reason, token_file } => {
                write!(f, "{name} {reason}; using the token file {} instead", token_file.display())
            }
            Notice::PreviousClientDeleted { client_id, server } => {
                write!(f, "deleted the OAuth client {client_id} of the tokens replaced, on {server}")
            }
            Notice::PreviousClientLeftBehind { client_id, server, reason } => {
                let server = server.as_ref().map_or_else(|| "an unknown server".to_owned(), ToString::to_string);
                write!(
                    f,
                    "the OAuth client {client_id} of the tokens replaced is left behind on {server} ({reason}); its key is no longer in the token file"
                )
            }
            Notice::CredentialsRejected { message, attempts_left: 1 } => write!(f, "{message} (1 try left)"),
            Notice::CredentialsRejected { message, attempts_left } => {
                write!(f, "{message} ({attempts_left} tries left)")
            }
            Notice::NotSaved(error) => write!(f, "{error}; the token is usable for this run only"),
            Notice::LoggedInByAnotherProcess => write!(f, "another process logged in meanwhile; its token is used"),
            Notice::ShorterThanAsked { valid_for, min_valid } => {
                // `min_valid` may be a default nobody asked for: it is "the margin", not "asked for".
                let left = if *valid_for > chrono::TimeDelta::zero() {
                    format!("has {} left", format_duration(*valid_for))
                } else {
                    format!("expired {} ago", format_duration(*valid_for))
                };
                write!(
                    f,
                    "the token {left}, less than the {} it should stay valid for: the server issues no longer-lived tokens",
                    format_duration(*min_valid)
                )
            }
            Notice::ClientCreated { client_id } => write!(
                f,
                "created the OAuth client {client_id} so that your token can be renewed without your password; it is stored in the token file"
            ),
            Notice::RenewalOff { reason } => {
                write!(f, "renewal is off for this login (only an access token was obtained): {reason}")
            }
            Notice::ClientRejected { client_id } => {
                write!(f, "the server no longer knows the OAuth client {client_id}; making a new one")
            }
            Notice::RenewalRejected { message } => {
                write!(f, "renewing the token was refused ({message}); logging in with a password")
            }
            Notice::DeviceCode { verification_uri, user_code, expires_at } => {
                write!(f, "to log in, open {verification_uri} and enter the code {user_code}")?;
                match expires_at {
                    Some(at) => write!(f, " before {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    None => Ok(()),
                }
            }
            Notice::DeviceWaiting { .. } => write!(f, "waiting for the device login to be approved"),
            Notice::LockFallback { path } => {
                let bound = chrono::TimeDelta::from_std(tapis_store::FALLBACK_STALE_AFTER).unwrap_or_default();
                write!(
                    f,
                    "this file system does not support flock; the token file is locked with the folder {} instead (a lock left by a process that died on another machine is taken over after {})",
                    path.display(),
                    format_duration(bound)
                )
            }
        }
    }
}

/// Tells `prompter` that `lock` is the lock folder rather than an `flock`
/// ([`Notice::LockFallback`]), the first time in this process that a lock is one.
pub(crate) fn tell_once_if_lock_fallback(lock: &StoreLock, prompter: &mut dyn Prompter) {
    static TOLD: AtomicBool = AtomicBool::new(false);
    if lock.kind() == tapis_store::LockKind::LockFolder && !TOLD.swap(true, Ordering::Relaxed) {
        prompter.notice(&Notice::LockFallback { path: lock.path().to_path_buf() });
    }
}

/// Asks the user for credentials. The CLI implements it on the terminal; tests script it.
///
/// Its methods are synchronous and may block (a person typing a password). The async
/// functions call them in place, so inside an async program use supplied credentials
/// ([`crate::Credentials`]) or [`NoPrompt`], which never blocks. `Send` so that the async
/// functions' futures are `Send` too.
pub trait Prompter: Send {
    /// Whether there is a person to ask (a terminal). Without one, the login flow fails at
    /// once with [`crate::AuthError::NoCredentials`] instead of waiting for input.
    fn can_prompt(&self) -> bool;

    /// Asks for the username (echoed).
    fn username(&mut self, base_url: &BaseUrl) -> Result<String, PromptError>;

    /// Asks for the password (not echoed).
    fn password(&mut self, username: &str) -> Result<SecretString, PromptError>;

    /// Tells the user something. The default ignores it.
    fn notice(&mut self, notice: &Notice) {
        let _ = notice;
    }
}

/// A prompter for callers without a person at hand: it never prompts, and ignores notices.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPrompt;

impl Prompter for NoPrompt {
    fn can_prompt(&self) -> bool {
        false
    }

    fn username(&mut self, _base_url: &BaseUrl) -> Result<String, PromptError> {
        Err(PromptError::EndOfInput)
    }

    fn password(&mut self, _username: &str) -> Result<SecretString, PromptError> {
        Err(PromptError::EndOfInput)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn check(notice: Notice, level: NoticeLevel, expected: &str) {
        assert_eq!(notice.level(), level, "{notice:?}");
        assert_eq!(notice.to_string(), expected);
    }

    #[test]
    fn notices_in_words_with_their_level() {
        let rejected = |attempts_left| Notice::CredentialsRejected { message: "Invalid.".into(), attempts_left };
        check(rejected(1), NoticeLevel::Error, "Invalid. (1 try left)");
        check(rejected(2), NoticeLevel::Error, "Invalid. (2 tries left)");
        check(
            Notice::TokenForOtherServer { path: "/t.json".into(), server: None },
            NoticeLevel::Note,
            "the token in /t.json belongs to an unknown server, not this server; it will not be sent here",
        );
        check(
            Notice::TokenForOtherUser { path: "/t.json".into(), user: Some("jdoe".into()) },
            NoticeLevel::Note,
            "the token in /t.json belongs to jdoe, not the user asked for; it will not be used",
        );
        let server = BaseUrl::parse("https://tacc.tapis.io").expect("valid");
        check(
            Notice::PreviousClientDeleted { client_id: "c1".into(), server: server.clone() },
            NoticeLevel::Note,
            "deleted the OAuth client c1 of the tokens replaced, on https://tacc.tapis.io",
        );
        check(
            Notice::PreviousClientLeftBehind { client_id: "c1".into(), server: Some(server), reason: "r".into() },
            NoticeLevel::Warning,
            "the OAuth client c1 of the tokens replaced is left behind on https://tacc.tapis.io (r); its key is no longer in the token file",
        );
        check(
            Notice::ShorterThanAsked { valid_for: TimeDelta::minutes(239), min_valid: TimeDelta::hours(5) },
            NoticeLevel::Warning,
            "the token has 3h 59m left, less than the 5h 00m it should stay valid for: the server issues no longer-lived tokens",
        );
        check(
            Notice::ShorterThanAsked { valid_for: TimeDelta::seconds(-30), min_valid: TimeDelta::minutes(1) },
            NoticeLevel::Warning,
            "the token expired 30s ago, less than the 1m 00s it should stay valid for: the server issues no longer-lived tokens",
        );
        check(
            Notice::LoggedInByAnotherProcess,
            NoticeLevel::Progress,
            "another process logged in meanwhile; its token is used",
        );
        check(
            Notice::LockFallback { path: "/home/jdoe/.tapis_tokens.json.lock.d".into() },
            NoticeLevel::Note,
            "this file system does not support flock; the token file is locked with the folder /home/jdoe/.tapis_tokens.json.lock.d instead (a lock left by a process that died on another machine is taken over after 1m 30s)",
        );
    }
}
