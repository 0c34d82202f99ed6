//! Reading Tapis answers: the envelope `{"message", "result", "status", ...}` and the token
//! result inside it. Pure functions over parsed JSON.
//!
//! Crate-private, except through the `fuzzing` feature's re-export for the fuzz targets, for
//! which the items are `pub`.
#![allow(unreachable_pub)]

use serde_json::Value;
use tapis_auth_core::expiry::parse_expires_at;
use tapis_auth_core::jwt::read_claims;
use tapis_auth_core::{AccessToken, RefreshToken, SecretString, TokenSet};

/// Why a successful token answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// No `result` object.
    #[error("there is no `result` object in the answer")]
    NoResult,
    /// No `result.access_token.access_token` string.
    #[error("there is no access token in the answer")]
    NoAccessToken,
    /// The access token is not a JWT whose claims can be read.
    #[error("the access token in the answer is not a JWT ({0})")]
    NotAJwt(String),
    /// Neither `expires_at` nor the JWT `exp` gives an expiry.
    #[error("the answer does not say when the access token expires")]
    NoExpiry,
}

/// The `message` of a Tapis envelope, when there is a non-empty one.
pub fn envelope_message(value: &Value) -> Option<String> {
    value.get("message").and_then(Value::as_str).map(str::trim).filter(|message| !message.is_empty()).map(str::to_owned)
}

/// Reads the tokens out of a token-endpoint answer:
/// `result.access_token.{access_token, expires_at}` and, when present,
/// `result.refresh_token.{refresh_token, expires_at}`. An unreadable `expires_at` falls back
/// to the JWT's `exp`. `base_url` is left for the caller to record.
pub fn parse_token_response(value: &Value) -> Result<TokenSet, ResponseError> {
    let result = value.get("result").filter(|result| result.is_object()).ok_or(ResponseError::NoResult)?;
    let access = result.get("access_token").ok_or(ResponseError::NoAccessToken)?;
    let access_jwt = access.get("access_token").and_then(Value::as_str).ok_or(ResponseError::NoAccessToken)?;
    read_claims(access_jwt).map_err(|error| ResponseError::NotAJwt(error.to_string()))?;
    let expires_at = access.get("expires_at").and_then(Value::as_str).and_then(|text| parse_expires_at(text).ok());
    let access =
        AccessToken::new(SecretString::from(access_jwt.to_owned()), expires_at).map_err(|_| ResponseError::NoExpiry)?;

    let refresh = result.get("refresh_token").and_then(|refresh| {
        let secret = refresh.get("refresh_token").and_then(Value::as_str)?;
        let expires_at = refresh.get("expires_at").and_then(Value::as_str).and_then(|text| parse_expires_at(text).ok());
        RefreshToken::new(SecretString::from(secret.to_owned()), expires_at).ok()
    });
    Ok(TokenSet { refresh, ..TokenSet::new(access) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(answer: Value, expected: &str) {
        let actual = match parse_token_response(&answer) {
            Ok(tokens) => {
                format!("ok {} refresh={}", tokens.access.expires_at().to_rfc3339(), tokens.refresh.is_some())
            }
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "answer {answer}");
    }

    #[test]
    fn token_answers() {
        let jwt = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", 1_741_119_331, "https://designsafe.tapis.io"));
        let body =
            |result: Value| json!({"message": "Token created successfully.", "status": "success", "result": result});
        check(
            serde_json::from_str(&tapis_testkit::token_response(&jwt, 1_741_119_331)).expect("json"),
            "ok 2025-03-04T20:15:31+00:00 refresh=false",
        );
        check(
            body(json!({"access_token": {"access_token": jwt, "expires_at": "garbage"},
                        "refresh_token": {"refresh_token": jwt, "expires_at": "2026-03-04T20:15:31+00:00"}})),
            "ok 2025-03-04T20:15:31+00:00 refresh=true",
        );
        check(
            body(json!({"access_token": {"access_token": jwt, "expires_at": "2025-03-04T19:00:00Z", "id_token": "x"}})),
            "ok 2025-03-04T19:00:00+00:00 refresh=false",
        );
        check(json!({"message": "ok", "status": "success"}), "error: there is no `result` object in the answer");
        check(body(Value::Null), "error: there is no `result` object in the answer");
        check(body(json!({})), "error: there is no access token in the answer");
        check(body(json!({"access_token": "flat"})), "error: there is no access token in the answer");
        check(body(json!({"access_token": {"access_token": 5}})), "error: there is no access token in the answer");
        check(
            body(json!({"access_token": {"access_token": "opaque", "expires_at": "2025-03-04T19:00:00Z"}})),
            "error: the access token in the answer is not a JWT (the token is not a JWT (expected three dot-separated parts))",
        );
        let no_exp = tapis_testkit::jwt(&json!({"sub": "jdoe@designsafe"}));
        check(
            body(json!({"access_token": {"access_token": no_exp}})),
            "error: the answer does not say when the access token expires",
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            envelope_message(&json!({"message": " Invalid username/password combination. "})).as_deref(),
            Some("Invalid username/password combination.")
        );
        assert_eq!(envelope_message(&json!({"message": ""})), None);
        assert_eq!(envelope_message(&json!({"message": 4})), None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    /// Any JSON value, nested a few levels, with the field names a token answer uses.
    fn json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("result".to_owned()),
            Just("access_token".to_owned()),
            Just("refresh_token".to_owned()),
            Just("expires_at".to_owned()),
            Just("message".to_owned()),
            "[a-z_]{1,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
            "[A-Za-z0-9_-]{1,20}\\.[A-Za-z0-9_-]{1,60}\\.[A-Za-z0-9_-]{1,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_answer_is_read_or_refused_without_panicking(answer in json()) {
            let _ = parse_token_response(&answer);
            let _ = envelope_message(&answer);
        }

        #[test]
        fn any_bytes_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(answer) = serde_json::from_slice::<Value>(&bytes) {
                let _ = parse_token_response(&answer);
            }
        }
    }
}
