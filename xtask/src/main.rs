//! Project automation, run as `cargo xtask <task>` (matklad's cargo-xtask pattern).
//!
//! - `ci`: everything CI checks, in order, stopping at the first failure with a fix-it hint.
//! - `layering`: the dependency-direction rule alone (in `ci` it runs as a test).
//! - `unused`: the unused-dependency check alone.
//! - `fuzz [SECONDS]`: each cargo-fuzz target for SECONDS (default 60), with a report.
//! - `stress [KILLS]`: the crash-safety test with KILLS writer kills (default 1000).
//! - `man`: the manual page, rendered from the clap definition, to target/man/tapis.1.
//! - `bench [--check]`: benchmarks of the release binary and the parsers; writes BENCHMARKS.md.
//! - `dist [--profile P]`: the glibc 2.17 tarball and the tapis-connect wheel, checked and tested.
//!
//! Cargo is called through `$CARGO`, so the toolchain that runs the xtask runs the checks.

mod bench;
mod dist;
mod layering;
mod python;
#[cfg(test)]
mod tidy;
mod unused;

use std::env;
use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci         fmt check, clippy -D warnings, unused dependencies, tests (the layering check
             among them), docs with warnings denied, the fuzz targets type-checked
  layering   check that tapis-core does no I/O and that no crate depends upward
  unused     check that every declared dependency is named in its crate's sources
  fuzz [S]   run each fuzz target for S seconds (default 60; needs `cargo install cargo-fuzz`)
  stress [N] kill a token-file writer N times at random moments (default 1000)
  man        write the manual page to target/man/tapis.1
  bench [--check]
             time the release binary against same-run floors and run the criterion
             benchmarks; write BENCHMARKS.md (--check: fail when a budget is missed)
  dist [--profile P]
             build tapis for glibc 2.17 and the tapis-connect wheel with zig, check them,
             write target/dist/ and run the Python tests against the wheel";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("layering") => layering::check_workspace()
            .map_err(|problems| format!("layering check failed:\n  {}", problems.join("\n  "))),
        Some("unused") => unused_dependencies(),
        Some("fuzz") => number_argument(&args, 60).and_then(fuzz),
        Some("stress") => number_argument(&args, 1000).and_then(stress),
        Some("bench") => bench::run(&args[1..]),
        Some("man") => man(),
        Some("dist") => dist::run_task(&args[1..]),
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

/// The workspace root: the folder above this crate's.
pub(crate) fn workspace_root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or_else(|| std::path::Path::new("."))
}

/// Every `.EXTENSION` file under `folder` and its subfolders (none where a folder cannot be read).
fn files_under(folder: &std::path::Path, extension: &str) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(folder).into_iter().flatten().flatten().map(|entry| entry.path());
    let files = entries.flat_map(|path| if path.is_dir() { files_under(&path, extension) } else { vec![path] });
    files.filter(|path| path.extension().is_some_and(|found| found == extension)).collect()
}

/// The trimmed stdout of `program ARGS` run at the workspace root, or what went wrong.
fn output_of(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program).args(args).current_dir(workspace_root()).output();
    let output = output.map_err(|error| format!("cannot run `{program}`: {error}"))?;
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
        false => Err(format!("`{program} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr))),
    }
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
            args: &["check", "--manifest-path", "fuzz/Cargo.toml", "--bins", "--locked", "--target-dir", "target/fuzz"],
            env: &[],
            fix: "the fuzz targets (fuzz/fuzz_targets/) no longer compile: update them to the libraries' API",
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
    let started = Instant::now();
    let (fmt_and_clippy, rest) = steps.split_at(2);
    fmt_and_clippy.iter().try_for_each(run_step)?;
    unused_dependencies()?;
    rest.iter().try_for_each(run_step)?;
    dist::run_task(&["--profile".to_owned(), "dist-check".to_owned()])?;
    eprintln!("==> ci passed in {:.0?}", started.elapsed());
    Ok(())
}

fn unused_dependencies() -> Result<(), String> {
    eprintln!("==> unused dependencies");
    unused::check_workspace().map_err(|problems| {
        format!(
            "unused dependencies:\n  {}\nfix: remove them from the Cargo.toml named (or, if one is used without being named, add it to `ALLOWED` in xtask/src/unused.rs with the reason)",
            problems.join("\n  ")
        )
    })
}

fn run_step(step: &Step) -> Result<(), String> {
    run_cargo(step.args, step.env).map_err(|error| format!("{error}\nfix: {}", step.fix))
}

/// Runs cargo at the workspace root. Its output goes to our stderr, so that stdout holds only
/// what a task prints (`bench`'s report).
fn run_cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("==> cargo {}", args.join(" "));
    let mut command = Command::new(cargo());
    command.args(args).envs(env.iter().copied()).current_dir(workspace_root()).stdout(std::io::stderr());
    let status = command.status().map_err(|error| format!("cannot run {}: {error}", cargo()))?;
    if status.success() { Ok(()) } else { Err(format!("`cargo {}` failed ({status})", args.join(" "))) }
}

/// The second argument as a number, or `default`.
fn number_argument(args: &[String], default: u64) -> Result<u64, String> {
    match args.get(1) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| format!("`{text}` is not a whole number\n{USAGE}")),
    }
}

/// The fuzz targets, in `fuzz/fuzz_targets/`.
const FUZZ_TARGETS: [&str; 4] = ["expiry", "jwt_claims", "token_file", "token_response"];

fn fuzz(seconds: u64) -> Result<(), String> {
    let cargo = cargo();
    let fuzz_folder = workspace_root().join("fuzz");
    let nightly = output_of("rustc", &["--version"]).is_ok_and(|version| version.contains("nightly"));
    let mut report = Vec::new();
    for target in FUZZ_TARGETS {
        eprintln!("==> cargo fuzz run {target} -- -max_total_time={seconds}");
        let mut command = Command::new(&cargo);
        command
            .args(["fuzz", "run", "--release", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .current_dir(&fuzz_folder);
        if !nightly {
            // cargo fuzz passes -Z flags for the sanitizer; this lets a stable toolchain take them.
            command.env("RUSTC_BOOTSTRAP", "1");
        }
        let output = command
            .output()
            .map_err(|error| format!("cannot run cargo fuzz ({error}); install it with `cargo install cargo-fuzz`"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let runs = log
            .lines()
            .filter_map(|line| line.strip_prefix("Done ").and_then(|rest| rest.split_whitespace().next()))
            .next_back()
            .unwrap_or("?")
            .to_owned();
        if !output.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(format!("fuzz target {target} failed after {runs} runs:\n{}", tail.join("\n")));
        }
        report.push(format!("{target}: {runs} executions in {seconds}s, no crash"));
    }
    eprintln!("==> fuzzing report\n  {}", report.join("\n  "));
    Ok(())
}

fn stress(kills: u64) -> Result<(), String> {
    eprintln!("==> crash-safety stress: {kills} kills");
    let args = ["test", "--release", "-p", "tapis-store", "--test", "crash"];
    run_cargo(&args, &[("TAPIS_STRESS_KILLS", &kills.to_string())])
        .map_err(|error| format!("the crash-safety stress run failed: {error}"))
}

/// Renders the manual page with the binary's hidden `manpage` verb (clap_mangen).
fn man() -> Result<(), String> {
    let page = output_of(&cargo(), &["run", "--quiet", "--package", "tapis-cli", "--", "manpage"])
        .map_err(|error| format!("rendering the manual page failed: {error}"))?;
    let folder = workspace_root().join("target/man");
    std::fs::create_dir_all(&folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let path = folder.join("tapis.1");
    std::fs::write(&path, page + "\n").map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    eprintln!("==> wrote {} (read it with `man -l {}`)", path.display(), path.display());
    Ok(())
}
