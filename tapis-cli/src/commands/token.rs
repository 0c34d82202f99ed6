//! `tapis token`: a valid access token on stdout, for `$(tapis token)`.

use std::io::Write as _;

use anyhow::Context as _;
use tapis_auth::connect;

use crate::cli::{GlobalArgs, TokenArgs};
use crate::exit::Exit;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<Exit> {
    let mut options = super::login_options(global, &args.credentials)?;
    options.min_valid = args.min_valid;
    let session = connect(&options, &mut TerminalPrompter::new())
        .with_context(|| format!("cannot get a token for {}", options.base_url))?;
    // A token that could not be saved is still printed: the caller can use it for this run,
    // and the warning has been given on stderr.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", session.access_token().expose_secret())
        .context("cannot write the token to standard output")?;
    stdout.flush().context("cannot write the token to standard output")?;
    Ok(Exit::Ok)
}
