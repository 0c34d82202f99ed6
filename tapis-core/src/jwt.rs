//! Reading a Tapis JWT's claims without checking its signature.
//!
//! This is what tapipy does too: the claims tell the client who the token is for, which server
//! issued it and when it expires. The server checks the signature on every call.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use crate::expiry::from_unix_seconds;

/// Longest token [`read_claims`] decodes. Real Tapis tokens are about 1 KiB.
pub const MAX_JWT_LEN: usize = 64 * 1024;

/// URL-safe base64 that accepts the payload with or without `=` padding.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a token's claims could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three dot-separated parts, or too long to be a token.
    #[error("the token is not a JWT (expected three dot-separated parts)")]
    NotAJwt,
    /// The payload part is not URL-safe base64.
    #[error("the token's payload is not base64url")]
    BadBase64,
    /// The payload decodes, but not to a JSON object.
    #[error("the token's payload is not a JSON object")]
    NotJson,
}

/// The claims of a Tapis token that this project reads. Every field is optional: a claim that
/// is missing or of the wrong type reads as `None` rather than failing the whole token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// `exp`: expiry, whole seconds since the Unix epoch.
    pub exp: Option<i64>,
    /// `iss`: the issuing token service, `https://<host>/v3/tokens`.
    pub iss: Option<String>,
    /// `sub`: `user@tenant`.
    pub sub: Option<String>,
    /// `jti`: the token's id, named by the revoke answer.
    pub jti: Option<String>,
    /// `tapis/username`.
    pub username: Option<String>,
    /// `tapis/tenant_id`.
    pub tenant_id: Option<String>,
    /// `tapis/token_type`: `access` or `refresh`.
    pub token_type: Option<String>,
    /// `tapis/client_id`, when the token was issued through an OAuth client.
    pub client_id: Option<String>,
}

impl Claims {
    /// `exp` as a UTC instant, when present and representable.
    pub fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.exp.and_then(from_unix_seconds)
    }
}

/// Reads the claims of a JWT (`header.payload.signature`) without verifying the signature.
///
/// ```
/// use tapis_auth_core::jwt::read_claims;
/// // {"alg":"RS256","typ":"JWT"} . {"exp":1741119331,"tapis/username":"jdoe"} . signature
/// let token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3NDExMTkzMzEsInRhcGlzL3VzZXJuYW1lIjoiamRvZSJ9.c2ln";
/// let claims = read_claims(token).unwrap();
/// assert_eq!(claims.exp, Some(1741119331));
/// assert_eq!(claims.username.as_deref(), Some("jdoe"));
/// ```
pub fn read_claims(token: &str) -> Result<Claims, JwtError> {
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::NotAJwt);
    }
    let mut parts = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::NotAJwt);
    };
    let bytes = BASE64URL.decode(payload).map_err(|_| JwtError::BadBase64)?;
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(JwtError::NotJson);
    };
    Ok(Claims {
        exp: integer_claim(&map, "exp"),
        iss: string_claim(&map, "iss"),
        sub: string_claim(&map, "sub"),
        jti: string_claim(&map, "jti"),
        username: string_claim(&map, "tapis/username"),
        tenant_id: string_claim(&map, "tapis/tenant_id"),
        token_type: string_claim(&map, "tapis/token_type"),
        client_id: string_claim(&map, "tapis/client_id"),
    })
}

fn string_claim(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// An integer claim; a float (some issuers write `1741119331.0`) is rounded down.
fn integer_claim(map: &Map<String, Value>, name: &str) -> Option<i64> {
    let value = map.get(name)?;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|seconds| seconds.is_finite() && seconds.abs() < 1e15)
            .map(|seconds| seconds.floor() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn jwt(payload_json: &str) -> String {
        format!("{}.{}.c2lnbmF0dXJl", encode(r#"{"typ":"JWT","alg":"RS256"}"#), encode(payload_json))
    }

    /// `expected`: the Debug of the claims, or the error's Display text.
    fn check(token: &str, expected: &str) {
        let actual = match read_claims(token) {
            Ok(claims) => format!(
                "exp={:?} iss={:?} user={:?} tenant={:?} type={:?}",
                claims.exp, claims.iss, claims.username, claims.tenant_id, claims.token_type
            ),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "token {token:?}");
    }

    #[test]
    fn reads_a_tapis_access_token() {
        let token = jwt(r#"{"jti":"0b1","iss":"https://designsafe.tapis.io/v3/tokens","sub":"jdoe@designsafe",
               "tapis/tenant_id":"designsafe","tapis/token_type":"access","tapis/delegation":false,
               "tapis/delegation_sub":null,"tapis/username":"jdoe","tapis/account_type":"user",
               "exp":1741119331,"tapis/client_id":null,"tapis/grant_type":"password"}"#);
        check(
            &token,
            r#"exp=Some(1741119331) iss=Some("https://designsafe.tapis.io/v3/tokens") user=Some("jdoe") tenant=Some("designsafe") type=Some("access")"#,
        );
        let claims = read_claims(&token).expect("valid");
        assert_eq!(claims.client_id, None, "a JSON null reads as absent");
        assert_eq!(claims.jti.as_deref(), Some("0b1"));
    }

    #[test]
    fn lenient_about_claims_strict_about_shape() {
        let padded = format!("{}.{}=.sig", encode("{}"), encode(r#"{"exp":12}"#));
        let table = [
            (jwt(r#"{"exp":1741119331}"#), "exp=Some(1741119331) iss=None user=None tenant=None type=None"),
            (jwt(r#"{"tapis/username":"jdoe"}"#), r#"exp=None iss=None user=Some("jdoe") tenant=None type=None"#),
            (jwt(r#"{"exp":"soon","tapis/username":7}"#), "exp=None iss=None user=None tenant=None type=None"),
            (jwt(r#"{"exp":1741119331.9}"#), "exp=Some(1741119331) iss=None user=None tenant=None type=None"),
            (jwt(r#"{"exp":1e300}"#), "exp=None iss=None user=None tenant=None type=None"),
            (padded, "exp=Some(12) iss=None user=None tenant=None type=None"),
            ("".to_owned(), "error: the token is not a JWT (expected three dot-separated parts)"),
            ("not-a-jwt".to_owned(), "error: the token is not a JWT (expected three dot-separated parts)"),
            ("a.b".to_owned(), "error: the token is not a JWT (expected three dot-separated parts)"),
            ("a.b.c.d".to_owned(), "error: the token is not a JWT (expected three dot-separated parts)"),
            ("a.!!!.c".to_owned(), "error: the token's payload is not base64url"),
            (format!("a.{}.c", encode("not json")), "error: the token's payload is not a JSON object"),
            (format!("a.{}.c", encode("[1,2]")), "error: the token's payload is not a JSON object"),
            (format!("a.{}.c", encode("\u{0}\u{1}")), "error: the token's payload is not a JSON object"),
            ("a".repeat(MAX_JWT_LEN + 1), "error: the token is not a JWT (expected three dot-separated parts)"),
        ];
        for (token, expected) in &table {
            check(token, expected);
        }
    }
}
