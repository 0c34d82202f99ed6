//! A token the server refuses although it has not expired here (revoked: the gateway answers
//! 500 `{"status": "error", "message": "Token is revoked.", ...}`) is one case for `whoami`
//! and `api`: renewed once and the request made once more, or, with no way to renew, exit 3
//! saying the token was refused and to log in again. And `tapis api`'s own rules: `--data`
//! means POST, its request checks are the library's, a body is printed as it came.

use mockito::Matcher;
use serde_json::json;
use tapis_auth::{AuthError, BaseUrl};

use crate::support::*;

/// What the gateway answers for a revoked token (see tapis-wire.md, "Revoke and userinfo").
const REVOKED: &str = "Token is revoked.";

/// A world whose saved token (valid for 3 hours by its expiry) the server has revoked, with a
/// refresh token that renews it; returns the revoked token, the refresh mock and the new token.
fn revoked_but_renewable() -> (World, String, mockito::Mock, String) {
    let mut world = World::new();
    let (revoked, refresh) = (world.jwt(3 * 3600), world.refresh_jwt("r1"));
    world.write_renewable_file(&revoked, 3 * 3600, &refresh);
    let (renewal, renewed, _) = world.mock_refresh(&refresh, 1);
    (world, revoked, renewal, renewed)
}

/// A world whose saved token is revoked and cannot be renewed (no refresh token, no
/// credentials, no terminal).
fn revoked_for_good() -> (World, String) {
    let world = World::new();
    let revoked = world.jwt(3 * 3600);
    world.write_notebook_file(&revoked, 3 * 3600);
    (world, revoked)
}

#[track_caller]
fn assert_says_revoked_and_log_in_again(output: &std::process::Output) {
    assert_exit(output, 3);
    let text = stderr(output);
    assert!(text.contains(&format!("refused the token (500: {REVOKED}), and it could not be renewed")), "{text}");
    assert!(text.contains("log in again with `tapis login`"), "{text}");
    // The renewal's own error follows, in the CLI's words too.
    assert!(text.contains("run `tapis login` in a terminal"), "{text}");
}

#[test]
fn whoami_renews_a_revoked_token_once_and_asks_again() {
    let (mut world, revoked, renewal, renewed) = revoked_but_renewable();
    let refused = world.server.userinfo().with_tapis_token(&revoked).answer_error(500, REVOKED).expect(1);
    let accepted = world.server.userinfo().with_tapis_token(&renewed).answer_userinfo(USERNAME).expect(1);

    let output = run(world.tapis().arg("whoami"));
    assert_exit(&output, 0);
    assert!(stdout(&output).contains(&format!("User:     {USERNAME}")), "{}", stdout(&output));
    refused.assert();
    renewal.assert();
    accepted.assert();
    assert_eq!(world.saved()["access_token"], renewed.as_str());
}

#[test]
fn whoami_with_a_revoked_token_that_cannot_be_renewed_exits_3() {
    let (mut world, revoked) = revoked_for_good();
    // Asked once: a refused token is not a server failure to retry.
    let refused = world.server.userinfo().with_tapis_token(&revoked).answer_error(500, REVOKED).expect(1);
    let token_endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().arg("whoami"));
    assert_says_revoked_and_log_in_again(&output);
    refused.assert();
    token_endpoint.assert();
}

#[test]
fn api_renews_a_revoked_token_once_and_sends_again() {
    let (mut world, revoked, renewal, renewed) = revoked_but_renewable();
    let refused = world.server.on("GET", "/v3/systems").with_tapis_token(&revoked).answer_error(500, REVOKED).expect(1);
    let accepted = world
        .server
        .on("GET", "/v3/systems")
        .with_tapis_token(&renewed)
        .answer_envelope(200, "ok", json!([]))
        .expect(1);

    let output = run(world.tapis().args(["api", "/v3/systems"]));
    assert_exit(&output, 0);
    refused.assert();
    renewal.assert();
    accepted.assert();
}

#[test]
fn api_with_a_revoked_token_that_cannot_be_renewed_exits_3() {
    let (mut world, revoked) = revoked_for_good();
    let refused = world.server.on("GET", "/v3/systems").with_tapis_token(&revoked).answer_error(500, REVOKED).expect(1);
    let token_endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().args(["api", "/v3/systems"]));
    assert_says_revoked_and_log_in_again(&output);
    assert_eq!(stdout(&output), "", "no answer is printed");
    refused.assert();
    token_endpoint.assert();
}

#[test]
fn api_with_data_posts_unless_a_method_is_given() {
    let (mut world, jwt) = crate::scripting::signed_in();
    let get = world.server.on("GET", "/v3/apps").expect(0);
    let post = world
        .server
        .on("POST", "/v3/apps")
        .with_tapis_token(&jwt)
        .with_json_body(json!({"id": "my-app"}))
        .answer_envelope(201, "App created.", json!({}))
        .expect(1);
    let put = world
        .server
        .on("PUT", "/v3/apps")
        .with_json_body(json!({"id": "my-app"}))
        .answer_envelope(200, "ok", json!({}))
        .expect(1);

    assert_exit(&run(world.tapis().args(["api", "/v3/apps", "--data", r#"{"id": "my-app"}"#])), 0);
    assert_exit(&run(world.tapis().args(["api", "-X", "put", "/v3/apps", "-d", r#"{"id": "my-app"}"#])), 0);
    get.assert();
    post.assert();
    put.assert();
}

#[test]
fn api_refuses_a_bad_method_or_header_in_the_librarys_words_without_any_request() {
    let (mut world, _) = crate::scripting::signed_in();
    let systems = world.server.on("GET", Matcher::Any).expect(0);
    let base_url = BaseUrl::parse(&world.base_url()).expect("the mock's URL");
    let invalid = |reason: &str| AuthError::InvalidRequest { reason: reason.to_owned() }.to_string();
    for (args, message) in [
        (vec!["api", "-X", "GE T", "/v3/systems"], invalid("`GE T` is not an HTTP method")),
        (
            vec!["api", "-H", "X-Tapis-Token: other", "/v3/systems"],
            invalid("the X-Tapis-Token header is set from the session"),
        ),
        (vec!["api", "-H", "Bad Name: x", "/v3/systems"], invalid("`Bad Name` is not a header name")),
        (
            vec!["api", "https://evil.example/v3"],
            AuthError::ForeignPath { path: "https://evil.example/v3".into(), base_url: base_url.to_string() }
                .to_string(),
        ),
    ] {
        let output = run(world.tapis().args(&args));
        assert_exit(&output, 2);
        assert_eq!(stderr(&output), format!("error: {message}\n"), "{args:?}");
    }
    systems.assert();
    world.server.assert_no_strays();
}

#[test]
fn api_prints_a_plain_body_as_it_came_when_piped() {
    let (mut world, _) = crate::scripting::signed_in();
    let file = world.server.on("GET", "/v3/files/content/sys/a.txt").answer(200, "text/plain", "no newline").expect(1);
    let output = run(world.tapis().args(["api", "/v3/files/content/sys/a.txt"]));
    assert_exit(&output, 0);
    assert_eq!(output.stdout, b"no newline", "not a byte added to a piped body");
    file.assert();
}
