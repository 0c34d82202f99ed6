//! `tapis status`: what is saved, read from the file alone.

use std::fs;

use serde_json::Value;

use crate::support::*;

fn status_json(world: &World) -> (i32, Value) {
    let output = run(world.tapis().args(["status", "--json"]));
    let code = output.status.code().expect("exit code");
    (code, serde_json::from_str(&stdout(&output)).expect("status --json prints JSON"))
}

#[test]
fn a_valid_token() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(3 * 3600), 3 * 3600);
    let endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().arg("status"));
    assert_exit(&output, 0);
    world.settings().bind(|| insta::assert_snapshot!("status_valid", stdout(&output)));

    let (code, json) = status_json(&world);
    assert_eq!(code, 0);
    assert_eq!(json["state"], "valid");
    assert_eq!(json["username"], USERNAME);
    assert_eq!(json["tenant_id"], "designsafe");
    assert_eq!(json["base_url"], world.base_url().as_str());
    let left = json["seconds_left"].as_i64().expect("seconds_left");
    assert!((3 * 3600 - 120..=3 * 3600).contains(&left), "{left}");
    world.settings().bind(|| insta::assert_json_snapshot!("status_valid_json", json));
    endpoint.assert();
}

#[test]
fn states_other_than_valid_exit_3() {
    let check = |setup: &dyn Fn(&World), expected_state: &str| {
        let world = World::new();
        setup(&world);
        let (code, json) = status_json(&world);
        assert_eq!((code, json["state"].as_str()), (3, Some(expected_state)), "{json}");
    };
    check(&|_| {}, "none");
    check(&|world| world.write_notebook_file(&world.jwt(-10), -10), "expired");
    check(&|world| fs::write(world.token_file(), b"\x00\x01garbage").expect("write"), "unreadable");
    check(&|world| world.write_notebook_file(&jwt_for("https://tacc.tapis.io", 3600), 3600), "other-server");
}

#[test]
fn an_expired_token_in_text() {
    let world = World::new();
    world.write_notebook_file(&world.jwt(-600), -600);
    let output = run(world.tapis().arg("status"));
    assert_exit(&output, 3);
    world.settings().bind(|| insta::assert_snapshot!("status_expired", stdout(&output)));
}

#[test]
#[cfg(unix)] // Modes: Windows has none.
fn a_world_readable_file_is_reported_not_changed() {
    let world = World::new();
    world.write_notebook_file(&world.jwt(3600), 3600);
    assert_eq!(mode_of(&world.token_file()), 0o644);
    // `status` and `profiles` only read: they warn and leave the mode as it is.
    for args in [&["status"][..], &["profiles"]] {
        let output = run(world.tapis().args(args));
        assert_exit(&output, 0);
        assert_eq!(mode_of(&world.token_file()), 0o644, "{args:?} changed the mode");
    }
    let output = run(world.tapis().arg("status"));
    assert!(stderr(&output).contains("is readable by others (mode 0644); the next"), "{}", stderr(&output));
    // A command that uses the token tightens it.
    let output = run(world.tapis().arg("token"));
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("was readable by others (mode 0644); it is now 0600"), "{}", stderr(&output));
    assert_eq!(mode_of(&world.token_file()), 0o600);
}

#[test]
fn the_renewal_hint_names_the_command_that_turns_it_on() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(3 * 3600), 3 * 3600);
    let output = run(world.tapis().arg("status"));
    let hint = "Renewal:    off (`tapis login --force` turns it on)";
    assert!(stdout(&output).contains(hint), "{}", stdout(&output));

    // That command, run as the hint says, turns renewal on.
    let (login, _) = world.mock_login(1);
    assert_exit(&run(world.tapis_with_credentials().args(["login", "--force"])), 0);
    login.assert();
    let output = run(world.tapis().arg("status"));
    assert!(stdout(&output).contains("Renewal:    on, through the OAuth client"), "{}", stdout(&output));
}

#[test]
fn a_reader_that_goes_away_early_gets_no_complaint() {
    let world = World::new();
    world.write_notebook_file(&world.jwt(3600), 3600);
    crate::support::set_mode(&world.token_file(), 0o600);
    // A pipe whose reader is gone before tapis writes, as `tapis status | head -0` leaves it.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = world.tapis().arg("status").stdout(writer).output().expect("tapis runs");
    assert_eq!(output.status.code(), Some(141), "exit as a tool killed by SIGPIPE");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "nothing said about it");
}
