//! The process's secrets, remembered so that no text shown or logged carries one.
//!
//! The library remembers every secret it reads from the token file, is given or receives
//! from the server (passwords, client keys, access and refresh tokens, device codes) before
//! it sends or keeps it; [`redact`] masks all of them, in every form
//! [`tapis_auth_core::redact::Redactor`] knows, as `***`. Server messages are redacted where
//! they enter, and [`crate::AuthError`]'s and [`crate::Notice`]'s `Display` redact again.
//! A program that shows text of its own from a server can pass it through [`redact`] too.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use tapis_auth_core::redact::Redactor;
use tapis_auth_core::{ExposeSecret as _, OAuthClient, SecretString, TokenSet};

/// Every secret remembered, each once, with who holds it, and the redactor of their forms.
/// Its size is the number of distinct secrets in use, not of the calls made: a request adds
/// nothing, and a token no session holds any more is forgotten.
struct Registry {
    secrets: BTreeMap<Key, Holders>,
    redactor: Redactor,
}

/// A remembered secret: `s` and the secret, or `c`, the client's id, a newline and its key.
struct Key(SecretString);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl Eq for Key {}

impl Key {
    fn secret(secret: &str) -> Self {
        Self(SecretString::from(format!("s{secret}")))
    }

    fn client(client: &OAuthClient) -> Self {
        Self(SecretString::from(format!("c{}\n{}", client.client_id, client.client_key.expose_secret())))
    }

    /// Adds this secret's forms to, or removes them from, `redactor`.
    fn count_in(&self, redactor: &mut Redactor, add: bool) {
        match self.0.expose_secret().split_at(1) {
            ("c", client) => {
                let (client_id, key) = client.split_once('\n').unwrap_or(("", client));
                if add { redactor.add_basic(client_id, key) } else { redactor.remove_basic(client_id, key) }
            }
            (_, secret) => {
                if add {
                    redactor.add(secret)
                } else {
                    redactor.remove(secret)
                }
            }
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.expose_secret().cmp(other.0.expose_secret())
    }
}

/// Who keeps a secret remembered: [`Held`] handles, or the whole process.
#[derive(Default)]
struct Holders {
    n_held: usize,
    for_good: bool,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry { secrets: BTreeMap::new(), redactor: Redactor::new() });

impl Registry {
    /// Remembers `key` for good, or for one more holder; its forms are derived the first
    /// time only.
    fn take(&mut self, key: Key, for_good: bool) -> Option<Key> {
        if let Some(holders) = self.secrets.get_mut(&key) {
            holders.for_good |= for_good;
            holders.n_held += usize::from(!for_good);
            return (!for_good).then_some(key);
        }
        key.count_in(&mut self.redactor, true);
        let held = (!for_good).then(|| Key(key.0.clone()));
        self.secrets.insert(key, Holders { n_held: usize::from(!for_good), for_good });
        held
    }

    /// One holder fewer; a secret nobody holds, and not remembered for good, is forgotten.
    fn release(&mut self, key: &Key) {
        let Some(holders) = self.secrets.get_mut(key) else { return };
        holders.n_held = holders.n_held.saturating_sub(1);
        if holders.n_held == 0 && !holders.for_good {
            self.secrets.remove(key);
            key.count_in(&mut self.redactor, false);
        }
    }
}

fn remember_key(key: Key, for_good: bool) -> Option<Key> {
    REGISTRY.write().unwrap_or_else(PoisonError::into_inner).take(key, for_good)
}

/// Remembers a secret (a password, a token, a key, a device code) for the life of the
/// process: from now on [`redact`] masks it. A secret remembered again costs nothing more.
/// Secrets shorter than [`tapis_auth_core::redact::MIN_SECRET_LEN`] are not masked.
pub fn remember(secret: &SecretString) {
    remember_text(secret.expose_secret());
}

/// [`remember`], for a secret the caller holds as text.
pub(crate) fn remember_text(secret: &str) {
    remember_key(Key::secret(secret), true);
}

/// Remembers an OAuth client's key, and the HTTP Basic credentials made of it, for the life
/// of the process.
pub fn remember_client(client: &OAuthClient) {
    remember_key(Key::client(client), true);
}

/// Remembers the secrets of a token set, the tokens and the client's key, for the life of
/// the process. (The library itself remembers a token only while a session or a request
/// holds it; see [`n_remembered`].)
pub fn remember_tokens(tokens: &TokenSet) {
    remember_text(tokens.access.expose_secret());
    if let Some(refresh) = &tokens.refresh {
        remember_text(refresh.expose_secret());
    }
    if let Some(client) = &tokens.client {
        remember_client(client);
    }
}

/// How many distinct secrets the process remembers now: what a long-running program can
/// watch. It grows with the secrets in use (a session's tokens, the client keys and
/// passwords seen), never with the number of requests made.
pub fn n_remembered() -> usize {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner).secrets.len()
}

/// Secrets remembered while this handle lives: a session's tokens, or a token a request is
/// sending. When the last handle on a secret drops, the secret is forgotten (unless it was
/// also remembered for good), so a token that was replaced leaves the registry.
#[derive(Default)]
pub(crate) struct Held {
    keys: Vec<Key>,
}

impl fmt::Debug for Held {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Held").field("n_secrets", &self.keys.len()).finish()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
        for key in &self.keys {
            registry.release(key);
        }
    }
}

/// Holds a secret the caller has as text, for as long as the handle lives.
pub(crate) fn hold_text(secret: &str) -> Held {
    Held { keys: remember_key(Key::secret(secret), false).into_iter().collect() }
}

/// Holds a token set's access and refresh tokens; its client's key is remembered for good
/// (a client outlives the tokens issued through it).
pub(crate) fn hold_tokens(tokens: &TokenSet) -> Held {
    let mut keys: Vec<Key> = remember_key(Key::secret(tokens.access.expose_secret()), false).into_iter().collect();
    if let Some(refresh) = &tokens.refresh {
        keys.extend(remember_key(Key::secret(refresh.expose_secret()), false));
    }
    if let Some(client) = &tokens.client {
        remember_client(client);
    }
    Held { keys }
}

/// `text` with every secret this process has remembered masked as `***`; borrowed when it
/// holds none. One pass over the text, whatever the number of secrets.
pub fn redact(text: &str) -> Cow<'_, str> {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    match registry.redactor.redact(text) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(redacted) => Cow::Owned(redacted),
    }
}

/// A `tracing` debug event whose text is redacted where it is made, so that every subscriber
/// (a program's own as well as [`crate::debug_log`]'s) receives it masked. Its arguments are
/// formatted only when a subscriber listens for the event.
macro_rules! debug_redacted {
    ($($arg:tt)+) => {
        tracing::debug!("{}", $crate::secrets::redact(&format!($($arg)+)))
    };
}
pub(crate) use debug_redacted;

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

    #[test]
    fn a_held_secret_is_forgotten_when_its_last_holder_drops() {
        let first = hold_text("held-test-token-1");
        let second = hold_text("held-test-token-1");
        drop(first);
        assert_eq!(redact("held-test-token-1"), "***", "still held");
        drop(second);
        assert_eq!(redact("held-test-token-1"), "held-test-token-1", "forgotten");
        let held = hold_text("held-test-token-2");
        remember_text("held-test-token-2");
        drop(held);
        assert_eq!(redact("held-test-token-2"), "***", "remembered for good as well");
    }
}
