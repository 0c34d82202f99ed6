//! Loading: missing files, notebook files, corrupt and unreadable files, the size bound.

use std::fs::{self, File};
use std::io::Write as _;

use tapis_store::{MAX_TOKEN_FILE_BYTES, TokenStore};

use crate::{EXP_2100, Setup, check, describe_load, jwt, redact};
#[cfg(unix)]
use crate::{make_fifo, mode, os_error, set_mode};

/// Writes `bytes` as a 0600 token file in a fresh folder, loads it, and describes the outcome
/// with the path shown as `<path>` and `token` (unless empty) as `<jwt>`.
fn load_bytes(bytes: &[u8], token: &str) -> String {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    fs::write(&path, bytes).expect("write the token file");
    #[cfg(unix)]
    set_mode(&path, 0o600);
    let described = describe_load(TokenStore::new(&path).load(), &path);
    redact(&described, &[(token, "<jwt>")])
}

/// Runs `setup` in a fresh folder (it returns the token path), loads, and describes the outcome.
fn load_after(setup: Setup) -> String {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = setup(folder.path());
    describe_load(TokenStore::new(&path).load(), &path)
}

#[test]
fn a_missing_file_is_no_token_and_not_an_error() {
    let table: Vec<(&str, Setup, &str)> = vec![
        ("no file in an existing folder", |folder| folder.join("tokens.json"), "none"),
        ("no folder either", |folder| folder.join("absent/deeper/tokens.json"), "none"),
    ];
    for (case, setup, expected) in table {
        check(case, &load_after(setup), expected);
    }
}

#[test]
fn files_the_notebook_writes_load_and_expire_at_the_earlier_of_expires_at_and_exp() {
    let token = jwt("jdoe", EXP_2100);
    let early = jwt("jdoe", 1_757_000_000); // exp 2025-09-04T15:33:20Z, before the recorded expiry
    // Python's json.dump: ", " and ": " separators, no trailing newline.
    let notebook = format!(r#"{{"access_token": "{token}", "expires_at": "2025-09-05T02:30:48+00:00"}}"#);
    let exp_first = format!(r#"{{"access_token": "{early}", "expires_at": "2025-09-05T02:30:48+00:00"}}"#);
    let microseconds = format!(r#"{{"access_token": "{token}", "expires_at": "2025-09-05T02:30:48.123456+00:00"}}"#);
    let unknown_fields = format!(
        r#"{{"tenant": "designsafe", "access_token": "{token}", "refresh_token": null, "expires_at": "2025-09-05T02:30:48+00:00", "extra": [1, {{"x": null}}]}}"#
    );
    let no_expires_at = format!(r#"{{"access_token": "{token}"}}"#);
    let garbage_expires_at = format!(r#"{{"access_token": "{token}", "expires_at": "tomorrow"}}"#);
    let pretty =
        format!("{{\n    \"access_token\": \"{token}\",\n    \"expires_at\": \"2025-09-05T02:30:48+00:00\"\n}}\n");
    let table: Vec<(&str, &str, &str, &str)> = vec![
        (
            "notebook file",
            &notebook,
            &token,
            "ok secret=<jwt> expires=2025-09-05T02:30:48+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "exp earlier than expires_at",
            &exp_first,
            &early,
            "ok secret=<jwt> expires=2025-09-04T15:33:20+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "Tapis microseconds",
            &microseconds,
            &token,
            "ok secret=<jwt> expires=2025-09-05T02:30:48.123456+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "unknown fields ignored",
            &unknown_fields,
            &token,
            "ok secret=<jwt> expires=2025-09-05T02:30:48+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "no expires_at: exp",
            &no_expires_at,
            &token,
            "ok secret=<jwt> expires=2100-01-01T00:00:00+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "unreadable expires_at: exp",
            &garbage_expires_at,
            &token,
            "ok secret=<jwt> expires=2100-01-01T00:00:00+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "indented, with a newline",
            &pretty,
            &token,
            "ok secret=<jwt> expires=2025-09-05T02:30:48+00:00 server=https://designsafe.tapis.io",
        ),
    ];
    for (case, file, token, expected) in table {
        check(case, &load_bytes(file.as_bytes(), token), expected);
    }
}

#[test]
fn corrupt_files_count_as_no_token_and_name_the_path() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let max = MAX_TOKEN_FILE_BYTES as usize;
    let just_too_large = vec![b' '; max + 1];
    let largest_read = vec![b' '; max];
    let corrupt = "Corrupt no-token: the token file <path> is not usable: ";
    let table: Vec<(&str, &[u8], String)> = vec![
        ("empty", b"", format!("{corrupt}the file is empty")),
        ("only white space", b" \n\t\n", format!("{corrupt}the file is empty")),
        (
            "truncated JSON",
            b"{\"access_token\": \"eyJ",
            format!("{corrupt}the file is not valid JSON (EOF while parsing a string at line 1 column 21)"),
        ),
        ("access_token: 42", br#"{"access_token": 42}"#, format!("{corrupt}the field `access_token` is not a string")),
        (
            "no access_token",
            br#"{"expires_at": "2025-09-05T02:30:48+00:00"}"#,
            format!("{corrupt}the field `access_token` is missing"),
        ),
        (
            "binary bytes",
            b"\x00\x01\x02\x03\x04",
            format!("{corrupt}the file is not valid JSON (expected value at line 1 column 1)"),
        ),
        (
            "a JSON array",
            br#"["eyJ", "2025-09-05T02:30:48+00:00"]"#,
            format!("{corrupt}the file holds JSON an array, not an object"),
        ),
        ("a JSON string", br#""eyJ""#, format!("{corrupt}the file holds JSON a string, not an object")),
        ("not UTF-8", b"{\"access_token\": \"\xc3\x28\"}", format!("{corrupt}the file is not UTF-8 text")),
        (
            "10 000 nested arrays",
            deep.as_bytes(),
            format!("{corrupt}the file is not valid JSON (recursion limit exceeded at line 1 column 128)"),
        ),
        (
            "an opaque token without expires_at",
            br#"{"access_token": "opaque"}"#,
            format!(
                "{corrupt}the access token is unusable: the token's expiry is unknown: no usable expires_at and no readable JWT exp claim"
            ),
        ),
        (
            "a plain-http base_url",
            br#"{"access_token": "opaque", "expires_at": "2025-09-05T02:30:48Z", "base_url": "http://evil.example"}"#,
            format!(
                "{corrupt}the recorded base_url is not usable: `http://evil.example` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)"
            ),
        ),
        // At the bound: read whole (and found empty); one byte over: refused as too large.
        ("MAX_TOKEN_FILE_BYTES of spaces", &largest_read, format!("{corrupt}the file is empty")),
        ("one byte over the bound", &just_too_large, format!("{corrupt}the file is larger than 1048576 bytes")),
    ];
    for (case, bytes, expected) in table {
        check(case, &load_bytes(bytes, ""), &expected);
    }
}

#[test]
fn a_huge_sparse_file_is_refused_as_too_large() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let mut file = File::create(&path).expect("create");
    file.write_all(b"{\"access_token\": \"").expect("write");
    file.set_len(100 * 1024 * 1024).expect("extend to 100 MB without writing it");
    drop(file);
    #[cfg(unix)]
    set_mode(&path, 0o600);
    check(
        "100 MB sparse file",
        &describe_load(TokenStore::new(&path).load(), &path),
        "Corrupt no-token: the token file <path> is not usable: the file is larger than 1048576 bytes",
    );
}

#[test]
fn unreadable_paths_are_errors_not_no_token() {
    #[cfg_attr(not(unix), expect(unused_mut))]
    let mut table: Vec<(&str, Setup, String)> = vec![
        (
            "a folder where the file should be",
            |folder| {
                let path = folder.join("tokens.json");
                fs::create_dir(&path).expect("mkdir");
                fs::write(path.join("inside"), "{}").expect("a file in it");
                path
            },
            "Unreadable: cannot read the token file <path>: it is a folder; it was left as it is".into(),
        ),
        (
            "a file where a folder should be",
            |folder| {
                fs::write(folder.join("notafolder"), "just a file").expect("write");
                folder.join("notafolder/tokens.json")
            },
            "Unreadable: cannot read the token file <path>: notafolder is a file, not a folder; it was left as it is"
                .into(),
        ),
    ];
    // Windows: making a link takes a privilege an ordinary user lacks.
    #[cfg(unix)]
    table.push((
        "a symbolic link loop",
        |folder| {
            let path = folder.join("tokens.json");
            std::os::unix::fs::symlink(&path, &path).expect("symlink to itself");
            path
        },
        format!(
            "Unreadable: cannot read the token file <path>: {}; it was left as it is",
            os_error(rustix::io::Errno::LOOP)
        ),
    ));
    for (case, setup, expected) in table {
        check(case, &load_after(setup), &expected);
    }
}

/// Another user's file is refused, not used and not touched, and it is not "no token" (a
/// login must not replace it). Only root can give a file away; elsewhere this test has nothing
/// to set up.
#[test]
#[cfg(unix)] // Windows has no other owner: see `tapis_store`'s platform notes.
fn another_users_file_is_refused_and_left_alone() {
    if rustix::process::geteuid().as_raw() != 0 {
        return;
    }
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let bytes = format!(r#"{{"access_token": "{}"}}"#, jwt("jdoe", EXP_2100));
    fs::write(&path, &bytes).expect("write");
    set_mode(&path, 0o644);
    std::os::unix::fs::chown(&path, Some(54_321), Some(54_321)).expect("chown as root");
    check(
        "file owned by uid 54321",
        &describe_load(TokenStore::new(&path).load(), &path),
        "NotOwned: the token file <path> belongs to another user (uid 54321); refusing to use it — remove it or choose another token file",
    );
    check("mode of the other user's file", &format!("{:o}", mode(&path)), "644");
    check("contents of the other user's file", &fs::read_to_string(&path).expect("read"), &bytes);
}

#[test]
#[cfg(unix)] // Windows has no FIFOs among files.
fn a_fifo_at_the_token_path_is_refused_without_waiting_for_a_writer() {
    let folder = tempfile::tempdir().expect("temp folder");
    let path = folder.path().join("tokens.json");
    make_fifo(&path);
    // Load in a thread, so that a regression (an open that blocks) fails instead of hanging.
    let (sender, receiver) = std::sync::mpsc::channel();
    let store = TokenStore::new(&path);
    std::thread::spawn(move || {
        let _ = sender.send(store.load().map(|loaded| loaded.tokens.is_some()).map_err(|error| error.to_string()));
    });
    let outcome = receiver.recv_timeout(std::time::Duration::from_secs(20)).expect("load returned without waiting");
    let message = outcome.expect_err("a FIFO is not a token file");
    assert!(message.contains("is not a regular file"), "{message}");
}

#[test]
fn the_saved_username_is_read_without_changing_the_file() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    let url = |text: &str| tapis_auth_core::BaseUrl::parse(text).expect("a valid base URL");
    assert_eq!(store.saved_username(&url(crate::DESIGNSAFE)).expect("no file is no user"), None);
    // An expired notebook token still names its user, for its own server only.
    let token = jwt("jdoe", 1_000);
    fs::write(&path, format!(r#"{{"access_token": "{token}", "expires_at": "1970-01-01T00:16:40+00:00"}}"#))
        .expect("write the token file");
    #[cfg(unix)]
    set_mode(&path, 0o644);
    assert_eq!(store.saved_username(&url(crate::DESIGNSAFE)).expect("readable").as_deref(), Some("jdoe"));
    assert_eq!(store.saved_username(&url("https://tacc.tapis.io")).expect("readable"), None);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o644, "only looked at");
}
