//! No command discards another server's tokens; a device login reuses a valid token.

use std::fs;

use mockito::Matcher;

use crate::support::*;

/// A second mock Tapis that must receive no request at all.
fn untouched_server() -> (MockTapis, Vec<mockito::Mock>) {
    let mut server = MockTapis::new();
    let mocks = ["GET", "POST", "DELETE"].into_iter().map(|method| server.on(method, Matcher::Any).expect(0)).collect();
    (server, mocks)
}

#[track_caller]
fn assert_refused_naming(output: &std::process::Output, server: &str) {
    assert_exit(output, 2);
    let text = stderr(output);
    for part in [server, "--base-url", "--profile", "left unchanged"] {
        assert!(text.contains(part), "{part:?} missing in:\n{text}");
    }
}

#[test]
fn logout_of_another_server_leaves_the_tokens_byte_for_byte() {
    let mut world = World::new();
    world.log_in();
    let before = fs::read(world.token_file()).expect("the token file");
    let (other, other_mocks) = untouched_server();

    for extra in [&[][..], &["--keep-client"]] {
        let output = run(world.tapis().args(["logout", "--base-url", &other.url()]).args(extra));
        assert_refused_naming(&output, &world.base_url());
        assert_eq!(fs::read(world.token_file()).expect("the token file"), before, "{extra:?}: changed");
    }
    // An expired token of the other server is not this logout's to remove either.
    world.write_notebook_file(&world.jwt(-60), -60);
    let before = fs::read(world.token_file()).expect("the token file");
    assert_refused_naming(&run(world.tapis().args(["logout", "--base-url", &other.url()])), &world.base_url());
    assert_eq!(fs::read(world.token_file()).expect("the token file"), before);
    for mock in &other_mocks {
        mock.assert();
    }
    other.assert_no_strays();
    world.server.assert_no_strays();
}

#[test]
fn login_token_and_device_login_for_another_server_refuse_unless_forced() {
    let mut world = World::new();
    let first_jwt = world.log_in();
    let before = fs::read(world.token_file()).expect("the token file");
    let (mut other, other_mocks) = untouched_server();
    let other_url = other.url();

    for args in [&["login"][..], &["token"], &["login", "--device", "--client-id", "a-client"], &["api", "/v3/systems"]]
    {
        let output = run(world.tapis_with_credentials().args(["--base-url", &other_url]).args(args));
        assert_refused_naming(&output, &world.base_url());
        assert!(stderr(&output).contains("log in with --force"), "{args:?}: {}", stderr(&output));
        assert_eq!(fs::read(world.token_file()).expect("the token file"), before, "{args:?}: changed");
    }
    for mock in &other_mocks {
        mock.assert();
    }

    // Forced, the login replaces them.
    let exp = tapis_testkit::now_unix() + 4 * 3600;
    let jwt = other.access_jwt(USERNAME, exp);
    let grant = other.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&jwt, exp).expect(1);
    // The first server's client, made by tapis, goes with them: deleted there with its token.
    let delete = world.mock_client_deletion(Some(&first_jwt));
    let output =
        run(world.tapis_with_credentials().args(["--base-url", &other_url, "login", "--force", "--no-refresh"]));
    assert_exit(&output, 0);
    grant.assert();
    delete.assert();
    assert!(stderr(&output).contains(&format!("deleted the OAuth client {CLIENT_ID}")), "{}", stderr(&output));
    assert_eq!(world.saved()["base_url"], other_url.as_str());
    other.assert_no_strays();
    world.server.assert_no_strays();
}

#[test]
fn expired_tokens_of_another_server_are_replaced_without_force() {
    let mut world = World::new();
    world.write_notebook_file(&jwt_for("https://tacc.tapis.io", -60), -60);
    let (login, jwt) = world.mock_login(1);
    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(world.saved()["access_token"], jwt.as_str());
}

#[test]
fn device_login_with_a_valid_saved_token_is_already_logged_in() {
    let mut world = World::new();
    let access = world.jwt(3600);
    world.write_renewable_file(&access, 3600, &world.refresh_jwt("r1"));
    let before = fs::read(world.token_file()).expect("the token file");
    let code = world.server.on("POST", tapis_testkit::DEVICE_CODE_PATH).expect(0);
    let token_endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().args(["login", "--device"]));
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("Already logged in to"), "{}", stderr(&output));
    assert!(stderr(&output).contains("Use --force to log in again"), "{}", stderr(&output));
    assert_eq!(fs::read(world.token_file()).expect("the token file"), before);
    code.assert();
    token_endpoint.assert();
    world.server.assert_no_strays();
}
