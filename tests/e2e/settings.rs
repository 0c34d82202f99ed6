//! The table of where and as whom to sign in (`tapis-auth/tests/fixtures/settings_cases.json`,
//! which the library's and the Python package's tests run too), through the command: each
//! case's flags and variables, and `tapis status --json` to say where it would work.

use std::process::Command;

use serde_json::Value;

use crate::support::*;

#[test]
fn every_case_of_the_table_resolves_through_the_command_as_in_the_library() {
    let table: Value = serde_json::from_str(include_str!("../../tapis-auth/tests/fixtures/settings_cases.json"))
        .expect("the cases are JSON");
    let mut n_run = 0;
    for case in table["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("a name");
        if case["caller"].get("username").is_some() {
            continue; // `status` takes no username; the library's and Python's tests cover it
        }
        let home = tempfile::tempdir().expect("home");
        let mut profiles = String::new();
        for (profile, fields) in table["profiles"].as_object().expect("profiles") {
            profiles.push_str(&format!("[profiles.{profile}]\n"));
            for (key, value) in fields.as_object().expect("fields") {
                profiles.push_str(&format!("{key} = {value}\n"));
            }
        }
        let config = home.path().join(".config/tapis");
        std::fs::create_dir_all(&config).expect("config folder");
        std::fs::write(config.join("profiles.toml"), profiles).expect("profiles.toml");

        let mut command = Command::new(env!("CARGO_BIN_EXE_tapis"));
        command.env_clear().env("HOME", home.path()).env("NO_COLOR", "1");
        for (flag, key) in [("--profile", "profile"), ("--base-url", "base_url"), ("--token-file", "token_file")] {
            if let Some(value) = case["caller"][key].as_str() {
                command.arg(format!("{flag}={value}"));
            }
        }
        for (variable, value) in case["environment"].as_object().into_iter().flatten() {
            command.env(variable, value.as_str().expect("text"));
        }
        let output = run(command.args(["status", "--json"]));
        match case.get("expect_error") {
            None => {
                let status: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|error| {
                    panic!("{name}: {error}: {}{}", stdout(&output), stderr(&output));
                });
                let token_file = status["token_file"].as_str().expect("a token file");
                let home_text = home.path().display().to_string();
                let actual = serde_json::json!({
                    "profile": status["profile"],
                    "base_url": status["base_url"],
                    "token_file": token_file.replacen(&home_text, "~", 1),
                    "username": status["username_asked"],
                });
                assert_eq!(actual, case["expect"], "{name}: {}", stderr(&output));
            }
            Some(expected) => {
                assert_exit(&output, 2);
                let text = stderr(&output);
                assert!(text.contains(expected.as_str().expect("text")), "{name}: {text}");
            }
        }
        n_run += 1;
    }
    assert!(n_run >= 13, "most cases run through the command");
}
