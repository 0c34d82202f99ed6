//! The unused-dependency check: every dependency a workspace crate declares must be named in
//! that crate's sources (`name::`, `use name`, `extern crate name` or `#[name(`).
//! `[dependencies]` and `[build-dependencies]` count only in the library, binaries and build
//! script; `[dev-dependencies]` in any target (tests, benches, examples too). Reads
//! `cargo metadata`, so targets outside a crate's folder (the `tests/e2e` suite) count too.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Dependencies that are used without being named: (package, dependency, why).
const ALLOWED: &[(&str, &str, &str)] = &[];

/// Checks every workspace crate; returns each unused dependency as a sentence.
pub(crate) fn check_workspace(cargo: &str) -> Result<(), Vec<String>> {
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .map_err(|error| vec![format!("cannot run `cargo metadata`: {error}")])?;
    if !output.status.success() {
        return Err(vec![format!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr))]);
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| vec![format!("cannot read `cargo metadata`'s answer: {error}")])?;
    let mut problems = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        problems.extend(unused_in_package(package));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// The unused dependencies of one package from `cargo metadata`.
fn unused_in_package(package: &Value) -> Vec<String> {
    let name = package["name"].as_str().unwrap_or_default();
    let targets: Vec<(bool, PathBuf)> = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|target| {
            let kinds: Vec<&str> = target["kind"].as_array()?.iter().filter_map(Value::as_str).collect();
            let is_product = kinds.iter().any(|kind| matches!(*kind, "lib" | "bin" | "proc-macro" | "custom-build"));
            Some((is_product, Path::new(target["src_path"].as_str()?).parent()?.to_path_buf()))
        })
        .collect();
    let read = |products_only: bool| -> String {
        let mut text = String::new();
        for (_, folder) in targets.iter().filter(|(is_product, _)| *is_product || !products_only) {
            read_sources(folder, &mut text);
        }
        text
    };
    let (product_sources, all_sources) = (read(true), read(false));
    let mut problems = Vec::new();
    for dependency in package["dependencies"].as_array().into_iter().flatten() {
        let declared = dependency["rename"].as_str().or(dependency["name"].as_str()).unwrap_or_default();
        let kind = dependency["kind"].as_str().unwrap_or("normal");
        let sources = if kind == "dev" { &all_sources } else { &product_sources };
        let allowed = ALLOWED.iter().any(|(package, allowed, _)| *package == name && *allowed == declared);
        if !allowed && !names_crate(sources, &declared.replace('-', "_")) {
            let section = if kind == "dev" { "dev-dependencies" } else { "dependencies" };
            problems.push(format!("{name} declares `{declared}` in [{section}] but its sources never name it"));
        }
    }
    problems
}

/// Appends the text of every `.rs` file under `folder`.
fn read_sources(folder: &Path, text: &mut String) {
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_sources(&path, text);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            text.push('\n');
        }
    }
}

/// Whether `text` names the crate `name` in code, as a whole word.
fn names_crate(text: &str, name: &str) -> bool {
    let patterns = [format!("{name}::"), format!("use {name}"), format!("extern crate {name}"), format!("#[{name}(")];
    patterns.iter().any(|pattern| {
        text.match_indices(pattern.as_str()).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + pattern.len()..].chars().next();
            let word_start = pattern.starts_with('#') || !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let word_end = !pattern.starts_with("use ") && !pattern.starts_with("extern")
                || !after.is_some_and(|c| c.is_alphanumeric() || c == '_');
            word_start && word_end
        })
    })
}

#[cfg(test)]
mod tests {
    use super::names_crate;

    #[test]
    fn a_crate_is_named_only_as_a_whole_word() {
        for (text, name, expected) in [
            ("use serde::Deserialize;", "serde", true),
            ("let v = serde_json::json!({});", "serde_json", true),
            ("let v = serde_json::json!({});", "serde", false),
            ("use tapis_core::SecretString;", "core", false),
            ("extern crate libc;", "libc", true),
            ("use secrecy;", "secrecy", true),
            ("use secrecy_extra::X;", "secrecy", false),
            ("#[serde(default)]", "serde", true),
            ("// nothing here", "serde", false),
        ] {
            assert_eq!(names_crate(text, name), expected, "{name} in {text:?}");
        }
    }
}
