//! The redaction registry's size over many calls. The registry is the process's, so this
//! test has a process of its own: no other test adds or drops secrets meanwhile.

use tapis_auth::{ApiRequest, LoginOptions, NoPrompt, blocking};
use tapis_testkit::{claims, isoformat_seconds, jwt, now_unix};

/// A token file holding a valid access token and a refresh token for `url`.
fn token_file(folder: &std::path::Path, url: &str, access: &str, refresh: &str) -> std::path::PathBuf {
    let exp = now_unix() + 4 * 3600;
    let fields = serde_json::json!({
        "access_token": access, "expires_at": isoformat_seconds(exp), "base_url": url,
        "refresh_token": refresh, "refresh_expires_at": isoformat_seconds(exp + 3600),
        "client_id": "registry-client", "client_key": "registry-client-key",
    });
    let path = folder.join("tokens.json");
    std::fs::write(&path, fields.to_string()).expect("write the token file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    }
    path
}

#[test]
fn calls_add_nothing_to_the_registry_and_a_replaced_token_is_forgotten() {
    let mut server = mockito::Server::new();
    let url = server.url();
    let exp = now_unix() + 4 * 3600;
    let first = jwt(&claims("jdoe", exp, &url));
    let folder = tempfile::tempdir().expect("temp folder");
    let path = token_file(folder.path(), &url, &first, "registry-refresh-token-1");
    let calls = server.mock("GET", "/v3/jobs/list").with_status(200).with_body("{}").expect(1001).create();
    let options = LoginOptions::new(url.parse().expect("a loopback URL"), path);

    let mut session = blocking::connect(&options, &mut NoPrompt).expect("the saved token");
    blocking::call(&mut session, &ApiRequest::get("/v3/jobs/list")).expect("the first call");
    let after_one = tapis_auth::secrets::n_remembered();
    for _ in 0..1000 {
        blocking::call(&mut session, &ApiRequest::get("/v3/jobs/list")).expect("a call");
    }
    assert_eq!(tapis_auth::secrets::n_remembered(), after_one, "the registry grew with the calls");
    calls.assert();
    assert_eq!(tapis_auth::redact(&first), "***");

    // Another session on the same token keeps it remembered; once both are gone, and the
    // file holds another token, it is forgotten.
    let again = blocking::connect(&options, &mut NoPrompt).expect("the saved token again");
    assert_eq!(tapis_auth::secrets::n_remembered(), after_one, "a secret is remembered once");
    drop(session);
    assert_eq!(tapis_auth::redact(&first), "***", "still held by the second session");
    drop(again);
    assert_eq!(tapis_auth::redact(&first), first, "a token no session holds is forgotten");
    assert_eq!(tapis_auth::redact("registry-client-key"), "***", "a client's key is kept");
}
