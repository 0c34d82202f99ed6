//! Saving and removing: round trips, the notebook's view of our file, symbolic links, failed
//! saves, temporary files.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tapis_auth_core::TokenSet;
use tapis_auth_core::expiry::parse_expires_at;
use tapis_store::TokenStore;

use crate::{
    EXP_2100, Setup, access, access_only, check, describe_error, describe_load, full_set, jwt, names_in, redact,
    remove, save,
};

#[test]
fn what_is_saved_loads_back_the_same() {
    let token = jwt("jdoe", EXP_2100);
    let refresh = jwt("jdoe", EXP_2100 + 86_400);
    let expires_at = parse_expires_at("2025-09-05T02:30:48+00:00").expect("a valid time");
    let table: Vec<(&str, TokenSet, &str)> = vec![
        (
            "access token only, expiry from exp",
            access_only(&token),
            "ok secret=<jwt> expires=2100-01-01T00:00:00+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "recorded expiry earlier than exp",
            TokenSet::new(access(&token, Some(expires_at))),
            "ok secret=<jwt> expires=2025-09-05T02:30:48+00:00 server=https://designsafe.tapis.io",
        ),
        (
            "refresh token and a recorded base URL",
            full_set(&token, &refresh, "https://designsafe.tapis.io/"),
            "ok secret=<jwt> expires=2100-01-01T00:00:00+00:00 server=https://designsafe.tapis.io refresh=<refresh> refresh_expires=2100-01-02T00:00:00+00:00 client=tapis-cli-test:client-key-1",
        ),
        (
            // The record is kept as it is, so the tokens still belong to no server when read.
            "a recorded base URL that the issuer contradicts",
            full_set(&token, &refresh, "https://tacc.tapis.io/"),
            "ok secret=<jwt> expires=2100-01-01T00:00:00+00:00 server=- refresh=<refresh> refresh_expires=2100-01-02T00:00:00+00:00 client=tapis-cli-test:client-key-1",
        ),
    ];
    for (case, tokens, expected) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("tokens.json");
        let store = TokenStore::new(&path);
        save(&store, &tokens).expect("save");
        let replacements = [(refresh.as_str(), "<refresh>"), (token.as_str(), "<jwt>")];
        check(case, &redact(&describe_load(store.load(), &path), &replacements), expected);
        // Exactly, not only as text.
        let loaded = store.load().expect("load").tokens.expect("tokens");
        assert_eq!(loaded.access.expose_secret(), tokens.access.expose_secret(), "case: {case}");
        assert_eq!(loaded.access.expires_at(), tokens.access.expires_at(), "case: {case}");
        assert_eq!(loaded.server(), tokens.server(), "case: {case}");
    }
}

/// The notebooks' `connect_tapis()` knows two fields: `access_token`, and `expires_at` in
/// `datetime.isoformat()` shape with a `+00:00` offset.
#[test]
fn a_reader_that_knows_only_the_notebook_fields_can_read_what_is_saved() {
    let token = jwt("jdoe", EXP_2100);
    let refresh = jwt("jdoe", EXP_2100 + 86_400);
    let table: Vec<(&str, TokenSet)> = vec![
        ("access token only", access_only(&token)),
        ("every field", full_set(&token, &refresh, "https://designsafe.tapis.io")),
    ];
    for (case, tokens) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("tokens.json");
        save(&TokenStore::new(&path), &tokens).expect("save");
        let value: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("JSON");
        let access_token = value.get("access_token").and_then(Value::as_str).unwrap_or("<missing>");
        check(&format!("{case}: access_token"), access_token, &token);
        let expires_at = value.get("expires_at").and_then(Value::as_str).unwrap_or("<missing>");
        check(&format!("{case}: expires_at"), expires_at, "2100-01-01T00:00:00+00:00");
        check(&format!("{case}: expires_at length"), &expires_at.len().to_string(), "25");
        // Digits where the date and time are, then exactly `+00:00`.
        let shape: String = expires_at
            .char_indices()
            .map(|(index, character)| if index < 19 && character.is_ascii_digit() { 'D' } else { character })
            .collect();
        check(&format!("{case}: expires_at shape"), &shape, "DDDD-DD-DDTDD:DD:DD+00:00");
    }
}

#[test]
#[cfg(unix)] // Windows: making a link takes a privilege an ordinary user lacks.
fn a_symbolic_link_is_never_written_through() {
    // (case, what the link points to, relative to the folder; whether that file exists)
    let table = [
        ("a link to a token file", "real.json", true),
        ("a dangling link", "absent.json", false),
        ("a link to a file in another folder", "elsewhere/real.json", true),
    ];
    let previous = br#"{"access_token": "old", "expires_at": "2025-09-05T02:30:48+00:00"}"#;
    for (case, target, exists) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let target = folder.path().join(target);
        if exists {
            fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
            fs::write(&target, previous).expect("write the target");
        }
        let path = folder.path().join("tokens.json");
        symlink(&target, &path).expect("symlink");
        let store = TokenStore::new(&path);
        let error = save(&store, &access_only(&jwt("jdoe", EXP_2100))).expect_err("a save through a link");
        check(
            case,
            &describe_error(&error, &path),
            "Symlink: the token file <path> is a symbolic link; tokens are not written through links — use the real file or remove the link",
        );
        let link = fs::read_link(&path).expect("the link is still there");
        check(&format!("{case}: link target"), &link.display().to_string(), &target.display().to_string());
        if exists {
            assert_eq!(fs::read(&target).expect("read the target"), previous, "case: {case}: target changed");
        } else {
            assert!(!target.exists(), "case: {case}: the dangling link's target was created");
        }
        check(&format!("{case}: files left"), &names_in(folder.path()).join(" "), &names_without_temporaries(&path));
    }
}

/// The names a folder should hold: everything but temporary files (`.tokens.json.*`).
#[cfg(unix)]
fn names_without_temporaries(path: &Path) -> String {
    let folder = path.parent().expect("a folder");
    names_in(folder).into_iter().filter(|name| !name.starts_with(".tokens.json.")).collect::<Vec<_>>().join(" ")
}

#[test]
fn a_failed_save_leaves_the_previous_file_and_no_temporary() {
    const PREVIOUS: &[u8] = br#"{"access_token": "old", "expires_at": "2025-09-05T02:30:48+00:00"}"#;
    /// Makes the save fail (as root too); returns the token path and a file that must not change.
    type FailingSetup = fn(&Path) -> (PathBuf, PathBuf);
    #[cfg_attr(not(unix), expect(unused_mut))]
    let mut table: Vec<(&str, FailingSetup, String)> = vec![
        (
            "a file where the folder should be",
            |folder| {
                let file = folder.join("notafolder");
                fs::write(&file, PREVIOUS).expect("write");
                (file.join("tokens.json"), file)
            },
            "Lock: cannot lock <path>.lock: notafolder is a file, not a folder".into(),
        ),
        (
            "a folder where the file should be",
            |folder| {
                let path = folder.join("tokens.json");
                fs::create_dir(&path).expect("mkdir");
                fs::write(path.join("inside"), PREVIOUS).expect("write");
                (path.clone(), path.join("inside"))
            },
            "Unreadable: cannot read the token file <path>: it is a folder; it was left as it is".into(),
        ),
    ];
    // Windows limits whole paths (260 characters) before names, with another message.
    #[cfg(unix)]
    table.push((
        "a file name too long for the temporary file's",
        |folder| {
            let path = folder.join(format!("{}.json", "t".repeat(245)));
            fs::write(&path, PREVIOUS).expect("write");
            (path.clone(), path)
        },
        format!(
            "Write: cannot save the token file <path> (the previous file is unchanged): {}",
            crate::os_error(rustix::io::Errno::NAMETOOLONG)
        ),
    ));
    for (case, setup, expected) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let (path, untouched) = setup(folder.path());
        let names_before = names_in(folder.path());
        let error = save(&TokenStore::new(&path), &access_only(&jwt("jdoe", EXP_2100))).expect_err("the save fails");
        // tempfile adds ` at path "<the temporary file's random name>"` to its errors.
        let described = describe_error(&error, &path);
        let described = described.split(" at path ").next().unwrap_or_default();
        check(case, described, &expected);
        assert_eq!(fs::read(&untouched).expect("read"), PREVIOUS, "case: {case}: the previous file changed");
        let names_after: Vec<String> =
            names_in(folder.path()).into_iter().filter(|name| !name.ends_with(".lock")).collect();
        check(&format!("{case}: files left"), &names_after.join(" "), &names_before.join(" "));
    }
}

#[test]
fn a_successful_save_leaves_only_the_token_file_and_the_lock_file() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    save(&store, &access_only(&jwt("jdoe", EXP_2100))).expect("create");
    check("after creating", &names_in(folder.path()).join(" "), "tokens.json tokens.json.lock");
    save(&store, &access_only(&jwt("asmith", EXP_2100))).expect("replace");
    check("after replacing", &names_in(folder.path()).join(" "), "tokens.json tokens.json.lock");
    let loaded = store.load().expect("load").tokens.expect("tokens");
    check("the replacement is what loads", loaded.access.username().unwrap_or("-"), "asmith");
}

/// A writer killed mid-save leaves `.<file>.<host>-<pid>.<random>.tmp`; the next save on the
/// same host removes it if that process is gone, and leaves every other file alone.
#[test]
#[cfg(unix)] // The host name as the store reads it: `uname`.
fn a_save_removes_temporaries_of_dead_writers_on_this_host_only() {
    let uname = rustix::system::uname();
    let host: String = uname
        .nodename()
        .to_string_lossy()
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() { character } else { '_' })
        .collect();
    let host = if host.is_empty() { "host".to_owned() } else { host };
    let alive = std::process::id();
    let dead = i32::MAX; // beyond any pid_max: no such process
    let table = [
        (format!(".tokens.json.{host}-{dead}.AbC123.tmp"), false, "a dead writer's temporary on this host"),
        (format!(".tokens.json.{host}-{alive}.AbC123.tmp"), true, "a live writer's temporary"),
        (format!(".tokens.json.{host}x-{dead}.AbC123.tmp"), true, "another host's temporary"),
        (format!(".other.json.{host}-{dead}.AbC123.tmp"), true, "another token file's temporary"),
        (format!(".tokens.json.{host}-{dead}.AbC123.bak"), true, "not a temporary"),
    ];
    let folder = tempfile::tempdir().expect("temporary folder");
    for (name, _, _) in &table {
        fs::write(folder.path().join(name), "{\"access_token\": \"a secret\"}").expect("write");
    }
    save(&TokenStore::new(folder.path().join("tokens.json")), &access_only(&jwt("jdoe", EXP_2100))).expect("save");
    for (name, kept, case) in &table {
        let exists = folder.path().join(name).exists();
        check(case, &format!("exists={exists}"), &format!("exists={kept}"));
    }
}

#[test]
fn remove_says_whether_there_was_a_file() {
    // Each setup prepares the token path in the folder.
    #[cfg_attr(not(unix), expect(unused_mut))]
    let mut table: Vec<(&str, Setup, &str, &str)> = vec![
        (
            "a token file",
            |folder| {
                let path = folder.join("tokens.json");
                fs::write(&path, valid_file()).expect("write");
                path
            },
            "Ok(true)",
            "tokens.json.lock",
        ),
        ("no file", |folder| folder.join("tokens.json"), "Ok(false)", "tokens.json.lock"),
        // The lock file is made next to the token file, and its folder with it.
        ("no folder", |folder| folder.join("absent/tokens.json"), "Ok(false)", "absent"),
        (
            "a folder: not a file that can be read, so it stays",
            |folder| {
                fs::create_dir(folder.join("tokens.json")).expect("mkdir");
                folder.join("tokens.json")
            },
            "Unreadable: cannot read the token file <path>: it is a folder; it was left as it is",
            "tokens.json tokens.json.lock",
        ),
    ];
    // Windows: making a link takes a privilege an ordinary user lacks.
    #[cfg(unix)]
    table.push((
        "a link: the link goes, its target stays",
        |folder| {
            fs::write(folder.join("target.json"), valid_file()).expect("write");
            symlink(folder.join("target.json"), folder.join("tokens.json")).expect("symlink");
            folder.join("tokens.json")
        },
        "Ok(true)",
        "target.json tokens.json.lock",
    ));
    for (case, setup, expected, left) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = setup(folder.path());
        let outcome = match remove(&TokenStore::new(&path)) {
            Ok(existed) => format!("Ok({existed})"),
            Err(error) => describe_error(&error, &path),
        };
        check(case, &outcome, expected);
        check(&format!("{case}: files left"), &names_in(folder.path()).join(" "), left);
        if expected == "Ok(true)" {
            let again = remove(&TokenStore::new(&path)).map_err(|error| error.to_string());
            check(&format!("{case}: remove again"), &format!("{again:?}"), "Ok(false)");
        }
    }
}

/// A usable token file's contents.
fn valid_file() -> String {
    format!(r#"{{"access_token": "{}"}}"#, jwt("jdoe", EXP_2100))
}

/// An unusable file counts as no token and may be replaced or removed, but never without a
/// private copy of it next to it, named in what the write reports.
#[test]
fn an_unusable_file_is_kept_as_a_copy_before_it_is_replaced_or_removed() {
    for replace in [true, false] {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("tokens.json");
        fs::write(&path, "{\"access_token\": ").expect("write a truncated file");
        let store = TokenStore::new(&path);
        let lock = store.lock(Duration::from_secs(5)).expect("lock");
        let read = store.read_for_update(&lock).expect("an unusable file is read");
        let error = read.contents.as_ref().expect_err("unusable");
        assert!(error.counts_as_no_token(), "{error}");
        let written = if replace {
            read.guard.replace_tokens(&access_only(&jwt("jdoe", EXP_2100))).expect("replace")
        } else {
            read.guard.remove().expect("remove")
        };
        let copy = written.corrupt_copy.expect("a copy is kept");
        assert!(written.replaced_file);
        assert_eq!(copy.parent(), Some(folder.path()), "next to the file");
        let name = copy.file_name().expect("a name").to_string_lossy().into_owned();
        assert!(name.starts_with("tokens.json.corrupt-"), "{name}");
        assert_eq!(fs::read(&copy).expect("read the copy"), b"{\"access_token\": ");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&copy).expect("metadata").permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(path.exists(), replace);
    }
}

/// A write checks, right before the rename, that the file still holds what was read: a file
/// written meanwhile by a program that does not take the lock (the notebooks) is not lost.
#[test]
fn a_file_changed_after_the_read_is_not_written_over() {
    type Change = fn(&Path);
    let table: Vec<(&str, Option<&str>, Change)> = vec![
        ("created meanwhile", None, |path| fs::write(path, "{}").expect("write")),
        ("replaced meanwhile", Some("{}"), |path| {
            let other = path.with_extension("other");
            fs::write(&other, "{ }").expect("write");
            fs::rename(&other, path).expect("rename");
        }),
        ("removed meanwhile", Some("{}"), |path| fs::remove_file(path).expect("remove")),
    ];
    for (case, before, change) in table {
        for remove in [false, true] {
            let folder = tempfile::tempdir().expect("temporary folder");
            let path = folder.path().join("tokens.json");
            if let Some(text) = before {
                fs::write(&path, text).expect("write");
            }
            let store = TokenStore::new(&path);
            let lock = store.lock(Duration::from_secs(5)).expect("lock");
            let read = store.read_for_update(&lock).expect("read");
            change(&path);
            let after = fs::read(&path).ok();
            let outcome = if remove {
                read.guard.remove()
            } else {
                read.guard.replace_tokens(&access_only(&jwt("jdoe", EXP_2100)))
            };
            let error = outcome.expect_err(case);
            check(
                case,
                &describe_error(&error, &path),
                "ChangedMeanwhile: the token file <path> changed while this process held its lock (a program that does not take the lock wrote it); nothing was written — try again",
            );
            assert_eq!(fs::read(&path).ok(), after, "case: {case}: the file is as the other writer left it");
        }
    }
}

/// Windows refuses a rename over a file another program holds open without sharing deletion
/// (an editor, a virus scanner, Python's `open()`). The save tries again for about a second,
/// then fails with the previous file unchanged and no temporary left; once the file is let go,
/// a save goes through.
#[test]
#[cfg(windows)]
fn a_save_over_a_file_held_open_elsewhere_fails_after_its_retries_and_leaves_it() {
    use std::os::windows::fs::OpenOptionsExt as _;
    const FILE_SHARE_READ: u32 = 1;
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    save(&store, &access_only(&jwt("jdoe", EXP_2100))).expect("the first save");
    let before = fs::read(&path).expect("read");
    let held = fs::OpenOptions::new().read(true).share_mode(FILE_SHARE_READ).open(&path).expect("hold it open");
    let error = save(&store, &access_only(&jwt("asmith", EXP_2100))).expect_err("refused while held");
    // Windows says "Access is denied.", wine "Access denied.": the code is the same.
    let described = describe_error(&error, &path);
    let expected = "Write: cannot save the token file <path> (the previous file is unchanged): ";
    assert!(described.starts_with(expected) && described.contains("(os error 5)"), "{described}");
    assert_eq!(fs::read(&path).expect("read"), before, "the previous file is unchanged");
    check("files left", &names_in(folder.path()).join(" "), "tokens.json tokens.json.lock");
    drop(held);
    save(&store, &access_only(&jwt("asmith", EXP_2100))).expect("a save once it is let go");
    let loaded = store.load().expect("load").tokens.expect("tokens");
    check("the new token is what loads", loaded.access.username().unwrap_or("-"), "asmith");
}

/// Another `tapis` reading the token file holds it open sharing deletion (std's default), and
/// a save replaces the file all the same, at once: the rename falls back to POSIX semantics.
/// The reader keeps the bytes it opened. Real Windows only (Windows 10 1709 and later, NTFS):
/// the release workflow's Windows runner.
#[test]
#[cfg(windows)]
fn a_save_over_a_file_another_tapis_is_reading_goes_through() {
    use std::io::Read as _;
    // `cargo xtask cross` runs the Windows tests under wine, which sets WINEPREFIX for it.
    if std::env::var_os("WINEPREFIX").is_some() {
        eprintln!("skipped under wine: wine 8 refuses a POSIX-semantics rename over an open file, which NTFS allows");
        return;
    }
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    save(&store, &access_only(&jwt("jdoe", EXP_2100))).expect("the first save");
    let before = fs::read(&path).expect("read");
    let mut reader = fs::File::open(&path).expect("open as std does, sharing deletion");
    save(&store, &access_only(&jwt("asmith", EXP_2100))).expect("replaced while read");
    let loaded = store.load().expect("load").tokens.expect("tokens");
    check("the new token is what loads", loaded.access.username().unwrap_or("-"), "asmith");
    let mut read = Vec::new();
    reader.read_to_end(&mut read).expect("the reader reads on");
    assert_eq!(read, before, "the reader keeps the file it opened");
    check("files left", &names_in(folder.path()).join(" "), "tokens.json tokens.json.lock");
}

/// A lock that is not the token file's cannot guard a write to it.
#[test]
fn a_write_needs_the_files_own_lock() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let other = TokenStore::new(folder.path().join("other.json"));
    let lock = other.lock(Duration::from_secs(5)).expect("lock");
    let path = folder.path().join("tokens.json");
    let error = TokenStore::new(&path).read_for_update(&lock).expect_err("another file's lock");
    assert!(error.to_string().contains("is not the lock of"), "{error}");
}

#[test]
fn a_kept_client_is_saved_private_and_loads_as_no_token() {
    use tapis_auth_core::{BaseUrl, KeptClient, OAuthClient, SecretString};

    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    let kept = KeptClient {
        base_url: BaseUrl::parse("https://designsafe.tapis.io").expect("valid"),
        client: OAuthClient { client_id: "tapis-cli-test".into(), client_key: SecretString::from("client-key-1") },
        created_client_id: Some("tapis-cli-test".into()),
        username: Some("jdoe".into()),
    };
    let lock = store.lock(Duration::from_secs(5)).expect("lock");
    store.read_for_update(&lock).expect("read").guard.replace_kept_client(&kept).expect("save");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(fs::metadata(&path).expect("metadata").permissions().mode() & 0o777, 0o600);
    }
    let loaded = store.load().expect("load");
    assert!(loaded.tokens.is_none(), "no tokens");
    let again = loaded.kept_client.expect("the kept client");
    assert_eq!(
        (again.client.client_id.as_str(), again.base_url.as_str()),
        ("tapis-cli-test", "https://designsafe.tapis.io")
    );
}
