//! `tapis exec -- COMMAND`: run a command with a valid token in its environment.

use std::io::ErrorKind;
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
    // The command's own exit code, as a shell reports it (128 + the signal that killed it).
    Ok(Exit::Passthrough(crate::platform::exit_status::shell_exit_code(status)))
}
