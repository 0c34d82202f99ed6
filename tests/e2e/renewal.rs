//! Staying signed in: the personal OAuth client, silent renewal, device login, whoami, and
//! logging out of all of it. Each test pins the exact request sequence.

use std::fs;
use std::process::Stdio;

use mockito::Matcher;
use serde_json::json;
use tapis_testkit::messages;

use crate::support::*;

#[test]
fn the_first_login_makes_a_personal_client_and_logs_in_through_it() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    // grant → create client → grant with Basic: exactly those three, in that order.
    login.assert();
    world.settings().bind(|| insta::assert_snapshot!("first_login_with_client", stderr(&output)));
    let saved = world.saved();
    assert_eq!(saved["access_token"], jwt.as_str());
    assert_eq!(saved["client_id"], CLIENT_ID);
    assert_eq!(saved["client_key"], CLIENT_KEY);
    assert!(saved["refresh_token"].as_str().is_some_and(|token| token.starts_with("eyJ")), "{saved}");
    assert_eq!(saved["refresh_expires_at"].as_str().map(str::len), Some(25));
    #[cfg(unix)]
    assert_eq!(mode_of(&world.token_file()), 0o600);
}

#[test]
fn a_later_forced_login_is_one_request_through_the_saved_client() {
    let mut world = World::new();
    world.write_renewable_file(&world.jwt(3600), 3600, &world.refresh_jwt("r1"));
    let plain_grant = world.server.token_endpoint().without_client().expect(0);
    let create_client = world.server.create_client().expect(0);
    let (grant, jwt) = world.mock_grant_via_client(1);

    let output = run(world.tapis_with_credentials().args(["login", "--force"]));
    assert_exit(&output, 0);
    grant.assert();
    plain_grant.assert();
    create_client.assert();
    assert_eq!(world.saved()["access_token"], jwt.as_str());
}

#[test]
fn an_expired_token_is_renewed_with_one_refresh_and_no_password() {
    let mut world = World::new();
    let old_refresh = world.refresh_jwt("r1");
    world.write_renewable_file(&world.jwt(-60), -60, &old_refresh);
    let (refresh, access, rotated) = world.mock_refresh(&old_refresh, 1);

    // No credentials and no terminal: renewal needs neither.
    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 0);
    refresh.assert();
    assert_eq!(stdout(&output), format!("{access}\n"));
    let saved = world.saved();
    assert_eq!(saved["access_token"], access.as_str());
    assert_eq!(saved["refresh_token"], rotated.as_str(), "the rotated refresh token is saved");
    assert_eq!(saved["client_id"], CLIENT_ID, "the client is kept");
}

#[test]
fn login_renews_too_and_says_so() {
    let mut world = World::new();
    let old_refresh = world.refresh_jwt("r1");
    world.write_renewable_file(&world.jwt(-60), -60, &old_refresh);
    let (refresh, _, _) = world.mock_refresh(&old_refresh, 1);

    let output = run(world.tapis().arg("login"));
    assert_exit(&output, 0);
    refresh.assert();
    world.settings().bind(|| insta::assert_snapshot!("login_renewed", stderr(&output)));
}

#[test]
fn a_rejected_refresh_without_credentials_exits_3_and_keeps_the_file() {
    let mut world = World::new();
    let old_refresh = world.refresh_jwt("r1");
    world.write_renewable_file(&world.jwt(-60), -60, &old_refresh);
    let before = fs::read(world.token_file()).expect("read");
    let refused = world.mock_token_error(400, "Invalid refresh_token.", 1);

    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 3);
    refused.assert();
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("was refused (Invalid refresh_token.); log in again with `tapis login`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read(world.token_file()).expect("read"), before);
}

#[test]
fn a_rejected_refresh_with_credentials_falls_back_to_one_password_login() {
    let mut world = World::new();
    let old_refresh = world.refresh_jwt("r1");
    world.write_renewable_file(&world.jwt(-60), -60, &old_refresh);
    let refused = world.server.any_refresh_grant().answer_error(400, messages::INVALID_REFRESH_TOKEN).expect(1);
    let (grant, jwt) = world.mock_grant_via_client(1);

    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 0);
    refused.assert();
    grant.assert();
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    assert!(
        stderr(&output).contains("renewing the token was refused (Invalid refresh_token.); logging in with a password")
    );
}

#[test]
fn a_herd_with_an_expired_token_renews_exactly_once() {
    let mut world = World::new();
    let old_refresh = world.refresh_jwt("r1");
    world.write_renewable_file(&world.jwt(-60), -60, &old_refresh);
    let (refresh, access, _) = world.mock_refresh(&old_refresh, 1);

    let children: Vec<_> = (0..32)
        .map(|_| {
            world
                .tapis()
                .arg("token")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert_exit(&output, 0);
        assert_eq!(stdout(&output), format!("{access}\n"));
    }
    refresh.assert();
}

#[test]
fn no_refresh_makes_no_client() {
    let mut world = World::new();
    let jwt = world.jwt(4 * 3600);
    let grant = world
        .server
        .token_endpoint()
        .without_client()
        .answer_tokens(&jwt, tapis_testkit::now_unix() + 4 * 3600)
        .expect(1);
    let create_client = world.server.create_client().expect(0);

    let output = run(world.tapis_with_credentials().args(["login", "--no-refresh"]));
    assert_exit(&output, 0);
    grant.assert();
    create_client.assert();
    let saved = world.saved();
    assert!(saved.get("client_id").is_none() && saved.get("refresh_token").is_none(), "{saved}");
}

#[test]
fn a_refused_client_creation_leaves_renewal_off_and_the_login_in_place() {
    let mut world = World::new();
    let jwt = world.jwt(4 * 3600);
    let grant = world.server.token_endpoint().answer_tokens(&jwt, tapis_testkit::now_unix() + 4 * 3600).expect(1);
    let create_client = world.server.create_client().answer_error(400, "Not authorized to create clients.").expect(1);

    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    grant.assert();
    create_client.assert();
    assert!(stderr(&output).contains("renewal is off for this login"), "{}", stderr(&output));
    assert_eq!(world.saved()["access_token"], jwt.as_str());
}

fn mock_device_code(world: &mut World, hits: usize) -> mockito::Mock {
    let base_url = world.base_url();
    world.server.device_code(CLIENT_ID).answer_device_code(CLIENT_ID, DEVICE_CODE, &base_url).expect(hits)
}

const DEVICE_CODE: &str = "dc-5e1f";

#[test]
fn device_login_polls_until_approved() {
    let mut world = World::new();
    world.write_renewable_file(&world.jwt(-60), -60, &world.refresh_jwt("old"));
    let code = mock_device_code(&mut world, 1);
    // mockito gives a request to the first-created matching mock that still expects hits.
    let pending = world
        .server
        .device_code_grant(CLIENT_ID, DEVICE_CODE)
        .answer_error(400, messages::DEVICE_CODE_NOT_READY)
        .expect(2);
    let now = tapis_testkit::now_unix();
    let access = world.jwt(7 * 86_400);
    let refresh = world.refresh_jwt("device");
    let approved = world
        .server
        .device_code_grant(CLIENT_ID, DEVICE_CODE)
        .answer_tokens_with_refresh(&access, now + 7 * 86_400, &refresh, now + 365 * 86_400)
        .expect(1);

    let output = run(world.tapis().args(["login", "--device"]).env("TAPIS_DEVICE_POLL_INTERVAL", "10ms"));
    assert_exit(&output, 0);
    code.assert();
    pending.assert();
    approved.assert();
    world.settings().bind(|| insta::assert_snapshot!("device_login", stderr(&output)));
    let saved = world.saved();
    assert_eq!(saved["access_token"], access.as_str());
    assert_eq!(saved["refresh_token"], refresh.as_str());
    assert_eq!((&saved["client_id"], &saved["client_key"]), (&json!(CLIENT_ID), &json!(CLIENT_KEY)));
}

#[test]
fn device_login_with_an_expired_code_exits_3() {
    let mut world = World::new();
    let code = mock_device_code(&mut world, 1);
    let expired = world
        .server
        .device_code_grant(CLIENT_ID, DEVICE_CODE)
        .answer_error(400, messages::DEVICE_CODE_EXPIRED)
        .expect(1);

    let output = run(world
        .tapis()
        .args(["login", "--device", "--client-id", CLIENT_ID])
        .env("TAPIS_CLIENT_KEY", CLIENT_KEY)
        .env("TAPIS_DEVICE_POLL_INTERVAL", "10ms"));
    assert_exit(&output, 3);
    code.assert();
    expired.assert();
    assert!(stderr(&output).contains("the device code expired before the login was approved"), "{}", stderr(&output));
    assert!(!world.token_file().exists());
}

#[test]
fn device_login_without_a_client_is_a_usage_error() {
    let mut world = World::new();
    let code = world.server.on("POST", tapis_testkit::DEVICE_CODE_PATH).expect(0);
    let output = run(world.tapis().args(["login", "--device"]));
    assert_exit(&output, 2);
    code.assert();
    assert!(stderr(&output).contains("needs an OAuth client"), "{}", stderr(&output));
}

fn mock_revoke(world: &mut World, token: &str, hits: usize) -> mockito::Mock {
    world.server.revoke(Some(token)).answer_revoked("jti").expect(hits)
}

#[test]
fn logout_revokes_both_tokens_and_deletes_the_client() {
    let mut world = World::new();
    let (access, refresh) = (world.jwt(3600), world.refresh_jwt("r1"));
    world.write_renewable_file(&access, 3600, &refresh);
    world.mark_client_created();
    let revoke_access = mock_revoke(&mut world, &access, 1);
    let revoke_refresh = mock_revoke(&mut world, &refresh, 1);
    let delete_client = world
        .server
        .delete_client(CLIENT_ID)
        .with_tapis_token(&access)
        .answer_envelope(200, "Client deleted.", serde_json::Value::Null)
        .expect(1);

    let output = run(world.tapis().arg("logout"));
    assert_exit(&output, 0);
    revoke_access.assert();
    revoke_refresh.assert();
    delete_client.assert();
    assert!(!world.token_file().exists());
    world.settings().bind(|| insta::assert_snapshot!("logout_with_client", stderr(&output)));
}

#[test]
fn logout_keep_client_keeps_a_client_that_the_next_login_uses() {
    let mut world = World::new();
    let (access, refresh) = (world.jwt(3600), world.refresh_jwt("r1"));
    world.write_renewable_file(&access, 3600, &refresh);
    world.mark_client_created();
    let revoke_access = mock_revoke(&mut world, &access, 1);
    let revoke_refresh = mock_revoke(&mut world, &refresh, 1);
    let delete_client = world.server.on("DELETE", Matcher::Any).expect(0);

    let output = run(world.tapis().args(["logout", "--keep-client"]));
    assert_exit(&output, 0);
    revoke_access.assert();
    revoke_refresh.assert();
    delete_client.assert();
    assert!(stderr(&output).contains(&format!("Kept the OAuth client {CLIENT_ID}")), "{}", stderr(&output));
    world.settings().bind(|| insta::assert_snapshot!("logout_keep_client", stderr(&output)));
    // The tokens are gone, the client's id and key stay, private.
    let saved = world.saved();
    assert!(saved.get("access_token").is_none() && saved.get("refresh_token").is_none(), "{saved}");
    assert_eq!((&saved["client_id"], &saved["client_key"]), (&json!(CLIENT_ID), &json!(CLIENT_KEY)));
    #[cfg(unix)]
    assert_eq!(mode_of(&world.token_file()), 0o600);
    let status = run(world.tapis().arg("status"));
    assert_exit(&status, 3);
    assert!(stdout(&status).contains(&format!("Client:     {CLIENT_ID}, kept")), "{}", stdout(&status));

    // The next login: one grant through the kept client, none without it, no client made.
    let grant_without_client = world.server.password_grant(USERNAME, PASSWORD).without_client().expect(0);
    let create_client = world.server.create_client().expect(0);
    let (grant_via_client, new_access) = world.mock_grant_via_client(1);
    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 0);
    grant_via_client.assert();
    grant_without_client.assert();
    create_client.assert();
    let saved = world.saved();
    assert_eq!(saved["access_token"], new_access.as_str());
    assert_eq!(saved["created_client_id"], CLIENT_ID, "a logout still deletes it");
    let status = run(world.tapis().arg("status"));
    assert!(
        stdout(&status).contains(&format!("Renewal:    on, through the OAuth client {CLIENT_ID}")),
        "{}",
        stdout(&status)
    );
    world.server.assert_no_strays();
}

#[test]
fn whoami_shows_the_profile() {
    let mut world = World::new();
    let access = world.jwt(3600);
    world.write_renewable_file(&access, 3600, &world.refresh_jwt("r1"));
    let userinfo = world.server.userinfo().with_tapis_token(&access).answer_userinfo(USERNAME).expect(2);

    let output = run(world.tapis().arg("whoami"));
    assert_exit(&output, 0);
    world.settings().bind(|| insta::assert_snapshot!("whoami", stdout(&output)));
    let output = run(world.tapis().args(["whoami", "--json"]));
    assert_exit(&output, 0);
    let profile: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(profile["email"], "jdoe@example.org");
    userinfo.assert();
}

#[test]
fn status_shows_renewal() {
    let world = World::new();
    world.write_renewable_file(&world.jwt(3600), 3600, &world.refresh_jwt("r1"));
    let output = run(world.tapis().arg("status"));
    assert_exit(&output, 0);
    world.settings().bind(|| insta::assert_snapshot!("status_with_renewal", stdout(&output)));
}

/// The DesignSafe notebooks' reader, in Python as they run it: only `access_token` and
/// `expires_at`, `fromisoformat` after turning `Z` into `+00:00`, no offset meaning UTC.
#[cfg(unix)]
const NOTEBOOK_READER: &str = r#"
import json, sys
from datetime import datetime, timezone
with open(sys.argv[1]) as f:
    data = json.load(f)
token, expires_at = data["access_token"], data["expires_at"]
if expires_at.endswith("Z"):
    expires_at = expires_at[:-1] + "+00:00"
expiry = datetime.fromisoformat(expires_at)
if expiry.tzinfo is None:
    expiry = expiry.replace(tzinfo=timezone.utc)
print("valid" if expiry > datetime.now(timezone.utc) else "expired", token)
"#;

#[test]
#[cfg(unix)] // python3, reading the file as the notebooks do.
fn the_notebook_reader_still_reads_a_file_with_renewal_fields() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);
    assert_exit(&run(world.tapis_with_credentials().arg("login")), 0);
    login.assert();
    assert!(world.saved().get("refresh_token").is_some(), "the file has the new fields");

    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(NOTEBOOK_READER)
        .arg(world.token_file())
        .output()
        .expect("python3");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("valid {jwt}\n"));
}
