//! The login flow (`connect`), `logout` and `Session` against a mock Tapis and a token file in
//! a temporary folder.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use mockito::Matcher;
use serde_json::json;
use tapis_auth::blocking::{connect, logout};
use tapis_auth::{ApiRequest, AuthError, LoginOptions, Origin, PromptError, Session, blocking};
use tapis_store::TokenStore;

use crate::support::*;

/// Holds the token file's lock, so that a `connect` that should not need it fails (with a
/// lock timeout) if it takes it anyway.
fn hold_lock(options: &LoginOptions) -> tapis_store::StoreLock {
    TokenStore::new(&options.token_file).lock(Duration::from_secs(5)).expect("the lock is free")
}

#[track_caller]
fn assert_saved_token(path: &Path, access: &str, tapis: &Tapis) {
    let file = saved(path);
    assert_eq!(file["access_token"], json!(access), "{file}");
    assert!(file["expires_at"].is_string(), "the notebooks' field: {file}");
    assert_eq!(file["base_url"], json!(tapis.url()), "{file}");
    let tokens = TokenStore::new(path).load().expect("loads").tokens.expect("a token");
    assert_eq!(tokens.access.expose_secret(), access);
}

#[test]
fn first_login_is_saved_and_reused_without_a_request() {
    let mut tapis = Tapis::new();
    let (login, access) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);

    let first = connect(&options, &mut Scripted::no_terminal()).expect("logged in");
    assert_eq!(first.origin(), Origin::LoggedIn);
    assert!(first.is_saved());
    assert_eq!(first.access_token().expose_secret(), access);
    assert_eq!(first.username(), Some(USERNAME));
    assert_saved_token(&options.token_file, &access, &tapis);

    let before = fs::read(&options.token_file).expect("read");
    let second = {
        let _lock = hold_lock(&options);
        connect(&options, &mut Scripted::no_terminal()).expect("the saved token")
    };
    assert_eq!(second.origin(), Origin::Saved);
    assert_eq!(second.access_token().expose_secret(), access);
    assert_eq!(fs::read(&options.token_file).expect("read"), before, "the file is not rewritten");

    login.assert();
    tapis.assert_no_strays();
}

/// A saved token for the mock server `seconds_left` from expiry; what `connect` does with it.
struct SavedCase {
    seconds_left: i64,
    min_valid: i64,
    force: bool,
    record_base_url: bool,
    expected: Origin,
}

#[track_caller]
fn check_saved(case: SavedCase) {
    let SavedCase { seconds_left, min_valid, force, record_base_url, expected } = case;
    let context = format!("{seconds_left}s left, min_valid {min_valid}s, force {force}");
    let mut tapis = Tapis::new();
    let n_requests = usize::from(expected == Origin::LoggedIn);
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, n_requests);
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    options.min_valid = TimeDelta::seconds(min_valid);
    options.force = force;
    let exp = tapis_testkit::now_unix() + seconds_left;
    let old = tapis.jwt(exp);
    let url = tapis.url();
    write_token_file(&options.token_file, &token_file_fields(&old, exp, record_base_url.then_some(url.as_str())));
    let before = fs::read(&options.token_file).expect("read");

    let session = if expected == Origin::Saved {
        let _lock = hold_lock(&options);
        connect(&options, &mut Scripted::no_terminal())
    } else {
        connect(&options, &mut Scripted::no_terminal())
    }
    .unwrap_or_else(|error| panic!("{context}: {error:?}"));

    assert_eq!(session.origin(), expected, "{context}");
    if expected == Origin::Saved {
        assert_eq!(session.access_token().expose_secret(), old, "{context}");
        assert_eq!(fs::read(&options.token_file).expect("read"), before, "{context}");
    } else {
        assert_eq!(session.access_token().expose_secret(), fresh, "{context}");
        assert_saved_token(&options.token_file, &fresh, &tapis);
    }
    login.assert();
    tapis.assert_no_strays();
}

#[test]
fn saved_tokens_are_used_while_valid_with_the_margin() {
    let case = |seconds_left, min_valid, force, record_base_url, expected| SavedCase {
        seconds_left,
        min_valid,
        force,
        record_base_url,
        expected,
    };
    check_saved(case(4 * 3600, 60, false, false, Origin::Saved));
    check_saved(case(4 * 3600, 60, false, true, Origin::Saved));
    check_saved(case(600, 60, false, false, Origin::Saved));
    check_saved(case(4 * 3600, 60, true, false, Origin::LoggedIn));
    check_saved(case(4 * 3600, 60, true, true, Origin::LoggedIn));
    check_saved(case(-3600, 60, false, false, Origin::LoggedIn));
    check_saved(case(-3600, 0, false, true, Origin::LoggedIn));
    check_saved(case(30, 60, false, false, Origin::LoggedIn));
    check_saved(case(30, 5, false, false, Origin::Saved));
}

#[test]
fn a_token_of_another_server_is_never_sent() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    let foreign = jwt("https://tacc.tapis.io", USERNAME, valid_exp());
    write_token_file(&options.token_file, &token_file_fields(&foreign, valid_exp(), None));

    // Any request that carries the old token, in its body or in any header.
    let leaks = {
        let foreign = foreign.clone();
        move |request: &mockito::Request| {
            let in_body = request.utf8_lossy_body().is_ok_and(|body| body.contains(&foreign));
            let in_headers =
                request.headers().values().any(|value| value.to_str().is_ok_and(|value| value.contains(&foreign)));
            in_body || in_headers
        }
    };
    let exp = valid_exp();
    let fresh = tapis.jwt(exp);
    let login = tapis
        .server
        .token_endpoint()
        .with_body(grant(USERNAME, PASSWORD))
        .matching({
            let leaks = leaks.clone();
            move |request| !leaks(request)
        })
        .answer_tokens(&fresh, exp)
        .expect(1);
    let leaked: Vec<_> = ["GET", "POST"]
        .into_iter()
        .map(|method| tapis.server.on(method, Matcher::Any).matching(leaks.clone()).expect(0))
        .collect();
    let mut prompter = Scripted::no_terminal();

    // Live tokens of another server are not replaced unless the login is forced.
    let before = std::fs::read(&options.token_file).expect("the token file");
    match connect(&options, &mut prompter) {
        Err(AuthError::OtherServer { server, .. }) => assert_eq!(server, "https://tacc.tapis.io"),
        other => panic!("expected OtherServer, got {:?}", other.map(|session| session.origin())),
    }
    assert_eq!(std::fs::read(&options.token_file).expect("the token file"), before, "left byte for byte");
    let mut options = options;
    options.force = true;
    let session = connect(&options, &mut prompter).expect("logged in");

    assert_eq!(session.origin(), Origin::LoggedIn);
    assert_eq!(session.access_token().expose_secret(), fresh);
    let notices = prompter.notices_of("TokenForOtherServer");
    assert_eq!(notices.len(), 1, "{:?}", prompter.notices);
    assert!(notices[0].contains("https://tacc.tapis.io"), "{notices:?}");
    assert_saved_token(&options.token_file, &fresh, &tapis);
    login.assert();
    for mock in &leaked {
        mock.assert();
    }
    tapis.assert_no_strays();
}

/// Prompted logins: the prompter's answers, the attempt limit, and what comes of it.
#[track_caller]
fn check_prompted(passwords: &[&str], n_prompt_attempts: u32, expected_requests: usize, expected_ok: bool) {
    let context = format!("answers {passwords:?}, {n_prompt_attempts} attempts");
    let mut tapis = Tapis::new();
    let n_wrong = expected_requests - usize::from(expected_ok);
    let wrong = tapis
        .server
        .token_endpoint()
        .with_body(Matcher::PartialJson(json!({"username": USERNAME, "grant_type": "password"})))
        .matching(|request| request.utf8_lossy_body().is_ok_and(|body| body.contains("wrong")))
        .answer_error(400, REJECTED)
        .expect(n_wrong);
    let (right, fresh) = tapis.login_ok(USERNAME, PASSWORD, usize::from(expected_ok));
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = options(&tapis, folder.path());
    options.n_prompt_attempts = n_prompt_attempts;
    let answers: Vec<(&str, &str)> = passwords.iter().map(|password| (USERNAME, *password)).collect();
    let mut prompter = Scripted::answering(&answers);

    let result = connect(&options, &mut prompter);

    let n_prompts = u32::try_from(expected_requests).expect("small");
    // The username is asked once: a rejection asks again for the password only.
    assert_eq!((prompter.n_username_prompts, prompter.n_password_prompts), (1, n_prompts), "{context}");
    let rejections: Vec<String> = (1..n_prompts)
        .take(n_wrong)
        .map(|attempt| {
            format!("CredentialsRejected {{ message: {REJECTED:?}, attempts_left: {} }}", n_prompt_attempts - attempt)
        })
        .collect();
    match &result {
        Ok(session) if expected_ok => {
            assert_eq!(session.origin(), Origin::LoggedIn, "{context}");
            assert_eq!(session.access_token().expose_secret(), fresh, "{context}");
            assert_saved_token(&options.token_file, &fresh, &tapis);
        }
        Err(AuthError::CredentialsRejected { message, n_attempts }) if !expected_ok => {
            assert_eq!((message.as_str(), *n_attempts), (REJECTED, n_prompts), "{context}");
            assert!(!options.token_file.exists(), "{context}: nothing saved");
        }
        other => panic!("{context}: {other:?}"),
    }
    assert_eq!(prompter.notices_of("CredentialsRejected"), rejections, "{context}");
    wrong.assert();
    right.assert();
    tapis.assert_no_strays();
}

#[test]
fn prompted_credentials_are_asked_again_up_to_the_limit() {
    check_prompted(&[PASSWORD], 3, 1, true);
    check_prompted(&["wrong-1", "wrong-2", PASSWORD], 3, 3, true);
    check_prompted(&["wrong-1", "wrong-2", "wrong-3"], 3, 3, false);
    check_prompted(&["wrong-1", "wrong-2", "wrong-3"], 2, 2, false);
    check_prompted(&["wrong-1", PASSWORD], 1, 1, false);
}

#[test]
fn a_rejection_about_the_username_asks_for_the_username_again() {
    const NO_ACCESS: &str = "Invalid username; user jdoe-typo does not have access to the designsafe tenant.";
    let mut tapis = Tapis::new();
    let wrong = tapis.login_rejected("jdoe-typo", PASSWORD, NO_ACCESS, 1);
    let (right, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let mut prompter = Scripted::answering(&[("jdoe-typo", PASSWORD), (USERNAME, PASSWORD)]);

    let session = connect(&options, &mut prompter).expect("logged in on the second try");

    assert_eq!(session.access_token().expose_secret(), fresh);
    assert_eq!((prompter.n_username_prompts, prompter.n_password_prompts), (2, 2));
    wrong.assert();
    right.assert();
    tapis.assert_no_strays();
}

#[test]
fn a_supplied_username_with_a_prompted_password_is_asked_again() {
    let mut tapis = Tapis::new();
    let wrong = tapis.login_rejected(USERNAME, "wrong", REJECTED, 1);
    let (right, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = options(&tapis, folder.path());
    options.credentials.username = Some(USERNAME.to_owned());
    let mut prompter = Scripted {
        passwords: ["wrong".to_owned(), PASSWORD.to_owned()].into(),
        can_prompt: true,
        ..Scripted::default()
    };

    let session = connect(&options, &mut prompter).expect("logged in on the second try");

    assert_eq!(session.access_token().expose_secret(), fresh);
    assert_eq!((prompter.n_username_prompts, prompter.n_password_prompts), (0, 2));
    wrong.assert();
    right.assert();
    tapis.assert_no_strays();
}

#[test]
fn supplied_credentials_are_tried_once() {
    let mut tapis = Tapis::new();
    let wrong = tapis.login_rejected(USERNAME, "wrong", REJECTED, 1);
    let (right, _) = tapis.login_ok(USERNAME, PASSWORD, 0);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, "wrong");
    let mut prompter = Scripted::answering(&[(USERNAME, PASSWORD)]);

    let result = connect(&options, &mut prompter);

    match &result {
        Err(AuthError::CredentialsRejected { message, n_attempts: 1 }) => assert_eq!(message, REJECTED),
        other => panic!("expected CredentialsRejected after 1 attempt, got {other:?}"),
    }
    assert_eq!(prompter.n_prompts(), 0, "supplied credentials are not asked for again");
    assert_eq!(prompter.notices_of("CredentialsRejected"), Vec::<&str>::new());
    assert!(!options.token_file.exists());
    wrong.assert();
    right.assert();
    tapis.assert_no_strays();
}

#[test]
fn without_credentials_or_a_terminal_login_fails_at_once() {
    for (username, password) in [(None, None), (Some(USERNAME), None), (None, Some(PASSWORD))] {
        let context = format!("username {username:?}, password given: {}", password.is_some());
        let mut tapis = Tapis::new();
        let login = tapis.server.token_endpoint().expect(0);
        let folder = tempfile::tempdir().expect("temp folder");
        let mut options = options(&tapis, folder.path());
        options.credentials.username = username.map(str::to_owned);
        options.credentials.password = password.map(|password| password.to_owned().into());
        let mut prompter = Scripted::no_terminal();

        let started = Instant::now();
        let result = {
            // The failure needs no lock; one that waited for it would time out instead.
            let _lock = hold_lock(&options);
            connect(&options, &mut prompter)
        };
        let elapsed = started.elapsed();

        match &result {
            // A password alone names nobody: the error says which part is missing.
            Err(AuthError::PasswordWithoutUsername { base_url, .. }) if password.is_some() => {
                assert_eq!(base_url, &tapis.base_url().to_string());
            }
            Err(AuthError::NoCredentials { base_url, lapsed_at: None }) if password.is_none() => {
                assert_eq!(base_url, &tapis.base_url().to_string());
            }
            other => panic!("{context}: expected NoCredentials, got {other:?}"),
        }
        assert!(elapsed < Duration::from_secs(4), "{context}: took {elapsed:?}");
        assert_eq!(prompter.n_prompts(), 0, "{context}");
        assert!(!options.token_file.exists(), "{context}");
        login.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn an_unusable_token_file_is_replaced_by_a_login() {
    let contents: [&[u8]; 5] = [b"not json", b"", b"[]", br#"{"access_token": 5}"#, b"\xff\xfe"];
    for content in contents {
        let context = format!("file {:?}", String::from_utf8_lossy(content));
        let mut tapis = Tapis::new();
        let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
        let folder = tempfile::tempdir().expect("temp folder");
        let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
        write_raw_token_file(&options.token_file, content);
        let mut prompter = Scripted::no_terminal();

        let session = connect(&options, &mut prompter).unwrap_or_else(|error| panic!("{context}: {error:?}"));

        assert_eq!(session.origin(), Origin::LoggedIn, "{context}");
        let notices = prompter.notices_of("UnusableTokenFile");
        assert_eq!(notices.len(), 1, "{context}: {:?}", prompter.notices);
        assert_saved_token(&options.token_file, &fresh, &tapis);
        // What was replaced is kept next to it, and the user is told where.
        let kept = prompter.notices_of("UnusableFileKept");
        assert_eq!(kept.len(), 1, "{context}: {:?}", prompter.notices);
        let copies: Vec<_> = fs::read_dir(folder.path())
            .expect("list")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.to_string_lossy().contains("tokens.json.corrupt-"))
            .collect();
        let [copy] = copies.as_slice() else { panic!("{context}: one copy, not {copies:?}") };
        assert_eq!(fs::read(copy).expect("read the copy"), content, "{context}");
        // The notice is recorded as its Debug text, which escapes a Windows path's backslashes.
        assert!(kept[0].contains(&format!("{copy:?}")), "{context}: {kept:?}");
        login.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn end_of_input_at_the_prompt_changes_nothing() {
    // Ctrl-D at the username prompt, then at the password prompt.
    for usernames in [vec![], vec![USERNAME.to_owned()]] {
        let context = format!("usernames {usernames:?}");
        let mut tapis = Tapis::new();
        let login = tapis.server.token_endpoint().expect(0);
        let folder = tempfile::tempdir().expect("temp folder");
        let options = options(&tapis, folder.path());
        let exp = tapis_testkit::now_unix() - 3600;
        write_token_file(&options.token_file, &token_file_fields(&tapis.jwt(exp), exp, None));
        let before = fs::read(&options.token_file).expect("read");
        let n_usernames = u32::try_from(usernames.len()).expect("small");
        let mut prompter = Scripted { can_prompt: true, usernames: usernames.into(), ..Scripted::default() };

        let result = connect(&options, &mut prompter);

        assert!(matches!(result, Err(AuthError::Prompt(PromptError::EndOfInput))), "{context}: {result:?}");
        assert_eq!((prompter.n_username_prompts, prompter.n_password_prompts), (1, n_usernames), "{context}");
        assert_eq!(fs::read(&options.token_file).expect("read"), before, "{context}");
        login.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn prompted_usernames_are_trimmed_and_must_not_be_empty() {
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());

    let mut blank = Scripted::answering(&[("  \t ", PASSWORD)]);
    let result = connect(&options, &mut blank);
    assert!(matches!(result, Err(AuthError::Prompt(PromptError::Empty("username")))), "{result:?}");
    assert_eq!((blank.n_username_prompts, blank.n_password_prompts), (1, 0));

    let mut padded = Scripted::answering(&[(" jdoe\n", PASSWORD)]);
    let session = connect(&options, &mut padded).expect("logged in as jdoe");
    assert_eq!(session.access_token().expose_secret(), fresh);
    login.assert();
    tapis.assert_no_strays();
}

#[test]
#[cfg(unix)] // Windows: making a link takes a privilege an ordinary user lacks.
fn a_token_that_cannot_be_saved_is_still_returned() {
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    // A dangling symbolic link where the token file should be: read, it is no file; tokens
    // are never written through it.
    std::os::unix::fs::symlink(folder.path().join("elsewhere.json"), &options.token_file).expect("symlink");
    let mut prompter = Scripted::no_terminal();

    let session = connect(&options, &mut prompter).expect("logged in");

    assert_eq!(session.origin(), Origin::LoggedIn);
    assert!(!session.is_saved());
    assert_eq!(session.access_token().expose_secret(), fresh);
    assert_eq!(prompter.notices_of("NotSaved").len(), 1, "{:?}", prompter.notices);
    assert!(options.token_file.is_symlink() && !folder.path().join("elsewhere.json").exists());
    login.assert();
    tapis.assert_no_strays();
}

/// Only a missing file is "no token": a path that cannot be read as a file is an error for a
/// login and a logout alike, no request is made, and nothing there is replaced or removed.
#[test]
fn a_token_path_that_cannot_be_read_is_an_error_and_left_alone() {
    let tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    fs::create_dir(&options.token_file).expect("mkdir");
    fs::write(options.token_file.join("inside"), "kept").expect("write");
    let mut prompter = Scripted::no_terminal();

    let error = connect(&options, &mut prompter).expect_err("not a readable file");
    assert!(error.to_string().contains("cannot read the token file"), "{error}");
    assert_eq!(error.kind(), tapis_auth::ErrorKind::TokenFile);
    let error = tapis_auth::blocking::logout(&options).expect_err("not a readable file");
    assert!(error.to_string().contains("cannot read the token file"), "{error}");
    assert_eq!(fs::read_to_string(options.token_file.join("inside")).expect("still there"), "kept");
    assert!(prompter.notices_of("UnusableTokenFile").is_empty(), "{:?}", prompter.notices);
    tapis.assert_no_strays();
}

#[test]
fn a_failed_login_leaves_the_token_file_untouched() {
    enum Failure {
        Rejected,
        OtherClientError,
        Unavailable,
        NoResult,
    }
    for failure in [Failure::Rejected, Failure::OtherClientError, Failure::Unavailable, Failure::NoResult] {
        let mut tapis = Tapis::new();
        let (mock, context) = match failure {
            Failure::Rejected => (tapis.login_rejected(USERNAME, PASSWORD, REJECTED, 1), "rejected"),
            Failure::OtherClientError => (
                tapis.token_answer(
                    400,
                    &tapis_testkit::error_response("Missing the required grant_type parameter."),
                    1,
                ),
                "another 400",
            ),
            Failure::Unavailable => {
                (tapis.token_answer(503, &tapis_testkit::error_response("Service Unavailable"), 3), "503")
            }
            Failure::NoResult => (tapis.token_answer(200, r#"{"message": "ok", "status": "success"}"#, 1), "no result"),
        };
        let folder = tempfile::tempdir().expect("temp folder");
        let mut options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
        options.force = true;
        let exp = valid_exp();
        write_token_file(&options.token_file, &token_file_fields(&tapis.jwt(exp), exp, Some(&tapis.url())));
        let before = fs::read(&options.token_file).expect("read");

        let result = connect(&options, &mut Scripted::no_terminal());

        let expected = matches!(
            (&failure, &result),
            (Failure::Rejected, Err(AuthError::CredentialsRejected { .. }))
                | (Failure::OtherClientError, Err(AuthError::Server { status: 400, .. }))
                | (Failure::Unavailable, Err(AuthError::Unavailable { n_attempts: 3, .. }))
                | (Failure::NoResult, Err(AuthError::InvalidResponse { .. }))
        );
        assert!(expected, "{context}: {result:?}");
        assert_eq!(fs::read(&options.token_file).expect("read"), before, "{context}");
        mock.assert();
        tapis.assert_no_strays();
    }
}

#[test]
fn concurrent_connects_log_in_once() {
    const N_THREADS: usize = 4;
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    options.lock_timeout = Duration::from_secs(60);
    let barrier = Arc::new(Barrier::new(N_THREADS));

    let sessions: Vec<Session> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..N_THREADS)
            .map(|_| {
                let (options, barrier) = (&options, Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    connect(options, &mut Scripted::no_terminal())
                })
            })
            .collect();
        threads.into_iter().map(|thread| thread.join().expect("no panic").expect("a session")).collect()
    });

    let origins: Vec<Origin> = sessions.iter().map(Session::origin).collect();
    assert_eq!(origins.iter().filter(|origin| **origin == Origin::LoggedIn).count(), 1, "{origins:?}");
    assert!(sessions.iter().all(|session| session.access_token().expose_secret() == fresh), "{origins:?}");
    login.assert();
    tapis.assert_no_strays();
}

/// What logout finds, and what it should do.
#[derive(Debug, Clone, Copy)]
enum SavedFile {
    Nothing,
    Valid,
    Expired,
    OtherServerRecorded,
}

#[track_caller]
fn check_logout(
    saved_file: SavedFile,
    revoke_answer: Option<(usize, &str, usize)>,
    expected: (bool, bool),
    reason_fragment: Option<&str>,
) {
    let context = format!("{saved_file:?}, revoke answer {revoke_answer:?}");
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let token_file = folder.path().join("tokens.json");
    let url = tapis.url();
    let (access, exp, base_url) = match saved_file {
        SavedFile::Nothing | SavedFile::Valid => (tapis.jwt(valid_exp()), valid_exp(), None),
        SavedFile::Expired => {
            let exp = tapis_testkit::now_unix() - 60;
            (tapis.jwt(exp), exp, Some(url.as_str()))
        }
        SavedFile::OtherServerRecorded => (tapis.jwt(valid_exp()), valid_exp(), Some("https://tacc.tapis.io")),
    };
    if !matches!(saved_file, SavedFile::Nothing) {
        write_token_file(&token_file, &token_file_fields(&access, exp, base_url));
    }
    let revoke = match revoke_answer {
        Some((status, message, hits)) => tapis.server.revoke(Some(&access)).answer_error(status, message).expect(hits),
        None => tapis.server.revoke(None).expect(0),
    };

    let mut logout_options = LoginOptions::new(tapis.base_url(), &token_file);
    logout_options.client = client_config();
    let report = logout(&logout_options).unwrap_or_else(|error| panic!("{context}: {error:?}"));

    assert_eq!((report.removed_file, report.revoked), expected, "{context}: {report:?}");
    match reason_fragment {
        None => assert!(report.not_revoked_because.is_none(), "{context}: {report:?}"),
        Some(fragment) => assert!(
            report.not_revoked_because.as_deref().is_some_and(|reason| reason.contains(fragment)),
            "{context}: expected {fragment:?} in {report:?}"
        ),
    }
    assert!(!token_file.exists(), "{context}: the file is gone");
    revoke.assert();
    tapis.assert_no_strays();
}

#[test]
fn logout_revokes_a_valid_token_and_removes_the_file() {
    check_logout(SavedFile::Valid, Some((200, "Token jti has been revoked.", 1)), (true, true), None);
    check_logout(SavedFile::Nothing, None, (false, false), Some("no saved token"));
    let invalid = "Invalid POST data; could not validate the token: Signature verification failed.";
    check_logout(SavedFile::Valid, Some((400, invalid, 1)), (true, false), Some(invalid));
    check_logout(SavedFile::Valid, Some((503, "Service Unavailable", 3)), (true, false), Some("after 3 attempts"));
    check_logout(SavedFile::Expired, None, (true, false), Some("expired"));
    // Another server's tokens are refused (see `safety.rs`); tokens that no server can claim
    // (the record and the issuer disagree) are removed without being sent anywhere.
    check_logout(SavedFile::OtherServerRecorded, None, (true, false), Some("no known server"));
}

#[test]
fn session_requests_carry_the_token_to_its_own_server_only() {
    let mut tapis = Tapis::new();
    let (login, fresh) = tapis.login_ok(USERNAME, PASSWORD, 1);
    let folder = tempfile::tempdir().expect("temp folder");
    let options = with_credentials(options(&tapis, folder.path()), USERNAME, PASSWORD);
    let userinfo =
        tapis.server.userinfo().with_tapis_token(&fresh).without_client().answer_userinfo(USERNAME).expect(2);

    let logged_in = connect(&options, &mut Scripted::no_terminal()).expect("logged in");
    let from_file = connect(&options, &mut Scripted::no_terminal()).expect("the saved token");
    assert_eq!((logged_in.origin(), from_file.origin()), (Origin::LoggedIn, Origin::Saved));

    for mut session in [logged_in, from_file] {
        let answer = blocking::call(&mut session, &ApiRequest::get(USERINFO_PATH)).expect("sent");
        assert_eq!(answer.status, 200, "{:?}", session.origin());
        for path in ["https://evil.example/", "//evil.example/x", "evil.example"] {
            match blocking::call(&mut session, &ApiRequest::get(path)) {
                Err(AuthError::ForeignPath { path: refused, .. }) => assert_eq!(refused, path),
                Err(other) => panic!("{path:?}: expected ForeignPath, got {other:?}"),
                Ok(_) => panic!("{path:?}: expected ForeignPath, got a request"),
            }
        }
    }
    login.assert();
    userinfo.assert();
    tapis.assert_no_strays();
}

/// Which client a device login goes through: `in_file` is the client in the token file,
/// `given` the one in the options; `expected` the client id sent and whether the saved
/// tokens carry its key (so that they can be renewed), or `None` for [`AuthError::NoClient`].
/// Without the key, the client in the file stays there, key and all.
fn check_device_client(
    in_file: Option<(&str, &str)>,
    given: Option<(&str, Option<&str>)>,
    expected: Option<(&str, bool)>,
) {
    let context = format!("in the file {in_file:?}, given {given:?}");
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let mut options = options(&tapis, folder.path());
    options.device_poll_interval = Duration::ZERO;
    if let Some((client_id, client_key)) = in_file {
        let exp = tapis_testkit::now_unix() - 60;
        let mut fields = token_file_fields(&tapis.jwt(exp), exp, Some(&tapis.url()));
        fields["client_id"] = json!(client_id);
        fields["client_key"] = json!(client_key);
        write_token_file(&options.token_file, &fields);
    }
    options.device_client = given.map(|(client_id, client_key)| {
        let mut client = tapis_auth::DeviceClient::new(client_id);
        client.client_key = client_key.map(|key| tapis_auth::SecretString::from(key.to_owned()));
        client
    });
    let client_id = expected.map_or("none", |(client_id, _)| client_id);
    let hits = usize::from(expected.is_some());
    let code = tapis
        .server
        .mock("POST", "/v3/oauth2/device/code")
        .match_body(Matcher::Json(json!({"client_id": client_id})))
        .with_header("content-type", "application/json")
        .with_body(
            json!({"status": "success", "message": "ok", "result": {
                "client_id": client_id, "device_code": "dc-1", "user_code": "QWERTYUI",
                "verification_uri": format!("{}/v3/oauth2/device", tapis.url()),
                "expires_in": "Tue, 04 Mar 2099 16:25:31 GMT"}})
            .to_string(),
        )
        .expect(hits)
        .create();
    let fresh = tapis.jwt(valid_exp());
    let poll = tapis
        .server
        .mock("POST", TOKENS_PATH)
        .match_body(Matcher::Json(json!({"grant_type": "device_code", "client_id": client_id, "device_code": "dc-1"})))
        .with_header("content-type", "application/json")
        .with_body(tapis_testkit::token_response(&fresh, valid_exp()))
        .expect(hits)
        .create();

    let result = blocking::device_login(&options, &mut Scripted::no_terminal());

    match (result, expected) {
        (Ok(session), Some((client_id, renewable))) => {
            assert_eq!(session.access_token().expose_secret(), fresh, "{context}");
            let saved = saved(&options.token_file);
            let (saved_id, saved_key) = match (renewable, in_file) {
                (true, _) => (Some(client_id), saved["client_key"].as_str()),
                (false, Some((id, key))) => (Some(id), Some(key)),
                (false, None) => (None, None),
            };
            assert_eq!(saved["client_id"].as_str(), saved_id, "{context}: {saved}");
            assert_eq!(saved["client_key"].as_str(), saved_key, "{context}: {saved}");
        }
        (Err(AuthError::NoClient { .. }), None) => {}
        (other, _) => panic!("{context}: unexpected {other:?}"),
    }
    code.assert();
    poll.assert();
    tapis.assert_no_strays();
}

#[test]
fn device_login_chooses_the_given_or_the_saved_client() {
    check_device_client(Some(("saved-client", "saved-key")), None, Some(("saved-client", true)));
    check_device_client(
        Some(("saved-client", "saved-key")),
        Some(("saved-client", None)),
        Some(("saved-client", true)),
    );
    check_device_client(Some(("saved-client", "saved-key")), Some(("other", None)), Some(("other", false)));
    check_device_client(None, Some(("other", Some("other-key"))), Some(("other", true)));
    check_device_client(None, Some(("other", None)), Some(("other", false)));
    check_device_client(None, None, None);
}

#[test]
fn a_login_whose_refresh_token_expired_has_lapsed() {
    let mut tapis = Tapis::new();
    let folder = tempfile::tempdir().expect("temp folder");
    let options = options(&tapis, folder.path());
    let now = tapis_testkit::now_unix();
    let mut fields = token_file_fields(&tapis.jwt(now - 7200), now - 7200, Some(&tapis.url()));
    fields["refresh_token"] = serde_json::json!(tapis.server.refresh_jwt(USERNAME, now - 60, "old"));
    fields["client_id"] = serde_json::json!("c1");
    fields["client_key"] = serde_json::json!("client-key-1");
    write_token_file(&options.token_file, &fields);
    let token_endpoint = tapis.server.token_endpoint().expect(0);

    match connect(&options, &mut Scripted::no_terminal()) {
        Err(error @ AuthError::NoCredentials { lapsed_at: Some(at), .. }) => {
            assert_eq!(at.timestamp(), now - 60);
            assert!(error.to_string().contains("has lapsed"), "{error}");
        }
        other => panic!("expected a lapsed login, got {:?}", other.map(|session| session.origin())),
    }
    token_endpoint.assert();
    tapis.assert_no_strays();
}
