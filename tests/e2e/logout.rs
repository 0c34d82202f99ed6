//! `tapis logout`: revoke (best effort) and remove the file.

use crate::support::*;

#[test]
fn revokes_once_and_removes_the_file() {
    let mut world = World::new();
    let jwt = world.jwt(3600);
    world.write_notebook_file(&jwt, 3600);
    let revoke = world.server.revoke(Some(&jwt)).answer_revoked("jti").expect(1);

    let output = run(world.tapis().arg("logout"));
    assert_exit(&output, 0);
    revoke.assert();
    assert!(!world.token_file().exists());
    world.settings().bind(|| insta::assert_snapshot!("logout", stderr(&output)));
}

#[test]
fn a_failed_revoke_is_a_warning_and_the_file_is_still_removed() {
    let mut world = World::new();
    world.write_notebook_file(&world.jwt(3600), 3600);
    let revoke = world
        .server
        .revoke(None)
        .answer_error(400, "Invalid POST data; could not validate the token: expired")
        .expect(1);

    let output = run(world.tapis().arg("logout"));
    assert_exit(&output, 0);
    revoke.assert();
    assert!(!world.token_file().exists());
    assert!(stderr(&output).contains("warning: the token was not revoked on the server"), "{}", stderr(&output));
}

#[test]
fn no_file_is_not_an_error_and_makes_no_request() {
    let mut world = World::new();
    let revoke = world.server.revoke(None).expect(0);
    let output = run(world.tapis().arg("logout"));
    assert_exit(&output, 0);
    revoke.assert();
    assert!(stderr(&output).contains("Not logged in"), "{}", stderr(&output));
}

#[test]
fn a_token_of_another_server_is_not_sent_to_this_one_nor_removed() {
    let mut world = World::new();
    world.write_notebook_file(&jwt_for("https://tacc.tapis.io", 3600), 3600);
    let before = std::fs::read(world.token_file()).expect("the token file");
    let revoke = world.server.revoke(None).expect(0);
    let output = run(world.tapis().arg("logout"));
    assert_exit(&output, 2);
    revoke.assert();
    assert_eq!(std::fs::read(world.token_file()).expect("the token file"), before, "left byte for byte");
    world.settings().bind(|| insta::assert_snapshot!("logout_other_server", stderr(&output)));
}
