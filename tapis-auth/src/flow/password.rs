//! The bounded password login, through the saved OAuth client or a new personal one.

use tapis_auth_core::{KeptClient, OAuthClient, TokenSet};

use super::LoginOptions;
use crate::client::{INVALID_CLIENT_PREFIX, TapisClient};
use crate::error::AuthError;
use crate::prompt::{Notice, PromptError, Prompter};

/// The OAuth client the file held before a login: the one to log in through, whether this
/// tool created it, and whose it is (a client is used only for its own user's grants).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PreviousClient<'a> {
    client: Option<&'a OAuthClient>,
    created_client_id: Option<&'a String>,
    /// The user of the saved tokens or kept client.
    user: Option<&'a str>,
    /// Whether the file holds something a login as another user would throw away (a live
    /// token, a client's key).
    worth_keeping: bool,
}

impl<'a> PreviousClient<'a> {
    /// The client of saved tokens.
    pub(super) fn of_tokens(tokens: &'a TokenSet, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            client: tokens.client.as_ref(),
            created_client_id: tokens.created_client_id.as_ref(),
            user: tokens.access.username(),
            worth_keeping: tokens.has_something_to_lose(now),
        }
    }

    /// A client a logout kept.
    pub(super) fn of_kept(kept: &'a KeptClient) -> Self {
        Self {
            client: Some(&kept.client),
            created_client_id: kept.created_client_id.as_ref(),
            user: kept.username.as_deref(),
            worth_keeping: true,
        }
    }

    /// Whether the saved tokens or client are another user's than `username`.
    pub(super) fn is_other_users(&self, username: &str) -> bool {
        (self.client.is_some() || self.worth_keeping) && self.user != Some(username)
    }
}

/// The bounded login loop: at most `n_prompt_attempts` tries when anything is prompted for,
/// exactly one when everything was supplied. Unless `no_refresh`, the grant goes through the
/// saved OAuth client, or a personal client is made for the purpose (see [`connect`]).
pub(super) async fn log_in_with_password(
    client: &TapisClient,
    options: &LoginOptions,
    prompter: &mut dyn Prompter,
    saved: PreviousClient<'_>,
    store: &tapis_store::TokenStore,
) -> Result<TokenSet, AuthError> {
    let supplied = &options.credentials;
    let prompts_for_something = supplied.username.is_none() || supplied.password.is_none();
    let n_attempts = if prompts_for_something { options.n_prompt_attempts.max(1) } else { 1 };
    let mut oauth = if options.no_refresh { None } else { saved.client.cloned() };
    let mut saved = saved;
    let mut attempt = 1;
    // A prompted username is asked for once and kept when the password is rejected: Tapis
    // answers a wrong password and an unknown user alike ("Invalid username/password
    // combination."), so the likelier slip, in the password typed unseen, is the one asked
    // again, and the password prompt shows the username that is kept. Only an answer that
    // is about the username itself (`Invalid username; user … does not have access to the
    // … tenant.`) asks for the username again.
    let mut prompted_username = None;
    let (mut tokens, username, password) = loop {
        let username = match (&supplied.username, &prompted_username) {
            (Some(username), _) | (None, Some(username)) => username.clone(),
            (None, None) => {
                let username = non_empty(prompter.username(&options.base_url)?.trim().to_owned(), "username")?;
                prompted_username = Some(username.clone());
                username
            }
        };
        // An OAuth client is used only for its own user's grants, and another user's tokens
        // are replaced only when forced: the user may be known only now, from the prompt.
        if saved.is_other_users(&username) {
            if !options.force {
                return Err(super::connect::other_user(saved.user, &username, options, store));
            }
            saved = PreviousClient::default();
            oauth = None;
        }
        let password = match &supplied.password {
            Some(password) => password.clone(),
            None => prompter.password(&username)?,
        };
        let mut outcome = client.password_grant_via(&username, &password, oauth.as_ref()).await;
        if let (Err(AuthError::Server { status: 400, message, .. }), Some(rejected)) = (&outcome, &oauth)
            && message.starts_with(INVALID_CLIENT_PREFIX)
        {
            // The saved client is gone (deleted on the server): log in without it, and a new
            // one is made below.
            prompter.notice(&Notice::ClientRejected { client_id: rejected.client_id.clone() });
            oauth = None;
            outcome = client.password_grant_via(&username, &password, None).await;
        }
        match outcome {
            Ok(tokens) => break (tokens, username, password),
            Err(AuthError::CredentialsRejected { message, .. }) if attempt < n_attempts => {
                if message.starts_with(USERNAME_REJECTED_PREFIX) {
                    prompted_username = None;
                }
                prompter.notice(&Notice::CredentialsRejected { message, attempts_left: n_attempts - attempt });
                attempt += 1;
            }
            Err(AuthError::CredentialsRejected { message, .. }) => {
                return Err(AuthError::CredentialsRejected { message, n_attempts: attempt });
            }
            Err(error) => return Err(error),
        }
    };
    let saved_created = saved.created_client_id.cloned();
    if options.no_refresh {
        // Keep a known client in the file, so that a logout can still delete it.
        tokens.client = saved.client.cloned();
        tokens.created_client_id = saved_created;
        return Ok(tokens);
    }
    if let Some(oauth) = &oauth {
        // The saved client took part and is usable: never make another one.
        tokens.created_client_id = saved_created;
        if tokens.refresh.is_none() {
            let reason = format!("the server gave no refresh token through the client {}", oauth.client_id);
            prompter.notice(&Notice::RenewalOff { reason });
        }
        return Ok(tokens);
    }
    // No client yet: make a personal one with the new access token, then log in through it to
    // get a refresh token as well. The description is unique to this login, so that a client
    // whose creation went unanswered can be found again instead of being made twice.
    let access_token = tokens.access.expose_secret().to_owned();
    let description = format!("{} ({:08x})", options.client_description, rand::random::<u32>());
    let new_client = match client.create_client(&access_token, &description).await {
        Ok(new_client) => new_client,
        Err(AuthError::Unconfirmed { .. }) => match client.find_client(&access_token, &description).await {
            Ok(Some(found)) => found,
            Ok(None) | Err(_) => {
                let reason = format!(
                    "the answer to creating an OAuth client was lost, and no client described as `{description}` was found"
                );
                prompter.notice(&Notice::RenewalOff { reason });
                return Ok(tokens);
            }
        },
        Err(error) => {
            prompter.notice(&Notice::RenewalOff { reason: error.to_string() });
            return Ok(tokens);
        }
    };
    prompter.notice(&Notice::ClientCreated { client_id: new_client.client_id.clone() });
    let created_client_id = Some(new_client.client_id.clone());
    match client.password_grant_via(&username, &password, Some(&new_client)).await {
        Ok(with_refresh) => Ok(TokenSet { created_client_id, ..with_refresh }),
        Err(error) => {
            prompter.notice(&Notice::RenewalOff { reason: error.to_string() });
            tokens.client = Some(new_client);
            tokens.created_client_id = created_client_id;
            Ok(tokens)
        }
    }
}

/// How Tapis begins a rejection that is about the username, not the password.
const USERNAME_REJECTED_PREFIX: &str = "Invalid username;";

fn non_empty(answer: String, what: &'static str) -> Result<String, PromptError> {
    if answer.is_empty() { Err(PromptError::Empty(what)) } else { Ok(answer) }
}
