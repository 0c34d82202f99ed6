//! `tapis`: sign in to a Tapis v3 platform and stay signed in.
//!
//! This file parses, dispatches and maps the result to an exit code; each verb lives in
//! `commands/`, the clap types in `cli.rs`, the exit codes in `exit.rs`.

mod cli;
mod commands;
mod exit;
mod output;
mod platform;
mod profile;
mod prompt;
#[cfg(debug_assertions)]
mod test_clock;

use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::cli::{Cli, Command};
use crate::exit::exit_code_for;

fn main() -> ExitCode {
    // Before anything secret is read: no core dump and no memory reading by other processes.
    platform::hardening::harden();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = cli::parse_bare_token_command(&args, |name| std::env::var_os(name))
        .unwrap_or_else(|| parse_command_line(&args));
    if cli.global.debug {
        // The library's debug events on stderr, every line redacted; nothing is set up
        // without `--debug`, so the cached path pays nothing for it.
        tapis_auth::debug_log::init_stderr();
    }
    let outcome = match cli.command {
        Command::Login(args) => commands::login::run(&cli.global, &args),
        Command::Token(args) => commands::token::run(&cli.global, &args),
        Command::Status(args) => commands::status::run(&cli.global, &args),
        Command::Whoami(args) => commands::whoami::run(&cli.global, &args),
        Command::Logout(args) => commands::logout::run(&cli.global, &args),
        Command::Exec(args) => commands::exec::run(&cli.global, &args),
        Command::Api(args) => commands::api::run(&cli.global, &args),
        Command::Profiles(args) => commands::profiles::run(&cli.global, &args),
        Command::Completions(args) => commands::completions::run(&args),
        Command::Manpage => commands::completions::manpage(),
    };
    let code = match outcome {
        Ok(code) => code,
        // Standard output closed early (`tapis status | head -1`): nothing to say, and nobody
        // to say it to on stdout; exit as a tool killed by SIGPIPE would.
        Err(error) if exit::is_broken_pipe(&error) => exit::Exit::BrokenPipe,
        Err(error) => {
            output::error_line(&commands::describe(&error));
            exit_code_for(&error)
        }
    };
    ExitCode::from(code.code())
}

/// `Cli::parse()`, without dropping clap's command tree and matches at the end: freeing them
/// is about 6% of the cached `tapis token` path's instructions, and the process is about to exit.
/// A value from an environment variable that clap refuses is reported with the variable's
/// name (`cli::name_the_variable`).
fn parse_command_line(args: &[std::ffi::OsString]) -> Cli {
    let mut command = Cli::command();
    let mut matches = command
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|error| cli::name_the_variable(error, &command, args).exit());
    let cli = cli::cli_from_matches(&mut matches).unwrap_or_else(|error| error.format(&mut command).exit());
    std::mem::forget(matches);
    std::mem::forget(command);
    cli
}
