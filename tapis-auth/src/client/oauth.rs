//! The OAuth requests, one method per endpoint: the grants, clients, device codes,
//! userinfo and revocation.

use reqwest::RequestBuilder;
use serde_json::{Value, json};
use tapis_auth_core::expiry::parse_http_date;
use tapis_auth_core::{ExposeSecret as _, OAuthClient, RefreshToken, SecretString, TokenSet};

use super::send::Repeat;
use super::{CLIENTS_PATH, DEVICE_CODE_PATH, REVOKE_PATH, TOKEN_HEADER, TOKENS_PATH, TapisClient, USERINFO_PATH};
use crate::error::AuthError;
use crate::response::parse_token_response;

impl TapisClient {
    /// The password grant: one `POST /v3/oauth2/tokens`, retried only on transient failures.
    /// Without an OAuth client the answer has an access token only.
    pub async fn password_grant(&self, username: &str, password: &SecretString) -> Result<TokenSet, AuthError> {
        self.password_grant_via(username, password, None).await
    }

    /// The password grant through an OAuth client (HTTP Basic `client_id:client_key`), which
    /// also yields a refresh token. A client the server does not know answers 400
    /// `Invalid client credentials: ...`.
    pub async fn password_grant_via(
        &self,
        username: &str,
        password: &SecretString,
        client: Option<&OAuthClient>,
    ) -> Result<TokenSet, AuthError> {
        crate::secrets::remember(password);
        if let Some(client) = client {
            crate::secrets::remember_client(client);
        }
        let url = self.base_url.join(TOKENS_PATH);
        let body = json!({"username": username, "password": password.expose_secret(), "grant_type": "password"});
        let answer = self.send_with_retries(&url, || with_client(self.http.post(&url).json(&body), client)).await?;
        self.tokens_from(&url, &answer, client)
    }

    /// The refresh grant: a new access token and a new (rotated) refresh token, without the
    /// password. Needs the client the refresh token was issued through.
    pub async fn refresh_grant(&self, refresh: &RefreshToken, client: &OAuthClient) -> Result<TokenSet, AuthError> {
        let _held = crate::secrets::hold_text(refresh.expose_secret());
        crate::secrets::remember_client(client);
        let url = self.base_url.join(TOKENS_PATH);
        let body = json!({"grant_type": "refresh_token", "refresh_token": refresh.expose_secret()});
        let answer =
            self.send(&url, Repeat::Once, || with_client(self.http.post(&url).json(&body), Some(client))).await?;
        self.tokens_from(&url, &answer, Some(client))
    }

    /// Creates an OAuth client for the user the access token belongs to
    /// (`POST /v3/oauth2/clients`); the server chooses its id and key. Sent once: after a
    /// failure that leaves open whether the client was made, the error is
    /// [`AuthError::Unconfirmed`] (look for it with [`TapisClient::find_client`]).
    pub async fn create_client(&self, access_token: &str, description: &str) -> Result<OAuthClient, AuthError> {
        let _held = crate::secrets::hold_text(access_token);
        let url = self.base_url.join(CLIENTS_PATH);
        let body = json!({"description": description, "display_name": description, "callback_url": ""});
        let answer = self
            .send(&url, Repeat::Once, || self.http.post(&url).header(TOKEN_HEADER, access_token).json(&body))
            .await?;
        client_from(answer.get("result")).ok_or_else(|| AuthError::InvalidResponse {
            url,
            reason: "the new client has no client_id or client_key".into(),
        })
    }

    /// The user's OAuth client whose description is exactly `description`, from
    /// `GET /v3/oauth2/clients`; `None` when there is none, or when the list does not give
    /// its key.
    pub async fn find_client(&self, access_token: &str, description: &str) -> Result<Option<OAuthClient>, AuthError> {
        let _held = crate::secrets::hold_text(access_token);
        let url = self.base_url.join(CLIENTS_PATH);
        let answer = self.send(&url, Repeat::Safe, || self.http.get(&url).header(TOKEN_HEADER, access_token)).await?;
        let clients = answer.get("result").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        Ok(clients
            .iter()
            .filter(|client| client.get("description").and_then(Value::as_str) == Some(description))
            .find_map(|client| client_from(Some(client))))
    }

    /// Deletes an OAuth client (`DELETE /v3/oauth2/clients/{client_id}`).
    pub async fn delete_client(&self, access_token: &str, client_id: &str) -> Result<(), AuthError> {
        let _held = crate::secrets::hold_text(access_token);
        let url = self.base_url.join(&format!("{CLIENTS_PATH}/{}", path_segment(client_id)));
        self.send_with_retries(&url, || self.http.delete(&url).header(TOKEN_HEADER, access_token)).await.map(drop)
    }

    /// Starts a device login (`POST /v3/oauth2/device/code`).
    pub async fn device_code(&self, client_id: &str) -> Result<DeviceCode, AuthError> {
        let url = self.base_url.join(DEVICE_CODE_PATH);
        let body = json!({"client_id": client_id});
        let answer = self.send_with_retries(&url, || self.http.post(&url).json(&body)).await?;
        let result = answer.get("result");
        let field = |name: &str| result.and_then(|result| result.get(name)).and_then(Value::as_str);
        let invalid = |reason: &str| AuthError::InvalidResponse { url: url.clone(), reason: reason.to_owned() };
        let device_code = field("device_code").ok_or_else(|| invalid("there is no device_code in the answer"))?;
        let user_code = field("user_code").ok_or_else(|| invalid("there is no user_code in the answer"))?;
        let verification_uri =
            field("verification_uri").ok_or_else(|| invalid("there is no verification_uri in the answer"))?;
        // `expires_in` is an HTTP date here (the code's expiry), not seconds; a number of
        // seconds is accepted too, in case a server follows RFC 8628.
        let expires_in = result.and_then(|result| result.get("expires_in"));
        let expires_at = match expires_in {
            Some(Value::String(date)) => parse_http_date(date).ok(),
            _ => None,
        };
        let device_code = SecretString::from(device_code.to_owned());
        crate::secrets::remember(&device_code);
        Ok(DeviceCode {
            device_code,
            user_code: user_code.to_owned(),
            verification_uri: verification_uri.to_owned(),
            expires_at,
            expires_in_seconds: expires_in.and_then(Value::as_u64),
        })
    }

    /// Asks once whether the user has approved a device login.
    pub async fn poll_device_token(
        &self,
        client_id: &str,
        device_code: &SecretString,
    ) -> Result<DevicePoll, AuthError> {
        crate::secrets::remember(device_code);
        let url = self.base_url.join(TOKENS_PATH);
        let body =
            json!({"grant_type": "device_code", "client_id": client_id, "device_code": device_code.expose_secret()});
        match self.send_with_retries(&url, || self.http.post(&url).json(&body)).await {
            Ok(answer) => Ok(DevicePoll::Approved(Box::new(self.tokens_from(&url, &answer, None)?))),
            Err(AuthError::Server { status: 400, message, .. }) if message.starts_with("device code not ready") => {
                Ok(DevicePoll::Pending)
            }
            Err(AuthError::Server { status: 400, message, .. }) if message.starts_with("device code has expired") => {
                Ok(DevicePoll::Expired)
            }
            Err(error) => Err(error),
        }
    }

    /// The signed-in user's profile (`GET /v3/oauth2/userinfo`): the envelope's `result`.
    pub async fn userinfo(&self, access_token: &str) -> Result<Value, AuthError> {
        let _held = crate::secrets::hold_text(access_token);
        let url = self.base_url.join(USERINFO_PATH);
        let answer = self.send_with_retries(&url, || self.http.get(&url).header(TOKEN_HEADER, access_token)).await?;
        match answer.get("result") {
            Some(result @ Value::Object(_)) => Ok(result.clone()),
            _ => Err(AuthError::InvalidResponse { url, reason: "there is no `result` object in the answer".into() }),
        }
    }

    fn tokens_from(&self, url: &str, answer: &Value, client: Option<&OAuthClient>) -> Result<TokenSet, AuthError> {
        let mut tokens = parse_token_response(answer)
            .map_err(|reason| AuthError::InvalidResponse { url: url.to_owned(), reason: reason.to_string() })?;
        tokens.base_url = Some(self.base_url.clone());
        tokens.client = client.cloned();
        tokens.obtained_at = Some(self.config.clock.now());
        Ok(tokens)
    }

    /// Revokes a token: `POST /v3/oauth2/tokens/revoke`.
    pub async fn revoke(&self, token: &str) -> Result<(), AuthError> {
        let _held = crate::secrets::hold_text(token);
        let url = self.base_url.join(REVOKE_PATH);
        let body = json!({"token": token});
        self.send_with_retries(&url, || self.http.post(&url).json(&body)).await.map(drop)
    }
}

/// A device login in progress: what to show the user, and what to poll with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceCode {
    /// The code the client polls with (secret).
    pub device_code: SecretString,
    /// The code the user types at the verification page.
    pub user_code: String,
    /// The page the user opens.
    pub verification_uri: String,
    /// When the code expires (Tapis sends an HTTP date).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The code's lifetime in seconds, when a server sends a number instead.
    pub expires_in_seconds: Option<u64>,
}

/// One answer while polling for a device login.
#[derive(Debug)]
#[non_exhaustive]
pub enum DevicePoll {
    /// Not approved yet (`device code not ready.`).
    Pending,
    /// The code expired before the user approved it.
    Expired,
    /// Approved: the tokens.
    Approved(Box<TokenSet>),
}

/// An OAuth client from a client object of the clients endpoint, when it has an id and a key.
fn client_from(result: Option<&Value>) -> Option<OAuthClient> {
    let field = |name: &str| result?.get(name)?.as_str().filter(|text| !text.is_empty());
    let client = OAuthClient {
        client_id: field("client_id")?.to_owned(),
        client_key: SecretString::from(field("client_key")?.to_owned()),
    };
    crate::secrets::remember_client(&client);
    Some(client)
}

/// Adds HTTP Basic client credentials when there is a client.
fn with_client(request: RequestBuilder, client: Option<&OAuthClient>) -> RequestBuilder {
    match client {
        Some(client) => request.basic_auth(&client.client_id, Some(client.client_key.expose_secret())),
        None => request,
    }
}

/// A client id as one URL path segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
