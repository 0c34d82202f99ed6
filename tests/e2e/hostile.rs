//! Hostile input, everywhere it can arrive: each case checks the message, the exit code, and
//! that the previous valid token survives.

use std::fs;
use std::io::Read as _;
use std::net::{Shutdown, TcpListener};
use std::process::Output;
use std::time::Duration;

use crate::support::*;

/// A world whose token file holds a valid token; `login --force` must leave it untouched
/// whatever the server answers.
fn world_with_valid_token() -> (World, Vec<u8>) {
    let world = World::new();
    world.write_notebook_file(&world.jwt(3 * 3600), 3 * 3600);
    set_mode(&world.token_file(), 0o600);
    let before = fs::read(world.token_file()).expect("read");
    (world, before)
}

/// Runs `tapis login --force` and checks exit code, message and the file's survival.
#[track_caller]
fn check_forced_login(world: &World, before: &[u8], expected_code: i32, expected_message: &str) -> Output {
    let output = run(world.tapis_with_credentials().args(["login", "--force"]));
    assert_exit(&output, expected_code);
    let talk = stderr(&output);
    assert!(talk.contains(expected_message), "expected {expected_message:?} in:\n{talk}");
    assert!(!talk.contains("panicked"), "{talk}");
    assert_eq!(fs::read(world.token_file()).expect("read"), before, "the previous token survived");
    output
}

fn answer(world: &mut World, status: usize, content_type: &str, body: impl AsRef<[u8]>, hits: usize) -> mockito::Mock {
    world.server.token_endpoint().answer(status, content_type, body.as_ref()).expect(hits)
}

#[test]
fn server_sends_html_instead_of_json() {
    let (mut world, before) = world_with_valid_token();
    let mock = answer(&mut world, 200, "text/html", "<html><body>Sign in to the Wi-Fi</body></html>", 3);
    check_forced_login(
        &world,
        &before,
        5,
        "failed after 3 attempts: HTTP 200 OK but the answer is not JSON: <html><body>Sign in to the Wi-Fi",
    );
    mock.assert();
}

#[test]
fn server_sends_truncated_json() {
    let (mut world, before) = world_with_valid_token();
    let mock = answer(
        &mut world,
        200,
        "application/json",
        r#"{"message": "Token created successfully.", "result": {"access_tok"#,
        3,
    );
    check_forced_login(&world, &before, 5, "the answer is not JSON");
    mock.assert();
}

#[test]
fn server_sends_json_without_result() {
    let (mut world, before) = world_with_valid_token();
    let mock = answer(
        &mut world,
        200,
        "application/json",
        r#"{"message": "ok", "status": "success", "version": "26Q2.0"}"#,
        1,
    );
    check_forced_login(
        &world,
        &before,
        5,
        "sent an answer that cannot be used: there is no `result` object in the answer",
    );
    mock.assert();
}

#[test]
fn server_sends_no_access_token() {
    let (mut world, before) = world_with_valid_token();
    let mock =
        answer(&mut world, 200, "application/json", r#"{"status": "success", "result": {"refresh_token": {}}}"#, 1);
    check_forced_login(&world, &before, 5, "there is no access token in the answer");
    mock.assert();
}

#[test]
fn server_sends_an_access_token_that_is_not_a_jwt() {
    let (mut world, before) = world_with_valid_token();
    let body = r#"{"status": "success", "result": {"access_token": {"access_token": "not-a-jwt", "expires_at": "2099-01-01T00:00:00+00:00"}}}"#;
    let mock = answer(&mut world, 200, "application/json", body, 1);
    check_forced_login(&world, &before, 5, "the access token in the answer is not a JWT");
    mock.assert();
}

#[test]
fn server_sends_garbage_expires_at_and_the_jwt_exp_is_used() {
    let (mut world, _) = world_with_valid_token();
    let jwt = world.jwt(2 * 3600);
    let body = serde_json::json!({"status": "success", "result": {"access_token": {"access_token": jwt, "expires_at": "next tuesday"}}});
    let mock = answer(&mut world, 200, "application/json", body.to_string(), 1);
    let output = run(world.tapis_with_credentials().args(["login", "--force"]));
    assert_exit(&output, 0);
    mock.assert();
    let saved = world.saved();
    assert_eq!(saved["access_token"], jwt.as_str());
    let written = saved["expires_at"].as_str().expect("expires_at");
    let written = tapis_auth_core::expiry::parse_expires_at(written).expect("a timestamp").timestamp();
    let expected = tapis_testkit::now_unix() + 2 * 3600;
    assert!(
        (expected - 60..=expected).contains(&written),
        "the expiry came from the JWT's exp: {written} vs {expected}"
    );
}

#[test]
fn server_sends_a_multi_megabyte_body() {
    let (mut world, before) = world_with_valid_token();
    let huge = format!(r#"{{"message": "{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let mock = answer(&mut world, 200, "application/json", huge, 1);
    check_forced_login(&world, &before, 5, "the answer is larger than 1048576 bytes");
    mock.assert();
}

#[test]
fn server_redirects_to_another_host_and_is_not_followed() {
    let (mut world, before) = world_with_valid_token();
    let mut elsewhere = MockTapis::new();
    let stolen = elsewhere.on("POST", mockito::Matcher::Any).expect(0);
    let redirect = world.server.token_endpoint().answer_redirect(307, &format!("{}/steal", elsewhere.url())).expect(1);
    check_forced_login(&world, &before, 5, "a redirect to");
    redirect.assert();
    stolen.assert();
}

/// A server on loopback that misbehaves at the TCP level, for `attempts` connections.
fn raw_server(attempts: usize, behaviour: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(attempts).flatten() {
            std::thread::spawn(move || behaviour(stream));
        }
    });
    format!("http://{address}")
}

/// Reads the request head, so the client is past sending.
fn read_request(stream: &mut std::net::TcpStream) {
    let mut buffer = [0u8; 4096];
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.read(&mut buffer);
}

#[test]
fn server_resets_the_connection() {
    let (world, before) = world_with_valid_token();
    let url = raw_server(3, |mut stream| {
        read_request(&mut stream);
        // Close with unread data pending: the kernel answers with a reset.
        let _ = stream.shutdown(Shutdown::Both);
    });
    let output = run(world.tapis_with_credentials().args(["login", "--force"]).env("TAPIS_BASE_URL", &url));
    assert_exit(&output, 5);
    let talk = stderr(&output);
    assert!(talk.contains("failed after 3 attempts"), "{talk}");
    assert_eq!(fs::read(world.token_file()).expect("read"), before, "the previous token survived");
}

#[test]
fn nothing_listens() {
    let (world, before) = world_with_valid_token();
    // Bind and drop, so the port is closed.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let output = run(world
        .tapis_with_credentials()
        .args(["login", "--force"])
        .env("TAPIS_BASE_URL", format!("http://127.0.0.1:{port}")));
    assert_exit(&output, 5);
    assert!(stderr(&output).contains("failed after 3 attempts: could not connect"), "{}", stderr(&output));
    assert_eq!(fs::read(world.token_file()).expect("read"), before);
}

/// Writes a hostile token file at the given path.
type MakeFile = Box<dyn Fn(&std::path::Path) + Send + Sync>;

/// Hostile token files: each is reported, naming the file and what is wrong, and a login
/// replaces it.
#[test]
fn hostile_token_files_are_reported_and_replaced() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, MakeFile, &str)> = vec![
        ("empty", Box::new(|path| fs::write(path, b"").expect("write")), "the file is empty"),
        (
            "truncated",
            Box::new(|path| fs::write(path, br#"{"access_token": "eyJhbGciOi"#).expect("write")),
            "is not valid JSON",
        ),
        (
            "wrong types",
            Box::new(|path| fs::write(path, br#"{"access_token": ["x"], "expires_at": 5}"#).expect("write")),
            "the field `access_token` is not a string",
        ),
        (
            "binary",
            Box::new(|path| fs::write(path, [0x7fu8, b'E', b'L', b'F', 0, 1, 2, 3]).expect("write")),
            "is not valid JSON",
        ),
        (
            "non-UTF-8",
            Box::new(|path| fs::write(path, b"{\"access_token\": \"\xff\xfe\"}").expect("write")),
            "the file is not UTF-8 text",
        ),
        (
            "deeply nested",
            Box::new(move |path| fs::write(path, deep.as_bytes()).expect("write")),
            "recursion limit exceeded",
        ),
        (
            "an array",
            Box::new(|path| fs::write(path, b"[]").expect("write")),
            "the file holds JSON an array, not an object",
        ),
        (
            "100 MB",
            Box::new(|path| {
                fs::File::create(path).and_then(|file| file.set_len(100 * 1024 * 1024)).expect("sparse file")
            }),
            "the file is larger than 1048576 bytes",
        ),
    ];
    // Each case in a thread of its own: they are independent, and each runs a process.
    std::thread::scope(|scope| {
        for (name, make, expected) in &cases {
            scope.spawn(move || check_hostile_token_file(name, make, expected));
        }
    });
}

fn check_hostile_token_file(name: &str, make: &MakeFile, expected: &str) {
    let mut world = World::new();
    make(&world.token_file());
    let (login, jwt) = world.mock_login(1);
    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 0);
    let talk = stderr(&output);
    let named = format!("the token file {} is not usable: ", world.token_file().display());
    assert!(talk.contains(&named) && talk.contains(expected), "{name}: {talk}");
    assert_eq!(stdout(&output), format!("{jwt}\n"), "{name}");
    assert_eq!(world.saved()["access_token"], jwt.as_str(), "{name}: replaced");
    login.assert();
}

#[test]
#[cfg(unix)] // Windows: making a link takes a privilege an ordinary user lacks.
fn a_symlinked_token_file_is_read_but_never_written_through() {
    let mut world = World::new();
    let target = world.home.path().join("real-tokens.json");
    let expired = world.jwt(-60);
    fs::write(&target, format!(r#"{{"access_token": "{expired}"}}"#)).expect("write");
    set_mode(&target, 0o600);
    std::os::unix::fs::symlink(&target, world.token_file()).expect("symlink");
    let before = fs::read(&target).expect("read");
    let (login, jwt) = world.mock_login(1);

    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 0);
    login.assert();
    assert_eq!(stdout(&output), format!("{jwt}\n"), "the new token is still printed");
    assert!(
        stderr(&output).contains("is a symbolic link, and tokens are not written through links"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read(&target).expect("read"), before, "the link's target is untouched");
    assert!(fs::symlink_metadata(world.token_file()).expect("link").file_type().is_symlink(), "the link is untouched");
}

#[test]
#[cfg(unix)] // Windows has no other owner to give a file to.
fn a_token_file_of_another_user_is_refused() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(3600), 3600);
    std::os::unix::fs::chown(world.token_file(), Some(4242), Some(4242)).expect("chown (the tests run as root)");
    let endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis_with_credentials().arg("token"));
    assert_exit(&output, 1);
    endpoint.assert();
    assert!(stderr(&output).contains("belongs to another user (uid 4242); refusing to use it"), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_token_file_under_a_regular_file_says_the_path_goes_through_a_file() {
    let mut world = World::new();
    let script = world.home.path().join("job.py");
    fs::write(&script, "print()").expect("write");
    let token_endpoint = world.mock_token_endpoint(0);
    let output = run(world.tapis_with_credentials().args(["login", "--token-file"]).arg(script.join("t.json")));
    assert_exit(&output, 1);
    token_endpoint.assert();
    let text = stderr(&output);
    assert!(text.contains("job.py is a file, not a folder"), "{text}");
    assert!(!text.contains("File exists"), "{text}");
}
