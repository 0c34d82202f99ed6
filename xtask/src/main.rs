//! Project automation, run as `cargo xtask <task>` (matklad's cargo-xtask pattern).
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure with a fix-it hint.
//! - `layering`: the dependency-direction rule alone.
//!
//! Cargo is called through `$CARGO`, so the toolchain that runs the xtask runs the checks.

mod layering;

use std::env;
use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci         fmt check, clippy -D warnings, tests, docs with warnings denied, layering check
  layering   check that tapis-core does no I/O and that no crate depends upward";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("layering") => layering::check_workspace(&cargo())
            .map_err(|problems| format!("layering check failed:\n  {}", problems.join("\n  "))),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo that runs us.
fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// One step of `ci`: a cargo command, and what to do when it fails.
struct Step {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    fix: &'static str,
}

fn ci() -> Result<(), String> {
    let steps = [
        Step { args: &["fmt", "--all", "--check"], env: &[], fix: "run `cargo fmt --all`" },
        Step {
            args: &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
            env: &[],
            fix: "fix the lints above (or `cargo clippy --fix --workspace --all-targets`)",
        },
        Step {
            args: &["test", "--workspace", "--locked"],
            env: &[],
            fix: "fix the failing tests; for a changed snapshot, review it with `cargo insta review`",
        },
        Step {
            args: &["doc", "--workspace", "--no-deps", "--locked"],
            env: &[("RUSTDOCFLAGS", "-D warnings")],
            fix: "fix the rustdoc warnings above",
        },
    ];
    let cargo = cargo();
    let started = Instant::now();
    for step in &steps {
        run_step(&cargo, step)?;
    }
    eprintln!("==> layering check");
    layering::check_workspace(&cargo).map_err(|problems| {
        format!(
            "layering check failed:\n  {}\nfix: tapis-core must stay pure and every crate may depend only downward (core <- store <- auth <- cli)",
            problems.join("\n  ")
        )
    })?;
    eprintln!("==> ci passed in {:.0?}", started.elapsed());
    Ok(())
}

fn run_step(cargo: &str, step: &Step) -> Result<(), String> {
    eprintln!("==> cargo {}", step.args.join(" "));
    let mut command = Command::new(cargo);
    command.args(step.args);
    for (key, value) in step.env {
        command.env(key, value);
    }
    let status = command.status().map_err(|error| format!("cannot run {cargo}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})\nfix: {}", step.args.join(" "), step.fix))
    }
}
