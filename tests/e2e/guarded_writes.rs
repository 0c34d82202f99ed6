//! Every write guarded by what was read: a token file that cannot be read is never replaced
//! or removed (made so by `tapis_testkit::open_shim`, preloaded into `tapis`), profile logins
//! at the same moment lose no profile, and where nothing can be saved a renewed token is
//! still handed out.

use std::fs;
#[cfg(target_os = "linux")]
use std::process::Command;

#[cfg(target_os = "linux")]
use tapis_testkit::{FailingOpen, fail_open_with};

use crate::support::*;

/// `tapis` with every read-only open of the token file failing with `errno`.
#[cfg(target_os = "linux")]
fn with_unreadable_token_file(world: &World, mut command: Command, errno: &str) -> Command {
    fail_open_with(&mut command, &world.token_file(), errno, FailingOpen::Read);
    command
}

#[test]
#[cfg(target_os = "linux")] // An LD_PRELOAD shim, which only Linux's loader reads.
fn an_unreadable_token_file_is_an_error_for_every_command_and_left_as_it_is() {
    for (errno, os_error) in [("EIO", "Input/output error"), ("ESTALE", "Stale file handle")] {
        let mut world = World::new();
        world.write_renewable_file(&world.jwt(-60), -60, &world.refresh_jwt("r"));
        let before = fs::read(world.token_file()).expect("read");
        let no_request = world.mock_token_endpoint(0);
        let commands: [&[&str]; 5] = [&["logout"], &["login"], &["login", "--force"], &["token"], &["status"]];
        for args in commands {
            let context = format!("{errno}: tapis {}", args.join(" "));
            let mut command = with_unreadable_token_file(&world, world.tapis_with_credentials(), errno);
            let output = run(command.args(args));
            assert_exit(&output, 1);
            let talk = stderr(&output);
            let path = world.token_file().display().to_string();
            assert!(talk.contains(&path) && talk.contains(os_error), "{context}: {talk}");
            assert_eq!(fs::read(world.token_file()).expect("read"), before, "{context}: the file is as it was");
        }
        no_request.assert();
    }
}

/// Eight `tapis login --profile NAME` at once, in several rounds: every profile is in
/// `profiles.toml` at the end (before its writes were locked, some were lost each time).
#[test]
#[cfg(unix)] // The profiles' folders: on Windows the user's AppData, whatever HOME says.
fn concurrent_profile_logins_lose_no_profile() {
    const N_ROUNDS: usize = 3;
    const N_AT_ONCE: usize = 8;
    let mut world = World::new();
    let exp = tapis_testkit::now_unix() + 3600;
    let jwt = world.server.access_jwt(USERNAME, exp);
    let logins = world
        .server
        .password_grant(USERNAME, PASSWORD)
        .without_client()
        .answer_tokens(&jwt, exp)
        .expect(N_ROUNDS * N_AT_ONCE);
    for round in 0..N_ROUNDS {
        let commands = (0..N_AT_ONCE).map(|index| {
            let mut command = world.tapis_with_credentials();
            // A new profile takes its server from a flag, never from the environment.
            let profile = format!("r{round}-p{index}");
            command.args(["--profile", &profile, "--base-url", &world.base_url(), "login", "--no-refresh"]);
            command
        });
        for output in run_together(commands) {
            assert_exit(&output, 0);
        }
    }
    logins.assert();
    let config = world.home.path().join(".config/tapis/profiles.toml");
    let profiles = tapis_store::profiles::load_config(&config).expect("profiles.toml").profiles;
    let missing: Vec<String> = (0..N_ROUNDS)
        .flat_map(|round| (0..N_AT_ONCE).map(move |index| format!("r{round}-p{index}")))
        .filter(|name| !profiles.contains_key(name))
        .collect();
    assert!(missing.is_empty(), "lost profiles: {missing:?}");
    #[cfg(unix)]
    assert_eq!(mode_of(&config), 0o600);
}

/// A world whose token file needs a renewal, the renewal mocked once; the file's bytes and
/// the renewed access token.
#[cfg(target_os = "linux")]
fn world_to_renew() -> (World, mockito::Mock, Vec<u8>, String) {
    let mut world = World::new();
    let refresh = world.refresh_jwt("r");
    world.write_renewable_file(&world.jwt(-60), -60, &refresh);
    let before = fs::read(world.token_file()).expect("read");
    let (renewal, access, _) = world.mock_refresh(&refresh, 1);
    (world, renewal, before, access)
}

/// `tapis token` renewed once, printed the token, warned that it was not saved because of
/// `os_error`, and wrote nothing.
#[cfg(target_os = "linux")]
fn assert_renewed_unsaved(world: &World, output: &std::process::Output, access: &str, before: &[u8], os_error: &str) {
    assert_exit(output, 0);
    assert_eq!(stdout(output), format!("{access}\n"));
    let talk = stderr(output);
    assert!(talk.contains(os_error) && talk.contains("usable for this run only"), "{talk}");
    assert_eq!(fs::read(world.token_file()).expect("read"), before, "nothing was written");
}

/// A renewal where nothing can be saved still hands the renewed token out, with a warning:
/// a folder this user may not write to, where no lock file exists yet (the lock file's
/// creation fails with EACCES; root ignores permission bits, so the shim stands in).
#[test]
#[cfg(target_os = "linux")] // An LD_PRELOAD shim, which only Linux's loader reads.
fn a_token_is_renewed_with_a_warning_where_the_lock_cannot_be_created() {
    let (world, renewal, before, access) = world_to_renew();
    let mut lock = world.token_file().into_os_string();
    lock.push(".lock");
    let mut command = world.tapis();
    fail_open_with(&mut command, std::path::Path::new(&lock), "EACCES", FailingOpen::Create);

    let output = run(command.arg("token"));

    renewal.assert();
    assert_renewed_unsaved(&world, &output, &access, &before, "Permission denied");
}

/// The same on a read-only file system (EROFS): the home folder bind-mounted read-only in a
/// mount namespace of the test's own. Where the machine does not allow that (not root, no
/// `unshare`), the test says so and checks nothing.
#[test]
#[cfg(target_os = "linux")] // A read-only bind mount in a Linux mount namespace.
fn a_token_is_renewed_with_a_warning_on_a_read_only_file_system() {
    const READ_ONLY_HOME: &str = "mount --bind \"$0\" \"$0\" && mount -o remount,ro,bind \"$0\" \"$0\"";
    let (world, renewal, before, access) = world_to_renew();
    let home = world.home.path().display().to_string();
    let probe = Command::new("unshare").args(["-m", "sh", "-c", READ_ONLY_HOME]).arg(&home).output();
    if !probe.as_ref().is_ok_and(|probe| probe.status.success()) {
        eprintln!("skipped: this machine does not allow a read-only bind mount in a mount namespace ({probe:?})");
        return;
    }
    let tapis = world.tapis();
    let mut command = Command::new("unshare");
    command.args(["-m", "sh", "-c", &format!("{READ_ONLY_HOME} && exec \"$1\" token")]);
    command.arg(&home).arg(tapis.get_program());
    command.env_clear().envs(tapis.get_envs().filter_map(|(name, value)| Some((name, value?))));
    command.env("PATH", std::env::var_os("PATH").unwrap_or_default());

    let output = run(&mut command);

    renewal.assert();
    assert_renewed_unsaved(&world, &output, &access, &before, "Read-only file system");
}

/// A token revoked right after it was issued (its whole hour left, obtained a moment ago) is
/// renewed once after the refusal, and the request is made again with the new token: the
/// renewal asks for a token other than the refused one, not one that outlives it.
#[test]
fn a_token_revoked_right_after_issue_is_renewed_by_whoami() {
    let mut world = World::new();
    let (revoked, refresh) = (world.jwt(3600), world.refresh_jwt("r1"));
    world.write_renewable_file(&revoked, 3600, &refresh);
    let mut file = world.saved();
    file["obtained_at"] = iso_utc(tapis_testkit::now_unix()).into();
    fs::write(world.token_file(), file.to_string()).expect("write");
    let (renewal, renewed, _) = world.mock_refresh(&refresh, 1);
    let revoked_answer = tapis_testkit::error_response("Token is revoked.");
    let refused =
        world.server.userinfo().with_tapis_token(&revoked).answer(500, "application/json", revoked_answer).expect(1);
    let accepted = world.server.userinfo().with_tapis_token(&renewed).answer_userinfo(USERNAME).expect(1);

    let output = run(world.tapis().arg("whoami"));

    assert_exit(&output, 0);
    refused.assert();
    renewal.assert();
    accepted.assert();
    assert_eq!(world.saved()["access_token"], renewed.as_str());
}
