//! No operation discards another server's tokens or a client's key; a kept client is used.

use std::fs;
use std::time::Duration;

use serde_json::json;
use tapis_auth::blocking::{connect, device_login, logout};
use tapis_auth::{AuthError, LoginOptions, Origin};
use tapis_testkit::DEVICE_CODE_PATH;

use crate::support::*;

const OTHER_SERVER: &str = "https://tacc.tapis.io";
const CLIENT_ID: &str = "tapis-cli-jdoe-4f2a";
const CLIENT_KEY: &str = "client-key-9b1e77";

/// The files of another server that must survive every operation on this one: a live access
/// token alone, an expired access token with a live refresh token and its client, and a
/// client kept without tokens.
fn other_server_files() -> Vec<(&'static str, serde_json::Value)> {
    let now = tapis_testkit::now_unix();
    let live = jwt(OTHER_SERVER, USERNAME, valid_exp());
    let expired = jwt(OTHER_SERVER, USERNAME, now - 60);
    let refresh = tapis_testkit::jwt(&tapis_testkit::refresh_claims(USERNAME, now + 86_400, OTHER_SERVER));
    let mut renewable = token_file_fields(&expired, now - 60, Some(OTHER_SERVER));
    renewable["refresh_token"] = json!(refresh);
    renewable["client_id"] = json!(CLIENT_ID);
    renewable["client_key"] = json!(CLIENT_KEY);
    renewable["created_client_id"] = json!(CLIENT_ID);
    let kept = json!({"base_url": OTHER_SERVER, "client_id": CLIENT_ID, "client_key": CLIENT_KEY});
    vec![
        ("a live access token (the notebooks' file)", token_file_fields(&live, valid_exp(), None)),
        ("an expired access token with a live refresh token and a client", renewable),
        ("a client kept without tokens", kept),
    ]
}

#[track_caller]
fn assert_other_server(result: Result<impl std::fmt::Debug, AuthError>, context: &str) {
    match result {
        Err(AuthError::OtherServer { server, .. }) => assert_eq!(server, OTHER_SERVER, "{context}"),
        other => panic!("{context}: expected OtherServer, got {other:?}"),
    }
}

#[test]
fn another_servers_tokens_are_left_byte_for_byte() {
    for (case, fields) in other_server_files() {
        let mut tapis = Tapis::new();
        let folder = tempfile::tempdir().expect("temp folder");
        let mut options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
        options.no_refresh = false;
        write_token_file(&options.token_file, &fields);
        let before = fs::read(&options.token_file).expect("the token file");
        let token_endpoint = tapis.server.token_endpoint().expect(0);
        let device_code = tapis.server.on("POST", DEVICE_CODE_PATH).expect(0);
        let revoke = tapis.server.revoke(None).expect(0);

        assert_other_server(connect(&options, &mut Scripted::no_terminal()).map(|s| s.origin()), case);
        assert_other_server(connect(&options, &mut Scripted::answering(&[])).map(|s| s.origin()), case);
        let mut device = options.clone();
        device.device_client = Some(tapis_auth::DeviceClient::new("a-client"));
        assert_other_server(device_login(&device, &mut Scripted::no_terminal()).map(|s| s.origin()), case);
        assert_other_server(logout(&options), case);
        let mut keep = options.clone();
        keep.keep_client = true;
        assert_other_server(logout(&keep), case);

        assert_eq!(fs::read(&options.token_file).expect("the token file"), before, "{case}: changed");
        token_endpoint.assert();
        device_code.assert();
        revoke.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn another_servers_expired_tokens_are_replaced_by_a_login() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    let exp = tapis_testkit::now_unix() - 60;
    write_token_file(&options.token_file, &token_file_fields(&jwt(OTHER_SERVER, USERNAME, exp), exp, None));
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);

    let session = connect(&options, &mut Scripted::no_terminal()).expect("logged in");
    assert_eq!((session.origin(), session.access_token().expose_secret()), (Origin::LoggedIn, fresh.as_str()));
    assert_eq!(saved(&options.token_file)["base_url"], tapis.url().as_str());
    login.assert();
    tapis.assert_no_strays();
}

/// A token file as a login with renewal leaves it, for `tapis`'s server.
fn renewable_file(tapis: &Tapis, options: &LoginOptions) -> (String, String) {
    let access = tapis.jwt(valid_exp());
    let refresh = tapis.server.refresh_jwt(USERNAME, tapis_testkit::now_unix() + 86_400, "refresh");
    let mut fields = token_file_fields(&access, valid_exp(), Some(&tapis.url()));
    fields["refresh_token"] = json!(refresh);
    fields["client_id"] = json!(CLIENT_ID);
    fields["client_key"] = json!(CLIENT_KEY);
    fields["created_client_id"] = json!(CLIENT_ID);
    write_token_file(&options.token_file, &fields);
    (access, refresh)
}

#[test]
fn a_kept_client_stays_in_the_file_and_the_next_login_goes_through_it() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    options.no_refresh = false;
    let (access, refresh) = renewable_file(&tapis, &options);
    let revoke_access = tapis.server.revoke(Some(&access)).answer_revoked("a").expect(1);
    let revoke_refresh = tapis.server.revoke(Some(&refresh)).answer_revoked("r").expect(1);
    let delete = tapis.server.delete_client(CLIENT_ID).expect(0);

    let mut keep = options.clone();
    keep.keep_client = true;
    let report = logout(&keep).expect("logged out");
    assert_eq!(report.client_kept_in_file.as_deref(), Some(CLIENT_ID), "{report:?}");
    assert!(report.revoked && report.revoked_refresh && !report.removed_file, "{report:?}");
    let file = saved(&options.token_file);
    assert_eq!((file["client_id"].as_str(), file["client_key"].as_str()), (Some(CLIENT_ID), Some(CLIENT_KEY)));
    assert!(file.get("access_token").is_none() && file.get("refresh_token").is_none(), "{file}");
    revoke_access.assert();
    revoke_refresh.assert();
    delete.assert();

    // The next login: one grant through the kept client, no client made, renewal on.
    let exp = valid_exp();
    let (fresh, new_refresh) = (tapis.jwt(exp), tapis.server.refresh_jwt(USERNAME, exp + 86_400, "new"));
    let grant = tapis
        .server
        .password_grant(USERNAME, PASSWORD)
        .through_client(CLIENT_ID, CLIENT_KEY)
        .answer_tokens_with_refresh(&fresh, exp, &new_refresh, exp + 86_400)
        .expect(1);
    let create = tapis.server.create_client().expect(0);
    let session = connect(&options, &mut Scripted::no_terminal()).expect("logged in");
    assert_eq!(session.origin(), Origin::LoggedIn);
    assert!(session.tokens().renewal(chrono::Utc::now()).is_some(), "renewal is on");
    let file = saved(&options.token_file);
    assert_eq!((file["client_id"].as_str(), file["created_client_id"].as_str()), (Some(CLIENT_ID), Some(CLIENT_ID)));
    grant.assert();
    create.assert();

    // Without a token, the kept client (made by this tool) cannot be deleted: it stays.
    fs::remove_file(&options.token_file).expect("remove");
    let store = tapis_store::TokenStore::new(&options.token_file);
    let lock = store.lock(std::time::Duration::from_secs(5)).expect("lock");
    let read = store.read_for_update(&lock).expect("read");
    read.guard.replace_kept_client(&session.tokens().kept_client().expect("a client")).expect("save");
    drop(lock);
    let report = logout(&options).expect("logged out");
    assert_eq!(report.client_kept_in_file.as_deref(), Some(CLIENT_ID), "{report:?}");
    assert!(!report.found_tokens && !report.removed_file, "{report:?}");
    tapis.assert_no_strays();
}

#[test]
fn a_client_that_could_not_be_deleted_keeps_its_key_in_the_file() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let (access, refresh) = renewable_file(&tapis, &options);
    let delete = tapis.server.delete_client(CLIENT_ID).answer_error(400, "Unrecognized exception type").expect(1);
    let revoke_access = tapis.server.revoke(Some(&access)).answer_revoked("a").expect(1);
    let revoke_refresh = tapis.server.revoke(Some(&refresh)).answer_revoked("r").expect(1);

    let report = logout(&options).expect("logged out");
    assert_eq!(report.client_kept_in_file.as_deref(), Some(CLIENT_ID), "{report:?}");
    assert_eq!(saved(&options.token_file)["client_key"], CLIENT_KEY);
    delete.assert();
    revoke_access.assert();
    revoke_refresh.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_device_login_with_a_valid_saved_token_is_already_logged_in() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = options(&tapis, folder.path());
    options.device_poll_interval = Duration::ZERO;
    options.device_client = Some(tapis_auth::DeviceClient::new("a-client"));
    let access = tapis.jwt(valid_exp());
    write_token_file(&options.token_file, &token_file_fields(&access, valid_exp(), Some(&tapis.url())));
    let device_code = tapis.server.on("POST", DEVICE_CODE_PATH).expect(0);
    let token_endpoint = tapis.server.token_endpoint().expect(0);

    let session = device_login(&options, &mut Scripted::no_terminal()).expect("the saved token");
    assert_eq!((session.origin(), session.access_token().expose_secret()), (Origin::Saved, access.as_str()));
    device_code.assert();
    token_endpoint.assert();
    tapis.assert_no_strays();
}
