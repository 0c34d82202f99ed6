//! The world the binary runs in: a temporary HOME with the token files `tapis` saves after a
//! password login, a mock Tapis on 127.0.0.1 that counts every request it answers, and the
//! commands the benchmarks time.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use tapis_testkit::{MockTapis, TOKENS_PATH, isoformat_seconds, now_unix};

const USERNAME: &str = "jdoe";
const PASSWORD: &str = "pw";
/// The environment of a command that may log in.
const CREDENTIALS: [(&str, &str); 2] = [("TAPIS_USERNAME", USERNAME), ("TAPIS_PASSWORD", PASSWORD)];
/// The personal OAuth client in the saved token files.
const CLIENT: (&str, &str) = ("tapis-cli-bench", "bench-client-key");
const A_YEAR: i64 = 365 * 86_400;

/// What the benchmarks run: `tapis` on the cached path, a login, one of a herd; the floors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    Token,
    Status,
    Login,
    Herd,
    Cat,
    Curl,
    Raw,
}

pub(super) struct World {
    /// `tapis`, and `cat`, `curl` and GNU `time` found on PATH once (so that a floor pays for
    /// no PATH search).
    binary: PathBuf,
    cat: PathBuf,
    curl: PathBuf,
    pub(super) gnu_time: PathBuf,
    pub(super) home: tempfile::TempDir,
    tapis: MockTapis,
    _mocks: Vec<mockito::Mock>, // a dropped mock leaves the server
    n_requests: Arc<AtomicUsize>,
    /// The access token the mock issues, and `tapis` saves.
    issued_jwt: String,
    /// The token files: valid for the cached path; rewritten by `login --force`; the herds'.
    files: [PathBuf; 3],
}

impl World {
    pub(super) fn new(binary: &Path) -> Result<Self, String> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let find = |name| {
            let mut paths = std::env::split_paths(&path).map(|folder| folder.join(name));
            paths.find(|path| path.is_file()).ok_or(format!("the bench needs `{name}` on PATH: install it"))
        };
        let [cat, curl, gnu_time] = [find("cat")?, find("curl")?, find("time")?];
        let home = tempfile::tempdir().map_err(|error| format!("cannot create a temporary HOME: {error}"))?;
        let (mut tapis, n_requests) = (MockTapis::new(), Arc::new(AtomicUsize::new(0)));
        let (exp, refresh_exp) = (now_unix() + 4 * 3600, now_unix() + A_YEAR);
        let (issued_jwt, refresh) = (tapis.access_jwt(USERNAME, exp), tapis.refresh_jwt(USERNAME, refresh_exp, "new"));
        // As the real service: a refresh token only for a grant made through a client.
        let grants = [tapis.password_grant(USERNAME, PASSWORD), tapis.any_refresh_grant()].map(|grant| {
            grant.through_client(CLIENT.0, CLIENT.1).answer_tokens_with_refresh(&issued_jwt, exp, &refresh, refresh_exp)
        });
        let without_client = tapis.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&issued_jwt, exp);
        let new_client = tapis.create_client().answer_client(CLIENT.0, CLIENT.1, USERNAME);
        let expects = grants.into_iter().chain([without_client, new_client]);
        let _mocks = expects.map(|expect| expect.counted(&n_requests).expect_at_least(0)).collect();
        let (binary, files) = (binary.to_owned(), ["cached", "login", "herd"].map(|name| home.path().join(name)));
        let world = Self { binary, cat, curl, gnu_time, home, tapis, _mocks, n_requests, issued_jwt, files };
        world.log_in_and_check()?;
        Ok(world)
    }

    /// What `f` returns, and how many requests the mock answered meanwhile.
    fn counting<T>(&self, f: impl FnOnce() -> Result<T, String>) -> Result<(T, usize), String> {
        let before = self.n_requests.load(Ordering::SeqCst);
        Ok((f()?, self.n_requests.load(Ordering::SeqCst) - before))
    }

    /// The process of `probe` (not [`Probe::Raw`]), with a clean environment (this world's HOME
    /// only), no input, output discarded. `tapis` runs against the mock with no colour, and
    /// with the credentials in the environment but on the cached path.
    pub(super) fn command(&self, probe: Probe) -> Command {
        let ([cached, login, herd], url) = (&self.files, self.tapis.url());
        let (body, endpoint, cached_path) =
            (password_grant_body(), format!("{url}{TOKENS_PATH}"), cached.to_string_lossy());
        // -q: no .curlrc; --fail: a non-2xx answer is a failure.
        let curl = ["-q", "--silent", "--show-error", "--fail", "--output", "/dev/null", "--header"];
        let curl = [&curl[..], &["Content-Type: application/json", "--data-binary", &body, &endpoint]].concat();
        let (program, token_file, args): (_, _, &[&str]) = match probe {
            Probe::Cat => (&self.cat, None, &[&cached_path]),
            Probe::Curl => (&self.curl, None, &curl),
            Probe::Token | Probe::Raw => (&self.binary, Some(cached), &["token"]), // `run` sends the raw request
            Probe::Status => (&self.binary, Some(cached), &["status", "--json"]),
            Probe::Login => (&self.binary, Some(login), &["login", "--force"]),
            Probe::Herd => (&self.binary, Some(herd), &["token"]),
        };
        let mut command = Command::new(program);
        command.env_clear().env("HOME", self.home.path()).args(args);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        if let Some(file) = token_file {
            command.env("TAPIS_BASE_URL", &url).env("TAPIS_TOKEN_FILE", file).env("NO_COLOR", "1");
            command.envs(if file == cached { &[][..] } else { &CREDENTIALS }.iter().copied());
        }
        command
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

    /// One run of `probe`, timed (ms); an error unless it made the requests it should: one for
    /// a login and its floors, none on the cached path.
    pub(super) fn run(&self, probe: Probe) -> Result<f64, String> {
        let run = || if probe == Probe::Raw { self.raw_password_grant() } else { self.processes(probe, 1) };
        let (milliseconds, made) = self.counting(run)?;
        let expected = usize::from(matches!(probe, Probe::Login | Probe::Curl | Probe::Raw));
        if made == expected {
            Ok(milliseconds)
        } else {
            Err(format!("{probe:?} made {made} request(s), not {expected}"))
        }
    }

    /// `n` processes of `probe` started together (so that they race), then waited for: the wall
    /// time (ms) from the first start to the last exit.
    fn processes(&self, probe: Probe, n: usize) -> Result<f64, String> {
        let mut commands: Vec<Command> = (0..n).map(|_| self.command(probe)).collect();
        let started = Instant::now();
        let children = commands.iter_mut().map(Command::spawn).collect::<Result<Vec<_>, _>>();
        let children = children.map_err(|error| format!("cannot start {probe:?}: {error}"))?;
        let n_failed = children.into_iter().map(|mut child| child.wait().is_ok_and(|exit| exit.success()));
        let n_failed = n_failed.filter(|succeeded| !succeeded).count();
        let milliseconds = started.elapsed().as_secs_f64() * 1000.0;
        if n_failed == 0 { Ok(milliseconds) } else { Err(format!("{n_failed} of {n} {probe:?} processes failed")) }
    }

    /// Logs in once, from no token file (password grant, new client, grant through it), which
    /// writes the token files as `tapis` saves them; then the cached path must print the saved
    /// token and say nothing else: a benchmark of a failing command would measure nothing.
    fn log_in_and_check(&self) -> Result<(), String> {
        let (token, valid) = (format!("{}\n", self.issued_jwt), "\"state\": \"valid\"");
        for probe in [Probe::Login, Probe::Token, Probe::Status] {
            let output = self.command(probe).stdout(Stdio::piped()).stderr(Stdio::piped()).output();
            let output = output.map_err(|error| format!("cannot run tapis: {error}"))?;
            let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            let printed = if probe == Probe::Token { stdout == token } else { stdout.contains(valid) };
            if !output.status.success() || probe != Probe::Login && !(printed && stderr.is_empty()) {
                return Err(format!("{probe:?} failed ({}):\n{stdout}{stderr}", output.status));
            } else if probe == Probe::Login {
                std::fs::copy(&self.files[1], &self.files[0]).map_err(|error| format!("cannot copy: {error}"))?;
            }
        }
        Ok(())
    }

    /// A herd of `n` `tapis token` against the saved token file with the access token expired an
    /// hour ago, with its refresh token or not: its wall time (ms), and the requests it made.
    pub(super) fn herd(&self, n: usize, with_refresh: bool) -> Result<(f64, f64), String> {
        let (an_hour_ago, [cached, _, herd_file]) = (now_unix() - 3600, &self.files);
        let mut saved: Value = serde_json::from_slice(&std::fs::read(cached).unwrap_or_default()).unwrap_or_default();
        saved["access_token"] = self.tapis.access_jwt(USERNAME, an_hour_ago).into();
        saved["expires_at"] = isoformat_seconds(an_hour_ago).into();
        if let Some(fields) = saved.as_object_mut().filter(|_| !with_refresh) {
            fields.retain(|name, _| !name.starts_with("refresh_"));
        }
        let written = std::fs::write(herd_file, saved.to_string())
            .and_then(|()| std::fs::set_permissions(herd_file, std::fs::Permissions::from_mode(0o600)));
        written.map_err(|error| format!("cannot write {}: {error}", herd_file.display()))?;
        let (milliseconds, made) = self.counting(|| self.processes(Probe::Herd, n))?;
        if !std::fs::read_to_string(herd_file).unwrap_or_default().contains(&self.issued_jwt) {
            return Err(format!("after a herd of {n}, {} does not hold the new token", herd_file.display()));
        }
        Ok((milliseconds, made as f64))
    }
}

/// The password grant's JSON body, as `tapis` sends it.
fn password_grant_body() -> String {
    json!({"username": USERNAME, "password": PASSWORD, "grant_type": "password"}).to_string()
}
