//! What the tests share: a mock Tapis server with stray-request traps ([`MockTapis`]), fake
//! tokens and answers, token files, and a scripted prompter.

use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use mockito::{Matcher, Mock};
use serde_json::{Value, json};
use tapis_auth::time::Sleep;
use tapis_auth::{ClientConfig, Clock, LoginOptions, Notice, PromptError, Prompter, RetryPolicy, SharedClock};
use tapis_auth_core::{BaseUrl, SecretString};
#[allow(unused_imports)] // for tests that mock a request with `on(method, path)`
pub(crate) use tapis_testkit::REVOKE_PATH;
pub(crate) use tapis_testkit::{MockTapis, TOKENS_PATH, USERINFO_PATH};

pub(crate) const USERNAME: &str = "jdoe";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const REJECTED: &str = tapis_testkit::messages::INVALID_CREDENTIALS;

/// Four hours from now, as DesignSafe access tokens live.
pub(crate) fn valid_exp() -> i64 {
    tapis_testkit::now_unix() + 4 * 3600
}

/// A fake Tapis access JWT for `username`, issued by the token service of `base_url`
/// (`iss` = `<base_url>/v3/tokens`).
pub(crate) fn jwt(base_url: &str, username: &str, exp: i64) -> String {
    tapis_testkit::jwt(&tapis_testkit::claims(username, exp, base_url))
}

/// A successful password-grant answer with an explicit `expires_at` text.
pub(crate) fn token_body(access_jwt: &str, expires_at: &str) -> String {
    let access_token = json!({
        "access_token": access_jwt,
        "expires_at": expires_at,
        "expires_in": 14400,
        "jti": "0b5c6a2e-8f49-4a8e-9c4b-2d4b0c1c7d11",
    });
    tapis_testkit::envelope("Token created successfully.", json!({"access_token": access_token})).to_string()
}

/// The JSON body of a password grant.
pub(crate) fn grant(username: &str, password: &str) -> Matcher {
    Matcher::Json(json!({"username": username, "password": password, "grant_type": "password"}))
}

/// The client settings the tests use: the usual 3 attempts, no waiting between them, on a
/// [`TestClock`] (so a device login's polls cost no time either).
pub(crate) fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.retry = RetryPolicy::immediate(3);
    config.clock = SharedClock::from(TestClock::new());
    config
}

/// A virtual clock: it starts at the real time when made, and moves only when slept on, by
/// as much as asked, at once. It records every sleep.
#[derive(Debug)]
pub(crate) struct TestClock {
    start: DateTime<Utc>,
    sleeps: Mutex<Vec<Duration>>,
}

impl TestClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self { start: Utc::now(), sleeps: Mutex::default() })
    }

    /// `config` on a new test clock (and its settings otherwise kept); returns the clock.
    pub(crate) fn install(config: &mut ClientConfig) -> Arc<Self> {
        let clock = Self::new();
        config.clock = SharedClock::from(clock.clone());
        clock
    }

    /// Every sleep so far, in order.
    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().expect("not poisoned").clone()
    }

    /// How far the clock has moved.
    pub(crate) fn elapsed(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + self.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleeps.lock().expect("not poisoned").push(duration);
        Box::pin(tokio::task::yield_now())
    }
}

/// A mock Tapis server ([`MockTapis`], with its stray-request traps) and this crate's view of
/// its base URL.
pub(crate) struct Tapis {
    pub(crate) server: MockTapis,
}

impl Tapis {
    pub(crate) fn new() -> Self {
        Self { server: MockTapis::new() }
    }

    pub(crate) fn url(&self) -> String {
        self.server.url()
    }

    pub(crate) fn base_url(&self) -> BaseUrl {
        BaseUrl::parse(&self.server.url()).expect("a loopback base URL")
    }

    /// A valid JWT issued by this server.
    pub(crate) fn jwt(&self, exp: i64) -> String {
        self.server.access_jwt(USERNAME, exp)
    }

    /// The token endpoint answering `status` with `body` (as JSON), `hits` times.
    pub(crate) fn token_answer(&mut self, status: usize, body: &str, hits: usize) -> Mock {
        self.server.token_endpoint().answer(status, "application/json", body).expect(hits)
    }

    /// The password grant for `username`/`password` answering a fresh token, `hits` times.
    /// Returns the mock and the token it hands out.
    pub(crate) fn login_ok(&mut self, username: &str, password: &str, hits: usize) -> (Mock, String) {
        let exp = valid_exp();
        let access = self.server.access_jwt(username, exp);
        (self.server.password_grant(username, password).answer_tokens(&access, exp).expect(hits), access)
    }

    /// The password grant for `username`/`password` answering 400 with `message`, `hits` times.
    pub(crate) fn login_rejected(&mut self, username: &str, password: &str, message: &str, hits: usize) -> Mock {
        self.server.token_endpoint().with_body(grant(username, password)).answer_error(400, message).expect(hits)
    }

    /// Asserts that no request went anywhere unexpected.
    #[track_caller]
    pub(crate) fn assert_no_strays(&self) {
        self.server.assert_no_strays();
    }
}

/// Login options for `tapis` with a token file in `folder`: immediate retries, a short lock
/// wait, and `no_refresh`, so that a login is the plain password grant (one request, no OAuth
/// client created, no refresh token).
pub(crate) fn options(tapis: &Tapis, folder: &Path) -> LoginOptions {
    let mut options = LoginOptions::new(tapis.base_url(), folder.join("tokens.json"));
    options.client = client_config();
    options.lock_timeout = Duration::from_secs(5);
    options.no_refresh = true;
    options
}

/// The same options with both credentials supplied.
pub(crate) fn with_credentials(mut options: LoginOptions, username: &str, password: &str) -> LoginOptions {
    options.credentials.username = Some(username.to_owned());
    options.credentials.password = Some(SecretString::from(password.to_owned()));
    options
}

/// Writes a token file with `fields` as its JSON, 0600 (so no permission notice).
pub(crate) fn write_token_file(path: &Path, fields: &Value) {
    write_raw_token_file(path, fields.to_string().as_bytes());
}

pub(crate) fn write_raw_token_file(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).expect("write the token file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 600");
    }
}

/// The notebooks' two fields, for a token whose `exp` is `exp`, plus a recorded `base_url`.
pub(crate) fn token_file_fields(access: &str, exp: i64, base_url: Option<&str>) -> Value {
    let expires_at = tapis_testkit::isoformat_seconds(exp);
    let mut fields = json!({"access_token": access, "expires_at": expires_at});
    if let Some(base_url) = base_url {
        fields["base_url"] = json!(base_url);
    }
    fields
}

/// The saved token file as JSON.
pub(crate) fn saved(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).expect("the token file exists")).expect("the token file is JSON")
}

/// A prompter that answers from a script and records what it was told.
#[derive(Debug, Default)]
pub(crate) struct Scripted {
    pub(crate) can_prompt: bool,
    pub(crate) usernames: VecDeque<String>,
    pub(crate) passwords: VecDeque<String>,
    /// Each notice received, as its `Debug` text.
    pub(crate) notices: Vec<String>,
    pub(crate) n_username_prompts: u32,
    pub(crate) n_password_prompts: u32,
}

impl Scripted {
    /// A prompter that can prompt and answers `(username, password)` pairs in order, then
    /// reports the end of input.
    pub(crate) fn answering(answers: &[(&str, &str)]) -> Self {
        Self {
            can_prompt: true,
            usernames: answers.iter().map(|(username, _)| (*username).to_owned()).collect(),
            passwords: answers.iter().map(|(_, password)| (*password).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// A prompter for a caller without a terminal.
    pub(crate) fn no_terminal() -> Self {
        Self::default()
    }

    pub(crate) fn n_prompts(&self) -> u32 {
        self.n_username_prompts + self.n_password_prompts
    }

    /// The notices whose `Debug` text starts with `kind`.
    pub(crate) fn notices_of(&self, kind: &str) -> Vec<&str> {
        self.notices.iter().map(String::as_str).filter(|notice| notice.starts_with(kind)).collect()
    }
}

impl Prompter for Scripted {
    fn can_prompt(&self) -> bool {
        self.can_prompt
    }

    fn username(&mut self, _base_url: &BaseUrl) -> Result<String, PromptError> {
        self.n_username_prompts += 1;
        self.usernames.pop_front().ok_or(PromptError::EndOfInput)
    }

    fn password(&mut self, _username: &str) -> Result<SecretString, PromptError> {
        self.n_password_prompts += 1;
        self.passwords.pop_front().map(SecretString::from).ok_or(PromptError::EndOfInput)
    }

    fn notice(&mut self, notice: &Notice) {
        self.notices.push(format!("{notice:?}"));
    }
}
