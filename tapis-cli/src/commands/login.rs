//! `tapis login`: the notebooks' `connect_tapis()`, done right.

use anyhow::Context as _;
use chrono::Utc;
use tapis_auth::{Origin, connect};

use crate::cli::{GlobalArgs, LoginArgs};
use crate::exit::Exit;
use crate::output;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &LoginArgs) -> anyhow::Result<Exit> {
    let mut options = super::login_options(global, &args.credentials)?;
    options.force = args.force;
    options.n_prompt_attempts = args.attempts;
    let session = connect(&options, &mut TerminalPrompter::new())
        .with_context(|| format!("cannot log in to {}", options.base_url))?;

    let user = session.username().unwrap_or("an unknown user");
    let expiry = format!(
        "expires at {} ({})",
        output::instant(session.expires_at()),
        output::time_left(session.expires_at() - Utc::now())
    );
    let file = session.token_file().display();
    match session.origin() {
        Origin::Saved => output::say(&format!(
            "Already logged in to {} as {user}; the token in {file} {expiry}. Use --force to log in again.",
            session.base_url()
        )),
        Origin::SavedByAnotherProcess => output::say(&format!(
            "Logged in to {} as {user} by another tapis process; the token in {file} {expiry}.",
            session.base_url()
        )),
        Origin::LoggedIn if session.is_saved() => {
            output::say(&format!("Logged in to {} as {user}. Token saved to {file}; it {expiry}.", session.base_url()))
        }
        Origin::LoggedIn => {
            output::say(&format!(
                "Logged in to {} as {user}, but the token was not saved; it {expiry}.",
                session.base_url()
            ));
            return Ok(Exit::Unexpected);
        }
    }
    Ok(Exit::Ok)
}
