//! `tapis exec -- COMMAND`: run a command with a valid token in its environment.

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;

use crate::cli::{ExecArgs, GlobalArgs};
use crate::exit::Exit;
use crate::output;

pub(crate) fn run(global: &GlobalArgs, args: &ExecArgs) -> anyhow::Result<Exit> {
    let (session, _) = super::session(global, &args.credentials, args.min_valid)?;
    let (program, arguments) = args.command.split_first().expect("clap requires a command");
    let mut command = Command::new(program);
    command
        .args(arguments)
        .env(super::TOKEN_VARIABLE, session.access_token().expose_secret())
        .env("TAPIS_BASE_URL", session.base_url().as_str());
    // The command needs a token, not the means to make more: no password, no client key.
    for name in super::SECRET_VARIABLES {
        command.env_remove(name);
    }
    let outcome = command.status();
    let status = match outcome {
        Ok(status) => status,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            output::error_line(&format!("command not found: {}", program.to_string_lossy()));
            return Ok(Exit::Passthrough(127));
        }
        Err(error) => {
            output::error_line(&format!("cannot run {}: {error}", program.to_string_lossy()));
            return Ok(Exit::Passthrough(126));
        }
    };
    // The command's own exit code; a command killed by a signal exits 128 + the signal, as
    // shells report it.
    let code = status.code().or_else(|| status.signal().map(|signal| 128 + signal)).unwrap_or(1);
    Ok(Exit::Passthrough(u8::try_from(code).unwrap_or(1)))
}
