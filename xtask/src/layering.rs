//! The dependency-direction rule, checked mechanically (as rust-analyzer does):
//!
//! - `tapis-auth-core` ← `tapis-store` ← `tapis-auth` ← `tapis-cli`, and `tapis-auth` ←
//!   `tapis-py`: no crate depends on one to its right, and the CLI and the Python binding do
//!   not depend on each other.
//! - `tapis-auth-core` depends on no HTTP, async, TLS or file-system crate, does not enable
//!   chrono's `clock`, and its source names no file system, network, environment, process or
//!   clock API.
//! - `tapis-store` depends on no HTTP crate.

use std::path::Path;

use crate::{files_under, output_of, workspace_root};

/// Crates that mean network I/O.
const NETWORK_CRATES: &[&str] = &["reqwest", "hyper", "hyper-util", "h2", "tokio", "rustls", "mio", "socket2"];

/// Crates that mean file-system or OS access.
const FILESYSTEM_CRATES: &[&str] = &["tempfile", "directories", "dirs-sys", "rustix", "libc", "fs4", "fs2"];

/// Text that must not appear in tapis-auth-core's source: I/O, environment and clock APIs.
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

/// Each crate's rule: the crates (direct or not) it must not depend on.
fn rules() -> [(&'static str, Vec<&'static str>); 5] {
    let above_core = ["tapis-store", "tapis-auth", "tapis-cli", "tapis-py"];
    [
        ("tapis-auth-core", [&above_core, NETWORK_CRATES, FILESYSTEM_CRATES].concat()),
        ("tapis-store", [&above_core[1..], NETWORK_CRATES].concat()),
        ("tapis-auth", vec!["tapis-cli", "tapis-py", "clap", "rpassword", "pyo3"]),
        ("tapis-cli", vec!["tapis-py", "pyo3"]),
        ("tapis-py", vec!["tapis-cli", "clap", "rpassword"]),
    ]
}

/// What to do about a violation.
const FIX: &str =
    "tapis-auth-core must stay pure and every crate may depend only downward (core <- store <- auth <- cli)";

/// Checks every rule; an error lists the violations, each a sentence.
pub(crate) fn check_workspace() -> Result<(), String> {
    let cargo_tree = |args: &[&str]| output_of(&mut crate::cargo(&[&["tree"], args].concat()));
    let mut problems = Vec::new();
    for (package, forbidden) in rules() {
        // Every crate `package` depends on through normal and build edges, one a line.
        match cargo_tree(&["-p", package, "-e", "normal,build", "--prefix", "none", "-f", "{p}"]) {
            Ok(tree) => {
                let names: Vec<&str> = tree.lines().filter_map(|line| line.split_whitespace().next()).collect();
                let found = forbidden.into_iter().filter(|name| names.contains(name));
                problems.extend(found.map(|name| format!("{package} depends on {name}")));
            }
            Err(error) => problems.push(error),
        }
    }
    match cargo_tree(&["-p", "tapis-auth-core", "-e", "features", "-i", "chrono"]) {
        Ok(tree) if tree.contains("chrono feature \"clock\"") => {
            problems.push("tapis-auth-core enables chrono's `clock` feature (core must not read the clock)".to_owned());
        }
        Ok(_) => {}
        Err(error) => problems.push(error),
    }
    problems.extend(forbidden_source_text(&workspace_root().join("tapis-core/src")));
    crate::no_problems("layering violations", problems, FIX)
}

/// Lines of `.rs` files under `folder` that name a forbidden API.
fn forbidden_source_text(folder: &Path) -> Vec<String> {
    let sources = files_under(folder, "rs");
    if sources.is_empty() {
        return vec![format!("found no Rust source under {}", folder.display())];
    }
    let mut problems = Vec::new();
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            let found = FORBIDDEN_IN_CORE_SOURCE.iter().filter(|forbidden| line.contains(*forbidden));
            let at = format!("{}:{}", path.display(), number + 1);
            problems.extend(found.map(|forbidden| format!("{at}: tapis-auth-core must not use {forbidden}")));
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
        if let Err(message) = check_workspace() {
            panic!("{message}");
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
        assert!(problems[0].ends_with("bad.rs:1: tapis-auth-core must not use Utc::now"), "{problems:?}");
    }

    #[test]
    fn the_rules_name_the_upward_crates() {
        let rules = rules();
        let forbidden = |package| rules.iter().find(|(name, _)| *name == package).map(|(_, forbidden)| forbidden);
        assert!(
            forbidden("tapis-auth-core").is_some_and(|core| core.contains(&"tapis-store") && core.contains(&"reqwest"))
        );
        assert!(forbidden("tapis-auth").is_some_and(|auth| auth.contains(&"tapis-cli")));
        // The Python binding sits beside the CLI: neither depends on the other.
        assert!(forbidden("tapis-py").is_some_and(|python| python.contains(&"tapis-cli")));
        assert!(forbidden("tapis-cli").is_some_and(|cli| cli.contains(&"tapis-py")));
    }
}
