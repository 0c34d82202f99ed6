//! The token file's JSON format, as bytes in and bytes out (no I/O here).
//!
//! The notebooks' `connect_tapis()` reads and writes exactly two fields:
//!
//! ```json
//! {"access_token": "eyJ...", "expires_at": "2025-09-05T02:30:48+00:00"}
//! ```
//!
//! This crate writes those two, in that format, plus its own fields (`base_url`, `username`,
//! and for renewal `refresh_token`, `refresh_expires_at`, `client_id` and `client_key`, and
//! `created_client_id`: the OAuth client this tool created, the only one a logout deletes;
//! `obtained_at`: when the tokens came from the server).
//! Unknown fields are ignored on read.
//!
//! A logout that keeps the OAuth client leaves a file with the client and no tokens:
//! `base_url`, `client_id`, `client_key`, and `created_client_id` and `username` when known,
//! but no `access_token` ([`TokenFileContents::KeptClient`]). The notebooks read such a file as
//! no token (they log in and write their two fields over it); [`parse_token_file`] refuses it
//! as before, [`parse_token_file_contents`] reads it.

use serde_json::{Map, Value};
use tapis_auth_core::expiry::{format_expires_at, parse_expires_at};
use tapis_auth_core::{
    AccessToken, BaseUrl, ExposeSecret as _, KeptClient, OAuthClient, RefreshToken, SecretString, TokenError, TokenSet,
};

/// The largest token file that is read; a real one is about 2 KiB.
pub const MAX_TOKEN_FILE_BYTES: u64 = 1024 * 1024;

/// Why the bytes of a token file are not a usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Zero bytes, or only white space.
    #[error("the file is empty")]
    Empty,
    /// Larger than [`MAX_TOKEN_FILE_BYTES`].
    #[error("the file is larger than {MAX_TOKEN_FILE_BYTES} bytes")]
    TooLarge,
    /// Not UTF-8 text.
    #[error("the file is not UTF-8 text")]
    NotText,
    /// Not JSON (truncated, binary, nested too deep, ...).
    #[error("the file is not valid JSON ({0})")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("the file holds JSON {0}, not an object")]
    NotAnObject(&'static str),
    /// A field is missing or of the wrong type.
    #[error("the field `{field}` is {problem}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The recorded base URL is not one tokens may be sent to.
    #[error("the recorded base_url is not usable: {0}")]
    BaseUrl(String),
    /// The access token cannot be used.
    #[error("the access token is unusable: {0}")]
    Token(TokenError),
}

/// Reads a token file's bytes.
///
/// ```
/// let file = br#"{"access_token": "opaque", "expires_at": "2025-09-05T02:30:48Z",
///                 "base_url": "https://designsafe.tapis.io"}"#;
/// let tokens = tapis_store::format::parse_token_file(file).unwrap();
/// assert_eq!(tokens.access.expires_at().to_rfc3339(), "2025-09-05T02:30:48+00:00");
/// ```
pub fn parse_token_file(bytes: &[u8]) -> Result<TokenSet, FormatError> {
    match parse_token_file_contents(bytes)? {
        TokenFileContents::Tokens(tokens) => Ok(*tokens),
        TokenFileContents::KeptClient(_) => Err(FormatError::Field { field: "access_token", problem: "missing" }),
    }
}

/// What a token file holds: tokens, or only a kept OAuth client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenFileContents {
    /// Tokens, as a login or renewal saved them (or the notebooks did).
    Tokens(Box<TokenSet>),
    /// An OAuth client and its server without tokens, as a logout that kept the client left it.
    KeptClient(KeptClient),
}

/// Reads a token file's bytes, a file with a kept client and no tokens included.
///
/// ```
/// use tapis_store::format::{TokenFileContents, parse_token_file_contents};
/// let file = br#"{"base_url": "https://designsafe.tapis.io", "client_id": "c", "client_key": "k"}"#;
/// let TokenFileContents::KeptClient(kept) = parse_token_file_contents(file).unwrap() else { panic!() };
/// assert_eq!(kept.client.client_id, "c");
/// ```
pub fn parse_token_file_contents(bytes: &[u8]) -> Result<TokenFileContents, FormatError> {
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(FormatError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| FormatError::NotText)?;
    if text.trim().is_empty() {
        return Err(FormatError::Empty);
    }
    let value: Value = serde_json::from_str(text).map_err(|error| FormatError::NotJson(error.to_string()))?;
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(FormatError::NotAnObject("an array")),
        Value::String(_) => return Err(FormatError::NotAnObject("a string")),
        Value::Number(_) => return Err(FormatError::NotAnObject("a number")),
        Value::Bool(_) => return Err(FormatError::NotAnObject("a boolean")),
        Value::Null => return Err(FormatError::NotAnObject("null")),
    };

    let access_token = match object.get("access_token") {
        Some(Value::String(token)) => token.clone(),
        Some(_) => return Err(FormatError::Field { field: "access_token", problem: "not a string" }),
        None => {
            return kept_client(&object)
                .map(TokenFileContents::KeptClient)
                .ok_or(FormatError::Field { field: "access_token", problem: "missing" });
        }
    };
    // An unreadable expires_at falls back to the JWT's exp (README.md, "The token file and the notebooks").
    let expires_at = optional_instant(&object, "expires_at");
    let access = AccessToken::new(SecretString::from(access_token), expires_at).map_err(FormatError::Token)?;

    let refresh = match object.get("refresh_token") {
        Some(Value::String(token)) if !token.trim().is_empty() => {
            let expires_at = optional_instant(&object, "refresh_expires_at");
            RefreshToken::new(SecretString::from(token.clone()), expires_at).ok()
        }
        _ => None,
    };

    let base_url = match object.get("base_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) => Some(BaseUrl::parse(url).map_err(|error| FormatError::BaseUrl(error.to_string()))?),
        Some(_) => return Err(FormatError::Field { field: "base_url", problem: "not a string" }),
    };

    let client = oauth_client(&object);
    let created_client_id = created_client_id(&object);
    let obtained_at = optional_instant(&object, "obtained_at");

    let tokens = TokenSet { access, refresh, base_url, client, created_client_id, obtained_at };
    Ok(TokenFileContents::Tokens(Box::new(tokens)))
}

/// A file without tokens is a kept client when it names a usable server and a whole client.
fn kept_client(object: &Map<String, Value>) -> Option<KeptClient> {
    let base_url = BaseUrl::parse(object.get("base_url")?.as_str()?).ok()?;
    let username = object.get("username").and_then(Value::as_str).filter(|name| !name.is_empty());
    Some(KeptClient {
        base_url,
        client: oauth_client(object)?,
        created_client_id: created_client_id(object),
        username: username.map(str::to_owned),
    })
}

fn oauth_client(object: &Map<String, Value>) -> Option<OAuthClient> {
    match (object.get("client_id"), object.get("client_key")) {
        (Some(Value::String(client_id)), Some(Value::String(client_key)))
            if !client_id.is_empty() && !client_key.is_empty() =>
        {
            Some(OAuthClient { client_id: client_id.clone(), client_key: SecretString::from(client_key.clone()) })
        }
        _ => None,
    }
}

fn created_client_id(object: &Map<String, Value>) -> Option<String> {
    match object.get("created_client_id") {
        Some(Value::String(client_id)) if !client_id.is_empty() => Some(client_id.clone()),
        _ => None,
    }
}

/// Writes the bytes of a file that keeps an OAuth client and no tokens (see the module's
/// documentation): no `access_token`, so the notebooks read it as no token.
pub fn render_kept_client(kept: &KeptClient) -> Vec<u8> {
    let mut object = Map::new();
    object.insert("base_url".into(), kept.base_url.as_str().into());
    object.insert("client_id".into(), kept.client.client_id.as_str().into());
    object.insert("client_key".into(), kept.client.client_key.expose_secret().into());
    if let Some(client_id) = &kept.created_client_id {
        object.insert("created_client_id".into(), client_id.as_str().into());
    }
    if let Some(username) = &kept.username {
        object.insert("username".into(), username.as_str().into());
    }
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(object)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes a token file's bytes: the notebook's two fields (`access_token`, `expires_at`)
/// and this project's own, as one JSON object (keys in alphabetical order).
///
/// ```
/// use tapis_auth_core::{AccessToken, SecretString, TokenSet, expiry::parse_expires_at};
/// let expires_at = parse_expires_at("2025-09-05T02:30:48Z").unwrap();
/// let access = AccessToken::new(SecretString::from("opaque"), Some(expires_at)).unwrap();
/// let bytes = tapis_store::format::render_token_file(&TokenSet::new(access));
/// let text = String::from_utf8(bytes).unwrap();
/// assert!(text.contains(r#""expires_at": "2025-09-05T02:30:48+00:00""#));
/// ```
pub fn render_token_file(tokens: &TokenSet) -> Vec<u8> {
    let mut object = Map::new();
    object.insert("access_token".into(), tokens.access.expose_secret().into());
    object.insert("expires_at".into(), format_expires_at(tokens.access.expires_at()).into());
    // The record as it is (a contradicted one stays contradicted), else the issuer's server.
    if let Some(base_url) = tokens.base_url.clone().or_else(|| tokens.server()) {
        object.insert("base_url".into(), base_url.as_str().into());
    }
    if let Some(username) = tokens.access.username() {
        object.insert("username".into(), username.into());
    }
    if let Some(refresh) = &tokens.refresh {
        object.insert("refresh_token".into(), refresh.expose_secret().into());
        if let Some(expires_at) = refresh.expires_at() {
            object.insert("refresh_expires_at".into(), format_expires_at(expires_at).into());
        }
    }
    if let Some(client) = &tokens.client {
        object.insert("client_id".into(), client.client_id.as_str().into());
        object.insert("client_key".into(), client.client_key.expose_secret().into());
    }
    if let Some(obtained_at) = tokens.obtained_at {
        object.insert("obtained_at".into(), format_expires_at(obtained_at).into());
    }
    if let Some(client_id) = &tokens.created_client_id {
        object.insert("created_client_id".into(), client_id.as_str().into());
    }
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(object)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn optional_instant(object: &Map<String, Value>, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    object.get(field).and_then(Value::as_str).and_then(|text| parse_expires_at(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected`: `ok <expires_at> <server>` or the error's Display text.
    fn check(bytes: &[u8], expected: &str) {
        let actual = match parse_token_file(bytes) {
            Ok(tokens) => format!(
                "ok {} {}",
                format_expires_at(tokens.access.expires_at()),
                tokens.server().map(|url| url.to_string()).unwrap_or_else(|| "-".into())
            ),
            Err(error) => format!("error: {error}"),
        };
        let shown: String = String::from_utf8_lossy(bytes).chars().take(80).collect();
        assert_eq!(actual, expected, "bytes {shown:?}");
    }

    #[test]
    fn parse_table() {
        let jwt = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", 1_741_119_331, "https://designsafe.tapis.io"));
        let notebook = format!(r#"{{"access_token": "{jwt}", "expires_at": "2025-03-04T20:15:31+00:00"}}"#);
        let no_expiry = format!(r#"{{"access_token": "{jwt}"}}"#);
        let garbage_expiry = format!(r#"{{"access_token": "{jwt}", "expires_at": "soon"}}"#);
        let later_expiry = format!(r#"{{"access_token": "{jwt}", "expires_at": "2099-01-01T00:00:00Z"}}"#);
        let numeric_expiry = format!(r#"{{"access_token": "{jwt}", "expires_at": 12}}"#);
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let table: Vec<(&[u8], &str)> = vec![
            (notebook.as_bytes(), "ok 2025-03-04T20:15:31+00:00 https://designsafe.tapis.io"),
            (no_expiry.as_bytes(), "ok 2025-03-04T20:15:31+00:00 https://designsafe.tapis.io"),
            (garbage_expiry.as_bytes(), "ok 2025-03-04T20:15:31+00:00 https://designsafe.tapis.io"),
            (later_expiry.as_bytes(), "ok 2025-03-04T20:15:31+00:00 https://designsafe.tapis.io"),
            (numeric_expiry.as_bytes(), "ok 2025-03-04T20:15:31+00:00 https://designsafe.tapis.io"),
            (
                br#"{"access_token": "opaque", "expires_at": "2025-09-05T02:30:48Z", "base_url": "https://tacc.tapis.io/", "extra": [1, {"x": null}]}"#,
                "ok 2025-09-05T02:30:48+00:00 https://tacc.tapis.io",
            ),
            (br#"{"access_token": "opaque", "expires_at": "2025-09-05T02:30:48Z"}"#, "ok 2025-09-05T02:30:48+00:00 -"),
            (b"", "error: the file is empty"),
            (b" \n\t", "error: the file is empty"),
            (b"{\"access_token\": \"eyJ", "error: the file is not valid JSON (EOF while parsing a string at line 1 column 21)"),
            (b"\x00\x01\x02\xff", "error: the file is not UTF-8 text"),
            (b"\x00\x01\x02", "error: the file is not valid JSON (expected value at line 1 column 1)"),
            (deep.as_bytes(), "error: the file is not valid JSON (recursion limit exceeded at line 1 column 128)"),
            (b"[]", "error: the file holds JSON an array, not an object"),
            (b"\"eyJ\"", "error: the file holds JSON a string, not an object"),
            (b"null", "error: the file holds JSON null, not an object"),
            (b"{}", "error: the field `access_token` is missing"),
            (br#"{"access_token": 42}"#, "error: the field `access_token` is not a string"),
            (br#"{"access_token": ""}"#, "error: the access token is unusable: the token is empty"),
            (
                br#"{"access_token": "opaque"}"#,
                "error: the access token is unusable: the token's expiry is unknown: no usable expires_at and no readable JWT exp claim",
            ),
            (
                br#"{"access_token": "opaque", "expires_at": "2025-09-05T02:30:48Z", "base_url": 7}"#,
                "error: the field `base_url` is not a string",
            ),
            (
                br#"{"access_token": "opaque", "expires_at": "2025-09-05T02:30:48Z", "base_url": "http://evil.example"}"#,
                "error: the recorded base_url is not usable: `http://evil.example` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)",
            ),
        ];
        for (bytes, expected) in table {
            check(bytes, expected);
        }
        let huge = vec![b' '; MAX_TOKEN_FILE_BYTES as usize + 1];
        check(&huge, "error: the file is larger than 1048576 bytes");
    }

    #[test]
    fn render_then_parse_round_trips() {
        let jwt = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", 1_741_119_331, "https://designsafe.tapis.io"));
        let refresh = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", 1_772_655_331, "https://designsafe.tapis.io"));
        let access = AccessToken::new(SecretString::from(jwt.clone()), None).expect("usable");
        let refresh = RefreshToken::new(SecretString::from(refresh), None).expect("usable");
        let client = OAuthClient { client_id: "tapis-cli-host".into(), client_key: SecretString::from("key-123") };
        let tokens = TokenSet {
            refresh: Some(refresh),
            client: Some(client),
            created_client_id: Some("tapis-cli-host".into()),
            ..TokenSet::new(access)
        };
        let bytes = render_token_file(&tokens);
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        // The notebook's own reader: two fields, its timestamp format.
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["access_token"], jwt.as_str());
        assert_eq!(value["expires_at"], "2025-03-04T20:15:31+00:00");
        assert_eq!(value["base_url"], "https://designsafe.tapis.io");
        assert_eq!(value["username"], "jdoe");
        assert_eq!(value["refresh_expires_at"], "2026-03-04T20:15:31+00:00");
        assert_eq!(
            (&value["client_id"], &value["client_key"]),
            (&Value::from("tapis-cli-host"), &Value::from("key-123"))
        );
        assert_eq!(value["created_client_id"], "tapis-cli-host");
        let again = parse_token_file(&bytes).expect("own output parses");
        assert_eq!(again.created_client_id.as_deref(), Some("tapis-cli-host"));
        assert_eq!(again.access.expose_secret(), jwt);
        assert_eq!(again.access.expires_at(), tokens.access.expires_at());
        assert_eq!(again.refresh.map(|r| r.expires_at()), Some(tokens.refresh.and_then(|r| r.expires_at())));
        let client = again.client.expect("client read back");
        assert_eq!((client.client_id.as_str(), client.client_key.expose_secret()), ("tapis-cli-host", "key-123"));
    }

    #[test]
    fn a_kept_client_round_trips_and_has_no_access_token() {
        let kept = KeptClient {
            base_url: BaseUrl::parse("https://designsafe.tapis.io").expect("valid"),
            client: OAuthClient { client_id: "tapis-cli-host".into(), client_key: SecretString::from("key-123") },
            created_client_id: Some("tapis-cli-host".into()),
            username: Some("jdoe".into()),
        };
        let bytes = render_kept_client(&kept);
        let value: Value = serde_json::from_slice(&bytes).expect("json");
        // The notebooks read `access_token`: absent, so to them it is no token.
        assert!(value.get("access_token").is_none() && value.get("expires_at").is_none(), "{value}");
        assert_eq!(
            parse_token_file(&bytes).err(),
            Some(FormatError::Field { field: "access_token", problem: "missing" }),
            "the tokens-only reader refuses it as before"
        );
        let TokenFileContents::KeptClient(again) = parse_token_file_contents(&bytes).expect("parses") else {
            panic!("not read as a kept client")
        };
        assert_eq!(again.base_url, kept.base_url);
        assert_eq!(
            (again.client.client_id.as_str(), again.client.client_key.expose_secret()),
            ("tapis-cli-host", "key-123")
        );
        assert_eq!(
            (again.created_client_id.as_deref(), again.username.as_deref()),
            (Some("tapis-cli-host"), Some("jdoe"))
        );
        // Without a server or a whole client, a file without tokens is what it always was.
        for text in [
            r#"{"client_id": "c", "client_key": "k"}"#,
            r#"{"base_url": "https://designsafe.tapis.io", "client_id": "c"}"#,
            r#"{"base_url": "https://designsafe.tapis.io", "client_id": "c", "client_key": ""}"#,
            r#"{"base_url": "http://evil.example", "client_id": "c", "client_key": "k"}"#,
        ] {
            assert_eq!(
                parse_token_file_contents(text.as_bytes()).err(),
                Some(FormatError::Field { field: "access_token", problem: "missing" }),
                "{text}"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_token_file(&bytes);
        }

        #[test]
        fn json_shaped_input_is_read_or_refused_without_panicking(
            token in "[A-Za-z0-9._-]{0,80}",
            expires_at in "[0-9T:+. Z-]{0,30}",
            base_url in "(https?://)?[a-z0-9.:/-]{0,30}",
        ) {
            let text = format!(r#"{{"access_token": "{token}", "expires_at": "{expires_at}", "base_url": "{base_url}"}}"#);
            let _ = parse_token_file(text.as_bytes());
        }

        /// What is written reads back the same: token, expiry to the second, server.
        #[test]
        fn render_then_parse_is_identity(user in "[a-z][a-z0-9]{0,12}", exp in 1_000_000_000i64..5_000_000_000, host in "[a-z]{1,12}") {
            let base_url = format!("https://{host}.tapis.io");
            let jwt = tapis_testkit::jwt(&tapis_testkit::claims(&user, exp, &base_url));
            let access = AccessToken::new(SecretString::from(jwt.clone()), None).expect("usable");
            let tokens = TokenSet::new(access);
            let again = parse_token_file(&render_token_file(&tokens)).expect("own output parses");
            prop_assert_eq!(again.access.expose_secret(), jwt.as_str());
            prop_assert_eq!(again.access.expires_at().timestamp(), exp);
            prop_assert_eq!(again.server().map(|url| url.to_string()), Some(base_url));
        }
    }
}
