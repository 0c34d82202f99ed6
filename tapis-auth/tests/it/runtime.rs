//! The async API and the provider inside a multi-threaded tokio runtime, and the blocking API
//! called from inside one (where a blocking HTTP client would panic).

use std::sync::Arc;

use chrono::TimeDelta;
use mockito::Matcher;
use serde_json::json;
use tapis_auth::{ApiRequest, NoPrompt, Origin, TokenProvider, blocking};
use tokio::runtime::Runtime;

use crate::support::*;

const CLIENT_ID: &str = "tapis-cli-jdoe";
const CLIENT_KEY: &str = "client-secret-key";

fn multi_threaded_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("a runtime")
}

#[test]
fn the_async_api_logs_in_inside_a_multi_threaded_runtime() {
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);

    let runtime = multi_threaded_runtime();
    // Spawned, so the future must be `Send` (it holds the `&mut dyn Prompter`).
    let first = runtime
        .block_on(async {
            let options = options.clone();
            tokio::spawn(async move { tapis_auth::connect(&options, &mut NoPrompt).await }).await
        })
        .expect("the task ran")
        .expect("logged in");
    let second = runtime.block_on(tapis_auth::connect(&options, &mut NoPrompt)).expect("the saved token");

    assert_eq!((first.origin(), second.origin()), (Origin::LoggedIn, Origin::Saved));
    assert_eq!(first.access_token().expose_secret(), fresh);
    assert_eq!(second.access_token().expose_secret(), fresh);
    assert_saved_access(&options.token_file, &fresh);
    login.assert();
    tapis.assert_no_strays();
}

#[test]
fn the_blocking_api_works_when_called_inside_a_runtime() {
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let userinfo = tapis
        .server
        .mock("GET", USERINFO_PATH)
        .match_header("x-tapis-token", fresh.as_str())
        .with_header("content-type", "application/json")
        .with_body(json!({"message": "ok", "result": {"username": USERNAME}, "status": "success"}).to_string())
        .expect(2)
        .create();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);

    let runtime = multi_threaded_runtime();
    let (status, profile) = runtime.block_on(async {
        // Inside the runtime: a login (which needs HTTP), a call, and a userinfo, all blocking.
        let mut session = blocking::connect(&options, &mut NoPrompt).expect("logged in");
        let answer = blocking::call(&mut session, &ApiRequest::get(USERINFO_PATH)).expect("answered");
        let profile = blocking::userinfo(&mut session).expect("the profile");
        (answer.status, profile)
    });

    assert_eq!(status, 200);
    assert_eq!(profile["username"], USERNAME);
    assert_saved_access(&options.token_file, &fresh);
    login.assert();
    userinfo.assert();
    tapis.assert_no_strays();
}

/// Saves a token with `left` until it expires, renewable with its refresh token and client, and mocks
/// the refresh grant answering a new token, `hits` times. Returns the old and new tokens.
pub(crate) fn renewable_saved_token(
    tapis: &mut Tapis,
    token_file: &std::path::Path,
    left: TimeDelta,
    hits: usize,
) -> (String, String, mockito::Mock) {
    let (old, refresh, refresh_exp) = write_renewable_token_file(tapis, token_file, left);
    let new_exp = valid_exp();
    let new = tapis.jwt(new_exp);
    let renewal = tapis
        .server
        .mock("POST", TOKENS_PATH)
        .match_header("authorization", tapis_testkit::basic_auth(CLIENT_ID, CLIENT_KEY).as_str())
        .match_body(Matcher::Json(json!({"grant_type": "refresh_token", "refresh_token": refresh})))
        .with_header("content-type", "application/json")
        .with_body(tapis_testkit::token_response_with_refresh(&new, new_exp, &refresh, refresh_exp))
        .expect(hits)
        .create();
    (old, new, renewal)
}

/// Writes a token file whose access token has `left` to live, with a refresh token good for a
/// year and the personal client; the access token, the refresh token and its `exp`.
fn write_renewable_token_file(tapis: &Tapis, token_file: &std::path::Path, left: TimeDelta) -> (String, String, i64) {
    let old_exp = tapis_testkit::now_unix() + left.num_seconds();
    let old = tapis.jwt(old_exp);
    let refresh_exp = tapis_testkit::now_unix() + 365 * 24 * 3600;
    let refresh = tapis_testkit::jwt(&tapis_testkit::refresh_claims(USERNAME, refresh_exp, &tapis.url()));
    let mut fields = token_file_fields(&old, old_exp, Some(&tapis.url()));
    fields["refresh_token"] = json!(refresh);
    fields["client_id"] = json!(CLIENT_ID);
    fields["client_key"] = json!(CLIENT_KEY);
    write_token_file(token_file, &fields);
    (old, refresh, refresh_exp)
}

fn check_call(first_answer: (usize, &str), expect_renewal: bool, expected_status: u16) {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let (old, new, renewal) =
        renewable_saved_token(&mut tapis, &options.token_file, TimeDelta::minutes(30), usize::from(expect_renewal));
    let with_old = tapis
        .server
        .mock("GET", "/v3/jobs/list")
        .match_header("x-tapis-token", old.as_str())
        .with_status(first_answer.0)
        .with_body(first_answer.1)
        .expect(1)
        .create();
    let with_new = tapis
        .server
        .mock("GET", "/v3/jobs/list")
        .match_header("x-tapis-token", new.as_str())
        .with_body(r#"{"status": "success", "result": []}"#)
        .expect(usize::from(expect_renewal))
        .create();

    let runtime = multi_threaded_runtime();
    let (answer, origin) = runtime.block_on(async {
        let mut session = tapis_auth::connect(&options, &mut NoPrompt).await.expect("the saved token");
        let answer = session.call(&ApiRequest::get("/v3/jobs/list")).await.expect("answered");
        (answer, session.origin())
    });

    let context = format!("first answer {first_answer:?}");
    assert_eq!(answer.status, expected_status, "{context}");
    assert_eq!(origin, if expect_renewal { Origin::Renewed } else { Origin::Saved }, "{context}");
    renewal.assert();
    with_old.assert();
    with_new.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_call_renews_once_and_retries_once_when_the_server_says_the_token_expired() {
    check_call((401, "TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired at 2025-03-04T20:15:31Z"), true, 200);
    check_call((401, "TAPIS_SECURITY_MISSING_JWT_INFO no token"), false, 401);
    check_call((403, "TAPIS_SECURITY_JWT_EXPIRED but not a 401"), false, 403);
    check_call((200, r#"{"status": "success", "result": []}"#), false, 200);
}

#[test]
fn a_hundred_concurrent_callers_cause_one_renewal() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    // A saved token with 30 minutes left, renewable with its refresh token and client.
    let (old, new, renewal) = renewable_saved_token(&mut tapis, &options.token_file, TimeDelta::minutes(30), 1);

    let provider = TokenProvider::new(options.clone());
    let runtime = multi_threaded_runtime();
    let tokens: Vec<String> = runtime.block_on(async {
        // 30 minutes left is more than a minute: the saved token, no request.
        let before = provider.token(TimeDelta::minutes(1)).await.expect("the saved token");
        assert_eq!(before.expose_secret(), old);
        // Asking for an hour crosses its expiry: every caller needs a renewal, one is made.
        hundred_concurrent_tokens(&provider, TimeDelta::hours(1)).await
    });

    assert_eq!(tokens.len(), 100);
    assert!(tokens.iter().all(|token| *token == new), "every caller got the renewed token");
    assert_saved_access(&options.token_file, &new);
    renewal.assert();
    tapis.assert_no_strays();
}

/// The in-process half of single-flight, apart from the file lock: with a token file that
/// can be neither read nor saved, every renewal would be a new login, so only the provider's
/// own lock keeps 100 callers to one.
#[test]
#[cfg(unix)] // Windows: making a link takes a privilege an ordinary user lacks.
fn a_hundred_concurrent_callers_log_in_once_even_when_nothing_can_be_saved() {
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    // A dangling link where the token file should be: tokens are never written through it.
    std::os::unix::fs::symlink(options.token_file.with_extension("elsewhere"), &options.token_file)
        .expect("a link where the token file should be");

    let provider = TokenProvider::new(options);
    let runtime = multi_threaded_runtime();
    let tokens = runtime.block_on(hundred_concurrent_tokens(&provider, TimeDelta::minutes(1)));

    assert!(tokens.iter().all(|token| *token == fresh), "every caller got the one token");
    login.assert();
    tapis.assert_no_strays();
}

/// 100 tasks, released together, each asking `provider` for a token; their tokens.
async fn hundred_concurrent_tokens(provider: &TokenProvider, min_valid: TimeDelta) -> Vec<String> {
    let outcomes = concurrent_tokens(provider, 100, min_valid).await;
    outcomes.into_iter().map(|outcome| outcome.expect("a token").expose_secret().to_owned()).collect()
}

/// `n_tasks` tasks, released together, each asking `provider` for a token; what each got.
async fn concurrent_tokens(
    provider: &TokenProvider,
    n_tasks: usize,
    min_valid: TimeDelta,
) -> Vec<Result<tapis_auth::AccessToken, tapis_auth::AuthError>> {
    let start = Arc::new(tokio::sync::Barrier::new(n_tasks));
    let tasks: Vec<_> = (0..n_tasks)
        .map(|_| {
            let (provider, start) = (provider.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                provider.token(min_valid).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("the task ran"));
    }
    outcomes
}

fn assert_saved_access(token_file: &std::path::Path, access: &str) {
    assert_eq!(saved(token_file)["access_token"], access);
}

/// During an outage, 16 tasks asking at once share one attempt (its 3 requests) and its
/// error; a caller within the back-off gets that error with no request, and one after it
/// tries again.
#[test]
fn an_outage_costs_one_attempt_for_every_waiter_and_is_remembered_for_a_back_off() {
    let mut tapis = Tapis::new();
    let outage = tapis.token_answer(503, r#"{"status": "error", "message": "down for maintenance"}"#, 6);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    let clock = options.client.clock.clone();

    let provider = TokenProvider::new(options);
    let runtime = multi_threaded_runtime();
    let outcomes = runtime.block_on(concurrent_tokens(&provider, 16, TimeDelta::minutes(1)));
    assert!(
        outcomes.iter().all(|outcome| matches!(outcome, Err(tapis_auth::AuthError::Unavailable { n_attempts: 3, .. }))),
        "{outcomes:?}"
    );

    // Within the back-off: the same error, no request.
    let again = runtime.block_on(provider.token(TimeDelta::minutes(1)));
    assert!(matches!(again, Err(tapis_auth::AuthError::Unavailable { .. })), "{again:?}");
    // After it: a new attempt (3 more requests).
    runtime.block_on(clock.sleep(tapis_auth::RENEWAL_BACKOFF.to_std().expect("positive")));
    let later = runtime.block_on(provider.token(TimeDelta::minutes(1)));
    assert!(matches!(later, Err(tapis_auth::AuthError::Unavailable { .. })), "{later:?}");

    outage.assert();
    tapis.assert_no_strays();
}

/// Sessions on one token file in one process whose token the server refuses, during an
/// outage of the token endpoint: their renewals are one attempt (its 3 requests), and every
/// session gets its error.
#[test]
fn refused_sessions_on_one_token_file_share_one_renewal_attempt() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let (old, _, _) = write_renewable_token_file(&tapis, &options.token_file, TimeDelta::minutes(30));
    let revoked = tapis_testkit::error_response("Token is revoked.");
    let refusals = tapis
        .server
        .on("GET", "/v3/jobs/list")
        .with_tapis_token(&old)
        .answer(500, "application/json", revoked)
        .expect(8);
    let outage = tapis.token_answer(503, r#"{"status": "error", "message": "down for maintenance"}"#, 3);
    let sessions: Vec<_> =
        (0..8).map(|_| blocking::connect(&options, &mut NoPrompt).expect("the saved token")).collect();

    let runtime = multi_threaded_runtime();
    let outcomes: Vec<_> = runtime.block_on(async {
        let start = Arc::new(tokio::sync::Barrier::new(sessions.len()));
        let tasks: Vec<_> = sessions
            .into_iter()
            .map(|mut session| {
                let start = Arc::clone(&start);
                tokio::spawn(async move {
                    start.wait().await;
                    session.call(&ApiRequest::get("/v3/jobs/list")).await.map(|answer| answer.status)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("the task ran"));
        }
        outcomes
    });

    let unavailable = |outcome: &Result<u16, tapis_auth::AuthError>| {
        matches!(outcome, Err(tapis_auth::AuthError::Unavailable { n_attempts: 3, .. }))
    };
    assert!(outcomes.iter().all(unavailable), "{outcomes:?}");
    refusals.assert();
    outage.assert();
    tapis.assert_no_strays();
}
