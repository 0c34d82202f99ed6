//! The user asked for is part of the target: another user's tokens or kept client are not
//! handed out, renewed or replaced without `force`, and an OAuth client is used only for its
//! own user's grants. The mock records which client each grant used (`through_client`,
//! `without_client`).

use std::fs;

use serde_json::json;
use tapis_auth::blocking::connect;
use tapis_auth::{AuthError, LoginOptions, Origin};

use crate::support::*;

const ALICE: &str = "alice";
const ALICE_PASSWORD: &str = "alice's own password";
const CLIENT_ID: &str = "tapis-cli-jdoe-4f2a";
const CLIENT_KEY: &str = "client-key-9b1e77";
const ALICE_CLIENT_ID: &str = "tapis-cli-alice-77c1";
const ALICE_CLIENT_KEY: &str = "client-key-alice-0d3e";

/// The files jdoe's sign-in leaves that a sign-in as alice must not use or discard.
#[derive(Debug, Clone, Copy, PartialEq)]
enum JdoesFile {
    /// A live access token, as the notebooks save it.
    LiveToken,
    /// An expired access token with a live refresh token and the client this tool made.
    Renewable,
    /// The client a `logout --keep-client` left, without tokens.
    KeptClient,
    /// A live access token with the client this tool made.
    LiveWithClient,
}

/// Writes jdoe's file for `case`; returns jdoe's access token.
fn write_jdoes_file(tapis: &Tapis, options: &LoginOptions, case: JdoesFile) -> String {
    let now = tapis_testkit::now_unix();
    let (access, fields) = match case {
        JdoesFile::LiveToken => {
            let access = tapis.jwt(valid_exp());
            (access.clone(), token_file_fields(&access, valid_exp(), Some(&tapis.url())))
        }
        JdoesFile::Renewable => {
            let access = tapis.jwt(now - 60);
            let mut fields = token_file_fields(&access, now - 60, Some(&tapis.url()));
            fields["refresh_token"] = json!(tapis.server.refresh_jwt(USERNAME, now + 86_400, "refresh"));
            fields["client_id"] = json!(CLIENT_ID);
            fields["client_key"] = json!(CLIENT_KEY);
            fields["created_client_id"] = json!(CLIENT_ID);
            (access, fields)
        }
        JdoesFile::LiveWithClient => {
            let access = tapis.jwt(valid_exp());
            let mut fields = token_file_fields(&access, valid_exp(), Some(&tapis.url()));
            fields["client_id"] = json!(CLIENT_ID);
            fields["client_key"] = json!(CLIENT_KEY);
            fields["created_client_id"] = json!(CLIENT_ID);
            (access, fields)
        }
        JdoesFile::KeptClient => (
            String::new(),
            json!({"base_url": tapis.url(), "client_id": CLIENT_ID, "client_key": CLIENT_KEY,
                   "created_client_id": CLIENT_ID, "username": USERNAME}),
        ),
    };
    write_token_file(&options.token_file, &fields);
    access
}

#[track_caller]
fn assert_other_user(result: Result<Origin, AuthError>, context: &str) {
    match result {
        Err(error @ AuthError::OtherUser { .. }) => {
            let text = error.to_string();
            assert!(text.contains(USERNAME) && text.contains(ALICE), "{context}: {text}");
        }
        other => panic!("{context}: expected OtherUser, got {other:?}"),
    }
}

#[test]
fn another_users_tokens_are_refused_before_any_request() {
    for case in [JdoesFile::LiveToken, JdoesFile::Renewable, JdoesFile::KeptClient] {
        let context = format!("{case:?}");
        let mut tapis = Tapis::new();
        let folder = tempfile::tempdir().expect("temp folder");
        let mut options = with_credentials(options(&tapis, folder.path()), ALICE, ALICE_PASSWORD);
        options.no_refresh = false;
        write_jdoes_file(&tapis, &options, case);
        let before = fs::read(&options.token_file).expect("the token file");
        let token_endpoint = tapis.server.token_endpoint().expect(0);

        // Asked for by name (a flag, a variable, a profile, a Python argument).
        assert_other_user(connect(&options, &mut Scripted::no_terminal()).map(|s| s.origin()), &context);
        // Nor logged out of by a logout that names alice.
        assert_other_user(tapis_auth::blocking::logout(&options).map(|_| Origin::Saved), &context);
        // Asked for at the prompt (nobody named, and jdoe's client kept without a token, so
        // a login is needed): refused once the name is known, before the password.
        if case == JdoesFile::KeptClient {
            let mut prompted = options.clone();
            prompted.credentials = tapis_auth::Credentials::default();
            let mut prompter = Scripted::answering(&[(ALICE, ALICE_PASSWORD)]);
            assert_other_user(connect(&prompted, &mut prompter).map(|s| s.origin()), &context);
            assert_eq!(prompter.n_password_prompts, 0, "{context}: no password asked");
        }

        assert_eq!(fs::read(&options.token_file).expect("the token file"), before, "{context}: changed");
        token_endpoint.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn the_user_asked_for_gets_their_own_saved_token() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    let access = write_jdoes_file(&tapis, &options, JdoesFile::LiveToken);
    let token_endpoint = tapis.server.token_endpoint().expect(0);

    let session = connect(&options, &mut Scripted::no_terminal()).expect("the saved token");
    assert_eq!((session.origin(), session.access_token().expose_secret()), (Origin::Saved, access.as_str()));
    token_endpoint.assert();
    tapis.assert_no_strays();
}

/// A forced login as alice over jdoe's file: alice's grants never go through jdoe's client,
/// and jdoe's client is deleted with jdoe's live token, or, without one, named as left behind.
#[track_caller]
fn check_forced(case: JdoesFile, prompted: bool) {
    let context = format!("{case:?}, prompted: {prompted}");
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = with_credentials(options(&tapis, folder.path()), ALICE, ALICE_PASSWORD);
    options.no_refresh = false;
    options.force = true;
    let jdoes_access = write_jdoes_file(&tapis, &options, case);
    let mut prompter = Scripted::no_terminal();
    if prompted {
        options.credentials = tapis_auth::Credentials::default();
        prompter = Scripted::answering(&[(ALICE, ALICE_PASSWORD)]);
    }

    let exp = valid_exp();
    let first = tapis.server.access_jwt(ALICE, exp);
    let (fresh, refresh) = (tapis.server.access_jwt(ALICE, exp + 1), tapis.server.refresh_jwt(ALICE, exp, "a"));
    let through_jdoes = tapis.server.token_endpoint().through_client(CLIENT_ID, CLIENT_KEY).expect(0);
    let first_grant =
        tapis.server.password_grant(ALICE, ALICE_PASSWORD).without_client().answer_tokens(&first, exp).expect(1);
    let create = tapis
        .server
        .create_client()
        .with_tapis_token(&first)
        .answer_client(ALICE_CLIENT_ID, ALICE_CLIENT_KEY, ALICE)
        .expect(1);
    let second_grant = tapis
        .server
        .password_grant(ALICE, ALICE_PASSWORD)
        .through_client(ALICE_CLIENT_ID, ALICE_CLIENT_KEY)
        .answer_tokens_with_refresh(&fresh, exp + 1, &refresh, exp)
        .expect(1);
    let deletable = case == JdoesFile::LiveWithClient;
    let delete = tapis
        .server
        .delete_client(CLIENT_ID)
        .with_tapis_token(&jdoes_access)
        .answer_envelope(200, "Client deleted.", serde_json::Value::Null)
        .expect(usize::from(deletable));

    let session = connect(&options, &mut prompter).expect("logged in as alice");
    assert_eq!(session.username(), Some(ALICE), "{context}");
    let file = saved(&options.token_file);
    assert_eq!(file["client_id"], ALICE_CLIENT_ID, "{context}");
    let told = prompter.notices_of(if deletable { "PreviousClientDeleted" } else { "PreviousClientLeftBehind" });
    assert!(told.len() == 1 && told[0].contains(CLIENT_ID), "{context}: {:?}", prompter.notices);
    through_jdoes.assert();
    first_grant.assert();
    create.assert();
    second_grant.assert();
    delete.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_forced_login_as_another_user_never_uses_their_client_and_deletes_it_or_names_it() {
    check_forced(JdoesFile::KeptClient, false);
    check_forced(JdoesFile::KeptClient, true);
    check_forced(JdoesFile::Renewable, false);
    check_forced(JdoesFile::Renewable, true);
    check_forced(JdoesFile::LiveWithClient, false);
    check_forced(JdoesFile::LiveWithClient, true);
}
