//! Secrets that a server echoes are masked in every error and notice the library gives: the
//! client key of `Invalid client credentials: <id>, <key>`, a password, a refresh token.

use serde_json::json;
use tapis_auth::{AuthError, LoginOptions, NoPrompt, SecretString, blocking, redact, secrets};

use crate::support::*;

const CLIENT_ID: &str = "tapis-cli-jdoe-77e1";
const CLIENT_KEY: &str = "client-key-echoed-3c9d";

/// A token file with an expired access token, a live refresh token and the personal client.
fn write_renewable(tapis: &Tapis, options: &LoginOptions, refresh: &str) {
    let exp = tapis_testkit::now_unix() - 60;
    let mut fields = token_file_fields(&tapis.jwt(exp), exp, Some(&tapis.url()));
    fields["refresh_token"] = json!(refresh);
    fields["client_id"] = json!(CLIENT_ID);
    fields["client_key"] = json!(CLIENT_KEY);
    write_token_file(&options.token_file, &fields);
}

#[track_caller]
fn assert_masked(text: &str, secret: &str, expected: &str) {
    assert!(!text.contains(secret), "`{secret}` appears in {text}");
    assert!(text.contains(expected), "{text}");
}

/// A refused renewal, without a password to fall back on, whose answer echoes a secret.
fn check_refused_renewal(echo: impl Fn(&str) -> (String, String), expected: &str) {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp dir");
    let options = options(&tapis, folder.path());
    let refresh = tapis.server.refresh_jwt(USERNAME, tapis_testkit::now_unix() + 86_400, "r1");
    write_renewable(&tapis, &options, &refresh);
    let (message, secret) = echo(&refresh);
    let refused =
        tapis.server.any_refresh_grant().through_client(CLIENT_ID, CLIENT_KEY).answer_error(400, &message).expect(1);

    let error = blocking::connect(&options, &mut NoPrompt).expect_err("renewal refused");
    refused.assert();
    tapis.assert_no_strays();
    assert!(matches!(error, AuthError::RenewalRejected { .. }), "{error:?}");
    assert_masked(&error.to_string(), &secret, expected);
    assert_masked(&format!("{error:?}"), &secret, expected);
}

#[test]
fn a_client_key_echoed_on_renewal_is_masked_in_the_error() {
    let echo =
        |_: &str| (format!("Invalid client credentials: {CLIENT_ID}, {CLIENT_KEY}. session: x"), CLIENT_KEY.to_owned());
    check_refused_renewal(echo, "Invalid client credentials: tapis-cli-jdoe-77e1, ***. session: x");
}

#[test]
fn a_refresh_token_echoed_on_renewal_is_masked_in_the_error() {
    let echo = |refresh: &str| (format!("Invalid refresh_token: {refresh}"), refresh.to_owned());
    check_refused_renewal(echo, "Invalid refresh_token: ***");
}

#[test]
fn an_echoed_password_is_masked_in_the_error() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp dir");
    let options = with_credentials(options(&tapis, folder.path()), "testuser", "echoed-password-8d2f");
    let message = "Invalid username/password combination for testuser:echoed-password-8d2f.";
    let rejected = tapis.login_rejected("testuser", "echoed-password-8d2f", message, 1);

    let error = blocking::connect(&options, &mut NoPrompt).expect_err("rejected");
    rejected.assert();
    assert!(matches!(error, AuthError::CredentialsRejected { .. }), "{error:?}");
    let expected = "Invalid username/password combination for testuser:***.";
    assert_masked(&error.to_string(), "echoed-password-8d2f", expected);
    assert_masked(&format!("{error:?}"), "echoed-password-8d2f", expected);
}

#[test]
fn a_refused_client_notice_and_the_new_client_show_no_key() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp dir");
    let mut options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    options.no_refresh = false;
    let refresh = tapis.server.refresh_jwt(USERNAME, tapis_testkit::now_unix() + 86_400, "r1");
    write_renewable(&tapis, &options, &refresh);
    let echoed = format!("Invalid client credentials: {CLIENT_ID}, {CLIENT_KEY}. session: x");
    let refused = tapis.server.any_refresh_grant().answer_error(400, &echoed).expect(1);
    let refused_grant = tapis
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_error(400, &echoed)
        .expect(1);
    let access = tapis.jwt(valid_exp());
    let grant =
        tapis.server.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&access, valid_exp()).expect(1);
    let create = tapis.server.create_client().answer_client("new-client-1", "new-client-key-1", USERNAME).expect(1);
    let via_new = tapis
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client("new-client-1", "new-client-key-1")
        .answer_tokens(&access, valid_exp())
        .expect(1);

    let mut prompter = Scripted::no_terminal();
    let session = blocking::connect(&options, &mut prompter).expect("logged in with a new client");
    for mock in [&refused, &refused_grant, &grant, &create, &via_new] {
        mock.assert();
    }
    tapis.assert_no_strays();
    assert_eq!(session.tokens().client.as_ref().map(|client| client.client_id.as_str()), Some("new-client-1"));
    assert_eq!(prompter.notices_of("ClientRejected").len(), 1, "{:?}", prompter.notices);
    let notices = prompter.notices.join("\n");
    assert_masked(&notices, CLIENT_KEY, "Invalid client credentials: tapis-cli-jdoe-77e1, ***. session: x");
}

#[test]
fn errors_and_notices_mask_remembered_secrets_in_display() {
    secrets::remember(&SecretString::from("display-defence-secret"));
    let error =
        AuthError::Server { url: "https://x".into(), status: 400, message: "echo display-defence-secret".into() };
    assert_eq!(error.to_string(), "https://x answered 400: echo ***");
    let notice = tapis_auth::Notice::RenewalRejected { message: "echo display-defence-secret".into() };
    assert_eq!(notice.to_string(), "renewing the token was refused (echo ***); logging in with a password");
    assert_eq!(redact("a display-defence-secret b"), "a *** b");
}

/// A program's own `tracing` subscriber gets the library's events already redacted: a
/// remembered secret in a request's URL is masked in the event itself.
#[test]
fn a_programs_own_subscriber_gets_redacted_events() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let secret = "subscriber-test-secret-5d1e";
    secrets::remember(&SecretString::from(secret));
    let mut tapis = Tapis::new();
    let path = mockito::Matcher::Regex("^/v3/jobs/list".into());
    let answer = tapis.server.on("GET", path).answer(200, "application/json", "{}").expect(1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let token = tapis.jwt(valid_exp());
    let mut session = tapis_auth::session_from_token(&options, SecretString::from(token)).expect("a session");
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();

    let request = tapis_auth::ApiRequest::get(format!("/v3/jobs/list?key={secret}"));
    tracing::subscriber::with_default(subscriber, || {
        blocking::call(&mut session, &request).expect("an answer");
    });

    let logged = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("text");
    assert!(logged.contains("/v3/jobs/list?key=***"), "{logged}");
    assert!(!logged.contains(secret), "{logged}");
    answer.assert();
    tapis.assert_no_strays();
}
