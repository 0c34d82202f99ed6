//! `TapisClient` against a mock Tapis: the password grant, its error classification and
//! bounded retries, revoke, and authenticated requests.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mockito::Matcher;
use serde_json::json;
use tapis_auth::{
    ApiRequest, AuthError, ClientConfig, LoginOptions, RetryPolicy, TapisClient, blocking, session_from_token,
};
use tapis_auth_core::{BaseUrl, SecretString, TokenSet};

use crate::support::*;

/// The largest token answer the client reads (1 MiB).
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Runs one of the client's futures to completion.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(future)
}

fn client_for(base_url: BaseUrl) -> TapisClient {
    TapisClient::new(base_url, client_config()).expect("the HTTP client")
}

fn password_grant(tapis: &Tapis) -> Result<TokenSet, AuthError> {
    block_on(client_for(tapis.base_url()).password_grant(USERNAME, &SecretString::from(PASSWORD.to_owned())))
}

#[test]
fn password_grant_accepts_200_and_201() {
    for status in [200, 201] {
        let mut tapis = Tapis::new();
        let exp = valid_exp();
        let access = tapis.jwt(exp);
        // An expires_at ten minutes before the JWT's exp: the expiry must come from it.
        let expires_at = tapis_testkit::isoformat(exp - 600);
        let mock = tapis.token_answer(status, &token_body(&access, &expires_at), 1);

        let tokens = password_grant(&tapis).unwrap_or_else(|error| panic!("HTTP {status}: {error:?}"));

        assert_eq!(tokens.access.expose_secret(), access, "HTTP {status}");
        assert_eq!(tokens.access.expires_at().timestamp(), exp - 600, "HTTP {status}: expiry from expires_at");
        assert_eq!(tokens.access.expires_at().timestamp_subsec_micros(), 123_456, "HTTP {status}");
        assert_eq!(tokens.access.username(), Some(USERNAME), "HTTP {status}");
        assert_eq!(tokens.base_url, Some(tapis.base_url()), "HTTP {status}: base URL recorded");
        assert!(tokens.refresh.is_none(), "HTTP {status}: no refresh token without a client");
        mock.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn password_grant_posts_json_credentials() {
    let mut tapis = Tapis::new();
    let exp = valid_exp();
    let access = tapis.jwt(exp);
    let mock = tapis
        .server
        .password_grant("jdoe", "pw")
        .without_client()
        .with_header("x-tapis-token", Matcher::Missing)
        .answer_tokens(&access, exp)
        .expect(1);

    let tokens = block_on(client_for(tapis.base_url()).password_grant("jdoe", &SecretString::from("pw".to_owned())))
        .expect("the exact request is answered");

    assert_eq!(tokens.access.expose_secret(), access);
    mock.assert();
    tapis.assert_no_strays();
}

/// What the mock answers, in order; each mock expects `hits` requests.
struct Reply {
    status: usize,
    content_type: &'static str,
    body: Body,
    hits: usize,
}

enum Body {
    /// A successful token answer with a JWT of the mock server.
    Token,
    Text(String),
}

fn token(hits: usize) -> Reply {
    Reply { status: 200, content_type: "application/json", body: Body::Token, hits }
}

fn tapis_error(status: usize, message: &str, hits: usize) -> Reply {
    Reply { status, content_type: "application/json", body: Body::Text(tapis_testkit::error_response(message)), hits }
}

fn json_body(status: usize, body: &str, hits: usize) -> Reply {
    Reply { status, content_type: "application/json", body: Body::Text(body.to_owned()), hits }
}

fn html(status: usize, body: &str, hits: usize) -> Reply {
    Reply { status, content_type: "text/html", body: Body::Text(body.to_owned()), hits }
}

/// What `password_grant` should come to. Messages of `Rejected` and `Server` are compared
/// verbatim; those of `Unavailable` and `Invalid` must contain the fragment.
#[derive(Debug)]
enum Expect {
    Tokens,
    Rejected(&'static str),
    Server(u16, &'static str),
    Unavailable(u32, &'static str),
    Invalid(&'static str),
}

#[track_caller]
fn check(replies: Vec<Reply>, expected: Expect) {
    let mut tapis = Tapis::new();
    let access = tapis.jwt(valid_exp());
    let mocks: Vec<_> = replies
        .iter()
        .map(|reply| {
            let body = match &reply.body {
                Body::Token => tapis_testkit::token_response(&access, valid_exp()),
                Body::Text(text) => text.clone(),
            };
            tapis.server.token_endpoint().answer(reply.status, reply.content_type, body).expect(reply.hits)
        })
        .collect();

    let result = password_grant(&tapis);

    let context = format!("expected {expected:?}, got {result:?}");
    match (&expected, &result) {
        (Expect::Tokens, Ok(tokens)) => assert_eq!(tokens.access.expose_secret(), access, "{context}"),
        (Expect::Rejected(message), Err(AuthError::CredentialsRejected { message: actual, n_attempts })) => {
            assert_eq!((actual.as_str(), *n_attempts), (*message, 1), "{context}");
        }
        (Expect::Server(status, message), Err(AuthError::Server { status: actual_status, message: actual, url })) => {
            assert_eq!((*actual_status, actual.as_str()), (*status, *message), "{context}");
            assert_eq!(url, &format!("{}{TOKENS_PATH}", tapis.url()), "{context}");
        }
        (Expect::Unavailable(n, fragment), Err(error @ AuthError::Unavailable { n_attempts, last, .. })) => {
            assert_eq!(n_attempts, n, "{context}");
            assert!(last.contains(fragment), "{context}");
            let shown = error.to_string();
            assert!(shown.contains(&format!("after {n} attempts")) && shown.contains(fragment), "{shown}");
        }
        (Expect::Invalid(fragment), Err(AuthError::InvalidResponse { reason, .. })) => {
            assert!(reason.contains(fragment), "{context}");
        }
        _ => panic!("{context}"),
    }
    for mock in &mocks {
        mock.assert();
    }
    tapis.assert_no_strays();
}

#[test]
fn rejected_credentials_are_final() {
    check(vec![tapis_error(400, REJECTED, 1)], Expect::Rejected(REJECTED));
    let no_access = "Invalid username; user jdoe does not have access to the designsafe tenant.";
    check(vec![tapis_error(400, no_access, 1)], Expect::Rejected(no_access));
}

#[test]
fn other_client_errors_are_final() {
    let missing = "Missing the required grant_type parameter.";
    check(vec![tapis_error(400, missing, 1)], Expect::Server(400, missing));
    // Not a 400: the same words are not a credentials rejection.
    check(vec![tapis_error(403, REJECTED, 1)], Expect::Server(403, REJECTED));
    check(vec![tapis_error(404, "Not found.", 1)], Expect::Server(404, "Not found."));
    // A plain-text 401, as the Java services answer.
    check(
        vec![Reply {
            status: 401,
            content_type: "text/plain",
            body: Body::Text("TAPIS_SECURITY_MISSING_JWT_INFO no JWT".to_owned()),
            hits: 1,
        }],
        Expect::Server(401, "TAPIS_SECURITY_MISSING_JWT_INFO no JWT"),
    );
}

#[test]
fn transient_failures_are_retried_until_success() {
    // mockito gives a request to the first mock (in creation order) that still misses
    // hits: the 503 mock gets the first two, the token mock the third.
    check(vec![tapis_error(503, "Service Unavailable", 2), token(1)], Expect::Tokens);
    let unrecognized = "Unrecognized exception type: <class 'KeyError'>. Exception: 'tenant'";
    check(vec![tapis_error(500, unrecognized, 1), token(1)], Expect::Tokens);
    check(vec![html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", 1), token(1)], Expect::Tokens);
    check(
        vec![tapis_error(429, "Too many requests.", 1), tapis_error(504, "Gateway timeout.", 1), token(1)],
        Expect::Tokens,
    );
}

#[test]
fn persistent_transient_failures_give_up_after_the_attempts() {
    check(
        vec![tapis_error(503, "The service is down for maintenance.", 3)],
        Expect::Unavailable(3, "The service is down for maintenance."),
    );
    check(
        vec![html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", 3)],
        Expect::Unavailable(3, "502 Bad Gateway"),
    );
    check(
        vec![tapis_error(500, "Unrecognized exception type: <class 'KeyError'>", 3)],
        Expect::Unavailable(3, "Unrecognized exception type"),
    );
    // A 2xx that is not JSON is a proxy or captive portal in the way, not an answer.
    check(
        vec![html(200, "<html><body>Sign in to the Wi-Fi</body></html>", 3)],
        Expect::Unavailable(3, "Sign in to the Wi-Fi"),
    );
    check(
        vec![json_body(200, r#"{"message": "Token created successfully.", "result": {"access_tok"#, 3)],
        Expect::Unavailable(3, "not JSON"),
    );
}

#[test]
fn unusable_success_answers_are_invalid_responses() {
    check(
        vec![json_body(200, r#"{"message": "ok", "metadata": {}, "status": "success", "version": "26Q2.0"}"#, 1)],
        Expect::Invalid("no `result`"),
    );
    let opaque = token_body("not-a-jwt", &tapis_testkit::isoformat(valid_exp()));
    check(vec![json_body(200, &opaque, 1)], Expect::Invalid("not a JWT"));
    let no_token = json!({"message": "ok", "status": "success", "result": {"access_token": {}}}).to_string();
    check(vec![json_body(200, &no_token, 1)], Expect::Invalid("no access token"));
}

#[test]
fn oversized_answers_are_refused() {
    let huge = format!(r#"{{"message": "{}"}}"#, "x".repeat(MAX_RESPONSE_BYTES as usize));
    check(vec![json_body(200, &huge, 1)], Expect::Invalid("larger than"));
    check(vec![html(503, &huge, 1)], Expect::Invalid("larger than"));
}

#[test]
fn an_answer_of_exactly_the_limit_is_read() {
    let mut tapis = Tapis::new();
    let exp = valid_exp();
    let mut body = tapis_testkit::token_response(&tapis.jwt(exp), exp);
    body.push_str(&" ".repeat(MAX_RESPONSE_BYTES as usize - body.len()));
    let mock = tapis.token_answer(200, &body, 1);
    password_grant(&tapis).expect("1 MiB is allowed");
    mock.assert();
    tapis.assert_no_strays();
}

#[test]
fn redirects_are_not_followed() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = Tapis::new();
        let mut tapis = Tapis::new();
        let location = format!("{}{TOKENS_PATH}", elsewhere.url());
        let mock = tapis.server.token_endpoint().answer_redirect(status, &location).expect(1);

        let result = password_grant(&tapis);

        match &result {
            Err(AuthError::Server { status: actual, message, .. }) => {
                assert_eq!(usize::from(*actual), status);
                assert!(message.contains("redirect") && message.contains(&location), "{message}");
            }
            other => panic!("HTTP {status}: expected a Server error, got {other:?}"),
        }
        mock.assert();
        tapis.assert_no_strays();
        elsewhere.assert_no_strays();
    }
}

/// A server that accepts connections and never answers. It accepts at most
/// `max_connections`, keeps them open, and ends by itself when told to or after 60 s.
struct SilentServer {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl SilentServer {
    fn start(max_connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut open = Vec::new();
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    if open.len() < max_connections
                        && let Ok((stream, _)) = listener.accept()
                    {
                        open.push(stream);
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                open.len()
            }
        });
        Self { url, stop, thread: Some(thread) }
    }

    /// Stops the server; returns how many connections it accepted.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().expect("running").join().expect("the listener thread")
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_server_that_never_answers_times_out() {
    let silent = SilentServer::start(10);
    let mut config = ClientConfig::default();
    config.request_timeout = Duration::from_millis(300);
    config.retry = RetryPolicy::immediate(2);
    let client = TapisClient::new(BaseUrl::parse(&silent.url).expect("loopback"), config).expect("client");

    let started = Instant::now();
    let result = block_on(client.password_grant(USERNAME, &SecretString::from(PASSWORD.to_owned())));
    let elapsed = started.elapsed();
    let n_connections = silent.finish();

    match &result {
        Err(error @ AuthError::Unavailable { n_attempts: 2, last, .. }) => {
            assert!(last.contains("timed out"), "{last}");
            assert!(error.to_string().contains("after 2 attempts"), "{error}");
        }
        other => panic!("expected Unavailable after 2 attempts, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert_eq!(n_connections, 2, "one connection per attempt");
}

#[test]
fn revoke_posts_the_token() {
    let mut tapis = Tapis::new();
    let access = tapis.jwt(valid_exp());
    let mock = tapis.server.revoke(Some(&access)).answer_revoked("jti-jdoe").expect(1);

    block_on(client_for(tapis.base_url()).revoke(&access)).expect("revoked");

    mock.assert();
    tapis.assert_no_strays();
}

#[test]
fn revoke_reports_the_servers_refusal() {
    let mut tapis = Tapis::new();
    let message = "Invalid POST data; could not validate the token: Signature verification failed.";
    let mock = tapis.server.revoke(None).answer_error(400, message).expect(1);

    match block_on(client_for(tapis.base_url()).revoke("eyJ.bad.token")) {
        Err(AuthError::Server { status: 400, message: actual, .. }) => assert_eq!(actual, message),
        other => panic!("expected a Server error, got {other:?}"),
    }
    mock.assert();
    tapis.assert_no_strays();
}

#[test]
fn requests_carry_the_token_in_x_tapis_token() {
    let mut tapis = Tapis::new();
    let access = tapis.jwt(valid_exp());
    let mock = tapis.server.userinfo().with_tapis_token(&access).without_client().answer_userinfo(USERNAME).expect(1);

    let mut session = given_session(&tapis, &access);
    let answer = blocking::call(&mut session, &ApiRequest::get(USERINFO_PATH)).expect("sent");
    let text = String::from_utf8_lossy(&answer.body);

    assert_eq!(answer.status, 200, "{text}");
    assert!(text.contains(USERNAME), "{text}");
    mock.assert();
    tapis.assert_no_strays();
}

/// A session for a token of this server, given by the caller (nothing on disk).
fn given_session(tapis: &Tapis, access: &str) -> tapis_auth::Session {
    let mut options = LoginOptions::new(tapis.base_url(), "");
    options.client = client_config();
    session_from_token(&options, SecretString::from(access.to_owned())).expect("a token of this server")
}

#[test]
fn requests_to_other_hosts_are_refused() {
    let tapis = Tapis::new();
    let mut session = given_session(&tapis, &tapis.jwt(valid_exp()));
    let same_server_absolute = format!("{}{USERINFO_PATH}", tapis.url());
    for path in ["https://evil.example/x", "//evil.example/x", "evil.example/x", "", same_server_absolute.as_str()] {
        match blocking::call(&mut session, &ApiRequest::get(path)) {
            Err(AuthError::ForeignPath { path: refused, base_url }) => {
                assert_eq!((refused.as_str(), base_url), (path, tapis.base_url().to_string()));
            }
            Err(other) => panic!("{path:?}: expected ForeignPath, got {other:?}"),
            Ok(_) => panic!("{path:?}: expected ForeignPath, got a request"),
        }
    }
    tapis.assert_no_strays();
}

#[test]
fn a_body_is_sent_with_one_content_type_the_callers_or_json() {
    let mut tapis = Tapis::new();
    let access = tapis.jwt(valid_exp());
    let one_type = |expected: &'static str| {
        move |request: &mockito::Request| {
            let types: Vec<_> = request.headers().get_all("content-type").iter().collect();
            types.len() == 1 && types[0] == expected
        }
    };
    let text =
        tapis.server.on("POST", "/v3/files/x").matching(one_type("text/plain")).answer_userinfo(USERNAME).expect(1);
    let json =
        tapis.server.on("POST", "/v3/apps").matching(one_type("application/json")).answer_userinfo(USERNAME).expect(1);

    let mut session = given_session(&tapis, &access);
    let mut request = ApiRequest::new("POST", "/v3/files/x").header("Content-Type", "text/plain");
    request.body = Some(b"hello".to_vec());
    assert_eq!(blocking::call(&mut session, &request).expect("sent").status, 200);
    let mut request = ApiRequest::new("POST", "/v3/apps");
    request.body = Some(b"{}".to_vec());
    assert_eq!(blocking::call(&mut session, &request).expect("sent").status, 200);
    text.assert();
    json.assert();
    tapis.assert_no_strays();
}
