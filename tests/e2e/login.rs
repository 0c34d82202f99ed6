//! `tapis login`: one request when needed, none when the saved token is valid.

use std::fs;

use crate::support::*;

#[test]
fn logs_in_once_and_saves_a_private_notebook_compatible_file() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(stdout(&output), "", "talk goes to stderr");
    world.settings().bind(|| insta::assert_snapshot!("login_fresh", stderr(&output)));

    let saved = world.saved();
    assert_eq!(saved["access_token"], jwt.as_str());
    let expires_at = saved["expires_at"].as_str().expect("expires_at");
    assert_eq!(expires_at.len(), 25, "the notebook's format: {expires_at}");
    assert!(expires_at.ends_with("+00:00"), "{expires_at}");
    assert_eq!(saved["base_url"], world.base_url().as_str());
    assert_eq!(saved["username"], USERNAME);
    #[cfg(unix)]
    assert_eq!(mode_of(&world.token_file()), 0o600);
}

#[test]
fn a_valid_saved_token_makes_no_request() {
    let mut world = World::new();
    let jwt = world.jwt(3 * 3600);
    world.write_notebook_file(&jwt, 3 * 3600);
    let endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    endpoint.assert();
    // The snapshot starts with the warning about the notebook's 0644 file: no modes on Windows.
    #[cfg(unix)]
    world.settings().bind(|| insta::assert_snapshot!("login_cached", stderr(&output)));
    assert!(stderr(&output).contains("Already logged in to"), "{}", stderr(&output));
    assert_eq!(world.saved()["access_token"], jwt.as_str(), "the file is untouched");
}

#[test]
fn force_logs_in_again() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(3 * 3600), 3 * 3600);
    let (login, new_jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().args(["login", "--force"]));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(world.saved()["access_token"], new_jwt.as_str());
}

#[test]
fn an_expired_token_is_replaced() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(-60), -60);
    let (login, new_jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(world.saved()["access_token"], new_jwt.as_str());
}

#[test]
fn a_token_of_another_server_is_never_sent_and_is_replaced_when_forced() {
    let mut world = World::new();
    let foreign = jwt_for("https://tacc.tapis.io", 3 * 3600);
    world.write_notebook_file(&foreign, 3 * 3600);
    let (login, new_jwt) = world.mock_login(1);
    // Nothing may carry the foreign token to this server, in a header or a body.
    let leak = world.server.token_endpoint().with_body(mockito::Matcher::Regex(foreign.clone())).expect(0);
    let leak_header = world.server.token_endpoint().with_header("x-tapis-token", mockito::Matcher::Any).expect(0);

    // Live tokens of another server are replaced only by a forced login.
    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("holds the tokens of https://tacc.tapis.io"), "{}", stderr(&output));
    assert_eq!(world.saved()["access_token"], foreign.as_str());
    let output = run(world.tapis_with_credentials().args(["login", "--force"]));
    assert_exit(&output, 0);
    login.assert();
    leak.assert();
    leak_header.assert();
    assert!(stderr(&output).contains("belongs to https://tacc.tapis.io, not this server"), "{}", stderr(&output));
    assert_eq!(world.saved()["access_token"], new_jwt.as_str());
}

#[test]
fn a_corrupt_file_is_reported_and_replaced() {
    let mut world = World::new();
    fs::write(world.token_file(), "{\"access_token\": \"eyJ").expect("write");
    let (login, new_jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    login.assert();
    world.settings().bind(|| insta::assert_snapshot!("login_corrupt_file", stderr(&output)));
    assert_eq!(world.saved()["access_token"], new_jwt.as_str());
    let copies: Vec<_> = fs::read_dir(world.home.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tapis_tokens.json.corrupt-"))
        .collect();
    let [copy] = copies.as_slice() else { panic!("one copy, not {copies:?}") };
    assert_eq!(fs::read(world.home.path().join(copy)).expect("read the copy"), b"{\"access_token\": \"eyJ");
}

#[test]
fn the_password_can_come_from_stdin() {
    let mut world = World::new();
    let (login, _) = world.mock_login(1);
    let mut child = world
        .tapis()
        .args(["login", "--username", USERNAME, "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write as _;
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("write password");
    let output = child.wait_with_output().expect("wait");
    assert_exit(&output, 0);
    login.assert();
}

#[test]
fn rejected_supplied_credentials_fail_at_once_with_exit_4() {
    let mut world = World::new();
    let previous = world.jwt(-60);
    world.write_notebook_file(&previous, -60);
    let before = fs::read(world.token_file()).expect("read");
    let rejected = world.mock_token_error(400, "Invalid username/password combination.", 1);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 4);
    rejected.assert();
    // The snapshot starts with the warning about the notebook's 0644 file: no modes on Windows.
    #[cfg(unix)]
    world.settings().bind(|| insta::assert_snapshot!("login_rejected", stderr(&output)));
    assert!(stderr(&output).contains("Invalid username/password combination."), "{}", stderr(&output));
    assert_eq!(fs::read(world.token_file()).expect("read"), before, "the previous file is untouched");
}

#[test]
fn no_terminal_and_no_credentials_exits_3_at_once() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);

    let started = std::time::Instant::now();
    let output = run(world.tapis().arg("login"));
    assert_exit(&output, 3);
    endpoint.assert();
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "never waits for input");
    world.settings().bind(|| insta::assert_snapshot!("login_no_terminal", stderr(&output)));
}

#[test]
fn a_failing_server_exits_5_after_3_attempts() {
    let mut world = World::new();
    let unavailable = world.server.token_endpoint().answer_gateway(503).expect(3);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 5);
    unavailable.assert();
    world.settings().bind(|| insta::assert_snapshot!("login_unavailable", stderr(&output)));
}

#[test]
fn a_server_error_message_is_shown_with_exit_5() {
    let mut world = World::new();
    let refused = world.mock_token_error(
        400,
        "Invalid grant_type (password); this grant type is not allowed for this tenant. Allowable grant types: [device_code]",
        1,
    );
    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 5);
    refused.assert();
    assert!(stderr(&output).contains("answered 400: Invalid grant_type (password)"), "{}", stderr(&output));
}

#[test]
fn a_token_file_folder_that_cannot_be_made_fails_before_any_request() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);
    // A regular file where the token file's folder should be: nothing can be read there, let
    // alone locked or saved, so the password is never sent.
    let blocker = world.home.path().join("not-a-folder");
    fs::write(&blocker, "x").expect("write");

    let output = run(world.tapis_with_credentials().arg("login").arg("--token-file").arg(blocker.join("tokens.json")));
    assert_exit(&output, 1);
    endpoint.assert();
    assert!(stderr(&output).contains("not-a-folder is a file, not a folder"), "{}", stderr(&output));
}

#[test]
#[cfg(unix)] // Windows: making a link takes a privilege an ordinary user lacks.
fn a_login_that_cannot_be_saved_says_so_and_exits_1() {
    let mut world = World::new();
    let (login, _) = world.mock_login(1);
    // A dangling symbolic link where the token file should be: it reads as no file, the lock
    // works, and tokens are never written through a link.
    let elsewhere = world.home.path().join("elsewhere.json");
    std::os::unix::fs::symlink(&elsewhere, world.token_file()).expect("symlink");

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 1);
    login.assert();
    world.settings().bind(|| insta::assert_snapshot!("login_not_saved", stderr(&output)));
    assert!(world.token_file().is_symlink() && !elsewhere.exists(), "nothing was written through the link");
}

#[test]
fn usage_errors_exit_2() {
    let world = World::new();
    for args in [
        &["login", "--password", "x"][..],
        &["login", "--attempts", "0"],
        &["token", "--min-valid", "soon"],
        &["frobnicate"],
    ] {
        let output = run(world.tapis().args(args));
        assert_exit(&output, 2);
    }
    let output = run(world.tapis().args(["--base-url", "http://designsafe.tapis.io", "status"]));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("does not use https"), "{}", stderr(&output));
}

#[test]
fn help_documents_exit_codes_and_environment() {
    // Without this world's variables, which --help would show as values.
    let tapis = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tapis"));
        command.env_clear();
        command
    };
    #[cfg_attr(not(windows), expect(unused_mut))]
    let mut settings = insta::Settings::clone_current();
    // clap names the program as it was started.
    #[cfg(windows)]
    settings.add_filter(r"\btapis\.exe\b", "tapis");
    let _bound = settings.bind_to_scope();
    let output = run(tapis().arg("--help"));
    assert_exit(&output, 0);
    insta::assert_snapshot!("help", stdout(&output));
    let output = run(tapis().args(["login", "--help"]));
    assert_exit(&output, 0);
    insta::assert_snapshot!("help_login", stdout(&output));
}
