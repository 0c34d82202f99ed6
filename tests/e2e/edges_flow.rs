//! The flow at its edges: a stale `TAPIS_TOKEN`, the README's batch job, which clients
//! `logout` deletes, `logout` under the lock, a herd asking for more than a token lives, and
//! a token file whose records disagree about the server.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
#[cfg(unix)]
use std::process::{Command, Stdio};

use crate::support::*;

/// A token file that needs renewal, and the refresh grant for it answering a token that lives
/// `lifetime` seconds. Returns the refresh mock and the new access token.
fn renewable_world(lifetime: i64, hits: usize) -> (World, mockito::Mock, String) {
    let mut world = World::new();
    let refresh = world.refresh_jwt("r0");
    world.write_renewable_file(&world.jwt(-60), -60, &refresh);
    let now = tapis_testkit::now_unix();
    let (access, rotated) = (world.jwt(lifetime), world.refresh_jwt("r1"));
    let mock = world
        .server
        .refresh_grant(&refresh)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens_with_refresh(&access, now + lifetime, &rotated, now + 365 * 86_400)
        .expect(hits);
    (world, mock, access)
}

#[test]
fn a_stale_tapis_token_gives_way_to_the_token_file_with_a_note() {
    let (world, refresh, fresh) = renewable_world(4 * 3600, 1);
    let stale = world.jwt(3600);
    let output = run(world.tapis().args(["token", "--min-valid", "2h"]).env("TAPIS_TOKEN", &stale));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{fresh}\n"), "the renewed token, not the given one");
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().filter(|line| line.contains("TAPIS_TOKEN")).count(), 1, "one note: {stderr}");
    assert!(stderr.contains("TAPIS_TOKEN is valid only until") && stderr.contains("using the token file"), "{stderr}");
    refresh.assert();

    // A given token that meets the margin is used as it is, with nothing read or sent.
    let output = run(world.tapis().args(["token", "--min-valid", "30m"]).env("TAPIS_TOKEN", &stale));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{stale}\n"));
    refresh.assert();
    world.server.assert_no_strays();
}

#[test]
fn a_stale_tapis_token_with_nothing_to_fall_back_on_exits_3() {
    let mut world = World::new();
    let token_endpoint = world.mock_token_endpoint(0);
    let expired = world.jwt(-600);
    for args in [&["token"][..], &["api", "/v3/systems"], &["exec", "--", "true"]] {
        let output = run(world.tapis().args(args).env("TAPIS_TOKEN", &expired));
        assert_exit(&output, 3);
        assert_eq!(stdout(&output), "", "{args:?}");
        let stderr = stderr(&output);
        assert!(stderr.contains("TAPIS_TOKEN expired at") && stderr.contains("not logged in"), "{args:?}: {stderr}");
    }
    token_endpoint.assert();
    world.server.assert_no_strays();
}

/// The batch script of README.md's "Use it from" section, as it is written there.
#[cfg(unix)]
fn readme_batch_script() -> String {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md");
    tapis_testkit::shell_blocks(&readme)
        .into_iter()
        .find(|block| block.starts_with("#!/bin/bash\n#SBATCH"))
        .expect("the batch example in README.md")
}

#[test]
#[cfg(unix)] // The README's batch script, in bash.
fn the_readme_batch_example_works_as_written() {
    // The job's first step gets a 4-hour token; 10 hours later (on the clock of the `tapis`
    // processes, moved by the stand-in for the analysis), `tapis exec` must pass over the
    // exported TAPIS_TOKEN, expired by then, and renew.
    let mut world = World::new();
    let r0 = world.refresh_jwt("r0");
    world.write_renewable_file(&world.jwt(-60), -60, &r0);
    let now = tapis_testkit::now_unix();
    let later = 10 * 3600;
    let (first, r1) = (world.jwt(4 * 3600), world.refresh_jwt("r1"));
    let (second, r2) = (world.jwt(later + 4 * 3600), world.refresh_jwt("r2"));
    let renewals =
        [(&r0, &first, 4 * 3600, &r1), (&r1, &second, later + 4 * 3600, &r2)].map(|(old, access, lifetime, new)| {
            world
                .server
                .refresh_grant(old)
                .through_client(CLIENT_ID, CLIENT_KEY)
                .answer_tokens_with_refresh(access, now + lifetime, new, now + 365 * 86_400)
                .expect(1)
        });

    // `python3` is a stand-in that logs which script ran with which token; "analyse.py" takes
    // 10 hours: it moves the clock.
    let bin = tempfile::tempdir().expect("temp bin");
    let log = bin.path().join("python3.log");
    let python = bin.path().join("python3");
    fs::write(
        &python,
        format!(
            "#!/bin/sh\nprintf '%s %s\\n' \"$1\" \"$TAPIS_TOKEN\" >> '{}'\n\
             if [ \"$1\" = analyse.py ]; then echo {later} > \"$TAPIS_TEST_CLOCK\"; fi\n",
            log.display(),
        ),
    )
    .expect("write python3");
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).expect("chmod");
    let script = bin.path().join("job.sh");
    fs::write(&script, readme_batch_script()).expect("write the job script");
    let tapis_folder = Path::new(env!("CARGO_BIN_EXE_tapis")).parent().expect("the binary's folder");
    let path = format!("{}:{}:/usr/bin:/bin", bin.path().display(), tapis_folder.display());
    let run_job = || {
        Command::new("bash")
            .arg(&script)
            .current_dir(bin.path())
            .env_clear()
            .env("PATH", &path)
            .env("HOME", world.home.path())
            .env("NO_COLOR", "1")
            .env("TAPIS_BASE_URL", world.base_url())
            .env("TAPIS_TEST_CLOCK", world.clock_file())
            .stdin(Stdio::null())
            .output()
            .expect("run the job script")
    };

    let output = run_job();
    assert_exit(&output, 0);
    let ran = fs::read_to_string(&log).expect("python3 ran");
    assert_eq!(ran, format!("analyse.py {first}\nupload_results.py {second}\n"), "{}", stderr(&output));
    for renewal in &renewals {
        renewal.assert();
    }
    world.server.assert_no_strays();

    // Without a login to renew (the token file gone), the job stops at the first step: no
    // step runs without a token.
    fs::remove_file(world.token_file()).expect("remove the token file");
    fs::remove_file(&log).expect("remove the log");
    let output = run_job();
    assert_exit(&output, 3);
    assert!(!log.exists(), "no step ran: {}", stderr(&output));
}

#[test]
fn a_password_login_records_the_client_it_created() {
    let mut world = World::new();
    let (login, _) = world.mock_login(1);
    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(world.saved()["created_client_id"], CLIENT_ID);
    assert_eq!(world.saved()["client_id"], CLIENT_ID);
}

#[test]
fn logout_keeps_a_client_tapis_did_not_create() {
    let mut world = World::new();
    let (access, refresh) = (world.jwt(3600), world.refresh_jwt("r1"));
    // As after `login --device --client-id` with a team's client: the client is in the file,
    // but not recorded as created by tapis.
    world.write_renewable_file(&access, 3600, &refresh);
    let delete = world.server.on("DELETE", mockito::Matcher::Any).expect(0);
    let revoke = world.server.revoke(None).answer_revoked("jti").expect(2);

    let output = run(world.tapis().arg("logout"));
    assert_exit(&output, 0);
    delete.assert();
    revoke.assert();
    assert!(stderr(&output).contains(&format!("kept the OAuth client {CLIENT_ID}")), "{}", stderr(&output));
    assert!(!world.token_file().exists());
    world.server.assert_no_strays();
}

#[test]
fn logout_waits_for_the_lock_and_leaves_the_file_on_a_timeout() {
    let mut world = World::new();
    let access = world.jwt(3600);
    world.write_renewable_file(&access, 3600, &world.refresh_jwt("r1"));
    world.mark_client_created();
    let before = fs::read(world.token_file()).expect("read");
    let any_request = [
        world.server.on("POST", mockito::Matcher::Any).expect(0),
        world.server.on("DELETE", mockito::Matcher::Any).expect(0),
    ];

    // Another process (here, this one) holds the token file's lock, as a renewal does.
    let lock_path = world.home.path().join(".tapis_tokens.json.lock");
    let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).expect("lock file");
    set_mode(&lock_path, 0o600);
    lock.try_lock().expect("the lock is free");

    let output = run(world.tapis().args(["logout", "--lock-timeout", "300ms"]));
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("another process has held"), "{}", stderr(&output));
    assert_eq!(fs::read(world.token_file()).expect("the file is still there"), before, "the file is untouched");
    for mock in &any_request {
        mock.assert();
    }
    drop(lock);
    world.server.assert_no_strays();
}

#[test]
fn a_herd_asking_for_more_than_a_token_lives_renews_once() {
    const HERD_SIZE: usize = 16;
    let (world, refresh, fresh) = renewable_world(4 * 3600, 1);
    let herd = run_together((0..HERD_SIZE).map(|_| {
        let mut command = world.tapis();
        command.args(["token", "--min-valid", "5h"]);
        command
    }));
    for output in herd {
        assert_exit(&output, 0);
        assert_eq!(stdout(&output), format!("{fresh}\n"), "every process prints the one renewed token");
        assert!(stderr(&output).contains("less than the 5h 00m it should stay valid for"), "{}", stderr(&output));
    }
    refresh.assert();
    world.server.assert_no_strays();
}

#[test]
fn a_file_whose_base_url_and_issuer_disagree_is_sent_nowhere() {
    let mut world = World::new();
    let token_endpoint = world.mock_token_endpoint(0);
    let foreign = jwt_for("https://tacc.tapis.io", 3600);
    // The file says this server, the token says TACC's.
    world.write_renewable_file(&foreign, 3600, &world.refresh_jwt("r1"));
    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 3);
    assert_eq!(stdout(&output), "");
    let output = run(world.tapis().args(["status", "--json"]));
    assert!(stdout(&output).contains("\"other-server\""), "{}", stdout(&output));

    // The access token is this server's but the refresh token is TACC's: not renewed here.
    let tacc_refresh = tapis_testkit::jwt(&tapis_testkit::refresh_claims(
        USERNAME,
        tapis_testkit::now_unix() + 86_400,
        "https://tacc.tapis.io",
    ));
    world.write_renewable_file(&world.jwt(-60), -60, &tacc_refresh);
    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 3);
    assert_eq!(stdout(&output), "");
    token_endpoint.assert();
    world.server.assert_no_strays();
}

#[test]
fn the_readme_states_the_api_answer_cap_of_the_code() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md");
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let cap = format!("`tapis api` reads answers of up to {} MiB", tapis_auth::DEFAULT_MAX_ANSWER_BYTES >> 20);
    assert!(readme.contains(&cap), "README.md should say: {cap}");
}
