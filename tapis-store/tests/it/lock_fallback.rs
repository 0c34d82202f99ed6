//! The lock folder, where the file system refuses `flock`.
//!
//! `flock` is made to fail by a preloaded shim (`tapis_testkit::flock_shim`), which has to be
//! in place when a process starts: so each test, as Cargo runs it, runs itself again in a
//! child process of this test binary with `LD_PRELOAD` set (see [`under_shim`]), and its body
//! runs there. The waiters that should see a heartbeat stop are given a short lease
//! (`TokenStore::with_lock_lease`); none waits out the real one.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tapis_store::{FALLBACK_HEARTBEAT_PERIOD, FALLBACK_STALE_AFTER, LockKind, StoreError, TokenStore};
use tapis_testkit::{FLOCK_ERRNO_VARIABLE, FLOCK_ERRNOS, fail_flock_with};

use crate::{check, describe_error, mode, names_in};

/// In the test as Cargo runs it: runs the test `test` (this module's) again in a child process
/// with `flock` failing with each of `errnos`, checks that it ran and passed, and returns
/// `None`. In that child: checks that `flock` does fail so, and returns the errno's name.
fn under_shim(test: &str, errnos: &[&str]) -> Option<String> {
    under_shim_in("lock_fallback", test, errnos)
}

/// [`under_shim`] for the test `test` of the module `module`.
pub(crate) fn under_shim_in(module: &str, test: &str, errnos: &[&str]) -> Option<String> {
    if let Ok(errno) = std::env::var(FLOCK_ERRNO_VARIABLE) {
        assert_flock_fails_with(&errno);
        return Some(errno);
    }
    let name = format!("{module}::{test}");
    for errno in errnos {
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        command.args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"]);
        let output = fail_flock_with(&mut command, errno).stdin(Stdio::null()).output().expect("run the child");
        let (stdout, stderr) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr).into_owned());
        // The child's own lines (timings), for `--nocapture`.
        eprint!("{stderr}");
        assert!(
            output.status.success() && stdout.contains("test result: ok. 1 passed"),
            "{name} with flock failing with {errno}: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            output.status
        );
    }
    None
}

/// Panics unless `flock` fails with `errno` in this process: the shim is in place.
fn assert_flock_fails_with(errno: &str) {
    let expected = match errno {
        "ENOSYS" => rustix::io::Errno::NOSYS,
        "ENOLCK" => rustix::io::Errno::NOLCK,
        "EOPNOTSUPP" | "ENOTSUP" => rustix::io::Errno::OPNOTSUPP,
        other => panic!("unknown errno {other}"),
    };
    let file = tempfile::tempfile().expect("a temporary file");
    match file.try_lock() {
        Err(TryLockError::Error(error)) if error.raw_os_error() == Some(expected.raw_os_error()) => {}
        other => panic!("the flock shim is not in effect: try_lock gave {other:?}, not {errno}"),
    }
}

/// A folder with a token path in it, and the store.
pub(crate) fn setup() -> (tempfile::TempDir, PathBuf, TokenStore) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("tokens.json");
    let store = TokenStore::new(&path);
    (folder, path, store)
}

/// What this machine's owner records say about it: host name, boot id, pid namespace.
pub(crate) fn this_machine() -> Value {
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|id| id.trim().to_owned());
    let namespace = fs::read_link("/proc/self/ns/pid").ok().map(|link| link.display().to_string());
    json!({"host": tapis_store::host_name(), "boot_id": boot_id, "pid_namespace": namespace})
}

/// `/proc/<pid>/stat` field 22, the process's start time.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(19)?.parse().ok()
}

/// Puts a lock folder in place as a holder would leave it: one entry with `record` (the
/// machine's fields and a pid) and a nonce, its heartbeat `age` ago. Returns the entry.
pub(crate) fn plant(store: &TokenStore, machine: &Value, pid: u32, start: Option<u64>, age: Duration) -> PathBuf {
    let nonce = format!("{:032x}", rand_u128());
    let mut record = machine.clone();
    record["pid"] = pid.into();
    record["start_time"] = start.into();
    record["nonce"] = nonce.clone().into();
    plant_entry(store, &format!("{nonce}.owner"), record.to_string().as_bytes(), age)
}

/// Puts a lock folder in place with one entry `name` holding `bytes`, its mtime `age` ago.
pub(crate) fn plant_entry(store: &TokenStore, name: &str, bytes: &[u8], age: Duration) -> PathBuf {
    let folder_lock = store.lock_folder_path();
    fs::create_dir_all(&folder_lock).expect("create the lock folder");
    let entry = folder_lock.join(name);
    fs::write(&entry, bytes).expect("write the entry");
    backdate(&entry, age);
    entry
}

pub(crate) fn backdate(path: &Path, age: Duration) {
    set_heartbeat(path, SystemTime::now() - age);
}

pub(crate) fn set_heartbeat(path: &Path, time: SystemTime) {
    let file = File::options().write(true).open(path).expect("open to set the mtime");
    file.set_modified(time).expect("set the mtime");
}

/// Distinct enough for nonces in tests.
pub(crate) fn rand_u128() -> u128 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let high = hasher.finish();
    hasher.write_u8(1);
    (u128::from(high) << 64) | u128::from(hasher.finish())
}

/// A process that has exited and been reaped: its pid names nobody (for a while).
pub(crate) fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("spawn true");
    child.wait().expect("wait");
    child.id()
}

pub(crate) fn sleeper() -> Child {
    // Its output is not the test's: a test that fails before it kills the sleeper must not
    // leave the harness waiting for the sleeper's end of the pipe.
    Command::new("sleep").arg("600").stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn sleep")
}

/// `taken` when a lock could be had with no wait at all, else the error.
pub(crate) fn try_now(store: &TokenStore, path: &Path) -> String {
    match store.lock(Duration::ZERO) {
        Ok(lock) => {
            assert_eq!(lock.kind(), LockKind::LockFolder, "the lock folder");
            "taken".to_owned()
        }
        Err(error) => describe_error(&error, path),
    }
}

#[test]
fn each_errno_falls_back_to_the_lock_folder_and_unlocks() {
    let Some(errno) = under_shim("each_errno_falls_back_to_the_lock_folder_and_unlocks", &FLOCK_ERRNOS) else {
        return;
    };
    let (folder, path, store) = setup();
    let held = store.lock(Duration::from_secs(5)).expect("the lock folder");
    check(&errno, &format!("{:?}", held.kind()), "LockFolder");
    held.verify_held().expect("held");
    assert_eq!(held.path(), store.lock_folder_path());

    // One entry, named after its nonce, holding who we are.
    let entries = names_in(&store.lock_folder_path());
    let [entry] = entries.as_slice() else { panic!("one entry, not {entries:?}") };
    let record: Value = serde_json::from_slice(&fs::read(store.lock_folder_path().join(entry)).expect("read"))
        .expect("the record is JSON");
    let nonce = record["nonce"].as_str().expect("a nonce");
    check("entry name", entry, &format!("{nonce}.owner"));
    assert_eq!(nonce.len(), 32, "128 bits in hex: {nonce}");
    let pid = std::process::id();
    let mut expected = this_machine();
    expected["pid"] = pid.into();
    expected["start_time"] = start_time(pid).into();
    expected["nonce"] = nonce.into();
    check("record", &record.to_string(), &expected.to_string());
    let modes = format!("folder={:o} entry={:o}", mode(&store.lock_folder_path()), mode(&held.path().join(entry)));
    check("modes", &modes, "folder=700 entry=600");
    check("files while held", &names_in(folder.path()).join(" "), "tokens.json.lock tokens.json.lock.d");

    // Held: another store (in this same, live process) waits and times out, naming the folder.
    let started = Instant::now();
    let error = TokenStore::new(&path).lock(Duration::from_millis(200)).expect_err("held");
    let elapsed = started.elapsed();
    assert!(matches!(error, StoreError::LockTimeout { .. }), "{error:?}");
    check(
        "timeout",
        describe_error(&error, &path).split(" for more than").next().unwrap_or_default(),
        "LockTimeout: another process has held <path>.lock.d",
    );
    assert!(elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(30), "waited {elapsed:?}");
    check("no staging left by the waiter", &names_in(folder.path()).join(" "), "tokens.json.lock tokens.json.lock.d");

    // A waiter gets it once it is dropped, and the folder is gone then.
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || TokenStore::new(&path).lock(Duration::from_secs(60)).map(|lock| lock.kind()))
    };
    std::thread::sleep(Duration::from_millis(100));
    drop(held);
    check("the waiter", &format!("{:?}", waiter.join().expect("waiter").map_err(|e| e.to_string())), "Ok(LockFolder)");
    check("files after release", &names_in(folder.path()).join(" "), "tokens.json.lock");
    check("again, no wait", &try_now(&store, &path), "taken");
    check("files after relocking", &names_in(folder.path()).join(" "), "tokens.json.lock");
}

#[test]
fn a_holder_on_this_machine_whose_process_is_gone_is_taken_over_at_once() {
    if under_shim("a_holder_on_this_machine_whose_process_is_gone_is_taken_over_at_once", &["ENOSYS"]).is_none() {
        return;
    }
    let machine = this_machine();
    let own = std::process::id();
    // Each with a fresh heartbeat: on this machine only the process counts.
    let fresh = Duration::ZERO;

    let (_folder, path, store) = setup();
    plant(&store, &machine, dead_pid(), None, fresh);
    let started = Instant::now();
    check("a pid that names nobody", &try_now(&store, &path), "taken");
    eprintln!("figure: a dead holder on this machine taken over in {:?}", started.elapsed());

    let (_folder, path, store) = setup();
    plant(&store, &machine, own, start_time(own).map(|start| start + 1), fresh);
    check("our pid, but another start time (a reused pid)", &try_now(&store, &path), "taken");

    // A live process (not this one) is waited on, however old its heartbeat...
    let (_folder, path, store) = setup();
    let mut holder = sleeper();
    plant(&store, &machine, holder.id(), start_time(holder.id()), FALLBACK_STALE_AFTER * 10);
    check(
        "a live process",
        try_now(&store, &path).split(" for more than").next().unwrap_or_default(),
        "LockTimeout: another process has held <path>.lock.d",
    );
    // ...and once it is killed (not yet reaped: a zombie), taken over at once.
    holder.kill().expect("SIGKILL");
    while start_time(holder.id()).is_some()
        && !fs::read_to_string(format!("/proc/{}/stat", holder.id())).unwrap_or_default().contains(") Z")
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    check("the same process, killed (a zombie)", &try_now(&store, &path), "taken");
    holder.wait().expect("reap");
    check("files after", &names_in(path.parent().expect("folder")).join(" "), "tokens.json.lock");
}

#[test]
fn another_machines_lock_is_taken_over_only_once_its_heartbeat_stood_still_for_the_lease() {
    const TEST: &str = "another_machines_lock_is_taken_over_only_once_its_heartbeat_stood_still_for_the_lease";
    if under_shim(TEST, &["ENOSYS"]).is_none() {
        return;
    }
    let own = std::process::id();
    let other_host = json!({"host": "other-node.cluster.example", "boot_id": "0b5e7c2a", "pid_namespace": null});
    // This host's name, but another boot (a reboot) or another pid namespace (a container),
    // or ids that cannot be read (unknown is not "the same"): its pid means nothing here, so
    // only the heartbeat counts — even for our own live pid.
    let mut rebooted = this_machine();
    rebooted["boot_id"] = "8c1f0d9e-another-boot".into();
    let mut other_namespace = this_machine();
    other_namespace["pid_namespace"] = "pid:[1]".into();
    let mut unknown = this_machine();
    unknown["boot_id"] = Value::Null;
    unknown["pid_namespace"] = Value::Null;
    let lease = Duration::from_millis(300);
    for (case, machine) in [
        ("another host", &other_host),
        ("this host name, another boot", &rebooted),
        ("another pid namespace", &other_namespace),
        ("this host name, boot id and pid namespace unknown", &unknown),
    ] {
        let (_folder, _path, store) = setup();
        let store = store.clone().with_lock_lease(lease);
        let entry = plant(&store, machine, own, start_time(own), Duration::ZERO);
        // However old its heartbeat looks, a waiter that has not watched it for a lease waits.
        backdate(&entry, Duration::from_secs(24 * 3600));
        let outcome = |result: Result<tapis_store::StoreLock, StoreError>| match result {
            Ok(_) => "taken",
            Err(StoreError::LockTimeout { .. }) => "waited",
            Err(error) => panic!("{case}: {error}"),
        };
        check(&format!("{case}, not watched yet"), outcome(store.lock(Duration::ZERO)), "waited");
        assert!(entry.exists(), "{case}: the entry is untouched");
        // Watched for the lease without a beat: taken over.
        let started = Instant::now();
        check(&format!("{case}, watched for the lease"), outcome(store.lock(lease * 10)), "taken");
        let elapsed = started.elapsed();
        assert!(elapsed >= lease, "{case}: taken over after {elapsed:?}, before the lease ({lease:?})");
    }
    // The wait a caller can stop (the library's async flows use it) watches for the lease too.
    let (_folder, _path, store) = setup();
    let store = store.clone().with_lock_lease(lease);
    let entry = plant(&store, &other_host, own, start_time(own), Duration::ZERO);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    store.lock_unless_stopped(lease * 10, stop).expect("another host's dead lock, taken over after the lease");
    assert!(!entry.exists(), "the stale entry was taken over");
}

#[test]
fn an_unreadable_lock_entry_is_stale_only_once_its_heartbeat_is() {
    if under_shim("an_unreadable_lock_entry_is_stale_only_once_its_heartbeat_is", &["ENOSYS"]).is_none() {
        return;
    }
    let mut mismatched = this_machine();
    mismatched["pid"] = dead_pid().into();
    mismatched["nonce"] = "0123".into();
    let table: [(&str, &str, Vec<u8>); 4] = [
        ("an empty entry (killed between the create and the write)", "feed.owner", Vec::new()),
        ("a cut-off record", "feed.owner", br#"{"host": "n1", "pid": 4"#.to_vec()),
        ("binary", "feed.owner", vec![0xff, 0x00, 0x13, 0x37]),
        ("a record whose nonce is not its name, of a dead pid", "feed.owner", mismatched.to_string().into_bytes()),
    ];
    let lease = Duration::from_millis(200);
    for (case, name, bytes) in table {
        // Not watched for a lease yet: waited on; watched that long without a beat: taken.
        for (timeout, expected) in [(Duration::ZERO, "waited"), (lease * 10, "taken")] {
            let (_folder, path, store) = setup();
            plant_entry(&store, name, &bytes, Duration::ZERO);
            let outcome = match store.clone().with_lock_lease(lease).lock(timeout) {
                Ok(_) => "taken".to_owned(),
                Err(StoreError::LockTimeout { .. }) => "waited".to_owned(),
                Err(error) => describe_error(&error, &path),
            };
            check(&format!("{case}, waiting {timeout:?}"), &outcome, expected);
        }
    }

    // What the protocol did not make is never removed: refused at once, with the reason.
    let stray = [
        (
            "a stray file",
            "notes.txt",
            "it holds \"notes.txt\", which tapis did not make; if no tapis process is using the token file, remove the folder",
        ),
        ("a link under an entry's name", "feed.owner", "an entry is not a regular file; tapis did not make it"),
        (
            "another user's entry",
            "beef.owner",
            "it belongs to another user (uid 65534); tapis did not make it, remove it",
        ),
    ];
    for (case, name, reason) in stray {
        let (folder, path, store) = setup();
        let entry = store.lock_folder_path().join(name);
        fs::create_dir(store.lock_folder_path()).expect("mkdir");
        match case {
            "a link under an entry's name" => {
                fs::write(folder.path().join("elsewhere"), "precious").expect("write");
                std::os::unix::fs::symlink(folder.path().join("elsewhere"), &entry).expect("symlink");
            }
            "another user's entry" => {
                fs::write(&entry, b"{}").expect("write");
                if std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).is_err() {
                    eprintln!("skipped: {case}: this user cannot give a file away (not root)");
                    continue;
                }
            }
            _ => fs::write(&entry, b"hello").expect("write"),
        }
        check(
            case,
            &describe_error(
                &store.clone().with_lock_lease(Duration::ZERO).lock(Duration::from_millis(300)).expect_err("refused"),
                &path,
            ),
            &format!("Lock: cannot lock <path>.lock.d: {reason}"),
        );
        assert!(fs::symlink_metadata(&entry).is_ok(), "{case}: not removed");
    }

    // An empty lock folder (a holder killed between its unlink and its rmdir) is a free lock.
    let (_folder, path, store) = setup();
    fs::create_dir(store.lock_folder_path()).expect("mkdir");
    check("an empty lock folder", &try_now(&store, &path), "taken");

    // Not a folder, or another's: refused at once, not waited on and not removed.
    let (_folder, path, store) = setup();
    fs::write(store.lock_folder_path(), b"a file").expect("write");
    check(
        "a file at the lock folder's path",
        &try_now(&store, &path),
        "Lock: cannot lock <path>.lock.d: it is not a folder; remove it (tapis creates it again)",
    );
    let (folder, path, store) = setup();
    fs::create_dir(folder.path().join("elsewhere")).expect("mkdir");
    std::os::unix::fs::symlink(folder.path().join("elsewhere"), store.lock_folder_path()).expect("symlink");
    check(
        "a symbolic link at the lock folder's path",
        &try_now(&store, &path),
        "Lock: cannot lock <path>.lock.d: it is not a folder; remove it (tapis creates it again)",
    );
    check("the link's target", &names_in(&folder.path().join("elsewhere")).join(" "), "");
}

#[test]
fn the_heartbeat_keeps_a_held_lock_fresh_until_it_is_released() {
    if under_shim("the_heartbeat_keeps_a_held_lock_fresh_until_it_is_released", &["ENOSYS"]).is_none() {
        return;
    }
    let (folder, path, _store) = setup();
    let period = Duration::from_millis(200);
    let held =
        TokenStore::new(&path).with_heartbeat_period(period).lock(Duration::from_secs(5)).expect("the lock folder");
    let entries = names_in(held.path());
    let entry = held.path().join(&entries[0]);
    // Made to look an hour old; the next heartbeat (within a period) makes it fresh.
    backdate(&entry, Duration::from_secs(3600));
    let started = Instant::now();
    let age = || SystemTime::now().duration_since(fs::metadata(&entry).expect("stat").modified().expect("mtime"));
    while age().is_ok_and(|age| age > FALLBACK_HEARTBEAT_PERIOD) {
        assert!(started.elapsed() < period * 10, "no heartbeat within {:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("figure: heartbeat seen {:?} after the entry was backdated", started.elapsed());
    drop(held);
    check("files after release", &names_in(folder.path()).join(" "), "tokens.json.lock");
}

/// How many threads race in each round of [`racing_takeovers_never_make_two_holders`].
const RACERS: usize = 16;

/// Many threads race to take over the same stale lock, round after round; each winner checks
/// that nobody else holds it. A takeover that removes "the owner file" by a fixed name after
/// judging it stale (remove-then-create) fails here within a few rounds: a slower racer that
/// judged the dead holder's file removes the file the first winner has just created, and both
/// hold. The racers do not wait (a zero timeout), so a round takes milliseconds and there can
/// be many.
#[test]
fn racing_takeovers_never_make_two_holders() {
    if under_shim("racing_takeovers_never_make_two_holders", &["ENOSYS"]).is_none() {
        return;
    }
    let (_folder, path, store) = setup();
    let machine = this_machine();
    let own = std::process::id();
    let holders = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let rounds = 100;
    let mut wins = 0;
    for round in 0..rounds {
        if round % 2 == 0 {
            plant(&store, &machine, dead_pid(), None, Duration::ZERO);
        } else {
            // Our own pid, but another start time: a reused pid.
            plant(&store, &machine, own, start_time(own).map(|start| start + 1), Duration::ZERO);
        }
        let barrier = Arc::new(Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let (path, barrier, holders, most) =
                    (path.clone(), Arc::clone(&barrier), Arc::clone(&holders), Arc::clone(&most));
                std::thread::spawn(move || {
                    let store = TokenStore::new(&path);
                    barrier.wait();
                    let lock = match store.lock(Duration::ZERO) {
                        Ok(lock) => lock,
                        Err(StoreError::LockTimeout { .. }) => return Ok(false),
                        Err(error) => return Err(error.to_string()),
                    };
                    let inside = holders.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(inside, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    holders.fetch_sub(1, Ordering::SeqCst);
                    drop(lock);
                    Ok(true)
                })
            })
            .collect();
        let won: Vec<bool> = racers
            .into_iter()
            .map(|racer| racer.join().expect("racer").unwrap_or_else(|error| panic!("round {round}: {error}")))
            .collect();
        assert!(won.contains(&true), "round {round}: the stale lock was taken over by nobody");
        wins += won.iter().filter(|won| **won).count();
        check(&format!("round {round}: most holders at once"), &most.load(Ordering::SeqCst).to_string(), "1");
        check(
            &format!("round {round}: left behind"),
            &names_in(path.parent().expect("folder")).join(" "),
            "tokens.json.lock",
        );
    }
    eprintln!("figure: {rounds} rounds of {RACERS} racing takeovers, {wins} wins, never two holders at once");
}

/// Set in the contender processes of [`racing_processes_taking_over_dead_holders`]: the
/// contender's number.
const CONTENDER_VARIABLE: &str = "TAPIS_TEST_LOCK_CONTENDER";
/// The token path the contenders lock.
const CONTENDER_PATH_VARIABLE: &str = "TAPIS_TEST_LOCK_CONTENDER_PATH";

/// Processes race for the lock while every other one dies holding it (`exit` without
/// releasing, as a SIGKILL would leave it): each winner takes over a dead holder's lock and
/// proves it is alone by creating a witness file with `O_EXCL`.
#[test]
fn racing_processes_taking_over_dead_holders_are_alone_under_the_lock() {
    const TEST: &str = "racing_processes_taking_over_dead_holders_are_alone_under_the_lock";
    if under_shim(TEST, &["ENOSYS"]).is_none() {
        return;
    }
    if let Ok(number) = std::env::var(CONTENDER_VARIABLE) {
        contend(
            number.parse().expect("a number"),
            &PathBuf::from(std::env::var_os(CONTENDER_PATH_VARIABLE).expect("path")),
        );
        return;
    }
    let (folder, path, _store) = setup();
    const CONTENDERS: usize = 48;
    const AT_ONCE: usize = 12;
    let spawn = |number: usize| {
        Command::new(std::env::current_exe().expect("own path"))
            .args([&format!("lock_fallback::{TEST}"), "--exact", "--nocapture", "--test-threads=1"])
            .env(CONTENDER_VARIABLE, number.to_string())
            .env(CONTENDER_PATH_VARIABLE, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn a contender")
    };
    let started = Instant::now();
    let mut running: Vec<Child> = (0..AT_ONCE).map(spawn).collect();
    let mut next = AT_ONCE;
    let mut dead_holders = 0;
    while let Some(child) = (!running.is_empty()).then(|| running.remove(0)) {
        let output = child.wait_with_output().expect("wait for a contender");
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {}
            Some(3) => dead_holders += 1,
            _ => panic!("a contender failed ({}): {stderr}", output.status),
        }
        if next < CONTENDERS {
            running.push(spawn(next));
            next += 1;
        }
    }
    eprintln!(
        "figure: {CONTENDERS} contender processes, {dead_holders} of them died holding the lock, done in {:?}",
        started.elapsed()
    );
    assert_eq!(dead_holders, CONTENDERS / 2, "every odd contender died holding the lock");
    // The last one may have died holding it: taken over at once all the same.
    let path_text = path.clone();
    check("after", &try_now(&TokenStore::new(&path), &path_text), "taken");
    check("left behind", &names_in(folder.path()).join(" "), "tokens.json.lock");
}

/// One contender: takes the lock, proves it is alone, and then releases it (even numbers) or
/// exits holding it (odd numbers, exit code 3).
fn contend(number: usize, path: &Path) {
    let lock = match TokenStore::new(path).lock(Duration::from_secs(120)) {
        Ok(lock) => lock,
        Err(error) => {
            eprintln!("contender {number}: {error}");
            std::process::exit(1);
        }
    };
    assert_eq!(lock.kind(), LockKind::LockFolder);
    let witness = path.with_file_name("inside");
    if let Err(error) = File::create_new(&witness) {
        eprintln!("contender {number}: someone else holds the lock too ({error})");
        std::process::exit(2);
    }
    std::thread::sleep(Duration::from_millis(3));
    fs::remove_file(&witness).expect("remove the witness");
    if number % 2 == 1 {
        std::process::exit(3);
    }
    drop(lock);
}
