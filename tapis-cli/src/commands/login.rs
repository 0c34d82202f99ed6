//! `tapis login`: the notebooks' `connect_tapis()`, done right — plus renewal and device login.

use anyhow::Context as _;
use tapis_auth::settings::Purpose;
use tapis_auth::{DeviceClient, Origin, SecretString, Session, blocking};

use crate::cli::{GlobalArgs, LoginArgs};
use crate::exit::Exit;
use crate::output;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &LoginArgs) -> anyhow::Result<Exit> {
    let password = super::password(&args.credentials)?;
    let target = crate::profile::resolve_with_credentials(global, &args.credentials, password, Purpose::Login)?;
    let mut options = super::login_options(global, &target);
    // Pointing a profile at another server replaces its tokens of the old one, as --force does.
    options.force = args.force || target.changes_server;
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
    report(&session, super::client_config(global).clock.now())
}

/// The library's summary of the login, with the CLI's hint for a token that was reused.
fn report(session: &Session, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Exit> {
    let summary = session.summary(now);
    match session.origin() {
        Origin::Saved | Origin::Given => output::say(&format!("{summary} Use --force to log in again.")),
        _ => output::say(&summary.to_string()),
    }
    Ok(if summary.is_unsaved_new_token() { Exit::Unexpected } else { Exit::Ok })
}
