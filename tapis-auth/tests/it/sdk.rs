//! `tapis_auth::sdk::client` under the official SDK's generated API (`tapis-authenticator`'s
//! `profiles_api::get_userinfo`): the token it sets, its renewal before expiry (once for many
//! callers), and its one retry after the server refused the token (expired, revoked).

use std::sync::Arc;

use chrono::TimeDelta;

use tapis_auth::{AuthError, LoginOptions, TokenProvider};
use tapis_authenticator::apis::configuration::Configuration;
use tapis_authenticator::apis::{Error as SdkError, profiles_api};

use crate::runtime::renewable_saved_token;
use crate::support::*;

/// How the Java services refuse an expired token.
const EXPIRED_PLAIN: &str = "TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired at 2025-03-04T20:15:31Z";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("a runtime")
}

/// The SDK's configuration for the mock, with our client around `options`' provider.
fn configuration(tapis: &Tapis, options: &LoginOptions) -> Configuration {
    Configuration {
        base_path: tapis.url(),
        client: tapis_auth::sdk::client(TokenProvider::new(options.clone())).expect("the HTTP client"),
        ..Default::default()
    }
}

async fn username(config: &Configuration) -> Result<String, String> {
    let answer = profiles_api::get_userinfo(config).await.map_err(|error| describe(&error))?;
    Ok(answer.result.and_then(|profile| profile.username).unwrap_or_default())
}

/// The SDK's error, with the status and body of an error answer.
fn describe<T>(error: &SdkError<T>) -> String {
    match error {
        SdkError::ResponseError(answer) => format!("{} {}", answer.status.as_u16(), answer.content),
        other => other.to_string(),
    }
}

#[test]
fn sdk_calls_after_the_token_expired_carry_the_renewed_token_after_one_refresh() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    // Expired a minute ago, renewable with its refresh token and client.
    let (old, new, renewal) = renewable_saved_token(&mut tapis, &options.token_file, TimeDelta::minutes(-1), 1);
    let with_old = tapis.server.userinfo().with_tapis_token(&old).answer_userinfo(USERNAME).expect(0);
    let with_new = tapis.server.userinfo().with_tapis_token(&new).answer_userinfo(USERNAME).expect(2);
    let config = configuration(&tapis, &options);

    let answers = runtime().block_on(async { [username(&config).await, username(&config).await] });

    assert_eq!(answers, [Ok(USERNAME.to_owned()), Ok(USERNAME.to_owned())]);
    assert_eq!(saved(&options.token_file)["access_token"], new);
    renewal.assert();
    with_old.assert();
    with_new.assert();
    tapis.assert_no_strays();
}

#[test]
fn fifty_concurrent_sdk_calls_across_an_expiry_make_one_refresh() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    // 30 s left: within the provider's margin (a minute), so every caller needs a renewal.
    let (old, new, renewal) = renewable_saved_token(&mut tapis, &options.token_file, TimeDelta::seconds(30), 1);
    let with_old = tapis.server.userinfo().with_tapis_token(&old).answer_userinfo(USERNAME).expect(0);
    let with_new = tapis.server.userinfo().with_tapis_token(&new).answer_userinfo(USERNAME).expect(50);
    let config = Arc::new(configuration(&tapis, &options));

    let answers = runtime().block_on(async {
        let start = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (config, start) = (Arc::clone(&config), Arc::clone(&start));
                tokio::spawn(async move {
                    start.wait().await;
                    username(&config).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.expect("the task ran"));
        }
        answers
    });

    assert!(answers.iter().all(|answer| *answer == Ok(USERNAME.to_owned())), "{answers:?}");
    renewal.assert();
    with_old.assert();
    with_new.assert();
    tapis.assert_no_strays();
}

/// The saved token (30 minutes left, so sent as it is) answered `first`; whether that makes
/// one renewal and a retry with the new token, answered `second`; what the caller gets.
fn check_refusal(
    first: (usize, &str, &str),
    renews: bool,
    second: Option<(usize, &str)>,
    expected: Result<&str, &str>,
) {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let (old, new, renewal) =
        renewable_saved_token(&mut tapis, &options.token_file, TimeDelta::minutes(30), usize::from(renews));
    let (status, content_type, body) = first;
    let with_old = tapis.server.userinfo().with_tapis_token(&old).answer(status, content_type, body).expect(1);
    let with_new = match second {
        None => tapis.server.userinfo().with_tapis_token(&new).answer_userinfo(USERNAME),
        Some((status, body)) => tapis.server.userinfo().with_tapis_token(&new).answer_plain(status, body),
    }
    .expect(usize::from(renews));
    let config = configuration(&tapis, &options);

    let answer = runtime().block_on(username(&config));

    let context = format!("first answer {first:?}, then {second:?}");
    assert_eq!(answer.as_deref().map_err(String::as_str), expected, "{context}");
    renewal.assert();
    with_old.assert();
    with_new.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_401_saying_the_token_expired_renews_once_and_retries_once() {
    let envelope = tapis_testkit::error_response("TAPIS_SECURITY_JWT_EXPIRED the token has expired");
    let expired_envelope = (401, "application/json", envelope.as_str());
    let expired = (401, "text/plain", EXPIRED_PLAIN);
    check_refusal(expired, true, None, Ok(USERNAME));
    check_refusal(expired_envelope, true, None, Ok(USERNAME));
    // A second refusal goes back to the caller, body and all.
    check_refusal(expired, true, Some((401, EXPIRED_PLAIN)), Err(&format!("401 {EXPIRED_PLAIN}")));
    // Other refusals are not a reason to renew.
    let missing = "TAPIS_SECURITY_MISSING_JWT_INFO no token";
    check_refusal((401, "text/plain", missing), false, None, Err(&format!("401 {missing}")));
    let forbidden = "TAPIS_SECURITY_JWT_EXPIRED but a 403";
    check_refusal((403, "text/plain", forbidden), false, None, Err(&format!("403 {forbidden}")));
}

/// The gateway answers a revoked token with a 500 `Token is revoked.`: the same refusal that
/// `Session::call` renews on, so the SDK client renews too.
#[test]
fn a_revoked_token_renews_once_and_retries_once() {
    let revoked = tapis_testkit::error_response("Token is revoked.");
    check_refusal((500, "application/json", revoked.as_str()), true, None, Ok(USERNAME));
    check_refusal((400, "application/json", revoked.as_str()), true, None, Ok(USERNAME));
    check_refusal((401, "text/plain", "Token is revoked."), true, None, Ok(USERNAME));
    let other = tapis_testkit::error_response("Internal error.");
    check_refusal((500, "application/json", other.as_str()), false, None, Err(&format!("500 {other}")));
}

#[test]
fn a_request_whose_body_cannot_be_copied_is_sent_once() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let (old, _new, renewal) = renewable_saved_token(&mut tapis, &options.token_file, TimeDelta::minutes(30), 0);
    let refused = tapis.server.on("POST", "/v3/jobs/submit").with_tapis_token(&old).answer_plain(401, EXPIRED_PLAIN);
    let refused = refused.expect(1);
    let client = tapis_auth::sdk::client(TokenProvider::new(options)).expect("the HTTP client");

    let answer = runtime().block_on(async {
        // A streamed body: read once, so the request cannot be sent again.
        let body = reqwest_middleware::reqwest::Body::wrap(String::from(r#"{"name": "job"}"#));
        let answer = client.post(format!("{}/v3/jobs/submit", tapis.url())).body(body).send().await;
        let answer = answer.expect("an answer");
        (answer.status().as_u16(), answer.text().await.expect("the body"))
    });

    assert_eq!(answer, (401, EXPIRED_PLAIN.to_owned()));
    renewal.assert();
    refused.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_request_off_the_base_url_is_refused_before_any_token_is_read() {
    let tapis = Tapis::new();
    let mut elsewhere = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    // No token file: asking the provider would fail differently.
    let options = options(&tapis, folder.path());
    let stray = elsewhere.server.userinfo().expect(0);
    let client = tapis_auth::sdk::client(TokenProvider::new(options)).expect("the HTTP client");

    let error =
        runtime().block_on(client.get(format!("{}{USERINFO_PATH}?x=1", elsewhere.url())).send()).expect_err("refused");

    let reqwest_middleware::Error::Middleware(error) = error else { panic!("not the middleware's error: {error}") };
    match error.downcast_ref::<AuthError>() {
        Some(AuthError::ForeignPath { path, base_url }) => {
            assert_eq!(path, &format!("{}{USERINFO_PATH}", elsewhere.url()));
            assert_eq!(base_url, &tapis.url());
        }
        other => panic!("not ForeignPath: {other:?}"),
    }
    stray.assert();
    tapis.assert_no_strays();
    elsewhere.assert_no_strays();
}
