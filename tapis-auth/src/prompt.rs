//! The caller's side of a login: asking for credentials and hearing what happened.

use std::path::PathBuf;

use tapis_core::{BaseUrl, SecretString};
use tapis_store::StoreError;

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
}

/// Something the login flow wants the user to know. None of these is an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice {
    /// The token file is not usable and is being treated as no token; a login replaces it.
    UnusableTokenFile(StoreError),
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
    },
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
