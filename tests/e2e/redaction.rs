//! Secrets a server echoes never reach the screen: the client key in the authenticator's
//! `Invalid client credentials: <id>, <key>`, a password a gateway reflects, a refresh token;
//! nor the debug log (`--debug`, `TAPIS_DEBUG=1`), which shows what was asked and answered.

use std::fs;

use crate::support::*;

const OLD_CLIENT_ID: &str = "old-client-7c3d";
const OLD_CLIENT_KEY: &str = "old-client-key-51aa";

/// The authenticator's answer to a refresh or password grant whose HTTP Basic client it does
/// not know: the key it was sent, echoed in clear.
fn invalid_client(client_id: &str, client_key: &str) -> String {
    format!("Invalid client credentials: {client_id}, {client_key}. session: 7f3e2a")
}

#[track_caller]
fn assert_none_in(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "`{secret}` appears in:\n{text}");
    }
}

/// An expired token with a refresh token and the personal client, whose renewal the server
/// refuses with `message`; no credentials, no terminal: exit 3, with the server's words and
/// none of the secrets.
fn check_refused_renewal(message: impl Fn(&str) -> String, expected: &str, debug: bool) {
    let mut world = World::new();
    let (access, refresh) = (world.jwt(-60), world.refresh_jwt("r1"));
    world.write_renewable_file(&access, -60, &refresh);
    let refused = world.server.any_refresh_grant().answer_error(400, &message(&refresh)).expect(1);

    let mut command = world.tapis();
    if debug {
        command.arg("--debug");
    }
    let output = run(command.arg("token"));
    assert_exit(&output, 3);
    refused.assert();
    let stderr = stderr(&output);
    assert!(stderr.contains(expected), "{stderr}");
    assert_none_in(&stderr, &[CLIENT_KEY, &refresh, &access]);
    assert_eq!(stdout(&output), "");
    if debug {
        assert!(
            stderr.contains(&format!("POST {}/v3/oauth2/tokens: 400 Bad Request in ", world.base_url())),
            "{stderr}"
        );
    }
}

#[test]
fn a_client_key_echoed_by_a_refused_renewal_is_masked() {
    let expected = "was refused (Invalid client credentials: tapis-cli-jdoe-4f2a, ***. session: 7f3e2a)";
    check_refused_renewal(|_| invalid_client(CLIENT_ID, CLIENT_KEY), expected, false);
    check_refused_renewal(|_| invalid_client(CLIENT_ID, CLIENT_KEY), expected, true);
}

#[test]
fn a_refresh_token_echoed_by_a_refused_renewal_is_masked() {
    let echo = |refresh: &str| format!("Invalid refresh_token: {refresh}.");
    check_refused_renewal(echo, "was refused (Invalid refresh_token: ***.)", false);
    check_refused_renewal(echo, "was refused (Invalid refresh_token: ***.)", true);
}

/// A password login whose grant is answered 400 with `body` (as `content_type`): exit 4 or
/// 5, and the password nowhere on stderr.
fn check_echoed_password(status: usize, content_type: &str, body: &str, exit: i32, expected: &str) {
    let mut world = World::new();
    let grant = world.server.password_grant(USERNAME, PASSWORD).answer(status, content_type, body).expect(1);
    for debug in [false, true] {
        let mut command = world.tapis_with_credentials();
        if debug {
            command.env("TAPIS_DEBUG", "1");
        }
        let output = run(command.arg("login"));
        assert_exit(&output, exit);
        let stderr = stderr(&output);
        assert!(stderr.contains(expected), "{stderr}");
        assert_none_in(&stderr, &[PASSWORD, "correct+horse+battery+staple", "correct%20horse%20battery%20staple"]);
        if debug {
            assert!(stderr.contains(&format!("/v3/oauth2/tokens: {status} Bad Request in ")), "{stderr}");
        }
    }
    drop(grant);
}

#[test]
fn a_password_echoed_by_the_server_is_masked() {
    let body =
        tapis_testkit::error_response(&format!("Invalid username/password combination for {USERNAME}:{PASSWORD}."));
    check_echoed_password(400, "application/json", &body, 4, "combination for jdoe:***.");
}

#[test]
fn a_password_reflected_by_a_gateway_is_masked_in_every_encoding() {
    let body = "<html>bad request: username=jdoe&password=correct+horse+battery+staple \
                {\"password\": \"correct horse battery staple\"} \
                password=correct%20horse%20battery%20staple</html>";
    check_echoed_password(400, "text/html", body, 5, "password=*** {\"password\": \"***\"} password=***");
}

/// The saved client is gone on the server: the refresh and the grant through it are refused
/// with its key echoed; with the password at hand a new personal client is made, and the
/// old key is never shown, nor, with `--debug`, logged.
#[test]
fn a_refused_client_is_replaced_and_its_echoed_key_never_shown() {
    let mut world = World::new();
    let (access, refresh) = (world.jwt(-60), world.refresh_jwt("r1"));
    world.write_renewable_file(&access, -60, &refresh);
    let mut file = world.saved();
    file["client_id"] = OLD_CLIENT_ID.into();
    file["client_key"] = OLD_CLIENT_KEY.into();
    fs::write(world.token_file(), file.to_string()).expect("write the token file");
    let echoed = invalid_client(OLD_CLIENT_ID, OLD_CLIENT_KEY);
    let refused_refresh = world
        .server
        .any_refresh_grant()
        .through_client(OLD_CLIENT_ID, OLD_CLIENT_KEY)
        .answer_error(400, &echoed)
        .expect(1);
    let refused_grant = world
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client(OLD_CLIENT_ID, OLD_CLIENT_KEY)
        .answer_error(400, &echoed)
        .expect(1);
    let (login, jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().args(["--debug", "token"]));
    assert_exit(&output, 0);
    refused_refresh.assert();
    refused_grant.assert();
    login.assert();
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    let stderr = stderr(&output);
    assert!(
        stderr.contains(
            "renewing the token was refused (Invalid client credentials: old-client-7c3d, ***. session: 7f3e2a)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("the server no longer knows the OAuth client old-client-7c3d; making a new one"),
        "{stderr}"
    );
    assert_none_in(&stderr, &[OLD_CLIENT_KEY, CLIENT_KEY, PASSWORD, &refresh, &access, &jwt]);
    // The debug log: the token file and its state, every request with its status and time.
    let token_file = world.token_file().display().to_string();
    assert!(stderr.contains(&format!("read the token file {token_file}: expired (until ")), "{stderr}");
    assert!(stderr.contains(&format!("took the lock on {token_file} at once")), "{stderr}");
    let tokens_url = format!("{}/v3/oauth2/tokens", world.base_url());
    assert!(stderr.contains(&format!("POST {tokens_url}: 400 Bad Request in ")), "{stderr}");
    assert!(stderr.contains(&format!("POST {tokens_url}: 200 OK in ")), "{stderr}");
    assert!(stderr.contains(&format!("POST {}/v3/oauth2/clients: 200 OK in ", world.base_url())), "{stderr}");
    assert!(stderr.contains(&format!("{tokens_url}: not retried")), "{stderr}");
}

#[test]
fn debug_on_the_cached_path_shows_the_token_file_and_makes_no_request() {
    let mut world = World::new();
    let jwt = world.jwt(3600);
    world.write_notebook_file(&jwt, 3600);
    crate::support::set_mode(&world.token_file(), 0o600);
    let nothing = world.mock_token_endpoint(0);
    let output = run(world.tapis().env("TAPIS_DEBUG", "1").arg("token"));
    assert_exit(&output, 0);
    nothing.assert();
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    let debug_log = stderr(&output);
    let token_file = world.token_file().display().to_string();
    assert!(debug_log.contains(&format!("read the token file {token_file}: valid (until ")), "{debug_log}");
    assert_none_in(&debug_log, &[&jwt]);
    // Off unless asked for.
    for debug in [None, Some("0")] {
        let mut command = world.tapis();
        if let Some(value) = debug {
            command.env("TAPIS_DEBUG", value);
        }
        let output = run(command.arg("token"));
        assert_exit(&output, 0);
        assert_eq!(stderr(&output), "", "TAPIS_DEBUG={debug:?}");
    }
}
