//! Test helpers shared by the tapis crates: fake (unsigned) Tapis JWTs and answers shaped like
//! the real Tapis services' (see the wire format notes in ARCHITECTURE.md). Not published.

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
    let days = unix_seconds.div_euclid(86_400);
    let seconds_of_day = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.123456+00:00",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
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
    json!({"message": "Token created successfully.", "metadata": {}, "result": result, "status": "success", "version": "26Q2.0"})
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
    json!({
        "message": "Client created successfully.",
        "metadata": {},
        "result": {
            "client_id": client_id,
            "client_key": client_key,
            "callback_url": "",
            "create_time": "2026-11-28 12:00:00.000000",
            "description": "tapis CLI on test",
            "display_name": "tapis CLI on test",
            "owner": username,
            "tenant_id": "designsafe",
            "active": true,
        },
        "status": "success",
        "version": "26Q2.0",
    })
    .to_string()
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

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn isoformat_matches_python() {
        // python3 -c "import datetime; print(datetime.datetime.fromtimestamp(1741119331, datetime.timezone.utc).isoformat())"
        assert_eq!(super::isoformat(1_741_119_331), "2025-03-04T20:15:31.123456+00:00");
        assert_eq!(super::isoformat(951_782_400), "2000-02-29T00:00:00.123456+00:00");
    }
}
