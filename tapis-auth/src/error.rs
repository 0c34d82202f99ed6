//! The errors of talking to Tapis and of the login flow.

use tapis_store::StoreError;

use crate::prompt::PromptError;

/// Everything that can go wrong while signing in or calling Tapis. Variants are what a caller
/// acts on; the CLI maps them to exit codes.
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
    #[error(
        "not logged in to {base_url}, and no terminal to ask for a password; log in where a person can be asked, or supply the username and password"
    )]
    NoCredentials {
        /// The server a login was needed for.
        base_url: String,
    },
    /// Renewal was refused (the refresh token was revoked or expired, or its client was
    /// deleted) and there is no password to fall back on.
    #[error("renewing the token for {base_url} was refused ({}); log in again", crate::secrets::redact(.message))]
    RenewalRejected {
        /// The server a login is needed for.
        base_url: String,
        /// The server's message.
        message: String,
    },
    /// A device login needs an OAuth client id, and none was given or saved.
    #[error(
        "device login to {base_url} needs an OAuth client: log in with a password once (which creates one), or give a client id"
    )]
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
    /// The device code expired before the user approved it.
    #[error("the device code expired before the login was approved; start a new device login")]
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
    /// A request path that is not a path on the base URL (an absolute URL to another host).
    #[error("`{path}` is not a path on the base URL; tokens are only sent to {base_url}")]
    ForeignPath {
        /// The path given.
        path: String,
        /// The base URL tokens belong to.
        base_url: String,
    },
}
