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

use std::borrow::Cow;
use std::fmt;

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
#[derive(Default, Clone)]
pub struct Redactor {
    /// Every form, longest first (so that a secret containing another is masked whole), each
    /// at least [`MIN_SECRET_LEN`] long; zeroed when dropped.
    forms: Vec<Zeroizing<String>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Redactor").field("n_forms", &self.forms.len()).finish()
    }
}

impl Redactor {
    /// A redactor that knows no secret.
    pub const fn new() -> Self {
        Self { forms: Vec::new() }
    }

    /// Whether it knows no secret (every text passes through unchanged).
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Learns a secret and its derived forms. A secret shorter than [`MIN_SECRET_LEN`] is
    /// ignored.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        self.push(secret.to_owned());
        let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        self.push(form_encoded.replace('+', "%20"));
        self.push(form_encoded);
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned();
        self.push(json.replace('/', "\\/"));
        self.push(ascii_json(&json));
        self.push(json);
        self.push(base64::engine::general_purpose::STANDARD.encode(secret));
    }

    /// Learns an OAuth client's key (as [`Redactor::add`]) and the base64 of
    /// `client_id:client_key`, the credentials of an HTTP Basic header.
    pub fn add_basic(&mut self, client_id: &str, client_key: &str) {
        self.add(client_key);
        if client_key.chars().count() >= MIN_SECRET_LEN {
            self.push(base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_key}")));
        }
    }

    /// `text` with every known form of every secret replaced by [`MASK`]; borrowed when it
    /// holds none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut redacted = Cow::Borrowed(text);
        for form in &self.forms {
            if redacted.contains(form.as_str()) {
                redacted = Cow::Owned(redacted.replace(form.as_str(), MASK));
            }
        }
        redacted
    }

    fn push(&mut self, form: String) {
        let form = Zeroizing::new(form);
        if form.chars().count() < MIN_SECRET_LEN || self.forms.contains(&form) {
            return;
        }
        let at = self.forms.partition_point(|known| known.len() >= form.len());
        self.forms.insert(at, form);
    }
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
    fn debug_shows_no_secret() {
        let mut redactor = Redactor::new();
        redactor.add("hunter22");
        let debug = format!("{redactor:?}");
        assert!(!debug.contains("hunter22"), "{debug}");
        assert!(debug.starts_with("Redactor"), "{debug}");
    }
}
