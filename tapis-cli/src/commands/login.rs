//! `tapis login`: the notebooks' `connect_tapis()`, done right — plus renewal and device login.

use anyhow::Context as _;
use chrono::Utc;
use tapis_auth::{DeviceClient, Origin, SecretString, Session, blocking};

use crate::cli::{GlobalArgs, LoginArgs};
use crate::exit::Exit;
use crate::output;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &LoginArgs) -> anyhow::Result<Exit> {
    let target = crate::profile::resolve_for_login(global)?;
    let mut options = super::login_options(global, &target, &args.credentials)?;
    options.force = args.force;
    options.n_prompt_attempts = args.attempts;
    options.no_refresh = args.no_refresh;
    options.device_poll_interval = args.device_poll_interval;
    let mut prompter = TerminalPrompter::new();
    let session = if args.device {
        // A client named here takes its key from TAPIS_CLIENT_KEY, unless the token file
        // holds the same client; without a name, the token file's client is used.
        options.device_client = args.client_id.as_deref().map(|client_id| {
            let mut client = DeviceClient::new(client_id);
            client.client_key =
                std::env::var(super::CLIENT_KEY_VARIABLE).ok().filter(|key| !key.is_empty()).map(SecretString::from);
            client
        });
        let session = blocking::device_login(&options, &mut prompter);
        prompter.end_live_line();
        session.map_err(anyhow::Error::from)
    } else {
        super::connect(&options, &mut prompter)
    }
    .with_context(|| format!("cannot log in to {}", options.base_url))?;
    if session.origin() != Origin::Given {
        super::remember_profile(&target, session.username());
    }
    report(&session)
}

fn report(session: &Session) -> anyhow::Result<Exit> {
    let user = session.username().unwrap_or("an unknown user");
    let expiry = format!(
        "expires at {} ({})",
        output::instant(session.expires_at()),
        output::time_left(session.expires_at() - Utc::now())
    );
    let file = session.token_file().unwrap_or(std::path::Path::new("")).display();
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
        _ => {
            output::say(&format!("Logged in to {base_url} as {user}, but the token was not saved; it {expiry}."));
            return Ok(Exit::Unexpected);
        }
    }
    Ok(Exit::Ok)
}
