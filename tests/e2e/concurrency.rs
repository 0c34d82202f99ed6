//! Many processes, one login: the lock on `<token file>.lock` and the re-read under it.

#[cfg(unix)]
use std::process::Command;

#[cfg(unix)]
use rexpect::process::Signal;

use crate::support::*;

const HERD_SIZE: usize = 32;

#[test]
fn a_herd_of_token_processes_logs_in_exactly_once() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(-3600), -3600);
    let (login, jwt) = world.mock_login(1);

    // Start them all before waiting for any, so they race for the expired token together.
    let herd = run_together((0..HERD_SIZE).map(|_| {
        let mut command = world.tapis_with_credentials();
        command.arg("token");
        command
    }));
    for output in herd {
        assert_exit(&output, 0);
        assert_eq!(stdout(&output), format!("{jwt}\n"), "every process prints the one new token");
    }
    login.assert();
    assert_eq!(world.saved()["access_token"], jwt.as_str(), "the file is whole and holds the new token");
}

#[test]
#[cfg(unix)] // A pseudo-terminal (rexpect), which Windows does not have.
fn a_killed_lock_holder_releases_the_lock_at_once() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);

    // `tapis login` holds the lock while it waits at the password prompt.
    let mut holder = login_holding_the_lock(&world, None);

    // While it lives, another process cannot get the lock...
    let output = run(world.tapis_with_credentials().args(["token", "--lock-timeout", "300ms"]));
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("another process has held"), "{}", stderr(&output));

    // ...and once it is killed, the next one gets it at once: no stale lock to clean up.
    holder.process_mut().kill(Signal::SIGKILL).expect("SIGKILL");
    let output = run(world.tapis_with_credentials().args(["token", "--lock-timeout", "1s"]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    login.assert();
}

/// `tapis login` in a pseudo-terminal, waiting at its password prompt and so holding the lock;
/// with `flock` failing with `errno` (the lock is then the lock folder, and the note that says
/// so has been seen).
#[cfg(unix)]
pub(crate) fn login_holding_the_lock(world: &World, errno: Option<&str>) -> rexpect::session::PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tapis"));
    command
        .args(["login", "--username", USERNAME])
        .env_clear()
        .env("HOME", world.home.path())
        .env("NO_COLOR", "1")
        .env("TAPIS_BASE_URL", world.base_url());
    if let Some(errno) = errno {
        tapis_testkit::fail_flock_with(&mut command, errno);
    }
    let mut holder = rexpect::session::spawn_command(command, Some(60_000)).expect("spawn in a pseudo-terminal");
    if errno.is_some() {
        holder.exp_string("this file system does not support flock").expect("the note");
    }
    holder.exp_string("Password for jdoe: ").expect("password prompt");
    holder
}
