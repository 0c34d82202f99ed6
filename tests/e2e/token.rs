//! `tapis token`: the token alone on stdout, from the file when it is valid.

use crate::support::*;

#[test]
fn the_cached_path_prints_the_token_and_makes_no_request() {
    let mut world = World::new();
    let jwt = world.jwt(3 * 3600);
    world.write_notebook_file(&jwt, 3 * 3600);
    crate::support::set_mode(&world.token_file(), 0o600);
    let endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 0);
    endpoint.assert();
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    assert_eq!(stderr(&output), "", "nothing to say on the cached path");
}

#[test]
fn min_valid_decides_when_to_log_in_again() {
    let mut world = World::new();
    let jwt = world.jwt(5 * 60);
    world.write_notebook_file(&jwt, 5 * 60);
    let (login, new_jwt) = world.mock_login(1);

    // 5 minutes left is enough for the default 60 s margin...
    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    // ...but not for 10 minutes.
    let output = run(world.tapis_with_credentials().args(["token", "--min-valid", "10m"]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{new_jwt}\n"));
    login.assert();
}

#[test]
fn an_expired_token_is_renewed_by_logging_in_with_env_credentials() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(-3600), -3600);
    let (login, new_jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(stdout(&output), format!("{new_jwt}\n"));
    assert_eq!(world.saved()["access_token"], new_jwt.as_str());
}

#[test]
fn without_credentials_or_terminal_it_fails_with_exit_3_and_prints_nothing() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(-3600), -3600);
    let endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 3);
    endpoint.assert();
    assert_eq!(stdout(&output), "", "no token on stdout");
    assert!(stderr(&output).contains("run `tapis login` in a terminal"), "{}", stderr(&output));
}

#[test]
fn the_token_file_option_and_variable_are_honoured() {
    let mut world = World::new();
    let elsewhere = world.home.path().join("elsewhere.json");
    let jwt = world.jwt(3 * 3600);
    std::fs::write(
        &elsewhere,
        format!(r#"{{"access_token": "{jwt}", "expires_at": "{}"}}"#, iso_utc(tapis_testkit::now_unix() + 3 * 3600)),
    )
    .expect("write");
    let endpoint = world.mock_token_endpoint(0);

    let by_flag = run(world.tapis().arg("token").arg("--token-file").arg(&elsewhere));
    let by_env = run(world.tapis().arg("token").env("TAPIS_TOKEN_FILE", &elsewhere));
    assert_exit(&by_flag, 0);
    assert_exit(&by_env, 0);
    assert_eq!(stdout(&by_flag), format!("{jwt}\n"));
    assert_eq!(stdout(&by_env), format!("{jwt}\n"));
    endpoint.assert();
    assert!(!world.token_file().exists(), "the default file was not touched");
}

#[test]
#[cfg(unix)] // Windows: making a link takes a privilege an ordinary user lacks.
fn a_token_that_cannot_be_saved_is_still_printed_with_a_warning() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);
    // A dangling symbolic link where the file should be: tokens are never written through it.
    std::os::unix::fs::symlink(world.home.path().join("elsewhere.json"), world.token_file()).expect("symlink");

    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    let talk = stderr(&output);
    assert!(talk.contains("is a symbolic link") && talk.contains("usable for this run only"), "{talk}");
}
