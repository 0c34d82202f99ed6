//! What the end-to-end tests share: an isolated environment per test with its own
//! [`MockTapis`], fake tokens and the snapshot filters.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mockito::Mock;
use serde_json::{Value, json};
pub(crate) use tapis_testkit::MockTapis;
#[allow(unused_imports)] // the paths, for tests that mock a request with `on(method, path)`
pub(crate) use tapis_testkit::{CLIENTS_PATH, TOKENS_PATH as TOKEN_PATH};

pub(crate) const USERNAME: &str = "jdoe";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const CLIENT_ID: &str = "tapis-cli-jdoe-4f2a";
pub(crate) const CLIENT_KEY: &str = "client-key-9b1e77";

/// The mocks of one login; `assert` checks each was hit as often as expected.
pub(crate) struct LoginMocks {
    mocks: Vec<Mock>,
}

impl LoginMocks {
    #[track_caller]
    pub(crate) fn assert(&self) {
        for mock in &self.mocks {
            mock.assert();
        }
    }
}

/// One test's world: a mock Tapis server, a home folder and a token file in it.
pub(crate) struct World {
    pub(crate) server: MockTapis,
    pub(crate) home: tempfile::TempDir,
}

impl World {
    pub(crate) fn new() -> Self {
        Self { server: MockTapis::new(), home: tempfile::tempdir().expect("temp home") }
    }

    pub(crate) fn base_url(&self) -> String {
        self.server.url()
    }

    /// The default token file: `~/.tapis_tokens.json` in this test's home.
    pub(crate) fn token_file(&self) -> PathBuf {
        self.home.path().join(".tapis_tokens.json")
    }

    /// The file whose whole seconds put the clock of the `tapis` processes this world runs
    /// ahead of the system's (absent at first: no lead).
    pub(crate) fn clock_file(&self) -> PathBuf {
        self.home.path().join("clock")
    }

    /// `tapis` with a clean environment: this world's HOME and base URL, no colour, this
    /// world's clock (`TAPIS_TEST_CLOCK`, read by debug builds only: the flow's waits pass at
    /// once), and no TAPIS_* variables from whoever runs the tests.
    pub(crate) fn tapis(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tapis"));
        command
            .env_clear()
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("TAPIS_BASE_URL", self.base_url())
            .env("TAPIS_HTTP_TIMEOUT", "20s")
            .env("TAPIS_TEST_CLOCK", self.clock_file());
        // Windows finds the home folder from the user's profile, whatever HOME says: the token
        // file is named instead.
        #[cfg(windows)]
        command.env("TAPIS_TOKEN_FILE", self.token_file());
        command
    }

    /// `tapis` with credentials in the environment.
    pub(crate) fn tapis_with_credentials(&self) -> Command {
        let mut command = self.tapis();
        command.env("TAPIS_USERNAME", USERNAME).env("TAPIS_PASSWORD", PASSWORD);
        command
    }

    /// A JWT for this world's server, expiring `seconds_from_now` from now.
    pub(crate) fn jwt(&self, seconds_from_now: i64) -> String {
        jwt_for(&self.base_url(), seconds_from_now)
    }

    /// Writes the token file as the notebooks' `connect_tapis()` does (two fields, 0644).
    pub(crate) fn write_notebook_file(&self, jwt: &str, seconds_from_now: i64) {
        let expires_at = iso_utc(tapis_testkit::now_unix() + seconds_from_now);
        let text = format!(r#"{{"access_token": "{jwt}", "expires_at": "{expires_at}"}}"#);
        fs::write(self.token_file(), text).expect("write token file");
        set_mode(&self.token_file(), 0o644);
    }

    /// Mocks a first password login with renewal, each step expected `hits` times: the
    /// password grant (no client) → creating the personal OAuth client with that token → the
    /// password grant again through the client (HTTP Basic), which also yields a refresh
    /// token. The header matchers pin the order: the second grant needs the client's
    /// credentials, which only the creation answer gives, and the creation needs the first
    /// token. Returns the mocks and the final access token.
    pub(crate) fn mock_login(&mut self, hits: usize) -> (LoginMocks, String) {
        let exp = tapis_testkit::now_unix() + 4 * 3600 - 1;
        let first = self.server.access_jwt(USERNAME, exp);
        let grant =
            self.server.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&first, exp).expect(hits);
        let create_client = self
            .server
            .create_client()
            .with_tapis_token(&first)
            .answer_client(CLIENT_ID, CLIENT_KEY, USERNAME)
            .expect(hits);
        let (grant_via_client, jwt) = self.mock_grant_via_client(hits);
        (LoginMocks { mocks: vec![grant, create_client, grant_via_client] }, jwt)
    }

    /// Deleting the personal OAuth client, with `token` when given, answered as Tapis does, once.
    pub(crate) fn mock_client_deletion(&mut self, token: Option<&str>) -> Mock {
        let expect = self.server.delete_client(CLIENT_ID);
        let expect = match token {
            Some(token) => expect.with_tapis_token(token),
            None => expect,
        };
        expect.answer_envelope(200, "Client deleted.", serde_json::Value::Null).expect(1)
    }

    /// A first `tapis login` with renewal, as `mock_login` mocks it; returns the saved token.
    pub(crate) fn log_in(&mut self) -> String {
        let (login, jwt) = self.mock_login(1);
        assert_exit(&run(self.tapis_with_credentials().arg("login")), 0);
        login.assert();
        jwt
    }

    /// Mocks the password grant through the personal client (HTTP Basic), expected `hits`
    /// times: a login when the token file already holds the client.
    pub(crate) fn mock_grant_via_client(&mut self, hits: usize) -> (Mock, String) {
        let (jwt, exp) = (self.jwt(4 * 3600), tapis_testkit::now_unix() + 4 * 3600);
        let refresh = self.refresh_jwt("refresh");
        let mock = self
            .server
            .password_grant(USERNAME, PASSWORD)
            .through_client(CLIENT_ID, CLIENT_KEY)
            .answer_tokens_with_refresh(&jwt, exp, &refresh, exp - 4 * 3600 + 365 * 86_400)
            .expect(hits);
        (mock, jwt)
    }

    /// A refresh token for this world's server, valid for a year.
    pub(crate) fn refresh_jwt(&self, tag: &str) -> String {
        self.server.refresh_jwt(USERNAME, tapis_testkit::now_unix() + 365 * 86_400, tag)
    }

    /// Mocks the refresh grant for `refresh` through the personal client, expected `hits`
    /// times. Returns the mock, the new access token and the new (rotated) refresh token.
    pub(crate) fn mock_refresh(&mut self, refresh: &str, hits: usize) -> (Mock, String, String) {
        let now = tapis_testkit::now_unix();
        let (access, rotated) = (self.jwt(4 * 3600), self.refresh_jwt("rotated"));
        let mock = self
            .server
            .refresh_grant(refresh)
            .through_client(CLIENT_ID, CLIENT_KEY)
            .answer_tokens_with_refresh(&access, now + 4 * 3600, &rotated, now + 365 * 86_400)
            .expect(hits);
        (mock, access, rotated)
    }

    /// Writes a token file as this tool does after a login with renewal: the access token
    /// (expiring in `seconds_from_now`), a refresh token valid for a year, and the client.
    pub(crate) fn write_renewable_file(&self, access: &str, seconds_from_now: i64, refresh: &str) {
        let now = tapis_testkit::now_unix();
        let file = json!({
            "access_token": access,
            "expires_at": iso_utc(now + seconds_from_now),
            "base_url": self.base_url(),
            "username": USERNAME,
            "refresh_token": refresh,
            "refresh_expires_at": iso_utc(now + 365 * 86_400),
            "client_id": CLIENT_ID,
            "client_key": CLIENT_KEY,
        });
        fs::write(self.token_file(), file.to_string()).expect("write token file");
        set_mode(&self.token_file(), 0o600);
    }

    /// Records in the token file that tapis created its OAuth client, as a login that made
    /// the client does.
    pub(crate) fn mark_client_created(&self) {
        let mut file = self.saved();
        file["created_client_id"] = CLIENT_ID.into();
        fs::write(self.token_file(), file.to_string()).expect("write token file");
    }

    /// Mocks any request to the token endpoint, expected `hits` times (0: "no request").
    pub(crate) fn mock_token_endpoint(&mut self, hits: usize) -> Mock {
        self.server.token_endpoint().expect(hits)
    }

    /// Mocks the token endpoint answering `status` with a Tapis error `message`.
    pub(crate) fn mock_token_error(&mut self, status: usize, message: &str, hits: usize) -> Mock {
        self.server.token_endpoint().answer_error(status, message).expect(hits)
    }

    /// The saved token file as JSON.
    pub(crate) fn saved(&self) -> Value {
        let text = fs::read_to_string(self.token_file()).expect("token file");
        serde_json::from_str(&text).expect("token file is JSON")
    }

    /// Snapshot filters: this world's URL, home folder, times, durations and tokens.
    pub(crate) fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(&regex_escape(&self.base_url()), "[SERVER]");
        settings.add_filter(&regex_escape(&self.home.path().display().to_string()), "[HOME]");
        // Windows separates a path's names with `\` (`\\` in JSON); the snapshots are written
        // with `/`. Each pass turns the first separator left under [HOME] into `/`.
        // JSON escapes those backslashes.
        #[cfg(windows)]
        settings.add_filter(&regex_escape(&self.home.path().display().to_string().replace('\\', "\\\\")), "[HOME]");
        // And clap names the program as it was started.
        #[cfg(windows)]
        settings.add_filter(r"\btapis\.exe\b", "tapis");
        #[cfg(windows)]
        for _ in 0..8 {
            settings.add_filter(r"(\[HOME\](?:/[\w.\-]+)*)\\{1,2}([\w.\-])", "${1}/${2}");
        }
        settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+00:00)", "[TIME]");
        settings.add_filter(r"\.corrupt-\d{8}T\d{6}Z(-\d+)?", ".corrupt-[TIME]");
        settings.add_filter(r"\b\d+(d \d+h|h \d\dm|m \d\ds|s)\b", "[DURATION]");
        settings.add_filter(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", "[TOKEN]");
        settings.add_filter(r#""seconds_left": \d+"#, r#""seconds_left": [SECONDS]"#);
        settings
    }
}

/// A JWT issued by `base_url`'s token service for [`USERNAME`].
pub(crate) fn jwt_for(base_url: &str, seconds_from_now: i64) -> String {
    tapis_testkit::jwt(&tapis_testkit::claims(USERNAME, tapis_testkit::now_unix() + seconds_from_now, base_url))
}

/// `2025-09-05T02:30:48+00:00`, as the notebooks write it.
pub(crate) fn iso_utc(unix_seconds: i64) -> String {
    tapis_testkit::isoformat_seconds(unix_seconds)
}

/// Escapes a literal for use in a regex filter.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Runs a command and returns its output (it never waits for input: stdin is null).
pub(crate) fn run(command: &mut Command) -> Output {
    command.stdin(std::process::Stdio::null()).output().expect("run tapis")
}

/// Starts every command before waiting for any, so that they race (a herd), and returns
/// their outputs in order.
pub(crate) fn run_together(commands: impl IntoIterator<Item = Command>) -> Vec<Output> {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut command| {
            let (piped, null) = (std::process::Stdio::piped, std::process::Stdio::null);
            command.stdin(null()).stdout(piped()).stderr(piped()).spawn().expect("spawn tapis")
        })
        .collect();
    children.into_iter().map(|child| child.wait_with_output().expect("wait")).collect()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code, with the output in the message when it is not the expected one.
#[track_caller]
pub(crate) fn assert_exit(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

/// The permission bits of `path`.
#[cfg(unix)]
pub(crate) fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Sets the permission bits of `path`, as a notebook or a user would. Windows has none: a
/// file there takes its folder's access list, so there is nothing to set.
pub(crate) fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    #[cfg(not(unix))]
    let _ = (path, mode);
}
