//! `tapis login`: the notebooks' `connect_tapis()`, done right — plus renewal and device login.

use anyhow::Context as _;
use chrono::Utc;
use tapis_auth::{AuthError, Origin, Session, connect, device_login};
use tapis_core::SecretString;
use tapis_store::TokenStore;

use crate::cli::{GlobalArgs, LoginArgs};
use crate::exit::Exit;
use crate::output;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &LoginArgs) -> anyhow::Result<Exit> {
    let target = crate::profile::resolve(global)?;
    let mut options = super::login_options(global, &target, &args.credentials)?;
    options.force = args.force;
    options.n_prompt_attempts = args.attempts;
    options.no_refresh = args.no_refresh;
    options.device_poll_interval = args.device_poll_interval;
    let mut prompter = TerminalPrompter::new();
    let session = if args.device {
        let (client_id, client_key) = device_client(&options.token_file, &options.base_url, args.client_id.as_deref())?;
        let session = device_login(&options, &client_id, client_key, &mut prompter);
        prompter.end_live_line();
        session
    } else {
        connect(&options, &mut prompter)
    }
    .with_context(|| format!("cannot log in to {}", options.base_url))?;
    if session.origin() != Origin::Given {
        super::remember_profile(&target, session.username());
    }
    report(&session)
}

/// The OAuth client for a device login: `--client-id` (its key from TAPIS_CLIENT_KEY, or from
/// the token file when it holds the same client), else the client in the token file.
fn device_client(
    token_file: &std::path::Path,
    base_url: &tapis_core::BaseUrl,
    client_id: Option<&str>,
) -> anyhow::Result<(String, Option<SecretString>)> {
    let saved = TokenStore::new(token_file)
        .load()
        .ok()
        .and_then(|loaded| loaded.tokens)
        .filter(|tokens| tokens.belongs_to(base_url))
        .and_then(|tokens| tokens.client);
    let key_from_env =
        std::env::var(super::CLIENT_KEY_VARIABLE).ok().filter(|key| !key.is_empty()).map(SecretString::from);
    match (client_id, saved) {
        (Some(id), Some(saved)) if saved.client_id == id => Ok((id.to_owned(), Some(saved.client_key))),
        (Some(id), _) => Ok((id.to_owned(), key_from_env)),
        (None, Some(saved)) => Ok((saved.client_id, Some(saved.client_key))),
        (None, None) => Err(AuthError::NoClient { base_url: base_url.to_string() }.into()),
    }
}

fn report(session: &Session) -> anyhow::Result<Exit> {
    let user = session.username().unwrap_or("an unknown user");
    let expiry = format!(
        "expires at {} ({})",
        output::instant(session.expires_at()),
        output::time_left(session.expires_at() - Utc::now())
    );
    let file = session.token_file().display();
    let base_url = session.base_url();
    match session.origin() {
        Origin::Saved | Origin::Given => output::say(&format!(
            "Already logged in to {base_url} as {user}; the token in {file} {expiry}. Use --force to log in again."
        )),
        Origin::SavedByAnotherProcess => output::say(&format!(
            "Logged in to {base_url} as {user} by another tapis process; the token in {file} {expiry}."
        )),
        Origin::Renewed if session.is_saved() => output::say(&format!(
            "Renewed the token for {base_url} as {user} without a password. Token saved to {file}; it {expiry}."
        )),
        Origin::LoggedIn if session.is_saved() => {
            output::say(&format!("Logged in to {base_url} as {user}. Token saved to {file}; it {expiry}."))
        }
        Origin::Renewed | Origin::LoggedIn => {
            output::say(&format!("Logged in to {base_url} as {user}, but the token was not saved; it {expiry}."));
            return Ok(Exit::Unexpected);
        }
    }
    Ok(Exit::Ok)
}
