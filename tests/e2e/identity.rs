//! The user asked for is part of where a command works: another user's saved tokens are not
//! handed out, renewed or replaced without `--force`; and profiles as documented: the default
//! row as the commands see it, a profile's server changed by a login, a profile removed.

use std::fs;

use crate::messages::run_with_input;
use crate::support::*;

#[test]
fn another_users_token_is_refused_by_every_verb_naming_both_users() {
    let mut world = World::new();
    world.log_in();
    let before = fs::read(world.token_file()).expect("the token file");
    let token_endpoint = world.mock_token_endpoint(0);

    for verb in [&["token"][..], &["whoami"], &["login"], &["api", "/v3/systems"], &["logout"]] {
        let output = run(world.tapis().args(verb).env("TAPIS_USERNAME", "alice").env("TAPIS_PASSWORD", "wonder"));
        assert_exit(&output, 2);
        assert!(stdout(&output).is_empty(), "{verb:?}: no token printed");
        let text = stderr(&output);
        for part in ["holds the tokens of jdoe", "not of alice", "--token-file", "--profile", "--force"] {
            assert!(text.contains(part), "{verb:?}: {part:?} missing in {text}");
        }
    }
    let output = run_with_input(world.tapis().args(["login", "-u", "alice", "--password-stdin"]), b"wonder\n");
    assert_exit(&output, 2);
    assert!(!stdout(&output).contains("Already logged in"), "{}", stdout(&output));
    assert_eq!(fs::read(world.token_file()).expect("the token file"), before, "unchanged");
    token_endpoint.assert();
    world.server.assert_no_strays();
}

#[test]
fn the_default_row_of_profiles_is_what_the_commands_use() {
    let world = World::new();
    world.write_notebook_file(&world.jwt(3600), 3600);
    // World::tapis sets TAPIS_BASE_URL to the mock, where the saved token is valid.
    let output = run(world.tapis().args(["profiles", "--json"]));
    assert_exit(&output, 0);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!((rows[0]["name"].as_str(), rows[0]["state"].as_str()), (Some("default"), Some("valid")), "{rows}");
    assert_eq!(rows[0]["base_url"], world.base_url().as_str());
}

#[test]
#[cfg(unix)] // The profiles' folders: on Windows the user's AppData, whatever HOME says.
fn a_login_with_another_base_url_moves_a_profile_and_a_profile_can_be_removed() {
    let mut world = World::new();
    let (login, _) = world.mock_login(1);
    let url = world.base_url();
    let output = run(world.tapis_with_credentials().args(["--profile", "p", "--base-url", &url, "login"]));
    assert_exit(&output, 0);
    login.assert();
    let config = world.home.path().join(".config/tapis/profiles.toml");
    assert!(fs::read_to_string(&config).expect("profiles.toml").contains(&url));

    // Another server on the command line moves the profile there, without --force: the old
    // server's tokens are replaced, and the client tapis made there deleted with their token.
    let mut other = tapis_testkit::MockTapis::new();
    let exp = tapis_testkit::now_unix() + 4 * 3600;
    let jwt = other.access_jwt(USERNAME, exp);
    let grant = other.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&jwt, exp).expect(1);
    let delete = world.mock_client_deletion(None);
    let output = run(world
        .tapis_with_credentials()
        .args(["--profile", "p", "--base-url", &other.url()])
        .args(["login", "--no-refresh"]));
    assert_exit(&output, 0);
    grant.assert();
    delete.assert();
    let text = fs::read_to_string(&config).expect("profiles.toml");
    assert!(text.contains(&other.url()) && !text.contains(&url), "{text}");

    let output = run(world.tapis().args(["profiles", "remove", "p"]));
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("its token file"), "{}", stderr(&output));
    assert!(!fs::read_to_string(&config).expect("profiles.toml").contains("[profiles.p]"));
    let output = run(world.tapis().args(["profiles", "remove", "p"]));
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("there is no profile `p`"), "{}", stderr(&output));
}
