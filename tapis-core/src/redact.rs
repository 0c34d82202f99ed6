//! Masking secrets in text, as CI systems mask theirs: every secret a [`Redactor`] knows,
//! and the forms it can be echoed in, becomes `***`.
//!
//! Servers echo what they were sent: the Tapis authenticator answers a bad client with
//! `Invalid client credentials: <id>, <key>`, and a gateway may reflect a request body with
//! the password in it. Text from a server or a file is therefore passed through
//! [`Redactor::redact`] before it is shown or logged.
//!
//! ```
//! use tapis_auth_core::redact::Redactor;
//!
//! let mut redactor = Redactor::new();
//! redactor.add("s3cret-client-key");
//! redactor.add_basic("client-55c1ac81", "s3cret-client-key");
//! assert_eq!(
//!     redactor.redact("Invalid client credentials: client-55c1ac81, s3cret-client-key. session: x"),
//!     "Invalid client credentials: client-55c1ac81, ***. session: x"
//! );
//! ```

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use secrecy::zeroize::Zeroizing;

/// What a secret becomes in redacted text.
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked. Masking a short string would garble ordinary
/// words in every message (a password `tapis` would turn each `tapis` into `***`) and, by the
/// pattern of masks, give the secret away; a password that short is weak anyway, and the
/// tokens, keys and device codes Tapis issues are far longer.
pub const MIN_SECRET_LEN: usize = 6;

/// A set of secrets and the text forms they may appear in; [`Redactor::redact`] masks them.
///
/// For each secret it knows the secret itself, its URL encodings (`%20` and `+` for a space),
/// its JSON string escapes (as serde writes them, with `/` escaped, and with every non-ASCII
/// character as `\uXXXX`, as Python's `json.dumps` does), and its standard base64. For an
/// OAuth client ([`Redactor::add_basic`]) also the base64 of `client_id:client_key`, which an
/// HTTP Basic header carries. Its `Debug` shows only how many forms it holds.
///
/// Each form is kept once, with a count of the secrets that have it, so that adding a secret
/// it knows costs no memory and [`Redactor::remove`] forgets a secret's forms when no other
/// secret shares them. A redaction is one pass over the text (an Aho-Corasick automaton over
/// the distinct forms, built again after a change), whatever the number of secrets.
#[derive(Default, Clone)]
pub struct Redactor {
    /// Every distinct form, at least [`MIN_SECRET_LEN`] long, and how many secrets have it;
    /// zeroed when dropped.
    forms: BTreeMap<Form, usize>,
    /// The automaton over `forms`, made at the first redaction after a change.
    matcher: OnceLock<Option<AhoCorasick>>,
}

/// One form of a secret, zeroed when dropped; looked up by its text.
#[derive(Clone, PartialEq, Eq)]
struct Form(Zeroizing<String>);

impl PartialOrd for Form {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Form {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}

impl Borrow<str> for Form {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Redactor").field("n_forms", &self.forms.len()).finish()
    }
}

impl Redactor {
    /// A redactor that knows no secret.
    pub const fn new() -> Self {
        Self { forms: BTreeMap::new(), matcher: OnceLock::new() }
    }

    /// Whether it knows no secret (every text passes through unchanged).
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// How many distinct forms it masks (each secret has up to eight).
    pub fn n_forms(&self) -> usize {
        self.forms.len()
    }

    /// Learns a secret and its derived forms. A secret shorter than [`MIN_SECRET_LEN`] is
    /// ignored. Adding a secret twice counts it twice: it is forgotten after as many
    /// [`Redactor::remove`]s.
    pub fn add(&mut self, secret: &str) {
        for form in forms_of(secret) {
            self.count(form, true);
        }
    }

    /// Forgets a secret added with [`Redactor::add`] once: its forms stay masked while
    /// another addition (of it, or of a secret sharing a form) holds them.
    pub fn remove(&mut self, secret: &str) {
        for form in forms_of(secret) {
            self.count(form, false);
        }
    }

    /// Learns an OAuth client's key (as [`Redactor::add`]) and the base64 of
    /// `client_id:client_key`, the credentials of an HTTP Basic header.
    pub fn add_basic(&mut self, client_id: &str, client_key: &str) {
        self.add(client_key);
        if let Some(form) = basic_form(client_id, client_key) {
            self.count(form, true);
        }
    }

    /// Forgets what [`Redactor::add_basic`] learnt, once.
    pub fn remove_basic(&mut self, client_id: &str, client_key: &str) {
        self.remove(client_key);
        if let Some(form) = basic_form(client_id, client_key) {
            self.count(form, false);
        }
    }

    /// `text` with every known form of every secret replaced by [`MASK`]; borrowed when it
    /// holds none. Where forms overlap, the one that starts first is masked, the longest of
    /// those that start there (so a secret containing another is masked whole).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(matcher) = self.matcher.get_or_init(|| self.build()) else {
            return Cow::Borrowed(text);
        };
        let mut matches = matcher.find_iter(text).peekable();
        if matches.peek().is_none() {
            return Cow::Borrowed(text);
        }
        let mut redacted = String::with_capacity(text.len());
        let mut copied = 0;
        for found in matches {
            redacted.push_str(&text[copied..found.start()]);
            redacted.push_str(MASK);
            copied = found.end();
        }
        redacted.push_str(&text[copied..]);
        Cow::Owned(redacted)
    }

    /// Adds one to, or takes one from, the count of `form`; a change of the set of forms
    /// drops the automaton.
    fn count(&mut self, form: String, add: bool) {
        let form = Zeroizing::new(form);
        if form.chars().count() < MIN_SECRET_LEN {
            return;
        }
        if add {
            if let Some(count) = self.forms.get_mut(form.as_str()) {
                *count += 1;
                return;
            }
            self.forms.insert(Form(form), 1);
        } else {
            let Some(count) = self.forms.get_mut(form.as_str()) else { return };
            *count -= 1;
            if *count > 0 {
                return;
            }
            self.forms.remove(form.as_str());
        }
        self.matcher = OnceLock::new();
    }

    fn build(&self) -> Option<AhoCorasick> {
        if self.forms.is_empty() {
            return None;
        }
        let forms = self.forms.keys().map(|form| form.0.as_bytes());
        // Building fails only past the automaton's size limits (far beyond any set of
        // secrets a process holds); masking nothing is not an option, so fall back to a
        // slower automaton kind that has no such limit.
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(forms.clone())
            .or_else(|_| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                    .build(forms)
            })
            .ok()
    }
}

/// The forms of a secret: itself, URL-encoded, JSON-escaped and base64; none for a secret
/// shorter than [`MIN_SECRET_LEN`].
fn forms_of(secret: &str) -> Vec<String> {
    if secret.chars().count() < MIN_SECRET_LEN {
        return Vec::new();
    }
    let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned();
    let mut forms = vec![
        secret.to_owned(),
        form_encoded.replace('+', "%20"),
        form_encoded,
        json.replace('/', "\\/"),
        ascii_json(&json),
        json,
        base64::engine::general_purpose::STANDARD.encode(secret),
    ];
    forms.sort_unstable();
    forms.dedup();
    forms
}

/// The base64 of `client_id:client_key`, when the key is long enough to be masked.
fn basic_form(client_id: &str, client_key: &str) -> Option<String> {
    (client_key.chars().count() >= MIN_SECRET_LEN)
        .then(|| base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_key}")))
}

/// A JSON string body with every non-ASCII character written as `\uXXXX` (UTF-16 units).
fn ascii_json(json: &str) -> String {
    let mut escaped = String::with_capacity(json.len());
    for character in json.chars() {
        if character.is_ascii() {
            escaped.push(character);
        } else {
            let mut units = [0_u16; 2];
            for unit in character.encode_utf16(&mut units) {
                escaped.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(secrets: &[&str], text: &str, expected: &str) {
        let mut redactor = Redactor::new();
        for secret in secrets {
            redactor.add(secret);
        }
        assert_eq!(redactor.redact(text), expected, "{secrets:?} in {text:?}");
    }

    #[test]
    fn every_form_of_a_secret_is_masked() {
        let password = "p@ss w/rd\"ü";
        check(&[password], "for testuser:p@ss w/rd\"ü.", "for testuser:***.");
        check(&[password], "password=p%40ss+w%2Frd%22%C3%BC&x", "password=***&x");
        check(&[password], "password=p%40ss%20w%2Frd%22%C3%BC&x", "password=***&x");
        check(&[password], r#"{"password": "p@ss w/rd\"ü"}"#, r#"{"password": "***"}"#);
        check(&[password], r#"{"password": "p@ss w\/rd\"ü"}"#, r#"{"password": "***"}"#);
        check(&[password], r#"{"password": "p@ss w/rd\"\u00fc"}"#, r#"{"password": "***"}"#);
        check(&["hunter22"], "aHVudGVyMjI= and hunter22", "*** and ***");
    }

    #[test]
    fn a_basic_header_is_masked() {
        let mut redactor = Redactor::new();
        redactor.add_basic("client-55c1ac81", "the-client-key");
        // base64("client-55c1ac81:the-client-key")
        assert_eq!(redactor.redact("Basic Y2xpZW50LTU1YzFhYzgxOnRoZS1jbGllbnQta2V5"), "Basic ***");
        assert_eq!(redactor.redact("client-55c1ac81, the-client-key."), "client-55c1ac81, ***.");
    }

    #[test]
    fn short_secrets_and_clean_text_are_left_alone() {
        check(&["tapis", "", "abcde"], "tapis said abcde", "tapis said abcde");
        check(&["abcdef"], "abcdef", "***");
        let redactor = Redactor::new();
        assert!(matches!(redactor.redact("nothing here"), Cow::Borrowed("nothing here")));
    }

    #[test]
    fn a_secret_inside_another_is_masked_whole() {
        check(&["secret", "my-secret-key"], "key my-secret-key, pw secret", "key ***, pw ***");
        check(&["my-secret-key", "secret"], "key my-secret-key, pw secret", "key ***, pw ***");
    }

    #[test]
    fn a_secret_is_kept_once_and_forgotten_when_removed_as_often_as_added() {
        let mut redactor = Redactor::new();
        redactor.add("first-token-1234");
        redactor.add_basic("client-55c1ac81", "the-client-key");
        let n_forms = redactor.n_forms();
        redactor.add("first-token-1234");
        redactor.add_basic("client-55c1ac81", "the-client-key");
        assert_eq!(redactor.n_forms(), n_forms, "a secret added again costs nothing");
        redactor.remove("first-token-1234");
        assert_eq!(redactor.redact("first-token-1234"), "***", "still held once");
        redactor.remove("first-token-1234");
        assert_eq!(redactor.redact("first-token-1234"), "first-token-1234");
        redactor.remove_basic("client-55c1ac81", "the-client-key");
        redactor.remove_basic("client-55c1ac81", "the-client-key");
        assert!(redactor.is_empty(), "{redactor:?}");
        redactor.remove("never-added-secret");
        assert!(redactor.is_empty());
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut redactor = Redactor::new();
        redactor.add("hunter22");
        let debug = format!("{redactor:?}");
        assert!(!debug.contains("hunter22"), "{debug}");
        assert!(debug.starts_with("Redactor"), "{debug}");
    }
}
