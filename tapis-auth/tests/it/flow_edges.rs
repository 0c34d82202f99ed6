//! The flow at its edges: requests that must not be sent twice, an answer without a refresh
//! token, a saved client that is never replaced while usable, and device codes with absurd
//! or missing expiries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockito::Matcher;
use serde_json::{Value, json};
use tapis_auth::{AuthError, LoginOptions, NoPrompt, SecretString, blocking};
use tapis_testkit::CLIENTS_PATH;

use crate::support::*;

const CLIENT_ID: &str = "tapis-cli-jdoe-4f2a";
const CLIENT_KEY: &str = "client-key-9b1e77";

/// Options for a login that makes (or uses) an OAuth client, with both credentials.
fn renewing_options(tapis: &Tapis, folder: &std::path::Path) -> LoginOptions {
    let mut options = with_credentials(options(tapis, folder), USERNAME, PASSWORD);
    options.no_refresh = false;
    options
}

/// An answer whose body is cut off half-way: the server may well have acted on the request.
fn cut_off(writer: &mut dyn std::io::Write) -> std::io::Result<()> {
    writer.write_all(br#"{"message": "Client created successfully.", "result": {"client_id": "#)?;
    writer.flush()?;
    Err(std::io::Error::other("the connection dropped"))
}

/// A token file with an expired access token, a live refresh token and the personal client.
fn write_renewable(tapis: &Tapis, options: &LoginOptions, refresh: &str) {
    let exp = tapis_testkit::now_unix() - 60;
    let mut fields = token_file_fields(&tapis.jwt(exp), exp, Some(&tapis.url()));
    fields["refresh_token"] = json!(refresh);
    fields["client_id"] = json!(CLIENT_ID);
    fields["client_key"] = json!(CLIENT_KEY);
    fields["created_client_id"] = json!(CLIENT_ID);
    write_token_file(&options.token_file, &fields);
}

/// The password grant without a client answering `access`, and the creation of a client that
/// is made on the server but whose answer is cut off; the description it was sent with is
/// kept in the returned cell.
fn mock_lost_client_creation(tapis: &mut Tapis, access: &str) -> (mockito::Mock, mockito::Mock, Arc<Mutex<String>>) {
    let grant =
        tapis.server.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(access, valid_exp()).expect(1);
    let description = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&description);
    let create = tapis
        .server
        .mock("POST", CLIENTS_PATH)
        .match_header("x-tapis-token", access)
        .match_request(move |request| {
            let body: Value =
                serde_json::from_slice(request.body().map(Vec::as_slice).unwrap_or_default()).unwrap_or_default();
            *seen.lock().expect("lock") = body["description"].as_str().unwrap_or_default().to_owned();
            true
        })
        .with_status(200)
        .with_chunked_body(cut_off)
        .expect(1)
        .create();
    (grant, create, description)
}

#[test]
fn a_client_creation_whose_answer_is_lost_is_not_repeated_but_found_by_its_description() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = renewing_options(&tapis, folder.path());
    let first = tapis.jwt(valid_exp());
    let (grant, create, description) = mock_lost_client_creation(&mut tapis, &first);
    let listed = Arc::clone(&description);
    let list = tapis
        .server
        .mock("GET", CLIENTS_PATH)
        .match_header("x-tapis-token", first.as_str())
        .with_header("content-type", "application/json")
        .with_body_from_request(move |_| {
            let description = listed.lock().expect("lock").clone();
            let clients = json!([
                {"client_id": "someone-elses", "client_key": "k0", "description": "tapis CLI on another host (0badc0de)"},
                {"client_id": CLIENT_ID, "client_key": CLIENT_KEY, "description": description},
            ]);
            tapis_testkit::envelope("Clients listed.", clients).to_string().into_bytes()
        })
        .expect(1)
        .create();
    let (final_access, refresh) = (tapis.jwt(valid_exp()), tapis.server.refresh_jwt(USERNAME, valid_exp(), "r1"));
    let via_client = tapis
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens_with_refresh(&final_access, valid_exp(), &refresh, valid_exp() + 86_400)
        .expect(1);

    let session = blocking::connect(&options, &mut Scripted::no_terminal()).expect("signed in");

    assert_eq!(session.access_token().expose_secret(), final_access);
    let description = description.lock().expect("lock").clone();
    assert!(description.starts_with("tapis (") && description.len() > "tapis ()".len(), "unique: {description}");
    let file = saved(&options.token_file);
    assert_eq!((&file["client_id"], &file["created_client_id"]), (&json!(CLIENT_ID), &json!(CLIENT_ID)), "{file}");
    for mock in [&grant, &create, &list, &via_client] {
        mock.assert();
    }
    tapis.assert_no_strays();
}

#[test]
fn a_lost_client_creation_with_no_match_goes_on_without_renewal() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = renewing_options(&tapis, folder.path());
    let first = tapis.jwt(valid_exp());
    let (grant, create, _) = mock_lost_client_creation(&mut tapis, &first);
    let list = tapis
        .server
        .on("GET", CLIENTS_PATH)
        .answer_envelope(200, "Clients listed.", json!([{"client_id": "x", "client_key": "k", "description": "tapis"}]))
        .expect(1);
    let via_client =
        tapis.server.password_grant(USERNAME, PASSWORD).with_header("authorization", Matcher::Any).expect(0);

    let mut prompter = Scripted::no_terminal();
    let session = blocking::connect(&options, &mut prompter).expect("signed in");

    assert_eq!(session.access_token().expose_secret(), first);
    assert!(session.tokens().refresh.is_none() && session.tokens().client.is_none());
    let off = prompter.notices_of("RenewalOff");
    assert!(off.len() == 1 && off[0].contains("was lost"), "{:?}", prompter.notices);
    for mock in [&grant, &create, &list, &via_client] {
        mock.assert();
    }
    tapis.assert_no_strays();
}

#[test]
fn a_refresh_grant_whose_answer_is_lost_is_sent_once() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = renewing_options(&tapis, folder.path());
    let refresh = tapis.server.refresh_jwt(USERNAME, valid_exp() + 86_400, "r0");
    write_renewable(&tapis, &options, &refresh);
    let before = std::fs::read(&options.token_file).expect("read");
    let renewal = tapis
        .server
        .mock("POST", TOKENS_PATH)
        .match_body(Matcher::PartialJson(json!({"grant_type": "refresh_token"})))
        .with_status(200)
        .with_chunked_body(cut_off)
        .expect(1)
        .create();

    let outcome = blocking::connect(&options, &mut Scripted::no_terminal());

    assert!(matches!(outcome, Err(AuthError::Unconfirmed { .. })), "{outcome:?}");
    assert_eq!(std::fs::read(&options.token_file).expect("read"), before, "the saved tokens are kept");
    renewal.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_renewal_answer_without_a_refresh_token_keeps_the_saved_one() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = renewing_options(&tapis, folder.path());
    let refresh = tapis.server.refresh_jwt(USERNAME, valid_exp() + 86_400, "r0");
    write_renewable(&tapis, &options, &refresh);
    let fresh = tapis.jwt(valid_exp());
    let renewal = tapis
        .server
        .refresh_grant(&refresh)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens(&fresh, valid_exp())
        .expect(1);

    let session = blocking::connect(&options, &mut Scripted::no_terminal()).expect("renewed");

    assert_eq!(session.access_token().expose_secret(), fresh);
    let file = saved(&options.token_file);
    assert_eq!(file["refresh_token"], json!(refresh), "{file}");
    assert_eq!(file["created_client_id"], json!(CLIENT_ID), "{file}");
    renewal.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_usable_saved_client_is_never_replaced() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = renewing_options(&tapis, folder.path());
    // The refresh token has expired: a password login through the saved client follows.
    let exp = tapis_testkit::now_unix() - 60;
    let mut fields = token_file_fields(&tapis.jwt(exp), exp, Some(&tapis.url()));
    fields["client_id"] = json!(CLIENT_ID);
    fields["client_key"] = json!(CLIENT_KEY);
    write_token_file(&options.token_file, &fields);
    let fresh = tapis.jwt(valid_exp());
    // The server answers through the client, but without a refresh token.
    let grant = tapis
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens(&fresh, valid_exp())
        .expect(1);
    let create = tapis.server.create_client().expect(0);

    let mut prompter = Scripted::no_terminal();
    let session = blocking::connect(&options, &mut prompter).expect("signed in");

    assert_eq!(session.access_token().expose_secret(), fresh);
    assert_eq!(saved(&options.token_file)["client_id"], json!(CLIENT_ID));
    assert_eq!(prompter.notices_of("RenewalOff").len(), 1, "{:?}", prompter.notices);
    grant.assert();
    create.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_device_code_with_an_absurd_lifetime_and_a_zero_interval_is_handled() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = options(&tapis, folder.path());
    options.device_client = Some(tapis_auth::DeviceClient::new("myclient"));
    options.device_poll_interval = Duration::ZERO;
    // Seconds that fit a TimeDelta but not a date: adding them to now overflows.
    let code = tapis
        .server
        .device_code("myclient")
        .answer_envelope(
            200,
            "Device code created.",
            json!({"client_id": "myclient", "device_code": "dc-1", "user_code": "QWERTYUI",
                   "verification_uri": format!("{}/v3/oauth2/device", tapis.url()),
                   "expires_in": 9_000_000_000_000_u64}),
        )
        .expect(1);
    let fresh = tapis.jwt(valid_exp());
    let poll = tapis.server.device_code_grant("myclient", "dc-1").answer_tokens(&fresh, valid_exp()).expect(1);

    let mut prompter = Scripted::no_terminal();
    let session = blocking::device_login(&options, &mut prompter).expect("signed in");

    assert_eq!(session.access_token().expose_secret(), fresh);
    let shown = prompter.notices_of("DeviceCode");
    assert!(shown.len() == 1 && shown[0].contains("expires_at: None"), "an absurd expiry is unknown: {shown:?}");
    // A zero interval is raised to the minimum: the flow waits (telling the prompter each
    // second) before its poll.
    assert!(!prompter.notices_of("DeviceWaiting").is_empty(), "{:?}", prompter.notices);
    code.assert();
    poll.assert();
    tapis.assert_no_strays();
}

/// An answer over `ApiRequest::max_answer_bytes` is an error, never cut silently: with a
/// `Content-Length` (refused before reading) and chunked (refused while reading).
#[test]
fn an_api_answer_over_its_cap_is_an_error() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let token = tapis.jwt(valid_exp());
    let mut session =
        tapis_auth::session_from_token(&options, tapis_auth::SecretString::from(token.clone())).expect("usable");
    let sized = tapis.server.on("GET", "/v3/sized").answer(200, "application/json", vec![b' '; 11]).expect(1);
    let chunked = tapis
        .server
        .mock("GET", "/v3/chunked")
        .with_chunked_body(|writer| {
            for _ in 0..11 {
                writer.write_all(b" ")?;
                writer.flush()?;
            }
            Ok(())
        })
        .expect(1)
        .create();
    let fits = tapis.server.on("GET", "/v3/fits").answer(200, "application/json", vec![b' '; 10]).expect(1);

    for path in ["/v3/sized", "/v3/chunked"] {
        let mut request = tapis_auth::ApiRequest::get(path);
        request.max_answer_bytes = 10;
        let outcome = blocking::call(&mut session, &request);
        assert!(
            matches!(&outcome, Err(AuthError::InvalidResponse { reason, .. }) if reason.contains("larger than 10 bytes")),
            "{path}: {outcome:?}"
        );
    }
    let mut request = tapis_auth::ApiRequest::get("/v3/fits");
    request.max_answer_bytes = 10;
    assert_eq!(blocking::call(&mut session, &request).expect("fits").body.len(), 10);
    for mock in [&sized, &chunked, &fits] {
        mock.assert();
    }
    tapis.assert_no_strays();
}

/// A token the server refuses as revoked (the gateway's 500) that cannot be renewed: asked
/// once, not retried as a failing server, and `TokenRefused` says why it was not renewed —
/// for `call` and `userinfo` alike, and for a given token (never renewed) too.
#[test]
fn a_revoked_token_that_cannot_be_renewed_is_token_refused_in_call_and_userinfo() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let access = tapis.jwt(valid_exp());
    write_token_file(&options.token_file, &token_file_fields(&access, valid_exp(), Some(&tapis.url())));
    let revoked = tapis_testkit::error_response("Token is revoked.");
    let systems = tapis
        .server
        .on("GET", "/v3/systems")
        .with_tapis_token(&access)
        .answer(500, "application/json", revoked.clone())
        .expect(2);
    let userinfo = tapis.server.userinfo().with_tapis_token(&access).answer(500, "application/json", revoked).expect(2);
    let token_endpoint = tapis.server.token_endpoint().expect(0);

    let mut saved = blocking::connect(&options, &mut NoPrompt).expect("the saved token");
    let mut given = tapis_auth::session_from_token(&options, SecretString::from(access.clone())).expect("given");
    for (session, renewed) in [(&mut saved, true), (&mut given, false)] {
        let outcomes = [
            blocking::call(session, &tapis_auth::ApiRequest::get("/v3/systems")).map(|_| ()),
            blocking::userinfo(session).map(|_| ()),
        ];
        for outcome in outcomes {
            match outcome {
                Err(AuthError::TokenRefused { status: 500, message, renewal, .. }) => {
                    assert_eq!(message, "Token is revoked.");
                    assert_eq!(renewal.is_some(), renewed, "{renewal:?}");
                    if let Some(renewal) = renewal {
                        assert!(matches!(*renewal, AuthError::NoCredentials { .. }), "{renewal:?}");
                    }
                }
                other => panic!("expected TokenRefused, got {other:?}"),
            }
        }
    }
    systems.assert();
    userinfo.assert();
    token_endpoint.assert();
    tapis.assert_no_strays();
}

/// A token revoked right after it was issued still has almost all its lifetime left, and is
/// as long-lived as the server issues: after the refusal, the renewal asks for a token other
/// than the refused one, not one that outlives it, and the request is sent again with it.
#[test]
fn a_token_revoked_right_after_issue_is_renewed() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = renewing_options(&tapis, folder.path());
    let now = tapis_testkit::now_unix();
    // Obtained a moment ago, valid for the server's whole lifetime of an hour.
    let revoked_access = tapis.jwt(now + 3600);
    let refresh = tapis.server.refresh_jwt(USERNAME, now + 86_400, "r0");
    let mut fields = token_file_fields(&revoked_access, now + 3600, Some(&tapis.url()));
    fields["refresh_token"] = json!(refresh);
    fields["client_id"] = json!(CLIENT_ID);
    fields["client_key"] = json!(CLIENT_KEY);
    fields["created_client_id"] = json!(CLIENT_ID);
    fields["obtained_at"] = json!(tapis_testkit::isoformat_seconds(now));
    write_token_file(&options.token_file, &fields);
    let revoked = tapis_testkit::error_response("Token is revoked.");
    let refused = tapis
        .server
        .on("GET", "/v3/systems")
        .with_tapis_token(&revoked_access)
        .answer(500, "application/json", revoked)
        .expect(1);
    let fresh = tapis.jwt(now + 3599);
    let renewal = tapis
        .server
        .refresh_grant(&refresh)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens(&fresh, now + 3599)
        .expect(1);
    let answered = tapis.server.on("GET", "/v3/systems").with_tapis_token(&fresh).answer_userinfo(USERNAME).expect(1);

    let mut session = blocking::connect(&options, &mut Scripted::no_terminal()).expect("the saved token");
    let answer = blocking::call(&mut session, &tapis_auth::ApiRequest::get("/v3/systems")).expect("renewed and sent");

    assert_eq!(answer.status, 200);
    assert_eq!(session.access_token().expose_secret(), fresh);
    assert_eq!(saved(&options.token_file)["access_token"], json!(fresh));
    refused.assert();
    renewal.assert();
    answered.assert();
    tapis.assert_no_strays();
}

/// A password login that finishes while a device login waits for approval: the device
/// login's save, under the lock, reads the file again and keeps the personal client the
/// password login made (its key, and its record as this tool's), so that it is used for the
/// next login and a logout deletes it. Every client made on the server is one the file names.
#[test]
fn a_device_login_approved_after_a_password_login_keeps_its_client() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let password_options = renewing_options(&tapis, folder.path());
    let mut device_options = options(&tapis, folder.path());
    device_options.device_poll_interval = Duration::ZERO;
    device_options.device_client = Some(tapis_auth::DeviceClient::new("named-client"));

    let first = tapis.jwt(valid_exp());
    let grant =
        tapis.server.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&first, valid_exp()).expect(1);
    let created = tapis.server.create_client().answer_client(CLIENT_ID, CLIENT_KEY, USERNAME).expect(1);
    let with_refresh = tapis.jwt(valid_exp() - 1);
    let refresh = tapis.server.refresh_jwt(USERNAME, valid_exp() + 86_400, "r0");
    let grant_via_client = tapis
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens_with_refresh(&with_refresh, valid_exp() - 1, &refresh, valid_exp() + 86_400)
        .expect(1);
    let code =
        tapis.server.device_code("named-client").answer_device_code("named-client", "dc-1", &tapis.url()).expect(1);
    let device_access = tapis.jwt(valid_exp() - 2);
    let approved =
        tapis.server.device_code_grant("named-client", "dc-1").answer_tokens(&device_access, valid_exp() - 2).expect(1);

    // The password login runs to its end when the device code is shown, before the first poll.
    let mut prompter = LogInWhenCodeShown { options: Some(password_options), notices: Vec::new() };
    let session = blocking::device_login(&device_options, &mut prompter).expect("device login");

    assert_eq!(session.access_token().expose_secret(), device_access);
    let file = saved(&device_options.token_file);
    assert_eq!(file["access_token"], json!(device_access), "{file}");
    assert_eq!(
        (file["client_id"].as_str(), file["client_key"].as_str(), file["created_client_id"].as_str()),
        (Some(CLIENT_ID), Some(CLIENT_KEY), Some(CLIENT_ID)),
        "the password login's client stays named: {file}"
    );
    for mock in [grant, created, grant_via_client, code, approved] {
        mock.assert();
    }

    // The logout deletes the one client made on the server.
    let deleted = tapis
        .server
        .delete_client(CLIENT_ID)
        .with_tapis_token(&device_access)
        .answer_envelope(200, "ok", Value::Null)
        .expect(1);
    let revoke = tapis.server.revoke(Some(&device_access)).answer_revoked("a").expect(1);
    let report = tapis_auth::blocking::logout(&device_options).expect("logged out");
    assert_eq!(report.deleted_client.as_deref(), Some(CLIENT_ID), "{report:?}");
    deleted.assert();
    revoke.assert();
    tapis.assert_no_strays();
}

/// A prompter that, when a device code is shown, runs a password login on the same token
/// file in a thread of its own and waits for it.
struct LogInWhenCodeShown {
    options: Option<LoginOptions>,
    notices: Vec<String>,
}

impl tapis_auth::Prompter for LogInWhenCodeShown {
    fn can_prompt(&self) -> bool {
        false
    }

    fn username(&mut self, _base_url: &tapis_auth::BaseUrl) -> Result<String, tapis_auth::PromptError> {
        Err(tapis_auth::PromptError::EndOfInput)
    }

    fn password(&mut self, _username: &str) -> Result<SecretString, tapis_auth::PromptError> {
        Err(tapis_auth::PromptError::EndOfInput)
    }

    fn notice(&mut self, notice: &tapis_auth::Notice) {
        self.notices.push(format!("{notice:?}"));
        if let (tapis_auth::Notice::DeviceCode { .. }, Some(options)) = (notice, self.options.take()) {
            let login = std::thread::spawn(move || blocking::connect(&options, &mut NoPrompt).map(|_| ()));
            login.join().expect("the login thread").expect("the password login");
        }
    }
}
