//! README.md's commands, run as a new user would type them.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
#[cfg(unix)]
use std::process::{Command, Stdio};

#[cfg(unix)]
use crate::support::*;

fn readme() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md")
}

/// How each shell block of the README is tested, by the words it starts with.
const TESTED_BLOCKS: [(&str, &str); 4] = [
    ("sha256sum -c tapis-", "`cargo xtask dist` runs it on the tarball it has just written"),
    ("tapis login ", "the_readme_quick_start_works_as_written, below"),
    ("#!/bin/bash\n#SBATCH", "edges_flow::the_readme_batch_example_works_as_written"),
    ("cargo run --release -p tapis-cli -- login", "CI runs `cargo xtask ci`; the tests run the binary it builds"),
];

#[test]
fn every_shell_block_of_the_readme_is_run_by_a_test() {
    let blocks = tapis_testkit::shell_blocks(&readme());
    assert_eq!(blocks.len(), TESTED_BLOCKS.len(), "a new shell block in README.md needs a test: {blocks:#?}");
    for block in &blocks {
        assert!(
            TESTED_BLOCKS.iter().any(|(start, _)| block.starts_with(start)),
            "no test runs this block of README.md:\n{block}"
        );
    }
}

#[test]
#[cfg(unix)] // The README's quick start, in bash.
fn the_readme_quick_start_works_as_written() {
    let mut world = World::new();
    let (login, jwt) = world.mock_login(1);
    let block = tapis_testkit::shell_blocks(&readme())
        .into_iter()
        .find(|block| block.starts_with("tapis login "))
        .expect("the quick start in README.md");

    // `python3` is a stand-in that logs which script ran with which token and server.
    let bin = tempfile::tempdir().expect("temp bin");
    let log = bin.path().join("python3.log");
    let python = bin.path().join("python3");
    let stand_in =
        format!("#!/bin/sh\nprintf '%s %s %s\\n' \"$1\" \"$TAPIS_TOKEN\" \"$TAPIS_BASE_URL\" >> '{}'\n", log.display());
    fs::write(&python, stand_in).expect("write python3");
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).expect("chmod");
    let tapis_folder = Path::new(env!("CARGO_BIN_EXE_tapis")).parent().expect("the binary's folder");
    let path = format!("{}:{}:/usr/bin:/bin", bin.path().display(), tapis_folder.display());

    // No terminal here: the username and password the prompt would ask for come from the
    // environment, as the README's table of settings says.
    let output = Command::new("bash")
        .args(["-euc", &block])
        .current_dir(bin.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", world.home.path())
        .env("NO_COLOR", "1")
        .env("TAPIS_BASE_URL", world.base_url())
        .env("TAPIS_USERNAME", USERNAME)
        .env("TAPIS_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run the quick start");
    assert_exit(&output, 0);
    login.assert();
    world.server.assert_no_strays();
    let stdout = stdout(&output);
    assert!(stdout.contains("valid"), "status says the token is valid: {stdout}");
    assert!(stdout.lines().any(|line| line == jwt), "`tapis token` printed the token: {stdout}");
    let ran = fs::read_to_string(&log).expect("python3 ran");
    assert_eq!(ran, format!("job.py {jwt} {}\n", world.base_url()));
}
