//! The prompt path through a real pseudo-terminal.
//!
//! rexpect turns echo off in its terminal, so each test runs the binary under `sh`, which
//! first turns echo back on (as in a real terminal) and afterwards prints the exit code and
//! whether echo is on (`echo`) or off (`-echo`).

use std::process::Command;

use rexpect::session::PtySession;

use crate::support::*;

const WRONG_PASSWORD: &str = "wrong-password-1234";
const TIMEOUT_MS: u64 = 60_000;

fn spawn_in_terminal(world: &World, args: &[&str]) -> PtySession {
    // `trap : INT`: a Ctrl-C at a cooked-mode prompt reaches the whole process group, and
    // the shell must outlive it to report (an interactive shell runs the command in a
    // process group of its own). The command itself gets SIGINT's default action.
    let script =
        r#"trap : INT; stty echo; "$0" "$@"; echo "exit=$?"; stty -a | tr ' ;' '\n\n' | grep -x -e echo -e -echo"#;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_tapis"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", world.home.path())
        .env("NO_COLOR", "1")
        .env("TAPIS_BASE_URL", world.base_url())
        .env("TAPIS_TEST_CLOCK", world.clock_file());
    rexpect::session::spawn_command(command, Some(TIMEOUT_MS)).expect("spawn in a pseudo-terminal")
}

fn mock_wrong_password(world: &mut World, hits: usize) -> mockito::Mock {
    world
        .server
        .password_grant(USERNAME, WRONG_PASSWORD)
        .answer_error(400, tapis_testkit::messages::INVALID_CREDENTIALS)
        .expect(hits)
}

/// Reads to the end, returning everything the terminal showed.
fn finish(session: &mut PtySession) -> String {
    session.exp_eof().expect("the command ends")
}

#[test]
fn username_visible_password_hidden_wrong_then_right() {
    let mut world = World::new();
    let wrong = mock_wrong_password(&mut world, 1);
    let (right, jwt) = world.mock_login(1);
    let mut session = spawn_in_terminal(&world, &["login"]);

    let mut screen = session.exp_string("Username for ").expect("username prompt");
    session.send_line(USERNAME).expect("type");
    screen += &session.exp_string("Password for jdoe: ").expect("password prompt");
    assert!(screen.contains(&format!("{USERNAME}\r\n")), "the username is echoed: {screen:?}");
    session.send_line(WRONG_PASSWORD).expect("type");
    screen += &session.exp_string("Invalid username/password combination. (2 tries left)").expect("rejection shown");
    // Only the password is asked again; the username stays.
    screen += &session.exp_string("Password for jdoe: ").expect("password prompt again");
    session.send_line(PASSWORD).expect("type");
    screen += &session.exp_string("exit=").expect("ends");
    screen += &finish(&mut session);

    assert!(screen.contains("Logged in to"), "{screen:?}");
    assert!(!screen.contains("Username for "), "the username is asked once: {screen:?}");
    assert!(screen.contains("0\r\necho"), "exit 0 and echo on: {screen:?}");
    assert!(!screen.contains(WRONG_PASSWORD) && !screen.contains(PASSWORD), "no password echoed: {screen:?}");
    wrong.assert();
    right.assert();
    assert_eq!(world.saved()["access_token"], jwt.as_str());
}

#[test]
fn attempts_are_bounded() {
    let mut world = World::new();
    let wrong = mock_wrong_password(&mut world, 2);
    let mut session = spawn_in_terminal(&world, &["login", "--username", USERNAME, "--attempts", "2"]);

    let mut screen = String::new();
    for _ in 0..2 {
        screen += &session.exp_string("Password for jdoe: ").expect("password prompt");
        session.send_line(WRONG_PASSWORD).expect("type");
    }
    screen += &session.exp_string("exit=").expect("ends");
    screen += &finish(&mut session);
    assert!(screen.contains("(1 try left)"), "{screen:?}");
    assert!(screen.contains("4\r\necho"), "exit 4 and echo on: {screen:?}");
    wrong.assert();
    assert!(!world.token_file().exists());
}

#[test]
fn ctrl_c_at_the_password_prompt_restores_echo() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);
    let mut session = spawn_in_terminal(&world, &["login", "--username", USERNAME]);

    session.exp_string("Password for jdoe: ").expect("password prompt");
    session.send("half-typed").expect("type");
    session.send_control('c').expect("ctrl-c");
    let screen = session.exp_string("exit=").expect("ends") + &finish(&mut session);
    assert!(screen.contains("130\r\necho"), "exit 130 and echo on: {screen:?}");
    assert!(!screen.contains("half-typed"), "{screen:?}");
    endpoint.assert();
}

#[test]
fn end_of_input_at_the_password_prompt_exits_cleanly() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);
    world.write_notebook_file(&world.jwt(-60), -60);
    let before = std::fs::read(world.token_file()).expect("read");
    let mut session = spawn_in_terminal(&world, &["login", "--username", USERNAME]);

    session.exp_string("Password for jdoe: ").expect("password prompt");
    session.send_control('d').expect("ctrl-d");
    let screen = session.exp_string("exit=").expect("ends") + &finish(&mut session);
    assert!(screen.contains("3\r\necho"), "exit 3 and echo on: {screen:?}");
    assert!(screen.contains("no answer at the prompt"), "{screen:?}");
    endpoint.assert();
    assert_eq!(std::fs::read(world.token_file()).expect("read"), before, "the previous file is untouched");
}

#[test]
fn ctrl_c_at_the_username_prompt_changes_nothing_and_exits_130() {
    let mut world = World::new();
    let endpoint = world.mock_token_endpoint(0);
    let mut session = spawn_in_terminal(&world, &["login"]);

    session.exp_string("Username for ").expect("username prompt");
    session.send("jdo").expect("type");
    session.send_control('c').expect("ctrl-c");
    let screen = session.exp_string("exit=").expect("ends") + &finish(&mut session);
    assert!(screen.contains("interrupted at the prompt; nothing was changed"), "{screen:?}");
    assert!(screen.contains("130\r\necho"), "exit 130 and echo on: {screen:?}");
    endpoint.assert();
    assert!(!world.token_file().exists());
}
