//! [`logout`]: delete this tool's OAuth client, revoke the tokens, remove the file.

use chrono::{TimeDelta, Utc};
use tapis_auth_core::TokenSet;
use tapis_store::TokenStore;

use super::{LoginOptions, lock};
use crate::client::TapisClient;
use crate::error::AuthError;

/// What [`logout`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct LogoutReport {
    /// Whether there was a token file to remove.
    pub removed_file: bool,
    /// Whether the access token was revoked on the server.
    pub revoked: bool,
    /// Whether the refresh token was revoked on the server.
    pub revoked_refresh: bool,
    /// The personal OAuth client deleted on the server, if one was.
    pub deleted_client: Option<String>,
    /// The OAuth client of the saved tokens that was kept because this tool did not create it
    /// (one the user named, or one recorded by a version that did not mark its own clients).
    pub kept_client: Option<String>,
    /// Why the access token was not revoked, when it was not (none saved, expired, another
    /// server, or the server's error).
    pub not_revoked_because: Option<String>,
    /// What failed on the server side. Never fatal: the file is removed regardless.
    pub warnings: Vec<String>,
}

/// Logs out: deletes the OAuth client this tool created at login (unless
/// `options.keep_client`; a client the user named, or one the token file does not record as
/// created here, is never deleted), revokes the refresh and access tokens (best effort) and
/// deletes the token file. A missing file is not an error. Tokens are only ever sent to the
/// base URL, and only if they belong to it.
///
/// It holds the token file's lock throughout, as every writer does, so that a renewal running
/// at the same moment can neither be deleted half-way nor bring the file back; when the lock
/// is not had within `options.lock_timeout`, nothing is changed.
pub async fn logout(options: &LoginOptions) -> Result<LogoutReport, AuthError> {
    let base_url = &options.base_url;
    let store = TokenStore::new(&options.token_file);
    let _lock = lock(&store, options.lock_timeout).await?;
    let tokens = match store.load() {
        Ok(loaded) => {
            loaded.tokens.iter().for_each(crate::secrets::remember_tokens);
            loaded.tokens
        }
        Err(error) if error.counts_as_no_token() => None,
        Err(error) => return Err(error.into()),
    };
    let mut report = LogoutReport::default();
    match &tokens {
        None => report.not_revoked_because = Some("no saved token".to_owned()),
        Some(tokens) if !tokens.belongs_to(base_url) => {
            report.not_revoked_because = Some(format!("the saved token does not belong to {base_url}"));
        }
        Some(tokens) => log_out_on_server(options, tokens, &mut report).await,
    }
    report.removed_file = store.remove()?;
    Ok(report)
}

async fn log_out_on_server(options: &LoginOptions, tokens: &TokenSet, report: &mut LogoutReport) {
    let client = match TapisClient::new(options.base_url.clone(), options.client.clone()) {
        Ok(client) => client,
        Err(error) => {
            report.not_revoked_because = Some(error.to_string());
            return;
        }
    };
    let now = Utc::now();
    let access_is_live = tokens.access.time_left(now) > TimeDelta::zero();
    if let Some(client_id) = tokens.created_client_id.as_ref().filter(|_| !options.keep_client) {
        if access_is_live {
            match client.delete_client(tokens.access.expose_secret(), client_id).await {
                Ok(()) => report.deleted_client = Some(client_id.clone()),
                Err(error) => report.warnings.push(format!("the OAuth client {client_id} was not deleted: {error}")),
            }
        } else {
            report.warnings.push(format!(
                "the OAuth client {client_id} was not deleted: the access token has expired (log in again, then log out, to delete it)"
            ));
        }
    }
    if let Some(oauth) =
        tokens.client.as_ref().filter(|oauth| tokens.created_client_id.as_ref() != Some(&oauth.client_id))
        && !options.keep_client
    {
        report.kept_client = Some(oauth.client_id.clone());
    }
    if let Some(refresh) = tokens.refresh.as_ref().filter(|refresh| refresh.is_live(now)) {
        match client.revoke(refresh.expose_secret()).await {
            Ok(()) => report.revoked_refresh = true,
            Err(error) => report.warnings.push(format!("the refresh token was not revoked: {error}")),
        }
    }
    if access_is_live {
        match client.revoke(tokens.access.expose_secret()).await {
            Ok(()) => report.revoked = true,
            Err(error) => report.not_revoked_because = Some(error.to_string()),
        }
    } else {
        report.not_revoked_because = Some("the saved token had already expired".to_owned());
    }
}
