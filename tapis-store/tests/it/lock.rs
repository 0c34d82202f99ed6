//! The sidecar lock. `flock` locks belong to the open file, so two `TokenStore`s in one
//! process exclude each other as two processes would.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::symlink;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tapis_store::{StoreError, TokenStore};

use crate::{Setup, check, describe_error, names_in};
#[cfg(unix)]
use crate::{mode, set_mode};

#[test]
fn a_held_lock_makes_others_time_out_until_it_is_dropped() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let first = TokenStore::new(&path);
    let second = TokenStore::new(&path);
    let held = first.lock(Duration::from_secs(5)).expect("the first lock");

    let started = Instant::now();
    let error = second.lock(Duration::from_millis(200)).expect_err("the lock is held");
    let elapsed = started.elapsed();
    let lock_path = path.with_file_name("tokens.json.lock");
    let StoreError::LockTimeout { path: reported, waited } = &error else {
        panic!("expected LockTimeout, got {error:?}");
    };
    check("the path LockTimeout names", &reported.display().to_string(), &lock_path.display().to_string());
    let shown = error.to_string();
    let lock_path_text = lock_path.display().to_string();
    let expected_start = format!("another process has held {lock_path_text} for more than ");
    assert!(shown.starts_with(&expected_start), "LockTimeout shows {shown:?}");
    assert!(!error.counts_as_no_token(), "a held lock is not a missing token");
    // It waited the whole time it was given, and not for ever.
    assert!(*waited >= Duration::from_millis(200), "gave up after {waited:?}");
    assert!(elapsed >= Duration::from_millis(200), "gave up after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "waited {elapsed:?} for a 200 ms timeout");

    drop(held);
    let again = second.lock(Duration::from_millis(200));
    check("after the first guard dropped", &format!("{:?}", again.map(|_| ())), "Ok(())");
}

#[test]
fn a_waiter_gets_the_lock_when_the_holder_drops_it_and_not_before() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let held = TokenStore::new(&path).lock(Duration::from_secs(5)).expect("the first lock");
    let released = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (path, released) = (path.clone(), Arc::clone(&released));
        std::thread::spawn(move || {
            let lock = TokenStore::new(&path).lock(Duration::from_secs(60));
            (lock.is_ok(), released.load(Ordering::SeqCst))
        })
    };
    // Give the waiter time to find the lock held (it would take it now if the lock did not work).
    std::thread::sleep(Duration::from_millis(300));
    released.store(true, Ordering::SeqCst);
    drop(held);
    let (locked, after_release) = waiter.join().expect("the waiter thread");
    check("waiter", &format!("locked={locked} after_release={after_release}"), "locked=true after_release=true");
}

#[test]
fn the_lock_file_is_0600_in_folders_created_0700() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("new/tokens.json");
    let store = TokenStore::new(&path);
    let lock = store.lock(Duration::ZERO).expect("a free lock is taken even with no wait");
    let kind = format!("{:?} path={}", lock.kind(), lock.path() == store.lock_path());
    check("where flock works", &kind, "Flock path=true");
    #[cfg(unix)]
    {
        let modes =
            format!("new={:o} new/tokens.json.lock={:o}", mode(&folder.path().join("new")), mode(&store.lock_path()));
        check("modes", &modes, "new=700 new/tokens.json.lock=600");
    }
    check("files", &names_in(&folder.path().join("new")).join(" "), "tokens.json.lock");
    drop(lock);
    // Taking it again reuses the file.
    drop(store.lock(Duration::ZERO).expect("the lock again"));
    check("files after relocking", &names_in(&folder.path().join("new")).join(" "), "tokens.json.lock");
}

#[test]
fn a_lock_that_cannot_be_opened_is_an_error_naming_the_lock_file() {
    const PREVIOUS: &[u8] = b"not a lock file, and must stay so";
    #[cfg_attr(not(unix), expect(unused_mut))]
    let mut table: Vec<(&str, Setup, &str)> = vec![
        (
            "a file where the folder should be",
            |folder| {
                fs::write(folder.join("victim"), PREVIOUS).expect("write");
                folder.join("victim/tokens.json")
            },
            "Lock: cannot lock <path>.lock: victim is a file, not a folder",
        ),
        (
            "a folder at the lock file's path",
            |folder| {
                fs::write(folder.join("victim"), PREVIOUS).expect("write");
                fs::create_dir(folder.join("tokens.json.lock")).expect("mkdir");
                folder.join("tokens.json")
            },
            "Lock: cannot lock <path>.lock: it is not a regular file; remove it (tapis creates it again)",
        ),
    ];
    // Windows: making a link takes Developer Mode or a privilege (and wine's links are Unix
    // links, not reparse points), and files are no FIFOs.
    #[cfg(unix)]
    {
        let unix_rows: [(&str, Setup, &str); 2] = [
            (
                "the lock file is a symbolic link",
                |folder| {
                    fs::write(folder.join("victim"), PREVIOUS).expect("write");
                    symlink(folder.join("victim"), folder.join("tokens.json.lock")).expect("symlink");
                    folder.join("tokens.json")
                },
                "Lock: cannot lock <path>.lock: it is not a regular file; remove it (tapis creates it again)",
            ),
            (
                "a FIFO at the lock file's path",
                |folder| {
                    fs::write(folder.join("victim"), PREVIOUS).expect("write");
                    crate::make_fifo(&folder.join("tokens.json.lock"));
                    folder.join("tokens.json")
                },
                "Lock: cannot lock <path>.lock: it is not a regular file; remove it (tapis creates it again)",
            ),
        ];
        table.extend(unix_rows);
    }
    for (case, setup, expected) in table {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = setup(folder.path());
        let outcome = match TokenStore::new(&path).lock(Duration::from_millis(200)) {
            Ok(_) => "Ok".to_owned(),
            Err(error) => describe_error(&error, &path),
        };
        check(case, &outcome, expected);
        assert_eq!(fs::read(folder.path().join("victim")).expect("read"), PREVIOUS, "case: {case}: victim changed");
    }
}

/// A user id that owns nothing on the test machine.
#[cfg(unix)]
const OTHER_UID: u32 = 54_321;

#[test]
#[cfg(unix)] // Windows has no other owner: see `tapis_store`'s platform notes.
fn another_users_lock_file_is_refused_not_waited_on() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let lock_path = path.with_file_name("tokens.json.lock");
    for mode in [0o600, 0o666] {
        fs::write(&lock_path, b"").expect("create the lock file");
        set_mode(&lock_path, mode);
        // Making a file another user's takes root (as the tests run in CI); elsewhere the
        // open itself is refused, which is checked by the message below as well.
        if let Err(error) = std::os::unix::fs::chown(&lock_path, Some(OTHER_UID), Some(OTHER_UID)) {
            assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied, "{error}");
            return;
        }
        // Held meanwhile (as its owner could hold it for ever): a wait would end in LockTimeout.
        let held = fs::File::open(&lock_path).expect("open");
        held.lock().expect("hold the lock");
        let error = TokenStore::new(&path).lock(Duration::from_millis(200)).expect_err("refused");
        check(
            &format!("another user's {mode:o} lock file"),
            &describe_error(&error, &path),
            &format!(
                "LockNotOwned: the lock file <path>.lock belongs to another user (uid {OTHER_UID}); refusing to wait on it — remove it or use another token file"
            ),
        );
        drop(held);
        fs::remove_file(&lock_path).expect("remove");
    }
}

/// A held `flock` knows when its lock file was removed or replaced under it: another
/// process would then lock another file, and hold the lock too.
#[test]
// Windows: a file removed while open may stay, pending deletion, until its last handle is
// closed (so no other process can lock a new file there meanwhile); whether the name goes at
// once depends on the Windows version and the file system (wine keeps it).
#[cfg(unix)]
fn verify_held_says_when_the_lock_file_was_removed_or_replaced() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    let lock = store.lock(Duration::ZERO).expect("free");
    lock.verify_held().expect("held");
    let lost = "the lock file <path>.lock was removed or replaced while this process held it, so another process may hold the lock now; nothing was saved, run the command again";
    let said = |lock: &tapis_store::StoreLock| {
        lock.verify_held().expect_err("lost").to_string().replace(path.to_str().expect("UTF-8"), "<path>")
    };
    fs::remove_file(store.lock_path()).expect("remove the lock file");
    check("removed", &said(&lock), lost);
    // Another process locks a new file at the path: both would hold a lock.
    let other = TokenStore::new(&path).lock(Duration::ZERO).expect("a new lock file, free");
    check("replaced", &said(&lock), lost);
    other.verify_held().expect("the new one is held");
}

/// Nodes where `flock` works and nodes where it is refused may share a token file: after
/// taking the `flock`, a live lock folder is waited for (and a dead one taken over).
#[test]
#[cfg(target_os = "linux")] // The lock folder is Unix only; planting one reads /proc.
fn an_flock_waits_for_a_live_lock_folder_of_a_node_without_flock() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    let mut holder = std::process::Command::new("sleep").arg("600").spawn().expect("spawn sleep");
    let pid = holder.id();
    crate::lock_fallback::plant(
        &store,
        &crate::lock_fallback::this_machine(),
        pid,
        crate::lock_fallback::start_time(pid),
        Duration::ZERO,
    );
    let error = store.lock(Duration::from_millis(200)).expect_err("the lock folder is held");
    check(
        "a live lock folder",
        describe_error(&error, &path).split(" for more than").next().unwrap_or_default(),
        "LockTimeout: another process has held <path>.lock.d",
    );
    holder.kill().expect("kill");
    holder.wait().expect("reap");
    let lock = store.lock(Duration::from_secs(5)).expect("its holder is dead: taken over");
    check("kind", &format!("{:?}", lock.kind()), "Flock");
    check("files", &names_in(folder.path()).join(" "), "tokens.json.lock");
}

/// A caller that gives up (a dropped async wait, a Ctrl-C) ends a long wait at the next poll,
/// and takes nothing.
#[test]
fn a_wait_ends_when_its_caller_stops_it() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let held = TokenStore::new(&path).lock(Duration::from_secs(5)).expect("the first lock");
    let stop = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = std::sync::mpsc::channel();
    let waiting = TokenStore::new(&path);
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || sender.send(waiting.lock_unless_stopped(Duration::from_secs(3600), flag)));
    stop.store(true, Ordering::Release);
    let outcome = receiver.recv_timeout(Duration::from_secs(30)).expect("the stopped wait ended");
    assert!(matches!(outcome, Err(StoreError::LockTimeout { .. })), "{outcome:?}");
    drop(held);
}
