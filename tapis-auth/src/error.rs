//! The errors of talking to Tapis and of the login flow.

use tapis_store::StoreError;

use crate::prompt::PromptError;

/// Everything that can go wrong while signing in or calling Tapis. Variants are what a caller
/// acts on; [`AuthError::kind`] says what each one means, and front ends label that kind (the
/// CLI as an exit code, the Python binding as an exception class).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The server rejected the username or password (`Invalid username/password combination.`).
    #[error("the server rejected the credentials: {}", crate::secrets::redact(.message))]
    CredentialsRejected {
        /// The server's message, verbatim.
        message: String,
        /// How many times credentials were tried.
        n_attempts: u32,
    },
    /// The server answered with an error that retrying will not fix (a 4xx, or a redirect).
    #[error("{url} answered {status}: {}", crate::secrets::redact(.message))]
    Server {
        /// The URL requested (never with credentials).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The envelope's `message`, or the start of the body.
        message: String,
    },
    /// The server could not be reached or kept failing (connect errors, timeouts, 429, 5xx,
    /// HTML where JSON was expected) for every attempt.
    #[error("{url} failed after {n_attempts} attempt{}: {}", if *n_attempts == 1 { "" } else { "s" }, crate::secrets::redact(.last))]
    Unavailable {
        /// The URL requested.
        url: String,
        /// How many attempts were made.
        n_attempts: u32,
        /// What the last attempt ran into.
        last: String,
    },
    /// A request that must not be sent twice (it creates something, or rotates a token) may
    /// have reached the server, but no usable answer came back (a timeout after sending, an
    /// answer cut off, a gateway error). It was not sent again.
    #[error("{url} may have acted on the request, but its answer was lost ({}); it was not sent again", crate::secrets::redact(.last))]
    Unconfirmed {
        /// The URL requested.
        url: String,
        /// What the attempt ran into.
        last: String,
    },
    /// The server said success but its answer cannot be used.
    #[error("{url} sent an answer that cannot be used: {}", crate::secrets::redact(.reason))]
    InvalidResponse {
        /// The URL requested.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A login is needed but there are no credentials and no terminal to ask for them.
    #[error("{}", crate::ways_out::neutral(self))]
    NoCredentials {
        /// The server a login was needed for.
        base_url: String,
        /// When the saved login's refresh token expired, if there was one for this server:
        /// the login lapsed, rather than never having been made.
        lapsed_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A password was supplied without a username, the token file names no user of this
    /// server to take it from, and there is nobody to ask.
    #[error("{}", crate::ways_out::neutral(self))]
    PasswordWithoutUsername {
        /// The server.
        base_url: String,
        /// The token file.
        path: std::path::PathBuf,
    },
    /// Renewal was refused (the refresh token was revoked or expired, or its client was
    /// deleted) and there is no password to fall back on.
    #[error("{}", crate::ways_out::neutral(self))]
    RenewalRejected {
        /// The server a login is needed for.
        base_url: String,
        /// The server's message.
        message: String,
    },
    /// A device login needs an OAuth client id, and none was given or saved.
    #[error("{}", crate::ways_out::neutral(self))]
    NoClient {
        /// The server.
        base_url: String,
    },
    /// A token given by the caller (not from the token file) cannot be used here.
    #[error("the given token cannot be used: {}", crate::secrets::redact(.reason))]
    UnusableGivenToken {
        /// Why.
        reason: String,
    },
    /// The given token expires within the margin asked for (or has expired).
    #[error("the given token is valid until {expires_at}, less than the margin asked for")]
    GivenTokenExpiring {
        /// When the given token expires.
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// The token file holds another server's tokens that are still worth something (a live
    /// access or refresh token, or an OAuth client's key), so they were left as they are: an
    /// operation on one server never discards another's tokens. Forcing a new login replaces
    /// them.
    #[error("{}", crate::ways_out::neutral(self))]
    OtherServer {
        /// The server the saved tokens belong to.
        server: String,
        /// The server the operation was asked for.
        base_url: String,
        /// The token file.
        path: std::path::PathBuf,
    },
    /// The token file holds the tokens (or a kept OAuth client) of another user than the one
    /// asked for, with something to lose in them, so they were left as they are: a sign-in as
    /// one user never hands out, renews or discards another user's tokens. Forcing a new login
    /// replaces them.
    #[error("{}", crate::ways_out::neutral(self))]
    OtherUser {
        /// The user the saved tokens belong to, when known.
        user: Option<String>,
        /// The user asked for.
        asked: String,
        /// The server.
        base_url: String,
        /// The token file.
        path: std::path::PathBuf,
    },
    /// The device code expired before the user approved it.
    #[error("{}", crate::ways_out::neutral(self))]
    DeviceCodeExpired,
    /// Asking for credentials failed (end of input, interrupted, no terminal).
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// The token file could not be used (owned by someone else, a lock timeout, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {}", crate::secrets::redact(.0))]
    HttpClient(String),
    /// An [`crate::ApiRequest`] that cannot be sent as it is (a bad method or header).
    #[error("the request cannot be sent: {}", crate::secrets::redact(.reason))]
    InvalidRequest {
        /// What is wrong with it.
        reason: String,
    },
    /// The server refused the session's token although it had not expired by the local clock
    /// (it was revoked, or the clocks differ), and it could not be renewed.
    #[error("{}", crate::ways_out::neutral(self))]
    TokenRefused {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message (`Token is revoked.`, `TAPIS_SECURITY_JWT_EXPIRED ...`).
        message: String,
        /// Why the token could not be renewed, when a renewal was tried.
        #[source]
        renewal: Option<Box<AuthError>>,
    },
    /// A request path that is not a path on the base URL (an absolute URL to another host).
    #[error("`{path}` is not a path on the base URL; tokens are only sent to {base_url}")]
    ForeignPath {
        /// The path given.
        path: String,
        /// The base URL tokens belong to.
        base_url: String,
    },
}

/// What an [`AuthError`] means to the person or program that asked: the one classification
/// that every front end labels (the CLI with an exit code, the Python binding with an
/// exception class), so that they cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not logged in, and no way to log in here: no credentials and nobody to ask, a refused
    /// renewal or token with nothing to fall back on, an expired device code, no answer at a
    /// prompt.
    NotLoggedIn,
    /// The server rejected the username or password.
    CredentialsRejected,
    /// The server could not be reached or kept failing, or its answer to a request that is
    /// not repeated was lost.
    ServerUnavailable,
    /// The server answered with an error that retrying will not fix, or with an answer that
    /// cannot be used.
    ServerError,
    /// The token file (or its lock) cannot be used or written.
    TokenFile,
    /// The caller's input cannot be used as it is (a request, a path, a given token, a device
    /// login without a client).
    InvalidInput,
    /// The person interrupted a prompt.
    Interrupted,
    /// Something that should not happen (the HTTP client cannot be set up).
    Internal,
}

impl AuthError {
    /// What this error means; see [`ErrorKind`]. Every variant is classified here and only
    /// here (the match has no catch-all arm, so a new variant must be given a kind).
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::CredentialsRejected { .. } => ErrorKind::CredentialsRejected,
            AuthError::Server { .. } | AuthError::InvalidResponse { .. } => ErrorKind::ServerError,
            AuthError::Unavailable { .. } | AuthError::Unconfirmed { .. } => ErrorKind::ServerUnavailable,
            AuthError::NoCredentials { .. }
            | AuthError::RenewalRejected { .. }
            | AuthError::GivenTokenExpiring { .. }
            | AuthError::DeviceCodeExpired
            | AuthError::TokenRefused { .. } => ErrorKind::NotLoggedIn,
            AuthError::NoClient { .. }
            | AuthError::OtherServer { .. }
            | AuthError::OtherUser { .. }
            | AuthError::PasswordWithoutUsername { .. }
            | AuthError::UnusableGivenToken { .. }
            | AuthError::InvalidRequest { .. }
            | AuthError::ForeignPath { .. } => ErrorKind::InvalidInput,
            AuthError::Prompt(prompt) => prompt_kind(prompt),
            AuthError::Store(store) => store_kind(store),
            AuthError::HttpClient(_) => ErrorKind::Internal,
        }
    }
}

impl AuthError {
    /// Whether the server refused the token itself (it expired early or was revoked), so that
    /// a renewed token may succeed; the same rule as [`crate::ApiResponse::says_token_refused`].
    pub fn says_token_refused(&self) -> bool {
        match self {
            AuthError::Server { status, message, .. } => crate::client::refuses_token(*status, message),
            _ => false,
        }
    }
}

impl crate::settings::SettingsError {
    /// What this error means; see [`ErrorKind`]: the caller's settings cannot be used as they
    /// are, except a `profiles.toml` that cannot be read.
    pub fn kind(&self) -> ErrorKind {
        match self {
            crate::settings::SettingsError::Profiles(_) => ErrorKind::TokenFile,
            _ => ErrorKind::InvalidInput,
        }
    }
}

impl PromptError {
    /// What this error means; see [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        prompt_kind(self)
    }
}

fn prompt_kind(error: &PromptError) -> ErrorKind {
    match error {
        PromptError::Interrupted => ErrorKind::Interrupted,
        PromptError::EndOfInput | PromptError::Empty(_) | PromptError::Terminal(_) | PromptError::NobodyToAsk => {
            ErrorKind::NotLoggedIn
        }
    }
}

/// The kind of a token-file error. `StoreError` is another crate's `#[non_exhaustive]` enum,
/// so a catch-all arm is needed; every variant known today is named.
fn store_kind(error: &StoreError) -> ErrorKind {
    match error {
        StoreError::Corrupt { .. }
        | StoreError::Unreadable { .. }
        | StoreError::NotOwned { .. }
        | StoreError::Symlink { .. }
        | StoreError::Write { .. }
        | StoreError::Remove { .. }
        | StoreError::Lock { .. }
        | StoreError::LockNotOwned { .. }
        | StoreError::LockTimeout { .. } => ErrorKind::TokenFile,
        _ => ErrorKind::TokenFile,
    }
}

impl ErrorKind {
    /// The kind of one error, when it is an [`AuthError`], a [`PromptError`] or a
    /// [`StoreError`] (its causes are not looked at); `None` for any other error.
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Option<Self> {
        if let Some(auth) = error.downcast_ref::<AuthError>() {
            return Some(auth.kind());
        }
        // The renewal's error inside `AuthError::TokenRefused` is a boxed one.
        if let Some(auth) = error.downcast_ref::<Box<AuthError>>() {
            return Some(auth.kind());
        }
        if let Some(prompt) = error.downcast_ref::<PromptError>() {
            return Some(prompt.kind());
        }
        if let Some(settings) = error.downcast_ref::<crate::settings::SettingsError>() {
            return Some(settings.kind());
        }
        error.downcast_ref::<StoreError>().map(store_kind)
    }
}

/// An error and its causes as people read them, one per line, outermost first: each cause
/// after the first on a line `  caused by: ...`, and a message that the line above already
/// quotes left out. Front ends pass the messages as they word them (escaped, or with their
/// own advice).
///
/// ```
/// let text = tapis_auth::chain_text(["cannot log in".to_owned(), "timed out".to_owned()]);
/// assert_eq!(text, "cannot log in\n  caused by: timed out");
/// ```
pub fn chain_text(messages: impl IntoIterator<Item = String>) -> String {
    let mut text = String::new();
    let mut previous = String::new();
    for message in messages {
        if !text.is_empty() && previous.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n  caused by: ");
        }
        text.push_str(&message);
        previous = message;
    }
    text
}

/// An error followed by its causes (`source()`), outermost first.
pub fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |cause| cause.source())
}
