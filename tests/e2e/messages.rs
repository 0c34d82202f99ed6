//! Messages that tell the truth: a mistyped profile, a piped password without a username,
//! values from the environment, and the wording of times and margins.

use std::fs;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::scripting::signed_in;
use crate::support::*;

/// Runs `command` with `input` on its standard input.
pub(crate) fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn tapis");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Writes `profiles.toml` with the profiles `alpha` and `beta`, both for this world's server.
#[cfg(unix)]
fn write_profiles(world: &World) {
    let folder = world.home.path().join(".config").join("tapis");
    fs::create_dir_all(&folder).expect("config folder");
    let url = world.base_url();
    fs::write(folder.join("profiles.toml"), format!("[profiles.alpha]\nbase_url = \"{url}\"\n[profiles.beta]\n"))
        .expect("write profiles.toml");
}

#[test]
#[cfg(unix)] // The profiles' folders: on Windows the user's AppData, whatever HOME says.
fn a_profile_that_does_not_exist_is_a_usage_error_for_every_verb_but_login() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    let verbs: [&[&str]; 6] =
        [&["status"], &["token"], &["whoami"], &["api", "/v3/systems"], &["exec", "--", "true"], &["logout"]];
    for with_profiles in [false, true] {
        if with_profiles {
            write_profiles(&world);
        }
        for verb in verbs {
            let output = run(world.tapis_with_credentials().args(["--profile", "nosuch"]).args(verb));
            assert_exit(&output, 2);
            assert!(stdout(&output).is_empty(), "{verb:?}");
            assert!(stderr(&output).contains("there is no profile `nosuch`"), "{verb:?}: {}", stderr(&output));
        }
        // The variable too.
        let output = run(world.tapis().env("TAPIS_PROFILE", "nosuch").arg("status"));
        assert_exit(&output, 2);
        let name = if with_profiles { "unknown_profile_with_profiles" } else { "unknown_profile_without_profiles" };
        world.settings().bind(|| insta::assert_snapshot!(name, stderr(&output)));
    }
    anything.assert();
    assert!(!world.token_file().exists());
    assert!(!world.home.path().join(".local/share/tapis").exists(), "no token file for a profile");

    // Only a login creates a profile, and only with a server the command line names: the
    // environment never writes profiles.toml.
    let output = run(world.tapis_with_credentials().args(["--profile", "gamma", "login"]));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("choose its server with --base-url"), "{}", stderr(&output));
    assert!(!world.home.path().join(".config/tapis/profiles.toml").exists() || !fs_contains_gamma(&world));
    let (login, _) = world.mock_login(1);
    let output =
        run(world.tapis_with_credentials().args(["--profile", "gamma", "--base-url", &world.base_url(), "login"]));
    assert_exit(&output, 0);
    login.assert();
    let output = run(world.tapis().args(["--profile", "gamma", "token"]));
    assert_exit(&output, 0);
}

#[test]
fn a_piped_password_without_a_username_is_for_the_user_in_the_token_file() {
    let mut world = World::new();
    // An expired token still says whose it is.
    world.write_notebook_file(&world.jwt(-600), -600);
    let (login, jwt) = world.mock_login(1);
    let output = run_with_input(world.tapis().args(["login", "--password-stdin"]), format!("{PASSWORD}\n").as_bytes());
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(world.saved()["access_token"], jwt.as_str());

    // TAPIS_PASSWORD alike.
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(-600), -600);
    let (login, _) = world.mock_login(1);
    let output = run(world.tapis().env("TAPIS_PASSWORD", PASSWORD).args(["token"]));
    assert_exit(&output, 0);
    login.assert();
}

#[test]
fn a_piped_password_without_any_username_names_the_flag_and_the_variable() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    // No token file; then one of another server (expired: nothing to lose), whose user is not
    // this server's.
    for other_server_file in [false, true] {
        if other_server_file {
            world.write_notebook_file(&jwt_for("https://tacc.tapis.io", -3600), -3600);
        }
        let output =
            run_with_input(world.tapis().args(["login", "--password-stdin"]), format!("{PASSWORD}\n").as_bytes());
        assert_exit(&output, 2);
        let message = stderr(&output);
        assert!(message.contains("--username") && message.contains("TAPIS_USERNAME"), "{message}");
        assert!(!message.contains("pipe the password"), "{message}");
        if !other_server_file {
            world.settings().bind(|| insta::assert_snapshot!("password_without_username", message));
        }
        let output = run(world.tapis().env("TAPIS_PASSWORD", PASSWORD).args(["token"]));
        assert_exit(&output, 2);
        assert!(stderr(&output).contains("pass --username or set TAPIS_USERNAME"), "{}", stderr(&output));
    }
    anything.assert();
}

#[test]
fn an_empty_password_stdin_is_a_usage_error() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    let output = run(world.tapis().args(["login", "--username", USERNAME, "--password-stdin"]));
    assert_exit(&output, 2);
    world.settings().bind(|| insta::assert_snapshot!("empty_password_stdin", stderr(&output)));
    let output = run_with_input(world.tapis().args(["login", "-u", USERNAME, "--password-stdin"]), b"\n");
    assert_exit(&output, 2);
    anything.assert();
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    let cases: [(&str, &str, &[&str]); 3] = [
        ("TAPIS_HTTP_TIMEOUT", "0", &["status"]),
        ("TAPIS_DEVICE_POLL_INTERVAL", "abc", &["login", "--device"]),
        ("TAPIS_LOCK_TIMEOUT", "5 parsecs", &["token", "--format", "raw"]),
    ];
    let mut messages = String::new();
    for (variable, value, args) in cases {
        let output = run(world.tapis().env(variable, value).args(args));
        assert_exit(&output, 2);
        let message = stderr(&output);
        assert!(message.contains(variable), "{message}");
        let option = format!("--{}", variable.trim_start_matches("TAPIS_").to_lowercase().replace('_', "-"));
        assert!(!message.contains(&option), "names the variable, not {option}: {message}");
        messages.push_str(&message);
    }
    world.settings().bind(|| insta::assert_snapshot!("bad_values_from_the_environment", messages));
    // Typed on the command line, the option is named, even when the variable is set too.
    let output = run(world.tapis().env("TAPIS_HTTP_TIMEOUT", "0").args(["status", "--http-timeout", "0s"]));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("'--http-timeout <DURATION>'"), "{}", stderr(&output));
    anything.assert();
}

#[test]
fn a_bare_number_is_seconds_and_the_message_says_so() {
    let (world, jwt) = signed_in();
    let output = run(world.tapis().args(["token", "--min-valid", "10"]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    let output = run(world.tapis().args(["token", "--min-valid", "10w"]));
    assert_exit(&output, 2);
    world.settings().bind(|| insta::assert_snapshot!("bad_duration", stderr(&output)));
}

#[test]
fn an_expired_tapis_token_is_called_expired() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    let output = run(world.tapis().env("TAPIS_TOKEN", world.jwt(-600)).arg("token"));
    assert_exit(&output, 3);
    let message = stderr(&output);
    assert!(!message.contains("valid until"), "{message}");
    world.settings().bind(|| insta::assert_snapshot!("expired_tapis_token", message));
    anything.assert();
}

#[test]
fn a_short_token_names_the_margin_not_an_ask() {
    let mut world = World::new();
    let refresh = world.refresh_jwt("r0");
    world.write_renewable_file(&world.jwt(-60), -60, &refresh);
    let (renewal, access, _) = world.mock_refresh(&refresh, 1);
    let output = run(world.tapis().args(["token", "--min-valid", "5h"]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{access}\n"));
    let message = stderr(&output);
    assert!(!message.contains("asked for"), "{message}");
    world.settings().bind(|| insta::assert_snapshot!("shorter_than_the_margin", message));
    renewal.assert();
}

#[test]
fn an_expired_refresh_token_says_the_login_lapsed() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    let now = tapis_testkit::now_unix();
    let file = json!({
        "access_token": world.jwt(-86_400),
        "expires_at": iso_utc(now - 86_400),
        "base_url": world.base_url(),
        "refresh_token": world.server.refresh_jwt(USERNAME, now - 3600, "old"),
        "refresh_expires_at": iso_utc(now - 3600),
        "client_id": CLIENT_ID,
        "client_key": CLIENT_KEY,
    });
    fs::write(world.token_file(), file.to_string()).expect("write token file");
    crate::support::set_mode(&world.token_file(), 0o600);

    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 3);
    let message = stderr(&output);
    assert!(!message.contains("not logged in"), "{message}");
    world.settings().bind(|| insta::assert_snapshot!("lapsed_login", message));
    let output = run(world.tapis().arg("status"));
    assert_exit(&output, 3);
    world.settings().bind(|| insta::assert_snapshot!("status_lapsed", stdout(&output)));
    anything.assert();
}

/// Whether profiles.toml names the profile `gamma`.
#[cfg(unix)]
fn fs_contains_gamma(world: &World) -> bool {
    std::fs::read_to_string(world.home.path().join(".config/tapis/profiles.toml"))
        .is_ok_and(|text| text.contains("gamma"))
}
