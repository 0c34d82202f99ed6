//! Test helpers shared by the tapis crates: [`MockTapis`], a mock Tapis server, and the fake
//! (unsigned) Tapis JWTs and answers it hands out, shaped like the real services' answers:
//! the JSON envelope, 400 with a message for client errors, plain text from the Java
//! services, HTML from a gateway. Also [`flock_shim`], a preloadable library that makes
//! `flock` fail as it does on file systems without it, and [`open_shim`], one that makes
//! opening a file fail as a flaky or read-only mount does. Not published.

mod flock_shim;
mod mock;
mod open_shim;

pub use flock_shim::{FLOCK_ERRNO_VARIABLE, FLOCK_ERRNOS, fail_flock_with, flock_shim};
pub use mock::{CLIENTS_PATH, DEVICE_CODE_PATH, Expect, MockTapis, REVOKE_PATH, TOKENS_PATH, USERINFO_PATH, messages};
pub use open_shim::{FailingOpen, fail_open_with, open_shim};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Access-token claims as Tapis issues them, for `username` on the server at `base_url`.
pub fn claims(username: &str, exp: i64, base_url: &str) -> Value {
    json!({
        "jti": format!("jti-{username}-{exp}"),
        "iss": format!("{base_url}/v3/tokens"),
        "sub": format!("{username}@designsafe"),
        "tapis/tenant_id": "designsafe",
        "tapis/token_type": "access",
        "tapis/delegation": false,
        "tapis/delegation_sub": null,
        "tapis/username": username,
        "tapis/account_type": "user",
        "exp": exp,
        "tapis/client_id": null,
        "tapis/grant_type": "password",
    })
}

/// An RS256-shaped JWT with the given claims and a fake signature.
pub fn jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.ZmFrZS1zaWduYXR1cmU")
}

/// Python's `isoformat()` of a Unix time with microseconds, as Tapis writes `expires_at`.
pub fn isoformat(unix_seconds: i64) -> String {
    let time = chrono::DateTime::from_timestamp(unix_seconds, 123_456_000).unwrap_or_default();
    time.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// The notebooks' `expires_at`: [`isoformat`] without the fraction (`2025-09-05T02:30:48+00:00`).
pub fn isoformat_seconds(unix_seconds: i64) -> String {
    isoformat(unix_seconds).replace(".123456", "")
}

/// The Tapis envelope of a successful answer around `result`.
pub fn envelope(message: &str, result: Value) -> Value {
    json!({"message": message, "metadata": {}, "result": result, "status": "success", "version": "26Q2.0"})
}

/// The body of a successful password grant: the Tapis envelope around an access token.
pub fn token_response(access_jwt: &str, exp: i64) -> String {
    token_envelope(access_jwt, exp, None).to_string()
}

/// The body of a successful grant through an OAuth client: access and refresh tokens.
pub fn token_response_with_refresh(access_jwt: &str, exp: i64, refresh_jwt: &str, refresh_exp: i64) -> String {
    token_envelope(access_jwt, exp, Some((refresh_jwt, refresh_exp))).to_string()
}

fn token_envelope(access_jwt: &str, exp: i64, refresh: Option<(&str, i64)>) -> Value {
    let mut result = json!({
        "access_token": {
            "access_token": access_jwt,
            "expires_at": isoformat(exp),
            "expires_in": 14400,
            "jti": "0b5c6a2e-8f49-4a8e-9c4b-2d4b0c1c7d11",
        }
    });
    if let Some((refresh_jwt, refresh_exp)) = refresh {
        result["refresh_token"] = json!({
            "refresh_token": refresh_jwt,
            "expires_at": isoformat(refresh_exp),
            "expires_in": 31_536_000,
            "jti": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        });
    }
    envelope("Token created successfully.", result)
}

/// Refresh-token claims as Tapis issues them.
pub fn refresh_claims(username: &str, exp: i64, base_url: &str) -> Value {
    let mut claims = claims(username, exp, base_url);
    claims["tapis/token_type"] = "refresh".into();
    claims["jti"] = format!("refresh-{username}-{exp}").into();
    claims
}

/// The body of a successful `POST /v3/oauth2/clients`.
pub fn client_response(client_id: &str, client_key: &str, username: &str) -> String {
    let result = json!({
        "client_id": client_id,
        "client_key": client_key,
        "callback_url": "",
        "create_time": "2026-11-28 12:00:00.000000",
        "description": "tapis CLI on test",
        "display_name": "tapis CLI on test",
        "owner": username,
        "tenant_id": "designsafe",
        "active": true,
    });
    envelope("Client created successfully.", result).to_string()
}

/// `Basic base64(id:key)`, as an HTTP Authorization header value.
pub fn basic_auth(client_id: &str, client_key: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_key}")))
}

/// The body of a Tapis error answer.
pub fn error_response(message: &str) -> String {
    json!({"message": message, "metadata": {}, "result": null, "status": "error", "version": "26Q2.0"}).to_string()
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

/// The ```sh blocks of a Markdown text, indented ones included, each without its indent.
pub fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for line in markdown.lines() {
        let indent = line.len() - line.trim_start().len();
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some((indent, String::new())),
            (Some(_), "```") => blocks.extend(current.take().map(|(_, block)| block)),
            (Some((indent, block)), _) => {
                block.push_str(line.get(*indent..).unwrap_or(line.trim_start()));
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    #[test]
    fn isoformat_matches_python() {
        // python3 -c "import datetime; print(datetime.datetime.fromtimestamp(1741119331, datetime.timezone.utc).isoformat())"
        assert_eq!(super::isoformat(1_741_119_331), "2025-03-04T20:15:31.123456+00:00");
        assert_eq!(super::isoformat(951_782_400), "2000-02-29T00:00:00.123456+00:00");
        assert_eq!(super::isoformat_seconds(4_070_908_800), "2099-01-01T00:00:00+00:00");
    }

    #[test]
    fn shell_blocks_are_read_whole_and_unindented() {
        let markdown = "text\n```sh\na\nb\n```\n- item:\n\n  ```sh\n  c\n  ```\n```python\nd\n```\n";
        assert_eq!(super::shell_blocks(markdown), ["a\nb\n", "c\n"]);
    }
}
