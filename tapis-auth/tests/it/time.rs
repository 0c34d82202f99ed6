//! Time passed in, not waited for: on a [`TestClock`], a retry's backoff, a device login's
//! polls and its 15-minute bound cost no real time, and the tests see every wait.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;
use tapis_auth::{AuthError, MAX_DEVICE_WAIT, RetryPolicy, TapisClient, blocking};
use tapis_auth_core::{BaseUrl, SecretString};

use crate::support::*;

const NOT_READY: &str = tapis_testkit::messages::DEVICE_CODE_NOT_READY;

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime").block_on(future)
}

/// Options for a device login through `myclient`, polling every `interval`, whose device code
/// lives `expires_in` (a number of seconds, or nothing said); and the clock they run on.
fn device_options(
    tapis: &mut Tapis,
    folder: &std::path::Path,
    interval: Duration,
    expires_in: Option<u64>,
) -> (tapis_auth::LoginOptions, std::sync::Arc<TestClock>, mockito::Mock) {
    let mut options = options(tapis, folder);
    let clock = TestClock::install(&mut options.client);
    options.device_client = Some(tapis_auth::DeviceClient::new("myclient"));
    options.device_poll_interval = interval;
    let mut result = json!({"client_id": "myclient", "device_code": "dc-1", "user_code": "QWERTYUI",
                            "verification_uri": format!("{}/v3/oauth2/device", tapis.url())});
    if let Some(seconds) = expires_in {
        result["expires_in"] = json!(seconds);
    }
    let code = tapis.server.device_code("myclient").answer_envelope(200, "Device code created.", result).expect(1);
    (options, clock, code)
}

#[test]
fn a_device_login_that_is_never_approved_gives_up_after_15_minutes() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    // The server says nothing about the code's expiry and keeps answering "not ready".
    let (options, clock, code) = device_options(&mut tapis, folder.path(), Duration::from_secs(30), None);
    // Polls at 30 s, 60 s, …: the first after 15 minutes (900 s) is the 31st, at 930 s.
    let polls = tapis.server.device_code_grant("myclient", "dc-1").answer_error(400, NOT_READY).expect(31);

    let result = blocking::device_login(&options, &mut Scripted::no_terminal());

    assert!(matches!(result, Err(AuthError::DeviceCodeExpired)), "{result:?}");
    assert_eq!(clock.elapsed(), Duration::from_secs(930), "virtual time waited");
    assert_eq!(MAX_DEVICE_WAIT.num_seconds(), 900);
    assert!(!folder.path().join("tokens.json").exists(), "nothing saved");
    code.assert();
    polls.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_device_login_waits_30_s_past_the_codes_expiry_then_gives_up() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let (options, clock, code) = device_options(&mut tapis, folder.path(), Duration::from_secs(5), Some(60));
    // Gives up at the first poll later than 60 + 30 s: the 19th, at 95 s.
    let polls = tapis.server.device_code_grant("myclient", "dc-1").answer_error(400, NOT_READY).expect(19);

    let result = blocking::device_login(&options, &mut Scripted::no_terminal());

    assert!(matches!(result, Err(AuthError::DeviceCodeExpired)), "{result:?}");
    assert_eq!(clock.elapsed(), Duration::from_secs(95));
    code.assert();
    polls.assert();
    tapis.assert_no_strays();
}

#[test]
fn device_polls_are_at_least_the_minimum_interval_apart() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    // Asked to poll without waiting: the flow still waits 1 s before each poll.
    let (options, clock, code) = device_options(&mut tapis, folder.path(), Duration::ZERO, Some(600));
    let pending = tapis.server.device_code_grant("myclient", "dc-1").answer_error(400, NOT_READY).expect(2);
    let fresh = tapis.jwt(valid_exp());
    let approved = tapis.server.device_code_grant("myclient", "dc-1").answer_tokens(&fresh, valid_exp()).expect(1);

    let mut prompter = Scripted::no_terminal();
    let session = blocking::device_login(&options, &mut prompter).expect("signed in");

    assert_eq!(session.access_token().expose_secret(), fresh);
    assert_eq!(clock.sleeps(), [tapis_auth::MIN_DEVICE_POLL_INTERVAL; 3], "one wait before each of the 3 polls");
    assert_eq!(prompter.notices_of("DeviceWaiting").len(), 3, "{:?}", prompter.notices);
    code.assert();
    pending.assert();
    approved.assert();
    tapis.assert_no_strays();
}

#[test]
fn retries_back_off_doubling_and_honour_retry_after() {
    let mut tapis = Tapis::new();
    let busy = tapis
        .server
        .mock("POST", TOKENS_PATH)
        .with_status(503)
        .with_header("retry-after", "3")
        .with_header("content-type", "application/json")
        .with_body(tapis_testkit::error_response("Service Unavailable"))
        .expect(1)
        .create();
    let down = tapis.server.token_endpoint().answer_error(503, "Service Unavailable").expect(3);
    let mut config = client_config();
    config.retry = RetryPolicy::default();
    (config.retry.n_attempts, config.retry.jitter) = (4, false);
    let clock = TestClock::install(&mut config);
    let client = TapisClient::new(tapis.base_url(), config).expect("client");

    let result = block_on(client.password_grant(USERNAME, &SecretString::from(PASSWORD.to_owned())));

    assert!(matches!(result, Err(AuthError::Unavailable { n_attempts: 4, .. })), "{result:?}");
    // 500 ms raised to the server's 3 s, then 1 s and 2 s; none after the last attempt.
    let expected = [3000, 1000, 2000].map(Duration::from_millis);
    assert_eq!(clock.sleeps(), expected);
    busy.assert();
    down.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_server_that_sends_headers_then_stalls_is_cut_off_by_the_request_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().take(3).flatten() {
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"mess");
            held.push(stream);
        }
        held.len()
    });
    let mut config = client_config();
    // The request timeout is the HTTP client's, on tokio's real timer: short, so the stall
    // costs little; the backoff between the attempts is on the test clock.
    config.request_timeout = Duration::from_millis(200);
    config.retry = RetryPolicy::default();
    config.retry.jitter = false;
    let clock = TestClock::install(&mut config);
    let client = TapisClient::new(BaseUrl::parse(&url).expect("loopback"), config).expect("client");

    let result = block_on(client.password_grant(USERNAME, &SecretString::from(PASSWORD.to_owned())));

    match &result {
        Err(AuthError::Unavailable { n_attempts: 3, last, .. }) => assert!(last.contains("cut off"), "{last}"),
        other => panic!("expected Unavailable after 3 attempts, got {other:?}"),
    }
    assert_eq!(clock.sleeps(), [500, 1000].map(Duration::from_millis));
    assert_eq!(server.join().expect("the server thread"), 3, "one connection per attempt");
}
