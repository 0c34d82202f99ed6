//! `tapis completions SHELL` and the hidden `tapis manpage`.

use std::io::Write as _;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Exit;

pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "tapis", &mut stdout);
    stdout.flush().context("cannot write to standard output")?;
    Ok(Exit::Ok)
}

pub(crate) fn manpage() -> anyhow::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut stdout).context("cannot write the manual page")?;
    Ok(Exit::Ok)
}
