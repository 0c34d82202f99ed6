//! File and folder modes: what a save creates, what it replaces, what a load tightens.

use std::fs;

use tapis_store::{LooseMode, TokenStore};

use crate::{EXP_2100, access_only, check, describe_load, jwt, mode, redact, save, set_mode};

#[test]
fn a_save_creates_the_file_0600_and_missing_folders_0700() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("a/b/c/tokens.json");
    save(&TokenStore::new(&path), &access_only(&jwt("jdoe", EXP_2100))).expect("save");
    let modes: Vec<String> = ["a", "a/b", "a/b/c", "a/b/c/tokens.json"]
        .iter()
        .map(|name| format!("{name}={:o}", mode(&folder.path().join(name))))
        .collect();
    check("modes after the first save", &modes.join(" "), "a=700 a/b=700 a/b/c=700 a/b/c/tokens.json=600");
}

#[test]
fn a_save_over_an_existing_file_leaves_it_0600() {
    for previous in [0o644, 0o666, 0o640, 0o600, 0o400, 0o755] {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("tokens.json");
        fs::write(&path, r#"{"access_token": "old", "expires_at": "2025-09-05T02:30:48+00:00"}"#).expect("write");
        set_mode(&path, previous);
        save(&TokenStore::new(&path), &access_only(&jwt("jdoe", EXP_2100))).expect("save");
        check(&format!("save over a {previous:o} file"), &format!("{:o}", mode(&path)), "600");
    }
}

#[test]
fn a_load_tightens_a_group_or_world_accessible_file_and_says_so() {
    // (mode before, what the first load reports, mode after, what a second load reports)
    let table = [
        (0o644, " tightened from 0o644", "600", ""),
        (0o640, " tightened from 0o640", "600", ""),
        (0o604, " tightened from 0o604", "600", ""),
        (0o666, " tightened from 0o666", "600", ""),
        (0o660, " tightened from 0o660", "600", ""),
        (0o600, "", "600", ""),
        (0o400, "", "400", ""),
    ];
    let token = jwt("jdoe", EXP_2100);
    let loaded = "ok secret=<jwt> expires=2025-09-05T02:30:48+00:00 server=https://designsafe.tapis.io";
    for (before, first, after, second) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("tokens.json");
        fs::write(&path, format!(r#"{{"access_token": "{token}", "expires_at": "2025-09-05T02:30:48+00:00"}}"#))
            .expect("write");
        set_mode(&path, before);
        let store = TokenStore::new(&path);
        let case = format!("load a {before:o} file");
        let replacements = [(token.as_str(), "<jwt>")];
        check(&case, &redact(&describe_load(store.load(), &path), &replacements), &format!("{loaded}{first}"));
        check(&format!("{case}: mode after"), &format!("{:o}", mode(&path)), after);
        check(
            &format!("{case}: load again"),
            &redact(&describe_load(store.load(), &path), &replacements),
            &format!("{loaded}{second}"),
        );
    }
}

#[test]
fn a_read_only_load_reports_a_loose_mode_and_leaves_it() {
    let token = jwt("jdoe", EXP_2100);
    for before in [0o644, 0o640, 0o666, 0o600] {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("tokens.json");
        fs::write(&path, format!(r#"{{"access_token": "{token}", "expires_at": "2025-09-05T02:30:48+00:00"}}"#))
            .expect("write");
        set_mode(&path, before);
        let loaded = TokenStore::new(&path).load_read_only().expect("load");
        let case = format!("read-only load of a {before:o} file");
        assert!(loaded.tokens.is_some(), "{case}: the token is read");
        let expected = if before & 0o077 == 0 { None } else { Some(LooseMode::LeftAsIs(before)) };
        assert_eq!(loaded.loose_mode, expected, "{case}");
        check(&format!("{case}: mode after"), &format!("{:o}", mode(&path)), &format!("{before:o}"));
    }
}
