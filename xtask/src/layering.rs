//! The dependency-direction rule, checked mechanically (as rust-analyzer does):
//!
//! - `tapis-core` ← `tapis-store` ← `tapis-auth` ← `tapis-cli`, and `tapis-auth` ←
//!   `tapis-py` (the Python binding, a front door beside the CLI): no crate depends on one to
//!   its right, and nothing depends on `tapis-py` or `tapis-cli`.
//! - `tapis-core` depends on no HTTP, async, TLS or file-system crate, does not enable
//!   chrono's `clock`, and its source names no file system, network, environment, process or
//!   clock API.
//! - `tapis-store` depends on no HTTP crate.

use std::path::Path;
use std::process::Command;

use crate::workspace_root;

/// Crates that mean network I/O.
const NETWORK_CRATES: &[&str] = &["reqwest", "hyper", "hyper-util", "h2", "tokio", "rustls", "mio", "socket2"];

/// Crates that mean file-system or OS access.
const FILESYSTEM_CRATES: &[&str] = &["tempfile", "directories", "dirs-sys", "rustix", "libc", "fs4", "fs2"];

/// Text that must not appear in tapis-core's source: I/O, environment and clock APIs.
const FORBIDDEN_IN_CORE_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "std::thread",
    "std::io::stdin",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
];

/// One crate's rule: the crates (direct or not) it must not depend on.
struct Rule {
    package: &'static str,
    forbidden: Vec<&'static str>,
}

fn rules() -> Vec<Rule> {
    let mut core_forbidden = vec!["tapis-store", "tapis-auth", "tapis-cli", "tapis-py"];
    core_forbidden.extend(NETWORK_CRATES);
    core_forbidden.extend(FILESYSTEM_CRATES);
    let mut store_forbidden = vec!["tapis-auth", "tapis-cli", "tapis-py"];
    store_forbidden.extend(NETWORK_CRATES);
    vec![
        Rule { package: "tapis-core", forbidden: core_forbidden },
        Rule { package: "tapis-store", forbidden: store_forbidden },
        Rule { package: "tapis-auth", forbidden: vec!["tapis-cli", "tapis-py", "clap", "rpassword", "pyo3"] },
        Rule { package: "tapis-cli", forbidden: vec!["tapis-py", "pyo3"] },
        Rule { package: "tapis-py", forbidden: vec!["tapis-cli", "clap", "rpassword"] },
    ]
}

/// Checks every rule; returns the violations, each a sentence.
pub(crate) fn check_workspace(cargo: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for rule in rules() {
        match dependencies(cargo, rule.package) {
            Ok(dependencies) => {
                for forbidden in &rule.forbidden {
                    if dependencies.iter().any(|name| name == forbidden) {
                        problems.push(format!("{} depends on {forbidden}", rule.package));
                    }
                }
            }
            Err(error) => problems.push(error),
        }
    }
    match chrono_features_of_core(cargo) {
        Ok(tree) if tree.contains("chrono feature \"clock\"") => {
            problems.push("tapis-core enables chrono's `clock` feature (core must not read the clock)".to_owned());
        }
        Ok(_) => {}
        Err(error) => problems.push(error),
    }
    let core_source = workspace_root().join("tapis-core/src");
    problems.extend(forbidden_source_text(&core_source));
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// The names of every crate `package` depends on through normal and build edges.
fn dependencies(cargo: &str, package: &str) -> Result<Vec<String>, String> {
    let spec = package_spec(package);
    let output = cargo_tree(cargo, &["-p", &spec, "-e", "normal,build", "--prefix", "none", "-f", "{p}"])?;
    Ok(output
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_owned)
        .collect())
}

fn chrono_features_of_core(cargo: &str) -> Result<String, String> {
    cargo_tree(cargo, &["-p", &package_spec("tapis-core"), "-e", "features", "-i", "chrono"])
}

/// A workspace package as a `cargo -p` spec, with its version: the official Tapis SDK has a
/// crates.io crate named `tapis-core` too (through `tapis-auth`'s `sdk` feature), so the name
/// alone can be ambiguous. Every workspace package has the workspace's version, as this one.
pub(crate) fn package_spec(package: &str) -> String {
    format!("{package}@{}", env!("CARGO_PKG_VERSION"))
}

fn cargo_tree(cargo: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(cargo)
        .arg("tree")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run `cargo tree`: {error}"))?;
    if !output.status.success() {
        return Err(format!("`cargo tree {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Lines of `.rs` files under `folder` that name a forbidden API.
fn forbidden_source_text(folder: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) => return vec![format!("cannot read {}: {error}", folder.display())],
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            problems.extend(forbidden_source_text(&path));
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for (number, line) in text.lines().enumerate() {
            for forbidden in FORBIDDEN_IN_CORE_SOURCE {
                if line.contains(forbidden) {
                    problems.push(format!("{}:{}: tapis-core must not use {forbidden}", path.display(), number + 1));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule itself. `cargo xtask ci` runs it here, through `cargo test`, and only here.
    #[test]
    fn workspace_follows_the_layering_rule() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        if let Err(problems) = check_workspace(&cargo) {
            panic!(
                "layering violations:\n  {}\nfix: tapis-core must stay pure and every crate may depend only downward (core <- store <- auth <- cli)",
                problems.join("\n  ")
            );
        }
    }

    #[test]
    fn the_source_scan_finds_forbidden_apis() {
        let folder = std::env::temp_dir().join(format!("xtask-layering-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("temp folder");
        std::fs::write(folder.join("bad.rs"), "fn f() { let _ = chrono::Utc::now(); }\n").expect("write");
        std::fs::write(folder.join("notes.txt"), "std::fs is fine in prose\n").expect("write");
        let problems = forbidden_source_text(&folder);
        std::fs::remove_dir_all(&folder).ok();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].ends_with("bad.rs:1: tapis-core must not use Utc::now"), "{problems:?}");
    }

    #[test]
    fn the_rules_name_the_upward_crates() {
        let rules = rules();
        let core = rules.iter().find(|rule| rule.package == "tapis-core").expect("core rule");
        assert!(core.forbidden.contains(&"tapis-store") && core.forbidden.contains(&"reqwest"));
        let auth = rules.iter().find(|rule| rule.package == "tapis-auth").expect("auth rule");
        assert!(auth.forbidden.contains(&"tapis-cli"));
        // The Python binding sits beside the CLI: neither depends on the other.
        let python = rules.iter().find(|rule| rule.package == "tapis-py").expect("tapis-py rule");
        assert!(python.forbidden.contains(&"tapis-cli"));
        let cli = rules.iter().find(|rule| rule.package == "tapis-cli").expect("tapis-cli rule");
        assert!(cli.forbidden.contains(&"tapis-py"));
    }
}
