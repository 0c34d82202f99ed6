//! The edges: what `exec` hands on, bad option values, a process that cannot be dumped or
//! read, hostile server text, profiles against the environment, and the lock file's owner.

#[cfg(unix)]
use std::fs;
#[cfg(target_os = "linux")]
use std::os::unix::fs::MetadataExt as _;
use std::process::Command;

use crate::scripting::signed_in;
use crate::support::*;

#[test]
#[cfg(unix)] // exec runs Unix programs (sh, cat).
fn exec_hands_on_the_token_but_not_the_password_or_client_key() {
    let (world, jwt) = signed_in();
    let output = run(world
        .tapis()
        .env("PATH", "/usr/bin:/bin")
        .env("TAPIS_PASSWORD", PASSWORD)
        .env("TAPIS_CLIENT_KEY", CLIENT_KEY)
        .env("UNRELATED", "kept")
        .args(["exec", "--", "env"]));
    assert_exit(&output, 0);
    let environment = stdout(&output);
    let lines: Vec<&str> = environment.lines().collect();
    assert!(lines.contains(&format!("TAPIS_TOKEN={jwt}").as_str()), "{environment}");
    assert!(lines.contains(&format!("TAPIS_BASE_URL={}", world.base_url()).as_str()), "{environment}");
    assert!(lines.contains(&"UNRELATED=kept"), "other variables pass through: {environment}");
    assert!(!environment.contains("TAPIS_PASSWORD") && !environment.contains(PASSWORD), "{environment}");
    assert!(!environment.contains("TAPIS_CLIENT_KEY") && !environment.contains(CLIENT_KEY), "{environment}");
}

#[test]
fn a_zero_http_timeout_is_a_usage_error() {
    let (mut world, _) = signed_in();
    let endpoint = world.mock_token_endpoint(0);
    // The bare `tapis token` (parsed by the fast path) and a full command line, from the
    // variable and from the flag.
    let cases: [(&[&str], Option<&str>); 4] = [
        (&["token"], Some("0")),
        (&["token", "--format", "raw"], Some("0s")),
        (&["--http-timeout", "0", "token"], None),
        (&["status", "--http-timeout", "0ms"], None),
    ];
    for (args, variable) in cases {
        let mut command = world.tapis();
        command.env_remove("TAPIS_HTTP_TIMEOUT").args(args);
        if let Some(value) = variable {
            command.env("TAPIS_HTTP_TIMEOUT", value);
        }
        let output = run(&mut command);
        assert_exit(&output, 2);
        assert!(stdout(&output).is_empty(), "{args:?}: no token printed");
        assert!(stderr(&output).contains("would time out every request at once"), "{args:?}: {}", stderr(&output));
    }
    endpoint.assert();
}

/// An unprivileged user id that owns nothing on the test machine.
#[cfg(unix)]
const OTHER_UID: u32 = 54_321;

/// The kernel shows the files of a process that is not dumpable as owned by root in `/proc/<pid>/`, whoever runs
/// it, and refuses same-user ptrace and `/proc/<pid>/mem` to it. The check runs inside the
/// `exec`'d command, whose parent is `tapis` at that moment, past every secret it reads. As
/// root the test runs `tapis` as another user (with `setpriv`): a dumpable process would then
/// show that user as owner.
#[test]
#[cfg(target_os = "linux")] // Linux's dumpable flag, read in /proc.
fn tapis_is_not_dumpable_but_its_command_is() {
    let world = World::new();
    let jwt = world.jwt(3 * 3600);
    let is_root = rustix_free_geteuid() == 0;
    let mut command = if is_root {
        let mut command = Command::new("setpriv");
        command.args([
            format!("--reuid={OTHER_UID}"),
            format!("--regid={OTHER_UID}"),
            "--clear-groups".to_owned(),
            "--".to_owned(),
            env!("CARGO_BIN_EXE_tapis").to_owned(),
        ]);
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_tapis"))
    };
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", world.home.path())
        .env("TAPIS_BASE_URL", world.base_url())
        .env("TAPIS_TOKEN", &jwt)
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            r#"printf '%s %s %s' "$(stat -c %u /proc/$PPID/status)" "$(id -u)" "$(stat -c %u /proc/$$/status)""#,
        ]);
    let output = run(&mut command);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let owners: Vec<u32> = text.split(' ').map(|field| field.parse().expect("a uid")).collect();
    let [tapis_owner, own_uid, command_owner] = owners[..] else { panic!("three uids: {text}") };
    assert_ne!(own_uid, 0, "the check needs tapis to run as a user other than root");
    assert_eq!(tapis_owner, 0, "tapis (uid {own_uid}) must not be dumpable: /proc shows it owned by uid {tapis_owner}");
    assert_eq!(command_owner, own_uid, "exec's command is an ordinary, dumpable process");
}

/// The effective user id of this test process, from `/proc/self`.
#[cfg(target_os = "linux")]
fn rustix_free_geteuid() -> u32 {
    fs::metadata("/proc/self").expect("/proc/self").uid()
}

/// Writes `profiles.toml` with one profile, `tacc`, whose server is `base_url`.
#[cfg(unix)]
fn write_profile(world: &World, base_url: &str) -> std::path::PathBuf {
    let folder = world.home.path().join(".config").join("tapis");
    fs::create_dir_all(&folder).expect("config folder");
    let path = folder.join("profiles.toml");
    fs::write(&path, format!("[profiles.tacc]\nbase_url = \"{base_url}\"\nusername = \"{USERNAME}\"\n"))
        .expect("write profiles.toml");
    path
}

#[test]
#[cfg(unix)] // The profiles' folders: on Windows the user's AppData, whatever HOME says.
fn an_inherited_base_url_cannot_redirect_a_profile() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);
    let config = write_profile(&world, "https://tacc.tapis.io");
    let before = fs::read(&config).expect("read");
    // World::tapis exports TAPIS_BASE_URL (this world's server), as `--format env` and `exec` do.
    for profile_args in [&["--profile", "tacc"][..], &[]] {
        let mut command = world.tapis_with_credentials();
        if profile_args.is_empty() {
            command.env("TAPIS_PROFILE", "tacc");
        }
        let output = run(command.args(profile_args).args(["login"]));
        assert_exit(&output, 2);
        let message = stderr(&output);
        for part in ["`tacc`", "https://tacc.tapis.io", "TAPIS_BASE_URL", world.base_url().as_str(), "--base-url"] {
            assert!(message.contains(part), "names {part}: {message}");
        }
    }
    endpoint.assert();
    assert_eq!(fs::read(&config).expect("read"), before, "profiles.toml is untouched");
    assert!(!world.home.path().join(".local/share/tapis/tokens/tacc.json").exists(), "no token file written");
}

#[test]
#[cfg(unix)] // The profiles' folders: on Windows the user's AppData, whatever HOME says.
fn a_profile_takes_a_matching_variable_or_an_explicit_flag() {
    let world = World::new();
    let config = write_profile(&world, &world.base_url());
    // The same server in the environment: no conflict.
    let output = run(world.tapis().args(["--profile", "tacc", "status"]));
    assert_exit(&output, 3);
    assert!(stdout(&output).contains(&format!("Base URL:   {}", world.base_url())), "{}", stdout(&output));
    // `--base-url` on the command line is the user's word for this command, whatever the
    // environment says; nothing is saved by a `status`.
    let before = fs::read(&config).expect("read");
    let output = run(world.tapis().args(["--profile", "tacc", "status", "--base-url", "https://other.tapis.io"]));
    assert_exit(&output, 3);
    assert!(stdout(&output).contains("Base URL:   https://other.tapis.io"), "{}", stdout(&output));
    assert_eq!(fs::read(&config).expect("read"), before);
}

#[test]
#[cfg(unix)] // Windows has no other owner to give a file to.
fn another_users_lock_file_is_refused_at_once() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);
    world.write_renewable_file(&world.jwt(-60), -60, &world.refresh_jwt("r1"));
    let before = fs::read(world.token_file()).expect("read");
    let lock_file = world.home.path().join(".tapis_tokens.json.lock");
    fs::write(&lock_file, b"").expect("create");
    // Making a file another user's takes root, as the tests run in CI.
    if let Err(error) = std::os::unix::fs::chown(&lock_file, Some(OTHER_UID), Some(OTHER_UID)) {
        assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied, "{error}");
        return;
    }
    // A wait would be for the whole lock timeout; the refusal comes before any.
    let output = run(world.tapis().args(["token", "--lock-timeout", "10m"]));
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("belongs to another user (uid {OTHER_UID}); refusing to wait on it")),
        "{message}"
    );
    assert!(message.contains(".tapis_tokens.json.lock"), "{message}");
    assert!(stdout(&output).is_empty());
    endpoint.assert();
    assert_eq!(fs::read(world.token_file()).expect("read"), before, "the token file is untouched");
}

/// The README's curl example: the header comes from a file descriptor, so the token is not in
/// curl's command line (which `ps` shows to everyone).
#[test]
#[cfg(unix)] // The README's bash.
fn the_readme_curl_example_keeps_the_token_out_of_the_command_line() {
    let (mut world, jwt) = signed_in();
    let systems = world
        .server
        .mock("GET", "/v3/systems")
        .match_header("x-tapis-token", jwt.as_str())
        .with_status(200)
        .with_body(r#"{"result": []}"#)
        .expect(1)
        .create();
    let script = r#"curl -sf -H @<("$0" token --format header) "$TAPIS_BASE_URL/v3/systems""#;
    let mut shell = Command::new("bash");
    shell
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tapis"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", world.home.path())
        .env("TAPIS_BASE_URL", world.base_url());
    let output = run(&mut shell);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), r#"{"result": []}"#);
    systems.assert();
}

/// What a hostile server (or anything in the path) puts in its text: an OSC that retitles
/// the terminal, a clear screen, a C1 CSI, a bidi override, and a line break that would fake
/// a line of tapis's own.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\nerror: fake";

/// The escaped form tapis shows instead.
const HOSTILE_SHOWN: &str = r"\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\u{a}error: fake";

/// Whether any character a terminal would act on is in `text` (newlines of tapis's own apart).
#[track_caller]
fn assert_terminal_safe(text: &str) {
    let unsafe_character = text.chars().find(|character| {
        (character.is_control() && *character != '\n')
            || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    assert_eq!(unsafe_character, None, "{text:?}");
    assert!(!text.lines().any(|line| line.starts_with("error: fake")), "a faked line: {text:?}");
}

#[test]
fn a_servers_error_message_is_escaped() {
    let mut world = World::new();
    let rejected = world.mock_token_error(400, HOSTILE, 1);
    let output = run(world.tapis_with_credentials().arg("login"));
    assert_exit(&output, 5);
    rejected.assert();
    let message = stderr(&output);
    assert_terminal_safe(&message);
    assert!(message.contains(HOSTILE_SHOWN), "shown escaped: {message}");
}

#[test]
fn a_device_codes_page_and_code_are_escaped() {
    let mut world = World::new();
    let code = world
        .server
        .mock("POST", "/v3/oauth2/device/code")
        .with_status(200)
        .with_body(
            serde_json::json!({"message": "ok", "status": "success", "result": {
                "client_id": CLIENT_ID, "device_code": "dc-1", "user_code": format!("CODE{HOSTILE}"),
                "verification_uri": format!("https://example.invalid/{HOSTILE}"),
                "expires_in": "Wed, 04 Mar 2099 16:25:31 GMT"}})
            .to_string(),
        )
        .expect(1)
        .create();
    let expired = world.mock_token_error(400, "device code has expired and is now deleted.", 1);
    let output = run(world
        .tapis()
        .args(["login", "--device", "--client-id", CLIENT_ID])
        .env("TAPIS_DEVICE_POLL_INTERVAL", "10ms"));
    assert_exit(&output, 3);
    code.assert();
    expired.assert();
    let message = stderr(&output);
    assert_terminal_safe(&message);
    assert!(message.contains(&format!("open https://example.invalid/{HOSTILE_SHOWN}\n")), "{message}");
    assert!(message.contains(&format!("enter the code CODE{HOSTILE_SHOWN} before")), "{message}");
}

#[test]
fn whoami_escapes_the_servers_profile_in_text_and_json() {
    let (mut world, jwt) = signed_in();
    let profile = serde_json::json!({"username": USERNAME, "given_name": HOSTILE, "email": "j@example.org\u{7f}"});
    let userinfo = world
        .server
        .mock("GET", "/v3/oauth2/userinfo")
        .match_header("x-tapis-token", jwt.as_str())
        .with_status(200)
        .with_body(serde_json::json!({"message": "ok", "status": "success", "result": profile}).to_string())
        .expect(2)
        .create();
    let output = run(world.tapis().arg("whoami"));
    assert_exit(&output, 0);
    assert_terminal_safe(&stdout(&output));
    assert!(stdout(&output).contains(&format!("Name:     {HOSTILE_SHOWN}\n")), "{}", stdout(&output));
    assert!(stdout(&output).contains(r"Email:    j@example.org\u{7f}"), "{}", stdout(&output));

    let output = run(world.tapis().args(["whoami", "--json"]));
    assert_exit(&output, 0);
    assert_terminal_safe(&stdout(&output));
    let parsed: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(parsed, profile, "the JSON still says exactly what the server said");
    userinfo.assert();
}

/// Echo is off before the password prompt can be seen, as with Python's `getpass`.
///
/// Made deterministic with the terminal's flow control: the test stops the terminal's output
/// (Ctrl-S, with `ixon` on) before `tapis` starts, so `tapis`'s write of the prompt blocks
/// until output is started again. Only when the terminal's ECHO flag is off does the test
/// start the output (Ctrl-Q). Code that writes the prompt first and turns echo off after (as
/// `rpassword::prompt_password` does) stays blocked in that write with echo on, so the flag
/// never goes off and the test fails: that is the window in which a password typed the
/// instant the prompt appears is echoed to the screen.
#[test]
#[cfg(unix)] // A pseudo-terminal (rexpect), which Windows does not have.
fn echo_is_off_before_the_password_prompt_is_shown() {
    let mut world = World::new();
    let (login, _) = world.mock_login(1);
    let script = r#"stty echo ixon; echo ready; read _; "$0" "$@"; echo "exit=$?""#;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tapis"))
        .args(["login", "--username", USERNAME])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", world.home.path())
        .env("NO_COLOR", "1")
        .env("TAPIS_BASE_URL", world.base_url());
    let mut session = rexpect::session::spawn_command(command, Some(60_000)).expect("spawn in a pseudo-terminal");
    let terminal = session.process().get_file_handle().expect("the terminal");
    let echo_is_on = || {
        let settings = rustix::termios::tcgetattr(&terminal).expect("tcgetattr");
        settings.local_modes.contains(rustix::termios::LocalModes::ECHO)
    };
    session.exp_string("ready").expect("the shell is ready");
    // Stop output, then let the shell run tapis.
    session.send("\u{13}\n").expect("type");
    session.flush().expect("flush");
    let mut waited = std::time::Duration::ZERO;
    while echo_is_on() {
        assert!(
            waited < std::time::Duration::from_secs(30),
            "echo is still on, and tapis is not reading yet: the prompt is being written before echo is turned off"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += std::time::Duration::from_millis(10);
    }
    // Echo is off and the prompt has not been shown: start output, and type at once.
    session.send("\u{11}").expect("type");
    session.flush().expect("flush");
    let mut screen = session.exp_string("Password for jdoe: ").expect("the prompt");
    session.send_line(PASSWORD).expect("type");
    screen += &session.exp_string("exit=").expect("ends");
    let exit_code = session.exp_eof().expect("the shell ends");
    assert!(screen.contains("Logged in to"), "{screen:?}");
    assert_eq!(exit_code.trim(), "0", "{screen:?}");
    assert!(!screen.contains(PASSWORD), "the password was echoed: {screen:?}");
    assert!(echo_is_on(), "echo is restored after the prompt");
    login.assert();
}

/// Runs `command` with `input` on its standard input.
fn run_with_input(command: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn tapis");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn password_stdin_takes_the_first_line_and_leaves_the_rest() {
    // A Windows line ending is not part of the password.
    let mut world = World::new();
    let (login, _) = world.mock_login(1);
    let output = run_with_input(
        world.tapis().args(["login", "--username", USERNAME, "--password-stdin"]),
        format!("{PASSWORD}\r\n").as_bytes(),
    );
    assert_exit(&output, 0);
    login.assert();

    // Only the first line is consumed: what follows is the command's (`cat`: Unix only).
    let (world, _) = signed_in();
    #[cfg(unix)]
    {
        let output = run_with_input(
            world.tapis().env("PATH", "/usr/bin:/bin").args(["exec", "--password-stdin", "--", "cat"]),
            format!("{PASSWORD}\nfor the command\n").as_bytes(),
        );
        assert_exit(&output, 0);
        assert_eq!(stdout(&output), "for the command\n");
    }

    let output = run_with_input(world.tapis().args(["exec", "--password-stdin", "--", "true"]), b"\xff\xfe\n");
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("is not UTF-8"), "{}", stderr(&output));
}
