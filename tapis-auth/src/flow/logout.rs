//! [`logout`]: delete this tool's OAuth client, revoke the tokens, remove the file (or keep
//! the client in it).

use chrono::TimeDelta;
use tapis_auth_core::{KeptClient, TokenSet};
use tapis_store::{ForUpdate, TokenStore};

use super::{LoginOptions, lock};
use crate::client::TapisClient;
use crate::error::AuthError;

/// What [`logout`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct LogoutReport {
    /// Whether there was a token file to remove.
    pub removed_file: bool,
    /// Whether the token file held tokens of this server (a file with only a kept client
    /// holds none).
    pub found_tokens: bool,
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
    /// The OAuth client whose id and key stay in the token file, without tokens, so that the
    /// next login goes through it (and renewal is on again): one kept on purpose
    /// (`keep_client`), or one this tool made that could not be deleted.
    pub client_kept_in_file: Option<String>,
    /// What failed on the server side. Never fatal: the tokens are given up regardless.
    pub warnings: Vec<String>,
    /// Where a token file whose contents were unusable was kept before it was removed.
    pub unusable_file_kept: Option<std::path::PathBuf>,
}

/// Logs out: deletes the OAuth client this tool created at login (unless
/// `options.keep_client`; a client the user named, or one the token file does not record as
/// created here, is never deleted), revokes the refresh and access tokens (best effort) and
/// deletes the token file. A missing file is not an error. Tokens are only ever sent to the
/// base URL, and only if they belong to it.
///
/// It acts only on the tokens of `options.base_url`: a file that holds another server's tokens
/// (or a client kept for another server) is left as it is, byte for byte, and the logout fails
/// with [`AuthError::OtherServer`]; one that holds another user's tokens than
/// `options.credentials.username`, when that is given, with [`AuthError::OtherUser`]. Tokens of unknown origin, which no server can claim, are
/// removed without being sent anywhere.
///
/// A client's key is not thrown away while the client exists: with `keep_client`, and when
/// this tool's client could not be deleted (no live access token, or the server refused), the
/// tokens are given up but the client's id and key stay in the token file
/// ([`LogoutReport::client_kept_in_file`]); the next login goes through that client.
///
/// It holds the token file's lock throughout, as every writer does, so that a renewal running
/// at the same moment can neither be deleted half-way nor bring the file back; when the lock
/// is not had within `options.lock_timeout`, nothing is changed. A token file that cannot be
/// read is an error and stays as it is; one whose contents are unusable is removed, after a
/// copy is kept ([`LogoutReport::unusable_file_kept`]).
pub async fn logout(options: &LoginOptions) -> Result<LogoutReport, AuthError> {
    let base_url = &options.base_url;
    let store = TokenStore::new(&options.token_file);
    let held = lock(&store, options.lock_timeout).await?;
    // A file that cannot be read is an error here: it is never removed unread.
    let ForUpdate { contents, guard } = store.read_for_update(&held)?;
    let (tokens, kept) = match contents {
        Ok(loaded) => {
            if let Some(kept) = &loaded.kept_client {
                crate::secrets::remember_client(&kept.client);
            }
            (loaded.tokens, loaded.kept_client)
        }
        Err(error) if error.counts_as_no_token() => (None, None),
        Err(error) => return Err(error.into()),
    };
    let _held = tokens.as_ref().map(crate::secrets::hold_tokens).unwrap_or_default();
    let other_server = |server: &tapis_auth_core::BaseUrl| AuthError::OtherServer {
        server: server.to_string(),
        base_url: base_url.to_string(),
        path: store.path().to_path_buf(),
    };
    let mut report = LogoutReport::default();
    let keep = match (&tokens, kept) {
        (None, None) => {
            report.not_revoked_because = Some("no saved token".to_owned());
            None
        }
        (Some(tokens), _) if !tokens.belongs_to(base_url) => {
            if let Some(server) = tokens.server() {
                return Err(other_server(&server));
            }
            report.not_revoked_because = Some("the saved token belongs to no known server".to_owned());
            None
        }
        // Another user's tokens than the one asked for are not this logout's to remove.
        (Some(tokens), _)
            if let Some(asked) = options.credentials.username.as_deref()
                && tokens.access.username() != Some(asked) =>
        {
            return Err(super::connect::other_user(tokens.access.username(), asked, options, &store));
        }
        (Some(tokens), _) => {
            report.found_tokens = true;
            let keep = log_out_on_server(options, tokens, &mut report).await;
            keep.then(|| tokens.kept_client()).flatten()
        }
        (None, Some(kept)) if kept.base_url != *base_url => return Err(other_server(&kept.base_url)),
        (None, Some(kept))
            if let Some(asked) = options.credentials.username.as_deref()
                && kept.username.as_deref() != Some(asked) =>
        {
            return Err(super::connect::other_user(kept.username.as_deref(), asked, options, &store));
        }
        (None, Some(kept)) => {
            report.not_revoked_because = Some("no saved token".to_owned());
            keep_kept_client(options, kept, &mut report)
        }
    };
    match keep {
        Some(kept) => {
            report.unusable_file_kept = guard.replace_kept_client(&kept)?.corrupt_copy;
            report.client_kept_in_file = Some(kept.client.client_id);
        }
        None => {
            let written = guard.remove()?;
            report.removed_file = written.replaced_file;
            report.unusable_file_kept = written.corrupt_copy;
        }
    }
    Ok(report)
}

/// A file that holds only a kept client: it stays while the client is kept on purpose or is
/// one this tool made (deleting it needs a token, which there is none of).
fn keep_kept_client(options: &LoginOptions, kept: KeptClient, report: &mut LogoutReport) -> Option<KeptClient> {
    let client_id = &kept.client.client_id;
    if options.keep_client {
        return Some(kept);
    }
    if kept.created_client_id.as_ref() == Some(client_id) {
        report.warnings.push(format!(
            "the OAuth client {client_id} was not deleted: there is no token to delete it with (log in again, then log out, to delete it)"
        ));
        return Some(kept);
    }
    report.kept_client = Some(client_id.clone());
    None
}

/// Deletes this tool's client and revokes the tokens on the server; returns whether the
/// client's id and key should stay in the token file.
async fn log_out_on_server(options: &LoginOptions, tokens: &TokenSet, report: &mut LogoutReport) -> bool {
    // The client stays when kept on purpose, or when it is this tool's and was not deleted.
    let has_client_key = tokens.client.is_some();
    let mut keep = options.keep_client && has_client_key;
    let client = match TapisClient::new(options.base_url.clone(), options.client.clone()) {
        Ok(client) => client,
        Err(error) => {
            report.not_revoked_because = Some(error.to_string());
            return has_client_key && (options.keep_client || tokens.created_client_id.is_some());
        }
    };
    let now = options.client.clock.now();
    let access_is_live = tokens.access.time_left(now) > TimeDelta::zero();
    if let Some(client_id) = tokens.created_client_id.as_ref().filter(|_| !options.keep_client) {
        if access_is_live {
            match client.delete_client(tokens.access.expose_secret(), client_id).await {
                Ok(()) => report.deleted_client = Some(client_id.clone()),
                Err(error) => {
                    report.warnings.push(format!("the OAuth client {client_id} was not deleted: {error}"));
                    keep = has_client_key;
                }
            }
        } else {
            report.warnings.push(format!(
                "the OAuth client {client_id} was not deleted: the access token has expired (log in again, then log out, to delete it)"
            ));
            keep = has_client_key;
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
    keep
}
