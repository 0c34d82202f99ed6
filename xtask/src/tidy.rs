//! Tidy checks on the library crates' source, run as plain tests: their messages are
//! neutral, naming no CLI flag (`--token-file`), no environment variable (`TAPIS_LOCK_TIMEOUT`)
//! and no `tapis` command. The CLI adds such hints where it maps errors to exit codes.

use std::path::Path;

/// The library crates whose messages must not name the CLI.
const LIBRARY_SOURCES: [&str; 3] = ["tapis-core/src", "tapis-store/src", "tapis-auth/src"];

/// Wire text that looks like a variable name but is what the Tapis services send.
const WIRE_PREFIXES: [&str; 1] = ["TAPIS_SECURITY_"];

/// The string literals of Rust source, outside comments and outside the test module at the
/// end of a file (`#[cfg(test)]` at the start of a line and everything after it). Each with
/// its line number.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let code = source.split("\n#[cfg(test)]").next().unwrap_or(source);
    let bytes = code.as_bytes();
    let mut literals = Vec::new();
    let (mut index, mut line) = (0, 1);
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => line += 1,
            b'/' if bytes.get(index + 1) == Some(&b'/') => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
                continue;
            }
            b'\'' => {
                // A char literal ('"', '\'') or a lifetime: skip a char literal whole.
                if bytes.get(index + 2) == Some(&b'\'') {
                    index += 3;
                    continue;
                }
                if bytes.get(index + 1) == Some(&b'\\') {
                    let end = code[index + 2..].find('\'').map_or(bytes.len(), |offset| index + 2 + offset + 1);
                    index = end;
                    continue;
                }
            }
            b'r' if matches!(bytes.get(index + 1), Some(b'"' | b'#')) && !is_identifier(bytes, index) => {
                let hashes = bytes[index + 1..].iter().take_while(|byte| **byte == b'#').count();
                let start = index + 1 + hashes;
                if bytes.get(start) == Some(&b'"') {
                    let closing = format!("\"{}", "#".repeat(hashes));
                    let end = code[start + 1..].find(&closing).map_or(bytes.len(), |offset| start + 1 + offset);
                    let text = &code[start + 1..end];
                    literals.push((line, text.to_owned()));
                    line += text.matches('\n').count();
                    index = end + closing.len();
                    continue;
                }
            }
            b'"' => {
                let mut end = index + 1;
                while end < bytes.len() && bytes[end] != b'"' {
                    end += if bytes[end] == b'\\' { 2 } else { 1 };
                }
                let text = &code[index + 1..end.min(bytes.len())];
                literals.push((line, text.to_owned()));
                line += text.matches('\n').count();
                index = end + 1;
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    literals
}

fn is_identifier(bytes: &[u8], index: usize) -> bool {
    index > 0 && (bytes[index - 1].is_ascii_alphanumeric() || bytes[index - 1] == b'_')
}

/// What is wrong with one literal, if anything.
fn problem(literal: &str) -> Option<&'static str> {
    let names_flag = literal.match_indices("--").any(|(at, _)| {
        literal[at + 2..].starts_with(|character: char| character.is_ascii_lowercase())
            && !literal[..at].ends_with(|character: char| character.is_ascii_alphanumeric())
    });
    if names_flag {
        return Some("names a command-line flag");
    }
    let names_variable = literal.match_indices("TAPIS_").any(|(at, _)| {
        !WIRE_PREFIXES.iter().any(|prefix| literal[at..].starts_with(prefix))
            && literal[at + 6..].starts_with(|character: char| character.is_ascii_uppercase())
    });
    if names_variable {
        return Some("names an environment variable");
    }
    if literal.contains("`tapis ") || literal.contains("tapis login") || literal.contains("tapis logout") {
        return Some("names a tapis command");
    }
    None
}

/// Every problem in the `.rs` files under `folder`, subfolders included, each as
/// `path:line: problem: literal` with the path relative to `root`.
fn problems_under(root: &Path, folder: &Path) -> Vec<String> {
    let mut files = crate::files_under(folder, "rs");
    files.sort();
    let mut problems = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        for (line, literal) in string_literals(&source) {
            if let Some(problem) = problem(&literal) {
                let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
                problems.push(format!("{shown}:{line}: {problem}: {literal:?}"));
            }
        }
    }
    problems
}

/// `[[test]]` targets with `harness = false` in the Cargo.toml of the packages at `root`'s top
/// level: `cargo nextest` cannot list such a binary (it must answer libtest's `--list`), so
/// a test that needs a `main` of its own re-executes an ordinary test instead (as
/// `tapis-store/tests/crash.rs` does). Benches may keep their own harness.
fn tests_without_the_standard_harness(root: &Path) -> Vec<String> {
    let mut manifests: Vec<_> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("Cargo.toml"))
        .filter(|path| path.is_file())
        .collect();
    manifests.sort();
    let mut problems = Vec::new();
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        let mut section = "";
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
            } else if section == "[[test]]" && line.replace(' ', "") == "harness=false" {
                let shown = manifest.strip_prefix(root).unwrap_or(&manifest).display().to_string();
                problems
                    .push(format!("{shown}: a [[test]] target has `harness = false`, which cargo nextest cannot list"));
            }
        }
    }
    problems
}

/// The front doors' sources that read the wall clock themselves (`Utc::now()`): they take
/// the time from the library (its clock, or what it worked out), so that a test clock reaches
/// everything they show. `test_clock.rs`, which sets up that test clock, is the exception.
fn front_door_clock_reads(root: &Path) -> Vec<String> {
    let mut files: Vec<_> = ["tapis-cli/src", "tapis-py/src"]
        .iter()
        .flat_map(|folder| crate::files_under(&root.join(folder), "rs"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    for file in files.into_iter().filter(|file| !file.ends_with("test_clock.rs")) {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        for (index, line) in source.lines().enumerate() {
            if line.contains(concat!("Utc::", "now()")) {
                let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
                problems.push(format!("{shown}:{}: reads the wall clock", index + 1));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn the_front_doors_read_no_clock_of_their_own() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
        let problems = front_door_clock_reads(root);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn library_messages_name_no_cli_flag_variable_or_command() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
        let problems: Vec<String> =
            LIBRARY_SOURCES.iter().flat_map(|folder| problems_under(root, &root.join(folder))).collect();
        assert!(problems.is_empty(), "library messages must stay neutral:\n{}", problems.join("\n"));
    }

    #[test]
    fn every_test_target_runs_under_the_standard_harness() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
        let problems = tests_without_the_standard_harness(root);
        assert!(problems.is_empty(), "{}", problems.join("\n"));

        let fake = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir(fake.path().join("store")).expect("folder");
        let manifest = "[[bench]]\nname = \"b\"\nharness = false\n\n[[test]]\nname = \"crash\"\nharness = false\n";
        std::fs::write(fake.path().join("store/Cargo.toml"), manifest).expect("write");
        assert_eq!(
            tests_without_the_standard_harness(fake.path()),
            ["store/Cargo.toml: a [[test]] target has `harness = false`, which cargo nextest cannot list"]
        );
    }

    #[test]
    fn messages_in_nested_modules_are_checked_too() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let nested = root.path().join("src/flow/connect");
        std::fs::create_dir_all(&nested).expect("folders");
        std::fs::write(root.path().join("src/lib.rs"), "const A: &str = \"fine\";\n").expect("write");
        std::fs::write(nested.join("deep.rs"), "\nconst B: &str = \"pass --force\";\n").expect("write");
        let problems = problems_under(root.path(), &root.path().join("src"));
        assert_eq!(problems, [r#"src/flow/connect/deep.rs:2: names a command-line flag: "pass --force""#]);
    }

    #[test]
    fn the_checks_catch_what_they_should() {
        let source = r####"
            // "--token-file" in a comment is fine
            let a = "choose another file with --token-file";
            let b = r#"or raise TAPIS_LOCK_TIMEOUT"#;
            let c = "run `tapis login` again";
            let d = "TAPIS_SECURITY_JWT_EXPIRED is wire text; a -- dash is prose; '\"' too";
            let e = '"';
#[cfg(test)]
mod tests { const T: &str = "--in-tests"; }
"####;
        let found: Vec<_> =
            string_literals(source).into_iter().map(|(line, literal)| (line, problem(&literal))).collect();
        assert_eq!(
            found,
            [
                (3, Some("names a command-line flag")),
                (4, Some("names an environment variable")),
                (5, Some("names a tapis command")),
                (6, None),
            ]
        );
    }
}
