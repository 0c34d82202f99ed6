//! The world the binary runs in: a temporary HOME with the token files `tapis` saves after a
//! password login, and a mock Tapis on 127.0.0.1 that counts every request it answers.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;
use tapis_testkit::{MockTapis, TOKENS_PATH, isoformat_seconds, now_unix};

const USERNAME: &str = "jdoe";
const PASSWORD: &str = "pw";
/// The personal OAuth client in the saved token files.
const CLIENT: (&str, &str) = ("tapis-cli-bench", "bench-client-key");
/// `expires_at` of the token on the cached path, 2099-01-01: valid whenever this runs.
const FAR_FUTURE: i64 = 4_070_908_800;
const A_YEAR: i64 = 365 * 86_400;

/// How the expired token a herd starts from was saved: with a refresh token (renewed with
/// the refresh grant), or with the client only (a password login through the client, with
/// TAPIS_USERNAME and TAPIS_PASSWORD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HerdKind {
    Renewal,
    PasswordLogin,
}

impl HerdKind {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Self::Renewal => "renewal (refresh token saved)",
            Self::PasswordLogin => "password login (client saved, no refresh token)",
        }
    }
}

/// Everything a `tapis` run needs, and the commands the benchmarks time.
pub(super) struct World {
    binary: PathBuf,
    home: tempfile::TempDir,
    tapis: MockTapis,
    _mocks: Vec<mockito::Mock>, // a dropped mock leaves the server
    n_requests: Arc<AtomicUsize>,
    issued_jwt: String,
    /// The token files: valid for the cached path; rewritten by `login --force`; the herds'.
    pub(super) cached_file: PathBuf,
    login_file: PathBuf,
    herd_file: PathBuf,
}

impl World {
    pub(super) fn new(binary: &Path) -> Result<Self, String> {
        let home = tempfile::tempdir().map_err(|error| format!("cannot create a temporary HOME: {error}"))?;
        let (mut tapis, n_requests) = (MockTapis::new(), Arc::new(AtomicUsize::new(0)));
        let (exp, refresh_exp) = (now_unix() + 4 * 3600, now_unix() + A_YEAR);
        let (issued_jwt, refresh) = (tapis.access_jwt(USERNAME, exp), tapis.refresh_jwt(USERNAME, refresh_exp, "new"));
        // As the real service: a refresh token only for a grant made through a client.
        let grants = [tapis.password_grant(USERNAME, PASSWORD), tapis.any_refresh_grant()];
        let through_client = grants.map(|grant| {
            grant.through_client(CLIENT.0, CLIENT.1).answer_tokens_with_refresh(&issued_jwt, exp, &refresh, refresh_exp)
        });
        let without_client = tapis.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&issued_jwt, exp);
        let new_client = tapis.create_client().answer_client(CLIENT.0, CLIENT.1, USERNAME);
        let expects = through_client.into_iter().chain([without_client, new_client]);
        let _mocks = expects.map(|expect| expect.counted(&n_requests).expect_at_least(0)).collect();
        let [cached_file, login_file, herd_file] = ["cached", "login", "herd"].map(|name| home.path().join(name));
        let binary = binary.to_owned();
        let world = Self { binary, home, tapis, _mocks, n_requests, issued_jwt, cached_file, login_file, herd_file };
        world.write_token_file(&world.cached_file, &world.cached_jwt(), FAR_FUTURE, true)?;
        world.write_token_file(&world.login_file, &world.cached_jwt(), FAR_FUTURE, true)?;
        Ok(world)
    }

    /// The valid token the cached path reads (the same each time: the fake JWTs are
    /// deterministic).
    fn cached_jwt(&self) -> String {
        self.tapis.access_jwt(USERNAME, FAR_FUTURE)
    }

    pub(super) fn home(&self) -> &Path {
        self.home.path()
    }

    fn n_requests(&self) -> usize {
        self.n_requests.load(Ordering::SeqCst)
    }

    /// Writes a token file as `tapis` saves it (0600; the refresh token if `with_refresh`).
    fn write_token_file(&self, path: &Path, jwt: &str, expires_at: i64, with_refresh: bool) -> Result<(), String> {
        let (url, refresh_exp) = (self.tapis.url(), now_unix() + A_YEAR);
        let mut file = json!({"access_token": jwt, "expires_at": isoformat_seconds(expires_at), "base_url": url,
            "username": USERNAME, "client_id": CLIENT.0, "client_key": CLIENT.1});
        if with_refresh {
            file["refresh_token"] = self.tapis.refresh_jwt(USERNAME, refresh_exp, "saved").into();
            file["refresh_expires_at"] = isoformat_seconds(refresh_exp).into();
        }
        let _ = std::fs::remove_file(path);
        let mut options = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(options.write(true).create_new(true), 0o600);
        let written = options.open(path).and_then(|mut open| open.write_all(format!("{file:#}\n").as_bytes()));
        written.map_err(|error| format!("cannot write {}: {error}", path.display()))
    }

    /// `program` with a clean environment (this world's HOME only), no input, output discarded.
    fn clean(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env_clear().env("HOME", self.home()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        command
    }

    /// `tapis ARGS` against the mock with `token_file`, no colour.
    fn tapis(&self, token_file: &Path, args: &[&str]) -> Command {
        let mut command = self.clean(&self.binary);
        command.env("TAPIS_BASE_URL", self.tapis.url()).env("TAPIS_TOKEN_FILE", token_file).env("NO_COLOR", "1");
        command.args(args);
        command
    }

    /// The same with the credentials in the environment.
    fn tapis_with_credentials(&self, token_file: &Path, args: &[&str]) -> Command {
        let mut command = self.tapis(token_file, args);
        command.env("TAPIS_USERNAME", USERNAME).env("TAPIS_PASSWORD", PASSWORD);
        command
    }

    pub(super) fn tapis_token(&self, token_file: &Path) -> Command {
        self.tapis(token_file, &["token"])
    }

    pub(super) fn tapis_status(&self) -> Command {
        self.tapis(&self.cached_file, &["status", "--json"])
    }

    pub(super) fn tapis_login(&self) -> Command {
        self.tapis_with_credentials(&self.login_file, &["login", "--force"])
    }

    /// The floor of the cached path: `cat` of the same token file, same environment.
    pub(super) fn cat(&self) -> Command {
        let mut command = self.clean(find_program("cat").unwrap_or_else(|| "cat".into()));
        command.arg(&self.cached_file);
        command
    }

    /// `curl` sending the password grant `tapis` sends, if curl is installed (-q: no .curlrc;
    /// --fail: a non-2xx answer is a failure).
    pub(super) fn curl_password_grant(&self) -> Option<Command> {
        let mut command = self.clean(find_program("curl")?);
        command.args(["-q", "--silent", "--show-error", "--fail", "--output", "/dev/null", "--header"]);
        command.args(["Content-Type: application/json", "--data-binary", &password_grant_body()]);
        command.arg(format!("{}{TOKENS_PATH}", self.tapis.url()));
        Some(command)
    }

    /// The raw-request floor: the password grant through the client, over a fresh
    /// connection from here, reading the whole answer.
    pub(super) fn raw_password_grant(&self) -> Result<f64, String> {
        let (address, body) = (self.tapis.url().replace("http://", ""), password_grant_body());
        let (authorization, length) = (tapis_testkit::basic_auth(CLIENT.0, CLIENT.1), body.len());
        let request = format!(
            "POST {TOKENS_PATH} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Authorization: {authorization}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}"
        );
        let (started, mut answer) = (Instant::now(), Vec::new());
        let mut stream = std::net::TcpStream::connect(&address).map_err(|error| format!("cannot connect: {error}"))?;
        let sent = stream.write_all(request.as_bytes()).and_then(|()| stream.read_to_end(&mut answer));
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        match sent {
            Ok(_) if answer.starts_with(b"HTTP/1.1 200 ") => Ok(elapsed),
            _ => Err(format!("the raw request failed: {sent:?}, {}", String::from_utf8_lossy(&answer))),
        }
    }

    /// The cached path must print the saved token, say nothing and make no request; a login,
    /// make one: a benchmark of a failing command would measure nothing.
    pub(super) fn check(&self) -> Result<(), String> {
        let before = self.n_requests();
        let (token, quiet) = capture(&mut self.tapis_token(&self.cached_file))?;
        let (status, quiet_too) = capture(&mut self.tapis_status())?;
        if token != format!("{}\n", self.cached_jwt())
            || !status.contains("\"state\": \"valid\"")
            || !quiet
            || !quiet_too
        {
            return Err(format!("the cached path did not just print the saved token:\n{token}{status}"));
        }
        let cached = self.n_requests() - before;
        let (login, _) = capture(&mut self.tapis_login())?;
        match (cached, self.n_requests() - before - cached) {
            (0, 1) => Ok(()),
            (cached, login_requests) => Err(format!(
                "the cached path made {cached} request(s), not 0, and a login {login_requests}, not 1:\n{login}"
            )),
        }
    }

    /// `n` processes of `tapis token` started together against an expired token saved as
    /// `kind` says: the wall time (ms) from the first spawn to the last exit, and the requests.
    pub(super) fn herd(&self, n: usize, kind: HerdKind) -> Result<(f64, usize), String> {
        let an_hour_ago = now_unix() - 3600;
        let expired = self.tapis.access_jwt(USERNAME, an_hour_ago);
        self.write_token_file(&self.herd_file, &expired, an_hour_ago, kind == HerdKind::Renewal)?;
        let (before, started) = (self.n_requests(), Instant::now());
        // Start them all before waiting for any, so that they race for the expired token.
        let spawn = |_| {
            self.tapis_with_credentials(&self.herd_file, &["token"])
                .spawn()
                .map_err(|error| format!("cannot start tapis: {error}"))
        };
        let children = (0..n).map(spawn).collect::<Result<Vec<_>, _>>()?;
        let n_ok = children.into_iter().filter_map(|mut child| child.wait().ok()).filter(|exit| exit.success()).count();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let saved = std::fs::read_to_string(&self.herd_file).unwrap_or_default();
        if n_ok < n {
            return Err(format!("{} of a herd of {n} `tapis token` processes failed", n - n_ok));
        } else if !saved.contains(&self.issued_jwt) {
            return Err(format!("after a herd of {n}, {} does not hold the new token", self.herd_file.display()));
        }
        Ok((elapsed, self.n_requests() - before))
    }
}

/// The password grant's JSON body, as `tapis` sends it.
fn password_grant_body() -> String {
    json!({"username": USERNAME, "password": PASSWORD, "grant_type": "password"}).to_string()
}

/// The first file called `name` on PATH (so that a floor does not pay for a PATH search).
fn find_program(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|folder| folder.join(name)).find(|path| path.is_file())
}

/// Runs `command`: its stdout and whether stderr was empty, or an error that shows both.
fn capture(command: &mut Command) -> Result<(String, bool), String> {
    let output = command.stdout(Stdio::piped()).stderr(Stdio::piped()).output();
    let output = output.map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    match output.status.success() {
        true => Ok((format!("{stdout}{stderr}"), stderr.is_empty())),
        false => Err(format!("{:?} failed ({}):\n{stdout}{stderr}", command.get_program(), output.status)),
    }
}
