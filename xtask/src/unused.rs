//! The unused-dependency check: every dependency a workspace crate declares must be named in
//! that crate's sources (`name::`, `use name`, `extern crate name` or `#[name(`).
//! `[dependencies]` and `[build-dependencies]` count only in the library, binaries and build
//! script; `[dev-dependencies]` in any target (tests, benches, examples too). Reads
//! `cargo metadata`, so targets outside a crate's folder (the `tests/e2e` suite) count too.

use std::path::Path;

use serde_json::Value;

/// Dependencies that are used without being named: (package, dependency, why).
const ALLOWED: &[(&str, &str, &str)] = &[];

/// What to do about an unused dependency.
const FIX: &str = "remove them from the Cargo.toml named (or, if one is used without being named, add it to \
                   `ALLOWED` in xtask/src/unused.rs with the reason)";

/// Checks every workspace crate; an error lists each unused dependency as a sentence.
pub(crate) fn check_workspace() -> Result<(), String> {
    eprintln!("==> unused dependencies");
    let metadata =
        crate::output_of(&mut crate::cargo(&["metadata", "--format-version", "1", "--no-deps", "--locked"]))?;
    let metadata: Value =
        serde_json::from_str(&metadata).map_err(|error| format!("cannot read `cargo metadata`'s answer: {error}"))?;
    let problems = metadata["packages"].as_array().into_iter().flatten().flat_map(unused_in_package).collect();
    crate::no_problems("unused dependencies", problems, FIX)
}

/// The unused dependencies of one package from `cargo metadata`.
fn unused_in_package(package: &Value) -> Vec<String> {
    let name = package["name"].as_str().unwrap_or_default();
    // The text of every `.rs` file in the folders of its products (library, binaries, build
    // script), then of all its targets (tests, benches, examples too).
    let [mut product_sources, mut all_sources] = [String::new(), String::new()];
    for target in package["targets"].as_array().into_iter().flatten() {
        let mut kinds = target["kind"].as_array().into_iter().flatten().filter_map(Value::as_str);
        let is_product = kinds.any(is_product_kind);
        let Some(folder) = Path::new(target["src_path"].as_str().unwrap_or_default()).parent() else { continue };
        let text: String = crate::files_under(folder, "rs")
            .into_iter()
            .map(|path| std::fs::read_to_string(path).unwrap_or_default() + "\n")
            .collect();
        all_sources += &text;
        if is_product {
            product_sources += &text;
        }
    }
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

/// Whether a target kind from `cargo metadata` is something the crate ships (its library in
/// any of its forms, such as a Python extension's `cdylib`, its binaries, its build script),
/// as opposed to a test, bench or example.
fn is_product_kind(kind: &str) -> bool {
    matches!(kind, "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro" | "bin" | "custom-build")
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
    use super::{is_product_kind, names_crate};

    #[test]
    fn every_library_form_is_a_product() {
        for (kind, expected) in [
            ("lib", true),
            ("cdylib", true),
            ("staticlib", true),
            ("bin", true),
            ("test", false),
            ("example", false),
            ("bench", false),
        ] {
            assert_eq!(is_product_kind(kind), expected, "{kind}");
        }
    }

    #[test]
    fn a_crate_is_named_only_as_a_whole_word() {
        for (text, name, expected) in [
            ("use serde::Deserialize;", "serde", true),
            ("let v = serde_json::json!({});", "serde_json", true),
            ("let v = serde_json::json!({});", "serde", false),
            ("use tapis_auth_core::SecretString;", "core", false),
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
