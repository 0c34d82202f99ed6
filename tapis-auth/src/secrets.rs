//! The process's secrets, remembered so that no text shown or logged carries one.
//!
//! The library remembers every secret it reads from the token file, is given or receives
//! from the server (passwords, client keys, access and refresh tokens, device codes) before
//! it sends or keeps it; [`redact`] masks all of them, in every form
//! [`tapis_auth_core::redact::Redactor`] knows, as `***`. Server messages are redacted where
//! they enter, and [`crate::AuthError`]'s and [`crate::Notice`]'s `Display` redact again.
//! A program that shows text of its own from a server can pass it through [`redact`] too.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

use tapis_auth_core::redact::Redactor;
use tapis_auth_core::{ExposeSecret as _, OAuthClient, SecretString, TokenSet};

/// Every secret remembered so far. Remembering only queues the secret (the cached path
/// remembers a token set and redacts nothing); the forms are derived on the next [`redact`].
struct Registry {
    pending: Vec<Pending>,
    redactor: Redactor,
}

enum Pending {
    Secret(SecretString),
    Client(String, SecretString),
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { pending: Vec::new(), redactor: Redactor::new() });

fn queue(pending: Pending) {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner).pending.push(pending);
}

/// Remembers a secret (a password, a token, a key, a device code): from now on [`redact`]
/// masks it. Secrets shorter than [`tapis_auth_core::redact::MIN_SECRET_LEN`] are not masked.
pub fn remember(secret: &SecretString) {
    queue(Pending::Secret(secret.clone()));
}

/// [`remember`], for a secret the caller holds as text.
pub(crate) fn remember_text(secret: &str) {
    queue(Pending::Secret(SecretString::from(secret)));
}

/// Remembers an OAuth client's key, and the HTTP Basic credentials made of it.
pub fn remember_client(client: &OAuthClient) {
    queue(Pending::Client(client.client_id.clone(), client.client_key.clone()));
}

/// Remembers the secrets of a token set: the tokens and the client's key.
pub fn remember_tokens(tokens: &TokenSet) {
    remember_text(tokens.access.expose_secret());
    if let Some(refresh) = &tokens.refresh {
        remember_text(refresh.expose_secret());
    }
    if let Some(client) = &tokens.client {
        remember_client(client);
    }
}

/// `text` with every secret this process has remembered masked as `***`; borrowed when it
/// holds none.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let Registry { pending, redactor } = &mut *registry;
    for secret in pending.drain(..) {
        match secret {
            Pending::Secret(secret) => redactor.add(secret.expose_secret()),
            Pending::Client(client_id, key) => redactor.add_basic(&client_id, key.expose_secret()),
        }
    }
    match redactor.redact(text) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(redacted) => Cow::Owned(redacted),
    }
}

/// [`redact`], owned: for error and notice fields.
pub(crate) fn redacted(text: &str) -> String {
    redact(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_secrets_are_masked() {
        remember(&SecretString::from("registry-test-password"));
        remember_client(&OAuthClient {
            client_id: "registry-client".into(),
            client_key: SecretString::from("registry-client-key"),
        });
        assert_eq!(
            redact("registry-test-password and registry-client, registry-client-key"),
            "*** and registry-client, ***"
        );
        assert!(matches!(redact("nothing secret"), Cow::Borrowed(_)));
    }
}
