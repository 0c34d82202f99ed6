//! Using tapis from scripts, jobs and other tools: token formats, exec, api, TAPIS_TOKEN,
//! profiles and completions.

use std::fs;
#[cfg(unix)]
use std::process::{Command, Stdio};

use mockito::Matcher;
use serde_json::json;

use crate::support::*;

/// A world with a valid saved token (0600, so nothing is said about permissions).
pub(crate) fn signed_in() -> (World, String) {
    let world = World::new();
    let jwt = world.jwt(3 * 3600);
    world.write_renewable_file(&jwt, 3 * 3600, &world.refresh_jwt("r1"));
    (world, jwt)
}

#[test]
fn each_token_format() {
    let (world, jwt) = signed_in();
    for format in ["raw", "header", "env", "json"] {
        let output = run(world.tapis().args(["token", "--format", format]));
        assert_exit(&output, 0);
        assert!(stdout(&output).contains(&jwt), "{format}: the token itself is printed");
        world.settings().bind(|| insta::assert_snapshot!(format!("token_format_{format}"), stdout(&output)));
    }
}

#[test]
#[cfg(unix)] // A Unix shell evaluates the output.
fn the_env_format_evaluates_in_a_real_shell() {
    let (world, jwt) = signed_in();
    let script = r#"eval "$("$0" token --format env)" && printf '%s\n%s\n' "$TAPIS_TOKEN" "$TAPIS_BASE_URL""#;
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_tapis"));
    shell
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", world.home.path())
        .env("NO_COLOR", "1")
        .env("TAPIS_BASE_URL", world.base_url());
    let output = run(&mut shell);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n{}\n", world.base_url()));
}

#[test]
#[cfg(unix)] // exec runs Unix programs (sh, cat).
fn exec_passes_the_token_and_the_exit_code() {
    let (world, jwt) = signed_in();
    let output = run(world.tapis().env("PATH", "/usr/bin:/bin").args([
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s %s' "$TAPIS_TOKEN" "$TAPIS_BASE_URL"; exit 7"#,
    ]));
    assert_exit(&output, 7);
    assert_eq!(stdout(&output), format!("{jwt} {}", world.base_url()));
}

/// Windows: `exec` spawns the command and waits for it, with its exit code as its own.
#[test]
#[cfg(windows)]
fn exec_passes_the_token_and_the_exit_code_to_a_windows_command() {
    let (world, jwt) = signed_in();
    let output = run(world.tapis().args(["exec", "--", "cmd", "/C", "echo %TAPIS_TOKEN% %TAPIS_BASE_URL%& exit 7"]));
    assert_exit(&output, 7);
    assert_eq!(stdout(&output).trim_end(), format!("{jwt} {}", world.base_url()));
}

#[test]
#[cfg(unix)] // exec runs Unix programs (sh, cat).
fn exec_passes_stdin_through() {
    let (world, _) = signed_in();
    let mut child = world
        .tapis()
        .env("PATH", "/usr/bin:/bin")
        .args(["exec", "--", "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write as _;
    child.stdin.take().expect("stdin").write_all(b"piped through\n").expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "PIPED THROUGH\n");
}

#[test]
fn exec_of_a_missing_command_exits_127() {
    let (world, _) = signed_in();
    let output = run(world.tapis().args(["exec", "--", "no-such-command-here"]));
    assert_exit(&output, 127);
    assert!(stderr(&output).contains("command not found: no-such-command-here"), "{}", stderr(&output));
}

#[test]
fn api_get_sends_the_token_and_pretty_prints() {
    let (mut world, jwt) = signed_in();
    let jobs = world
        .server
        .on("GET", "/v3/jobs/list?limit=2")
        .with_tapis_token(&jwt)
        .answer(
            200,
            "application/json",
            r#"{"message":"ok","result":[{"uuid":"j1"},{"uuid":"j2"}],"status":"success"}"#,
        )
        .expect(1);
    let output = run(world.tapis().args(["api", "/v3/jobs/list?limit=2"]));
    assert_exit(&output, 0);
    jobs.assert();
    insta::assert_snapshot!("api_get", stdout(&output));
}

#[test]
fn api_post_sends_json_data_from_a_file() {
    let (mut world, jwt) = signed_in();
    let body = json!({"id": "my-app", "version": "0.1"});
    let file = world.home.path().join("app.json");
    fs::write(&file, body.to_string()).expect("write");
    let create = world
        .server
        .on("POST", "/v3/apps")
        .with_tapis_token(&jwt)
        .with_header("content-type", "application/json")
        .with_header("x-extra", "yes")
        .with_json_body(body)
        .answer(
            201,
            "application/json",
            r#"{"message":"App created.","result":{"url":"/v3/apps/my-app"},"status":"success"}"#,
        )
        .expect(1);
    let output = run(world
        .tapis()
        .args(["api", "-X", "post", "/v3/apps", "-H", "X-Extra: yes", "--raw", "--data"])
        .arg(format!("@{}", file.display())));
    assert_exit(&output, 0);
    create.assert();
    assert_eq!(
        stdout(&output),
        "{\"message\":\"App created.\",\"result\":{\"url\":\"/v3/apps/my-app\"},\"status\":\"success\"}\n"
    );
}

#[test]
fn api_errors_exit_6_with_the_servers_message() {
    let (mut world, _) = signed_in();
    let missing = world.server.on("GET", "/v3/apps/nope").answer_error(404, "App not found: nope").expect(1);
    let plain = world
        .server
        .on("GET", "/v3/systems")
        .answer_plain(403, "TAPIS_SECURITY_UNAUTHORIZED Exception message: not allowed")
        .expect(1);
    let output = run(world.tapis().args(["api", "/v3/apps/nope"]));
    assert_exit(&output, 6);
    assert!(stderr(&output).contains("GET /v3/apps/nope answered 404: App not found: nope"), "{}", stderr(&output));
    let output = run(world.tapis().args(["api", "/v3/systems"]));
    assert_exit(&output, 6);
    assert!(
        stderr(&output).contains("answered 403: TAPIS_SECURITY_UNAUTHORIZED Exception message: not allowed"),
        "{}",
        stderr(&output)
    );
    missing.assert();
    plain.assert();
}

#[test]
fn api_renews_once_when_the_server_says_the_token_expired() {
    let mut world = World::new();
    let old_refresh = world.refresh_jwt("r1");
    let old = world.jwt(3 * 3600);
    world.write_renewable_file(&old, 3 * 3600, &old_refresh);
    let (refresh, new, _) = world.mock_refresh(&old_refresh, 1);
    let rejected = world
        .server
        .on("GET", "/v3/systems")
        .with_tapis_token(&old)
        .answer_plain(401, "TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired at 2025-03-04T20:15:31Z")
        .expect(1);
    let accepted =
        world.server.on("GET", "/v3/systems").with_tapis_token(&new).answer_envelope(200, "ok", json!([])).expect(1);
    let output = run(world.tapis().args(["api", "/v3/systems"]));
    assert_exit(&output, 0);
    rejected.assert();
    refresh.assert();
    accepted.assert();
}

#[test]
fn api_refuses_an_absolute_url_without_any_request() {
    let (mut world, _) = signed_in();
    let anything = world.server.on("GET", Matcher::Any).expect(0);
    let mut elsewhere = MockTapis::new();
    let stolen = elsewhere.on("GET", Matcher::Any).expect(0);
    for url in [format!("{}/v3/x", elsewhere.url()), "//evil.example/v3".to_owned()] {
        let output = run(world.tapis().args(["api", &url]));
        assert_exit(&output, 2);
        assert!(stderr(&output).contains("is not a path on the base URL"), "{}", stderr(&output));
    }
    anything.assert();
    stolen.assert();
}

#[test]
fn tapis_token_from_the_environment_needs_no_file() {
    let mut world = World::new();
    let jwt = world.jwt(3600);
    let systems =
        world.server.on("GET", "/v3/systems").with_tapis_token(&jwt).answer(200, "application/json", "{}").expect(1);
    let token_endpoint = world.mock_token_endpoint(0);

    let output = run(world.tapis().arg("token").env("TAPIS_TOKEN", &jwt));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n"));
    let output = run(world.tapis().args(["api", "/v3/systems"]).env("TAPIS_TOKEN", &jwt));
    assert_exit(&output, 0);
    let output = run(world.tapis().args(["status", "--json"]).env("TAPIS_TOKEN", &jwt));
    assert_exit(&output, 0);
    let status: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!((status["token_source"].as_str(), status["state"].as_str()), (Some("environment"), Some("valid")));
    systems.assert();
    token_endpoint.assert();
    assert!(!world.token_file().exists(), "nothing was written");
}

#[test]
fn tapis_token_of_another_server_is_passed_over_with_a_note() {
    let mut world = World::new();
    let foreign = jwt_for("https://tacc.tapis.io", 3600);
    let anything = world.server.on("GET", Matcher::Any).expect(0);
    // Never sent here; the token file is used instead, as the README says (here: no login).
    let output = run(world.tapis().args(["api", "/v3/systems"]).env("TAPIS_TOKEN", &foreign));
    assert_exit(&output, 3);
    let text = stderr(&output);
    assert!(text.contains("note: TAPIS_TOKEN cannot be used: it was issued by https://tacc.tapis.io"), "{text}");
    assert!(text.contains("using the token file"), "{text}");
    anything.assert();
}

#[test]
#[cfg(unix)] // The profiles' folders: on Windows the user's AppData, whatever HOME says.
fn two_tenants_signed_in_at_once_with_separate_files() {
    let mut first = World::new();
    let mut second = World { server: MockTapis::new(), home: tempfile::tempdir().expect("unused") };
    let home = first.home.path().to_path_buf();
    // Both profiles live in the first world's home.
    let (login_a, jwt_a) = first.mock_login(1);
    let (login_b, jwt_b) = second.mock_login(1);
    let tapis = |profile: &str, base_url: &str| {
        let mut command = first.tapis_with_credentials();
        command.env_remove("TAPIS_BASE_URL").env("HOME", &home).args(["--profile", profile, "--base-url", base_url]);
        command
    };
    assert_exit(&run(tapis("alpha", &first.base_url()).arg("login")), 0);
    assert_exit(&run(tapis("beta", &second.base_url()).arg("login")), 0);
    login_a.assert();
    login_b.assert();

    // Afterwards the profile alone says where to go: no base URL needed.
    let token = |profile: &str| {
        let mut command = first.tapis();
        command.env_remove("TAPIS_BASE_URL").env("HOME", &home).env("TAPIS_PROFILE", profile).arg("token");
        run(&mut command)
    };
    assert_eq!(stdout(&token("alpha")), format!("{jwt_a}\n"));
    assert_eq!(stdout(&token("beta")), format!("{jwt_b}\n"));
    let alpha_file = home.join(".local/share/tapis/tokens/alpha.json");
    let beta_file = home.join(".local/share/tapis/tokens/beta.json");
    assert_eq!((mode_of(&alpha_file), mode_of(&beta_file)), (0o600, 0o600));
    assert!(!first.token_file().exists(), "the notebooks' default file is not used by profiles");

    let mut list = first.tapis();
    list.env_remove("TAPIS_BASE_URL").env("HOME", &home).args(["profiles", "--json"]);
    let output = run(&mut list);
    assert_exit(&output, 0);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let names: Vec<_> = rows.as_array().expect("array").iter().map(|row| row["name"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, ["default", "alpha", "beta"]);
    assert_eq!(rows[1]["state"], "valid");
    assert_eq!(rows[2]["base_url"], second.base_url().as_str());
    assert_eq!(rows[0]["state"], "none");
    let config = fs::read_to_string(home.join(".config/tapis/profiles.toml")).expect("config");
    assert!(config.contains("[profiles.alpha]") && config.contains("[profiles.beta]"), "{config}");
}

#[test]
fn the_default_profile_is_the_notebooks_file() {
    let (world, jwt) = signed_in();
    let output = run(world.tapis().args(["--profile", "default", "token"]));
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), format!("{jwt}\n"));
}

#[test]
fn bad_profile_names_are_refused() {
    let mut world = World::new();
    let anything = world.mock_token_endpoint(0);
    for name in ["../etc", "a/b", ".hidden"] {
        let output = run(world.tapis_with_credentials().args(["--profile", name, "login"]));
        assert_exit(&output, 2);
        assert!(stderr(&output).contains("is not a profile name"), "{}", stderr(&output));
    }
    anything.assert();
    assert!(!world.home.path().join(".config").exists());
}

#[test]
fn completions_for_each_shell() {
    let world = World::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef tapis"),
        ("fish", "complete -c tapis"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = run(world.tapis().args(["completions", shell]));
        assert_exit(&output, 0);
        assert!(stdout(&output).contains(marker), "{shell}");
        assert!(stdout(&output).contains("whoami"), "{shell} completes the verbs");
    }
}
