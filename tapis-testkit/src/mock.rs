//! [`MockTapis`]: a mockito server that answers as the Tapis services do.
//!
//! Each request a test expects is described in three parts: which request
//! (`tapis.password_grant(..)`, `tapis.refresh_grant(..)`, `tapis.on("GET", "/v3/systems")`…),
//! the answer (`.answer_tokens(..)`, `.answer_error(400, ..)`, `.answer_java_401(..)`…) and
//! how many times it must come (`.expect(n)`, which creates the mock). A request nobody
//! expected lands on a catch-all trap that [`MockTapis::assert_no_strays`] checks.
//!
//! ```
//! use tapis_testkit::MockTapis;
//!
//! let mut tapis = MockTapis::new();
//! let exp = tapis_testkit::now_unix() + 4 * 3600;
//! let access = tapis.access_jwt("jdoe", exp);
//! let login = tapis.password_grant("jdoe", "pw").answer_tokens(&access, exp).expect(0);
//! login.assert();
//! tapis.assert_no_strays();
//! ```

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mockito::{Matcher, Mock, ServerGuard};
use serde_json::{Value, json};

/// `POST` here: the password, refresh and device-code grants.
pub const TOKENS_PATH: &str = "/v3/oauth2/tokens";
/// `POST` here creates an OAuth client; `DELETE {CLIENTS_PATH}/{id}` removes one.
pub const CLIENTS_PATH: &str = "/v3/oauth2/clients";
/// `POST` here starts a device-code login.
pub const DEVICE_CODE_PATH: &str = "/v3/oauth2/device/code";
/// `POST` here revokes a token.
pub const REVOKE_PATH: &str = "/v3/oauth2/tokens/revoke";
/// `GET` here tells whose the token is.
pub const USERINFO_PATH: &str = "/v3/oauth2/userinfo";

/// The 400 messages the authenticator answers with, word for word.
pub mod messages {
    /// A wrong password, and an unknown user.
    pub const INVALID_CREDENTIALS: &str = "Invalid username/password combination.";
    /// A refresh token the server does not know (or that was revoked).
    pub const INVALID_REFRESH_TOKEN: &str = "Invalid refresh_token.";
    /// A device-code poll before the user approved.
    pub const DEVICE_CODE_NOT_READY: &str = "device code not ready.";
    /// A device-code poll after the code expired.
    pub const DEVICE_CODE_EXPIRED: &str = "device code has expired and is now deleted.";
    /// userinfo with an expired or bad token.
    pub const INVALID_TAPIS_TOKEN: &str = "Invalid Tapis token.";
    /// userinfo without a token.
    pub const NO_TAPIS_TOKEN: &str = "No Tapis access token found in the request.";
}

/// A mock Tapis server on loopback. Catch-all traps that expect no request are created
/// first: mockito gives a request to the first matching mock that still misses hits, else to
/// the *last* matching one, so a trap only gets the requests no later mock matches, and
/// answers them as mockito does (501).
pub struct MockTapis {
    server: ServerGuard,
    strays: Vec<Mock>,
}

impl MockTapis {
    /// A new server with its stray-request traps.
    pub fn new() -> Self {
        let mut server = mockito::Server::new();
        let strays = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
            .into_iter()
            .map(|method| server.mock(method, Matcher::Any).with_status(501).expect(0).create())
            .collect();
        Self { server, strays }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// An access token this server's token service issued to `username`.
    pub fn access_jwt(&self, username: &str, exp: i64) -> String {
        crate::jwt(&crate::claims(username, exp, &self.url()))
    }

    /// A refresh token this server issued to `username`, with `jti` as its id.
    pub fn refresh_jwt(&self, username: &str, exp: i64, jti: &str) -> String {
        let mut claims = crate::refresh_claims(username, exp, &self.url());
        claims["jti"] = jti.into();
        crate::jwt(&claims)
    }

    /// Any request with `method` to `path` (a path, or a mockito matcher).
    pub fn on(&mut self, method: &str, path: impl Into<Matcher>) -> Expect {
        Expect::new(self.server.mock(method, path))
    }

    /// Any request to the token endpoint.
    pub fn token_endpoint(&mut self) -> Expect {
        self.on("POST", TOKENS_PATH)
    }

    /// The password grant, as JSON, for `username` and `password`.
    pub fn password_grant(&mut self, username: &str, password: &str) -> Expect {
        self.token_endpoint()
            .with_header("content-type", "application/json")
            .with_json_body(json!({"username": username, "password": password, "grant_type": "password"}))
    }

    /// The refresh grant for `refresh_token`.
    pub fn refresh_grant(&mut self, refresh_token: &str) -> Expect {
        self.token_endpoint().with_json_body(json!({"grant_type": "refresh_token", "refresh_token": refresh_token}))
    }

    /// Any refresh grant.
    pub fn any_refresh_grant(&mut self) -> Expect {
        self.token_endpoint().with_body(Matcher::PartialJson(json!({"grant_type": "refresh_token"})))
    }

    /// A device-code poll: the token endpoint with the device-code grant.
    pub fn device_code_grant(&mut self, client_id: &str, device_code: &str) -> Expect {
        self.token_endpoint()
            .with_json_body(json!({"grant_type": "device_code", "client_id": client_id, "device_code": device_code}))
    }

    /// The start of a device-code login for `client_id`.
    pub fn device_code(&mut self, client_id: &str) -> Expect {
        self.on("POST", DEVICE_CODE_PATH).with_json_body(json!({"client_id": client_id}))
    }

    /// Creating an OAuth client.
    pub fn create_client(&mut self) -> Expect {
        self.on("POST", CLIENTS_PATH)
    }

    /// Deleting the OAuth client `client_id`.
    pub fn delete_client(&mut self, client_id: &str) -> Expect {
        self.on("DELETE", format!("{CLIENTS_PATH}/{client_id}").as_str())
    }

    /// Revoking `token`, or any revoke when `None`.
    pub fn revoke(&mut self, token: Option<&str>) -> Expect {
        let expect = self.on("POST", REVOKE_PATH);
        match token {
            Some(token) => {
                expect.with_header("content-type", "application/json").with_json_body(json!({"token": token}))
            }
            None => expect,
        }
    }

    /// `GET /v3/oauth2/userinfo`.
    pub fn userinfo(&mut self) -> Expect {
        self.on("GET", USERINFO_PATH)
    }

    /// Asserts that no request went anywhere unexpected.
    #[track_caller]
    pub fn assert_no_strays(&self) {
        for stray in &self.strays {
            stray.assert();
        }
    }
}

impl Default for MockTapis {
    fn default() -> Self {
        Self::new()
    }
}

/// The mockito server underneath, for what the helpers above do not cover.
impl Deref for MockTapis {
    type Target = ServerGuard;

    fn deref(&self) -> &ServerGuard {
        &self.server
    }
}

impl DerefMut for MockTapis {
    fn deref_mut(&mut self) -> &mut ServerGuard {
        &mut self.server
    }
}

/// One expected request: what it must look like, the answer, and (with [`Expect::expect`])
/// how many times it must come.
#[must_use = "a request is mocked only by `.expect(n)`"]
pub struct Expect {
    mock: Mock,
    body: Vec<u8>,
    counter: Option<Arc<AtomicUsize>>,
}

impl Expect {
    fn new(mock: Mock) -> Self {
        Self { mock, body: Vec::new(), counter: None }
    }

    /// The request must carry this header (a value, or a matcher such as `Matcher::Missing`).
    pub fn with_header(mut self, name: &'static str, value: impl Into<Matcher>) -> Self {
        self.mock = self.mock.match_header(name, value);
        self
    }

    /// The request must come through the OAuth client `id` (HTTP Basic).
    pub fn through_client(self, id: &str, key: &str) -> Self {
        self.with_header("authorization", crate::basic_auth(id, key).as_str())
    }

    /// The request must carry no `Authorization` header.
    pub fn without_client(self) -> Self {
        self.with_header("authorization", Matcher::Missing)
    }

    /// The request must carry `X-Tapis-Token: token`.
    pub fn with_tapis_token(self, token: &str) -> Self {
        self.with_header("x-tapis-token", token)
    }

    /// The request's body must match.
    pub fn with_body(mut self, body: impl Into<Matcher>) -> Self {
        self.mock = self.mock.match_body(body);
        self
    }

    /// The request's body must be this JSON.
    pub fn with_json_body(self, body: Value) -> Self {
        self.with_body(Matcher::Json(body))
    }

    /// The request must satisfy `predicate` too.
    pub fn matching(mut self, predicate: impl Fn(&mockito::Request) -> bool + Send + Sync + 'static) -> Self {
        self.mock = self.mock.match_request(predicate);
        self
    }

    /// Counts each answered request in `counter` (for checks that have no fixed count).
    pub fn counted(mut self, counter: &Arc<AtomicUsize>) -> Self {
        self.counter = Some(Arc::clone(counter));
        self
    }

    /// Answers `status` with `body` of `content_type`.
    pub fn answer(mut self, status: usize, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.mock = self.mock.with_status(status).with_header("content-type", content_type);
        self.body = body.into();
        self
    }

    /// Answers `status` with the Tapis envelope around `result`.
    pub fn answer_envelope(self, status: usize, message: &str, result: Value) -> Self {
        self.answer(status, "application/json", crate::envelope(message, result).to_string())
    }

    /// Answers a grant with an access token only (no OAuth client took part).
    pub fn answer_tokens(self, access_jwt: &str, exp: i64) -> Self {
        self.answer(200, "application/json", crate::token_response(access_jwt, exp))
    }

    /// Answers a grant through an OAuth client: access and refresh tokens.
    pub fn answer_tokens_with_refresh(self, access_jwt: &str, exp: i64, refresh_jwt: &str, refresh_exp: i64) -> Self {
        self.answer(
            200,
            "application/json",
            crate::token_response_with_refresh(access_jwt, exp, refresh_jwt, refresh_exp),
        )
    }

    /// Answers the creation of the OAuth client `id` with key `key`, owned by `owner`.
    pub fn answer_client(self, id: &str, key: &str, owner: &str) -> Self {
        self.answer(200, "application/json", crate::client_response(id, key, owner))
    }

    /// Answers a device-code request: code `device_code`, user code `QWERTYUI`, valid long.
    pub fn answer_device_code(self, client_id: &str, device_code: &str, base_url: &str) -> Self {
        let result = json!({
            "client_id": client_id, "device_code": device_code, "user_code": "QWERTYUI",
            "verification_uri": format!("{base_url}/v3/oauth2/device?client_id={client_id}"),
            "expires_in": "Wed, 04 Mar 2099 16:25:31 GMT",
        });
        self.answer_envelope(200, "Device code created.", result)
    }

    /// Answers a revoke: the token with id `jti` is revoked.
    pub fn answer_revoked(self, jti: &str) -> Self {
        self.answer_envelope(200, &format!("Token {jti} has been revoked."), Value::Null)
    }

    /// Answers userinfo for `username`.
    pub fn answer_userinfo(self, username: &str) -> Self {
        let result =
            json!({"username": username, "email": "jdoe@example.org", "given_name": "Jane", "last_name": "Doe"});
        self.answer_envelope(200, "User info retrieved.", result)
    }

    /// Answers `status` with the Tapis error envelope around `message` (400 for nearly every
    /// client error, bad credentials included).
    pub fn answer_error(self, status: usize, message: &str) -> Self {
        self.answer(status, "application/json", crate::error_response(message))
    }

    /// Answers `status` in plain text, as the Java services (systems, apps, jobs, files) do,
    /// e.g. 401 `TAPIS_SECURITY_JWT_EXPIRED Exception message: JWT expired at ...`.
    pub fn answer_plain(self, status: usize, text: &str) -> Self {
        self.answer(status, "text/plain", text)
    }

    /// Answers `status` with a gateway's HTML page (502/503/504 in front of the services).
    pub fn answer_gateway(self, status: usize) -> Self {
        let page = format!("<html><body><h1>{status} Service Unavailable</h1></body></html>");
        self.answer(status, "text/html", page)
    }

    /// Answers a redirect to `location`.
    pub fn answer_redirect(mut self, status: usize, location: &str) -> Self {
        self.mock = self.mock.with_status(status).with_header("location", location);
        self
    }

    /// Creates the mock, expecting exactly `hits` requests (`0`: "no request").
    pub fn expect(self, hits: usize) -> Mock {
        self.create(|mock| mock.expect(hits))
    }

    /// Creates the mock, expecting at least `hits` requests (for benchmarks, which count
    /// with [`Expect::counted`]).
    pub fn expect_at_least(self, hits: usize) -> Mock {
        self.create(|mock| mock.expect_at_least(hits))
    }

    fn create(self, count: impl FnOnce(Mock) -> Mock) -> Mock {
        let Self { mock, body, counter } = self;
        let mock = match counter {
            None => mock.with_body(body),
            Some(counter) => mock.with_body_from_request(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                body.clone()
            }),
        };
        count(mock).create()
    }
}
