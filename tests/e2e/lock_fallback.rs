//! Where the file system refuses `flock` (made so by `tapis_testkit::flock_shim`, preloaded
//! into `tapis`): the lock folder `<token file>.lock.d` keeps every promise of the `flock`
//! lock — one login for a herd, a killed holder blocks nobody for long, the file stays whole.
//! Taking over another machine's lock waits out a lease (90 s), so it is tested in the store's
//! own tests, with a short lease, holders in separate processes and real namespaces
//! (`tapis-store/tests/it/lock_cluster.rs`); here such a holder is only seen to be waited on.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::process::Signal;
use serde_json::Value;
use tapis_testkit::{FLOCK_ERRNOS, fail_flock_with};

use crate::concurrency::login_holding_the_lock;
use crate::support::*;

const HERD_SIZE: usize = 32;

/// The note each process gives, once, when it takes the lock folder.
const FALLBACK_NOTE: &str = "this file system does not support flock";

fn without_flock(mut command: Command, errno: &str) -> Command {
    fail_flock_with(&mut command, errno);
    command
}

/// `tapis token --lock-timeout <timeout>` with credentials, `flock` failing with ENOSYS.
fn token_without_flock(world: &World, timeout: &str) -> std::process::Output {
    let mut command = without_flock(world.tapis_with_credentials(), "ENOSYS");
    run(command.args(["token", "--lock-timeout", timeout]))
}

/// The names in the home folder, sorted.
fn home_names(world: &World) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(world.home.path())
        .expect("list the home folder")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn lock_folder(world: &World) -> PathBuf {
    world.home.path().join(".tapis_tokens.json.lock.d")
}

/// The one entry in the lock folder.
fn the_entry(world: &World) -> PathBuf {
    let entries: Vec<PathBuf> =
        fs::read_dir(lock_folder(world)).expect("the lock folder").map(|entry| entry.expect("entry").path()).collect();
    let [entry] = entries.as_slice() else { panic!("one entry in the lock folder, not {entries:?}") };
    entry.clone()
}

// One test per errno, so that the three herds run side by side.
#[test]
fn without_flock_enosys_a_herd_of_token_processes_logs_in_exactly_once() {
    a_herd_logs_in_exactly_once(FLOCK_ERRNOS[0]);
}

#[test]
fn without_flock_enolck_a_herd_of_token_processes_logs_in_exactly_once() {
    a_herd_logs_in_exactly_once(FLOCK_ERRNOS[1]);
}

#[test]
fn without_flock_eopnotsupp_a_herd_of_token_processes_logs_in_exactly_once() {
    a_herd_logs_in_exactly_once(FLOCK_ERRNOS[2]);
}

fn a_herd_logs_in_exactly_once(errno: &str) {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(-3600), -3600);
    let (login, jwt) = world.mock_login(1);

    let started = Instant::now();
    let herd = run_together((0..HERD_SIZE).map(|_| {
        let mut command = world.tapis_with_credentials();
        command.arg("token");
        without_flock(command, errno)
    }));
    let elapsed = started.elapsed();
    let mut noted = 0;
    for output in herd {
        assert_exit(&output, 0);
        assert_eq!(stdout(&output), format!("{jwt}\n"), "{errno}: every process prints the one new token");
        // Said once by each process that took the lock (one that started after the
        // login found the token valid and took none).
        let notes = stderr(&output).matches(FALLBACK_NOTE).count();
        assert!(notes <= 1, "{errno}: {}", stderr(&output));
        noted += notes;
    }
    assert!(noted >= 1, "{errno}: the lock folder was used");
    login.assert();
    assert_eq!(world.saved()["access_token"], jwt.as_str(), "{errno}: the file is whole and holds the new token");
    assert_eq!(home_names(&world), [".tapis_tokens.json", ".tapis_tokens.json.lock"], "{errno}: nothing left behind");
    eprintln!(
        "figure: {errno}: {HERD_SIZE} `tapis token` processes, one login (each mock hit once), {noted} took the lock folder, {elapsed:?}"
    );
}

/// `tapis login` holds the lock while it waits at the password prompt; it is killed there. On
/// this machine the next login gets through at once (the pid is dead, a zombie even, as the
/// holder is not reaped yet). As if it had been on another machine (its record rewritten to
/// another host), its pid means nothing here: the next login waits (for the lease, which the
/// store's tests cover).
#[test]
fn without_flock_a_killed_lock_holder_blocks_the_next_login_no_longer_than_the_bound() {
    for machine in ["this machine", "another machine"] {
        let mut world = World::new();
        let (login, jwt) = world.mock_login(usize::from(machine == "this machine"));
        let mut holder = login_holding_the_lock(&world, Some("ENOSYS"));

        // While it lives, another process cannot get the lock.
        let output = token_without_flock(&world, "300ms");
        assert_exit(&output, 1);
        assert!(stderr(&output).contains("another process has held"), "{}", stderr(&output));
        assert!(stderr(&output).contains(".tapis_tokens.json.lock.d"), "{}", stderr(&output));

        // SIGKILL, not reaped: the holder stays a zombie until the session is dropped.
        holder.process_mut().signal(Signal::SIGKILL).expect("SIGKILL");
        let entry = the_entry(&world);
        if machine == "another machine" {
            let mut record: Value = serde_json::from_slice(&fs::read(&entry).expect("read")).expect("JSON");
            record["host"] = "login2.cluster.example".into();
            fs::write(&entry, record.to_string()).expect("rewrite the record");
            // Another machine's holder is as good as live until its heartbeat has stood still
            // for the lease: waited on.
            let output = token_without_flock(&world, "300ms");
            assert_exit(&output, 1);
            assert!(stderr(&output).contains("another process has held"), "{}", stderr(&output));
            assert!(entry.exists(), "a live holder's entry is untouched");
            login.assert();
            continue;
        }
        let started = Instant::now();
        let output = token_without_flock(&world, "60s");
        let elapsed = started.elapsed();
        assert_exit(&output, 0);
        assert_eq!(stdout(&output), format!("{jwt}\n"));
        login.assert();
        // Generous: "at once" is milliseconds; the real lease (90 s) is far beyond.
        assert!(elapsed < Duration::from_secs(45), "{machine}: the next login took {elapsed:?}");
        assert_eq!(home_names(&world), [".tapis_tokens.json", ".tapis_tokens.json.lock"], "{machine}: left behind");
        eprintln!(
            "figure: holder SIGKILLed at its password prompt ({machine}): the next `tapis token` got through in {elapsed:?}"
        );
        drop(holder);
    }
}

/// Nodes where `flock` works and nodes where it is refused may share a home folder. A `tapis
/// login` on a node without `flock` holds the lock folder at its password prompt; a `tapis
/// token` where `flock` works takes its `flock`, sees the live lock folder, and waits for it
/// instead of logging in beside it. Once the holder is killed, it gets through at once.
#[test]
fn where_flock_works_a_live_lock_folder_of_a_node_without_flock_is_waited_for() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);
    let mut holder = login_holding_the_lock(&world, Some("ENOSYS"));

    // With flock working (no shim).
    let output = run(world.tapis_with_credentials().args(["token", "--lock-timeout", "300ms"]));
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("another process has held"), "{}", stderr(&output));
    assert!(stderr(&output).contains(".tapis_tokens.json.lock.d"), "{}", stderr(&output));

    holder.process_mut().signal(Signal::SIGKILL).expect("SIGKILL");
    let output = run(world.tapis_with_credentials().args(["token", "--lock-timeout", "60s"]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    login.assert();
    assert_eq!(home_names(&world), [".tapis_tokens.json", ".tapis_tokens.json.lock"], "nothing left behind");
    drop(holder);
}
