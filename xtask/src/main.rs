//! Project automation, run as `cargo xtask <task>` (matklad's cargo-xtask pattern). The tasks
//! are listed once, in [`USAGE`] (`cargo xtask help`); `ci` stops at the first failure with a
//! fix-it hint. Cargo is called through `$CARGO`, so the toolchain that runs the xtask runs
//! the checks.

mod bench;
mod cross;
mod dist;
mod layering;
mod python;
#[cfg(test)]
mod python_classes;
#[cfg(test)]
mod tidy;
mod unused;
mod windows;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci         fmt check, clippy -D warnings, unused dependencies, tests (the layering check
             among them), docs with warnings denied, the fuzz targets type-checked,
             `cargo package` of the crates.io crates, then `dist --profile dist-check` for
             x86_64 only and `cross --reduced`
  package    `cargo package` of the crates.io crates, then each one's tests from its tarball
  layering   check that tapis-auth-core does no I/O and that no crate depends upward
  unused     check that every declared dependency is named in its crate's sources
  fuzz [S]   run each fuzz target for S seconds (default 60; needs `cargo install cargo-fuzz`)
  stress [N] kill a token-file writer N times at random moments (default 1000)
  man        write the manual page to target/man/tapis.1
  bench [--check]
             time the release binary against same-run floors and run the criterion
             benchmarks; write BENCHMARKS.md (--check: fail when a budget is missed)
  dist [--profile P] [--target T]...
             build tapis static (musl) for x86_64 and aarch64, tapis.exe for Windows (mingw),
             and the tapis-connect wheels (manylinux2014, win_amd64), check them, write
             target/dist/, run the Python tests against the x86_64 wheel, connect_tapis()
             from the aarch64 one under qemu, and tapis.exe's login under wine
  cross [--reduced | --target TRIPLE...]
             set up the cross targets (std source, zig, qemu, wine, mingw) under target/cross/,
             then build and test x86_64 and aarch64 musl (qemu), Windows (wine), and check +
             clippy both macOS targets (or the targets named); --reduced: a check of the CLI
             for aarch64 and clippy of the store, the CLI and the Python binding for Windows";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("package") => package(),
        Some("layering") => layering::check_workspace(),
        Some("unused") => unused::check_workspace(),
        Some("fuzz") => number_argument(&args, 60).and_then(fuzz),
        Some("stress") => number_argument(&args, 1000).and_then(stress),
        Some("bench") => bench::run(&args[1..]),
        Some("man") => man(),
        Some("dist") => dist::run_task(&args[1..]),
        Some("cross") => cross::run_task(&args[1..]),
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

/// Cargo, the one that runs us (`$CARGO`), with `args`, at the workspace root.
fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    command
}

/// The workspace root: the folder above this crate's.
pub(crate) fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or_else(|| Path::new("."))
}

/// Cargo's target folder: `$CARGO_TARGET_DIR`, or `target/` at the workspace root.
pub(crate) fn target_folder() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Every `.EXTENSION` file under `folder` and its subfolders (none where a folder cannot be read).
pub(crate) fn files_under(folder: &Path, extension: &str) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(folder).into_iter().flatten().flatten().map(|entry| entry.path());
    let files = entries.flat_map(|path| if path.is_dir() { files_under(&path, extension) } else { vec![path] });
    files.filter(|path| path.extension().is_some_and(|found| found == extension)).collect()
}

/// A command as one would type it: the program's file name, then the arguments.
pub(crate) fn shown(command: &Command) -> String {
    let program = Path::new(command.get_program()).file_name().unwrap_or_default();
    let words = std::iter::once(program).chain(command.get_args()).map(|word| word.to_string_lossy());
    words.collect::<Vec<_>>().join(" ")
}

/// The trimmed stdout of `command`, or what went wrong.
pub(crate) fn output_of(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|error| format!("cannot run `{}`: {error}", shown(command)))?;
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
        false => Err(format!("`{}` failed: {}", shown(command), String::from_utf8_lossy(&output.stderr))),
    }
}

/// `Ok` when a check found no problem; otherwise each problem on its line under `heading`,
/// then what to do.
pub(crate) fn no_problems(heading: &str, problems: Vec<String>, fix: &str) -> Result<(), String> {
    if problems.is_empty() { Ok(()) } else { Err(format!("{heading}:\n  {}\nfix: {fix}", problems.join("\n  "))) }
}

/// Runs `command` to completion; on failure, says which and what to do (`fix`). Its output
/// goes to our stderr, so that stdout holds only what a task prints (`bench`'s report).
pub(crate) fn run(command: &mut Command, fix: &str) -> Result<(), String> {
    let status = command.stdout(std::io::stderr()).status();
    let status = status.map_err(|error| format!("cannot run `{}`: {error}", shown(command)))?;
    if status.success() { Ok(()) } else { Err(format!("`{}` failed ({status})\nfix: {fix}", shown(command))) }
}

/// Runs cargo at the workspace root, as [`run`] does.
pub(crate) fn run_cargo(args: &[&str], env: &[(&str, &str)], fix: &str) -> Result<(), String> {
    eprintln!("==> cargo {}", args.join(" "));
    run(cargo(args).envs(env.iter().copied()), fix)
}

/// The cargo steps of `ci`: arguments, environment, and what to do when the step fails.
#[rustfmt::skip] // a table
#[allow(clippy::type_complexity)]
const CI_STEPS: [(&[&str], &[(&str, &str)], &str); 6] = [
    (&["fmt", "--all", "--check"], &[], "run `cargo fmt --all`"),
    (&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], &[],
     "fix the lints above (or `cargo clippy --fix --workspace --all-targets`)"),
    (&["check", "--manifest-path", "fuzz/Cargo.toml", "--bins", "--locked", "--target-dir", "target/fuzz"], &[],
     "the fuzz targets (fuzz/fuzz_targets/) no longer compile: update them to the libraries' API"),
    (&["test", "--workspace", "--locked"], &[],
     "fix the failing tests; for a changed snapshot, review it with `cargo insta review`"),
    (&["doc", "--workspace", "--no-deps", "--locked"], &[("RUSTDOCFLAGS", "-D warnings")],
     "fix the rustdoc warnings above"),
    // Every crate meant for crates.io packs and builds from its own tarball, in dependency
    // order, against the others' tarballs: no path-only dependency, no missing file.
    (&["package", "--workspace", "--locked", "--exclude", NOT_PUBLISHED[0], "--exclude", NOT_PUBLISHED[1]], &[],
     "fix the packaging error above (a dependency without a version, a file outside the crate, missing metadata)"),
];

/// The workspace packages released to crates.io, in dependency order.
const PUBLISHED: [&str; 5] = ["tapis-testkit", "tapis-auth-core", "tapis-store", "tapis-auth", "tapis-cli"];

/// `cargo package` verifies each crate against the others' tarballs through a local registry,
/// and cargo takes a registry's crate of a given name and version to be the same forever: it
/// unpacks it into `$CARGO_HOME/registry/src/-<hash>/` once, and reuses what it compiled of it
/// in `target/debug`. A later run would verify against the earlier run's sources. Those
/// unpacked copies and build outputs of our own crates are removed first (a local registry's
/// folder is the one whose name starts with `-`; crates.io's never does); the workspace's
/// own builds of them are remade by the next build.
fn forget_unpacked_packages() -> Result<(), String> {
    let remove = |path: &Path| {
        let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
        removed.map_err(|error| format!("cannot remove the stale {}: {error}", path.display()))
    };
    let build = workspace_root().join("target/debug");
    for folder in [build.join(".fingerprint"), build.join("deps")] {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let ours = PUBLISHED.iter().any(|name| {
                let crate_name = name.replace('-', "_");
                [format!("{name}-"), format!("{crate_name}-"), format!("lib{crate_name}-")]
                    .iter()
                    .any(|prefix| file_name.starts_with(prefix.as_str()))
            });
            if ours {
                remove(&entry.path())?;
            }
        }
    }
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let Some(sources) = cargo_home.map(|home| home.join("registry/src")) else { return Ok(()) };
    let registries = std::fs::read_dir(&sources).into_iter().flatten().flatten();
    for registry in registries.filter(|entry| entry.file_name().to_string_lossy().starts_with('-')) {
        for name in PUBLISHED {
            let unpacked = registry.path().join(format!("{name}-{}", env!("CARGO_PKG_VERSION")));
            if unpacked.is_dir() {
                remove(&unpacked)?;
            }
        }
    }
    Ok(())
}

/// The `package` step of `ci`: every crate meant for crates.io packed, verified, and tested
/// from its tarball.
fn package() -> Result<(), String> {
    let Some((args, env, fix)) = CI_STEPS.into_iter().find(|(args, ..)| args[0] == "package") else {
        return Err("the ci steps have no `cargo package`".to_owned());
    };
    forget_unpacked_packages()?;
    run_cargo(args, env, fix)?;
    test_packages()
}

/// Runs each published crate's tests from its tarball, as someone who downloads it would:
/// the `.crate` files `cargo package` wrote are unpacked side by side, and each is tested
/// alone, with the workspace's lock file, its dependencies on our other crates patched to
/// their unpacked tarballs and every feature on. So a test that needs a file outside its
/// crate, or a dependency the tarball does not declare, fails here. (`tapis-cli`'s end-to-end
/// tests live in the workspace's `tests/`, outside the crate; they run in `cargo test`.)
fn test_packages() -> Result<(), String> {
    let target = target_folder();
    let unpacked = target.join("package/unpacked");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked).map_err(|error| format!("cannot remove {}: {error}", unpacked.display()))?;
    }
    std::fs::create_dir_all(&unpacked).map_err(|error| format!("cannot create {}: {error}", unpacked.display()))?;
    let version = env!("CARGO_PKG_VERSION");
    let folder_of = |name: &str| unpacked.join(format!("{name}-{version}"));
    for name in PUBLISHED {
        let tarball = target.join(format!("package/{name}-{version}.crate"));
        run(
            Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&unpacked),
            "cargo package should have written the tarball above",
        )?;
        let lock = workspace_root().join("Cargo.lock");
        std::fs::copy(&lock, folder_of(name).join("Cargo.lock"))
            .map_err(|error| format!("cannot copy {} into the unpacked {name}: {error}", lock.display()))?;
        // Unpacked inside our target folder, it is a workspace of its own, not a stray member
        // of ours.
        let manifest = folder_of(name).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .map_err(|error| format!("cannot read {}: {error}", manifest.display()))?;
        std::fs::write(&manifest, format!("{text}\n[workspace]\n"))
            .map_err(|error| format!("cannot write {}: {error}", manifest.display()))?;
    }
    let patches: Vec<String> = PUBLISHED
        .iter()
        .map(|name| format!("patch.crates-io.{name}.path={:?}", folder_of(name).display().to_string()))
        .collect();
    let tests_target = target.join("package/tests");
    for name in PUBLISHED {
        let manifest = folder_of(name).join("Cargo.toml");
        let mut args = vec!["test", "--all-features", "--manifest-path"];
        let manifest = manifest.to_string_lossy().into_owned();
        let tests_target = tests_target.to_string_lossy().into_owned();
        args.extend([manifest.as_str(), "--target-dir", tests_target.as_str()]);
        for patch in &patches {
            args.extend(["--config", patch.as_str()]);
        }
        eprintln!("==> the tests of {name}, from its tarball");
        run(
            cargo(&args).current_dir(&unpacked),
            "a published crate's tests fail from its tarball: a file outside the crate, or a dev-dependency it does not declare?",
        )?;
    }
    Ok(())
}

/// The workspace packages that are not released to crates.io (`publish = false`): the
/// automation and the Python binding (released to PyPI as a wheel).
const NOT_PUBLISHED: [&str; 2] = ["xtask", "tapis-py"];

fn ci() -> Result<(), String> {
    let started = Instant::now();
    for (index, (args, env, fix)) in CI_STEPS.into_iter().enumerate() {
        if index == 2 {
            unused::check_workspace()?; // after fmt and clippy, before the slow steps
        }
        if args[0] == "package" {
            package()?;
        } else {
            run_cargo(args, env, fix)?;
        }
    }
    // The shipped x86_64 artefacts, built without LTO; for aarch64, a check of the CLI. The
    // whole of `cross` and `dist` run on their own.
    dist::build("dist-check", &[cross::Target::X86_64Musl])?;
    cross::run_task(&["--reduced".to_owned()])?;
    eprintln!("==> ci passed in {:.0?}", started.elapsed());
    Ok(())
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
    let nightly = output_of(Command::new("rustc").arg("--version")).is_ok_and(|version| version.contains("nightly"));
    let mut report = Vec::new();
    for target in FUZZ_TARGETS {
        let max_total_time = format!("-max_total_time={seconds}");
        eprintln!("==> cargo fuzz run {target} -- {max_total_time}");
        let mut command = cargo(&["fuzz", "run", "--release", target, "--", &max_total_time]);
        command.current_dir(workspace_root().join("fuzz"));
        if !nightly {
            // cargo fuzz passes -Z flags for the sanitizer; this lets a stable toolchain take them.
            command.env("RUSTC_BOOTSTRAP", "1");
        }
        let install = "install it with `cargo install cargo-fuzz`";
        let output = command.output().map_err(|error| format!("cannot run cargo fuzz ({error}); {install}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        // libFuzzer's last line: `Done 123456 runs in 60 second(s)`.
        let runs = log.lines().rev().find_map(|line| line.strip_prefix("Done ")?.split_whitespace().next());
        let runs = runs.unwrap_or("?");
        if !output.status.success() {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            return Err(format!("fuzz target {target} failed after {runs} runs:\n{tail}"));
        }
        report.push(format!("{target}: {runs} executions in {seconds}s, no crash"));
    }
    eprintln!("==> fuzzing report\n  {}", report.join("\n  "));
    Ok(())
}

fn stress(kills: u64) -> Result<(), String> {
    eprintln!("==> crash-safety stress: {kills} kills");
    let args = ["test", "--release", "-p", "tapis-store", "--test", "crash", "--", "--nocapture"];
    let fix = "a token file did not survive a killed writer: see the crash test's output above";
    run_cargo(&args, &[("TAPIS_STRESS_KILLS", &kills.to_string())], fix)
}

/// Renders the manual page with the binary's hidden `manpage` verb (clap_mangen).
fn man() -> Result<(), String> {
    let page = output_of(&mut cargo(&["run", "--quiet", "--package", "tapis-cli", "--", "manpage"]))
        .map_err(|error| format!("rendering the manual page failed: {error}"))?;
    let folder = workspace_root().join("target/man");
    std::fs::create_dir_all(&folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    let path = folder.join("tapis.1");
    std::fs::write(&path, page + "\n").map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    eprintln!("==> wrote {} (read it with `man -l {}`)", path.display(), path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_command_is_named_as_typed_with_what_to_do() {
        let error = super::run(std::process::Command::new("/bin/sh").args(["-c", "exit 3"]), "do this").unwrap_err();
        assert_eq!(error, "`sh -c exit 3` failed (exit status: 3)\nfix: do this");
        let error = super::output_of(&mut std::process::Command::new("/nonexistent/tool")).unwrap_err();
        assert!(error.starts_with("cannot run `tool`: "), "{error}");
    }

    #[test]
    fn a_check_lists_its_problems_then_what_to_do() {
        assert_eq!(super::no_problems("bad", Vec::new(), "mend"), Ok(()));
        let problems = vec!["one".to_owned(), "two".to_owned()];
        assert_eq!(super::no_problems("bad", problems, "mend"), Err("bad:\n  one\n  two\nfix: mend".to_owned()));
    }

    #[test]
    fn the_packages_left_out_of_cargo_package_are_those_not_published_and_the_rest_are_named() {
        let metadata = super::output_of(&mut super::cargo(&["metadata", "--no-deps", "--format-version", "1"]))
            .expect("cargo metadata");
        let metadata: serde_json::Value = serde_json::from_str(&metadata).expect("JSON");
        let packages = metadata["packages"].as_array().expect("packages");
        // `publish = false` is an empty list of registries.
        let mut not_published: Vec<&str> = packages
            .iter()
            .filter(|package| package["publish"].as_array().is_some_and(Vec::is_empty))
            .filter_map(|package| package["name"].as_str())
            .collect();
        not_published.sort_unstable();
        let mut left_out = super::NOT_PUBLISHED;
        left_out.sort_unstable();
        assert_eq!(not_published, left_out);
        let mut all: Vec<&str> = packages.iter().filter_map(|package| package["name"].as_str()).collect();
        all.sort_unstable();
        let mut named: Vec<&str> = [&super::PUBLISHED[..], &super::NOT_PUBLISHED[..]].concat();
        named.sort_unstable();
        assert_eq!(all, named, "every package is either published or not");
    }
}
