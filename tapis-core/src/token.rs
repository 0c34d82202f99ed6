//! Token types. The token strings are secrets: `Debug` never shows them.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::BaseUrl;
use crate::jwt::{Claims, read_claims};

/// Why a token could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token string is empty.
    #[error("the token is empty")]
    Empty,
    /// Neither an `expires_at` nor a readable JWT `exp` says when the token expires.
    #[error("the token's expiry is unknown: no usable expires_at and no readable JWT exp claim")]
    NoExpiry,
}

/// A Tapis access token: the JWT sent as `X-Tapis-Token`, its expiry and its claims.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: DateTime<Utc>,
    claims: Claims,
}

impl AccessToken {
    /// Makes an access token from its string and the `expires_at` the server or file gave.
    ///
    /// The expiry is the earlier of `expires_at` and the JWT's `exp` claim, so a file that
    /// claims more time than the token has cannot make us send an expired token. A token whose
    /// claims cannot be read is accepted when `expires_at` is known (its claims are then empty).
    pub fn new(secret: SecretString, expires_at: Option<DateTime<Utc>>) -> Result<Self, TokenError> {
        let text = secret.expose_secret().trim();
        if text.is_empty() {
            return Err(TokenError::Empty);
        }
        let claims = read_claims(text).unwrap_or_default();
        let expires_at = earliest(expires_at, claims.expires_at()).ok_or(TokenError::NoExpiry)?;
        Ok(Self { secret, expires_at, claims })
    }

    /// The token string, to put in an `X-Tapis-Token` header. Do not log it.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret().trim()
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The claims read from the JWT (empty if it is not a readable JWT).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The `tapis/username` claim, else the user part of `sub`.
    pub fn username(&self) -> Option<&str> {
        self.claims
            .username
            .as_deref()
            .or_else(|| self.claims.sub.as_deref().and_then(|sub| sub.split('@').next()))
            .filter(|name| !name.is_empty())
    }

    /// The `tapis/tenant_id` claim, else the tenant part of `sub`.
    pub fn tenant_id(&self) -> Option<&str> {
        self.claims
            .tenant_id
            .as_deref()
            .or_else(|| self.claims.sub.as_deref().and_then(|sub| sub.split_once('@')).map(|(_, tenant)| tenant))
            .filter(|tenant| !tenant.is_empty())
    }

    /// How long the token has left at `now` (negative once expired).
    pub fn time_left(&self, now: DateTime<Utc>) -> TimeDelta {
        self.expires_at - now
    }

    /// Whether the token is still valid at `now` with at least `min_valid` to spare.
    ///
    /// ```
    /// # use tapis_auth_core::AccessToken;
    /// # use chrono::{DateTime, TimeDelta};
    /// # use secrecy::SecretString;
    /// let expires_at = DateTime::from_timestamp(1_000_000, 0).unwrap();
    /// let token = AccessToken::new(SecretString::from("opaque"), Some(expires_at)).unwrap();
    /// let now = expires_at - TimeDelta::seconds(60);
    /// assert!(token.is_fresh(now, TimeDelta::seconds(59)));
    /// assert!(!token.is_fresh(now, TimeDelta::seconds(60))); // exactly at the margin: renew
    /// ```
    pub fn is_fresh(&self, now: DateTime<Utc>, min_valid: TimeDelta) -> bool {
        self.time_left(now) > min_valid
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("username", &self.username())
            .finish()
    }
}

/// A Tapis refresh token: exchanged for a new access token without the password.
#[derive(Clone)]
pub struct RefreshToken {
    secret: SecretString,
    expires_at: Option<DateTime<Utc>>,
    server: Option<BaseUrl>,
}

impl RefreshToken {
    /// Makes a refresh token; its expiry is the earlier of `expires_at` and its JWT `exp`.
    pub fn new(secret: SecretString, expires_at: Option<DateTime<Utc>>) -> Result<Self, TokenError> {
        let text = secret.expose_secret().trim();
        if text.is_empty() {
            return Err(TokenError::Empty);
        }
        let claims = read_claims(text).unwrap_or_default();
        let server = claims.iss.as_deref().and_then(BaseUrl::from_issuer);
        Ok(Self { expires_at: earliest(expires_at, claims.expires_at()), server, secret })
    }

    /// The server whose token service issued this refresh token (its JWT `iss`), if known.
    pub fn server(&self) -> Option<&BaseUrl> {
        self.server.as_ref()
    }

    /// The token string. Do not log it.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret().trim()
    }

    /// When the refresh token expires, if known.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Whether the refresh token can still be used at `now` (an unknown expiry counts as live:
    /// the server has the last word).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RefreshToken")
            .field("secret", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An OAuth client of the Tapis tenant: what makes refresh tokens and device login possible.
/// Refresh requests authenticate with it (HTTP Basic `client_id:client_key`).
#[derive(Clone)]
pub struct OAuthClient {
    /// The client's id (not secret).
    pub client_id: String,
    /// The client's key (secret).
    pub client_key: SecretString,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_key", &"[REDACTED]")
            .finish()
    }
}

/// The tokens one login produced, the server that issued them, and the OAuth client they
/// were issued through.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The access token.
    pub access: AccessToken,
    /// The refresh token, when the login went through an OAuth client.
    pub refresh: Option<RefreshToken>,
    /// The server the tokens came from, as recorded at login (`None` in files written by the
    /// notebooks, which do not record it).
    pub base_url: Option<BaseUrl>,
    /// The OAuth client the tokens were issued through (renewal needs it), if any.
    pub client: Option<OAuthClient>,
    /// The id of the OAuth client this tool created for the user (at a password login), if
    /// any: the only client a logout deletes. A client the user named is never recorded here.
    pub created_client_id: Option<String>,
    /// When these tokens came from the server, as recorded at login or renewal (`None` in
    /// files written by the notebooks or by older versions).
    pub obtained_at: Option<DateTime<Utc>>,
}

impl TokenSet {
    /// A token set with only an access token.
    pub fn new(access: AccessToken) -> Self {
        Self { access, refresh: None, base_url: None, client: None, created_client_id: None, obtained_at: None }
    }

    /// The refresh token and its client, when both are known and the refresh token has not
    /// expired at `now`: what renewing without a password needs.
    pub fn renewal(&self, now: DateTime<Utc>) -> Option<(&RefreshToken, &OAuthClient)> {
        let refresh = self.refresh.as_ref().filter(|refresh| refresh.is_live(now))?;
        Some((refresh, self.client.as_ref()?))
    }

    /// The server these tokens belong to: the recorded base URL and the one the access
    /// token's `iss` claim names, which must agree when both are known. `None` when neither
    /// is known, or when any two of the recorded base URL, the access token's issuer and the
    /// refresh token's issuer disagree: such tokens belong to no server.
    pub fn server(&self) -> Option<BaseUrl> {
        let issuer = self.access.claims().iss.as_deref().and_then(BaseUrl::from_issuer);
        let server = match (&self.base_url, issuer) {
            (Some(recorded), Some(issuer)) if *recorded != issuer => return None,
            (Some(recorded), _) => recorded.clone(),
            (None, issuer) => issuer?,
        };
        match self.refresh.as_ref().and_then(RefreshToken::server) {
            Some(refresh_issuer) if *refresh_issuer != server => None,
            _ => Some(server),
        }
    }

    /// Whether these tokens may be sent to `base_url`. Tokens of unknown origin may not.
    pub fn belongs_to(&self, base_url: &BaseUrl) -> bool {
        self.server().as_ref() == Some(base_url)
    }

    /// Whether discarding these tokens would lose something at `now`: a live access token, a
    /// live refresh token, or an OAuth client's key (without it the client cannot be used,
    /// nor, when this tool made it, deleted). Expired tokens alone are nothing to lose.
    pub fn has_something_to_lose(&self, now: DateTime<Utc>) -> bool {
        self.access.time_left(now) > TimeDelta::zero()
            || self.refresh.as_ref().is_some_and(|refresh| refresh.is_live(now))
            || self.client.is_some()
    }

    /// What stays of these tokens when they are given up but their OAuth client is kept: the
    /// client, its server and the user. `None` without a client or a known server.
    pub fn kept_client(&self) -> Option<KeptClient> {
        Some(KeptClient {
            base_url: self.server()?,
            client: self.client.clone()?,
            created_client_id: self.created_client_id.clone(),
            username: self.access.username().map(str::to_owned),
        })
    }

    /// The user these tokens were issued to (the access token's `tapis/username` claim, else
    /// the user part of `sub`), when they belong to `base_url`: the username to log in with
    /// again when a password is given without one. Expired tokens still name their user;
    /// tokens of another server, or of unknown origin, name none.
    pub fn username_for(&self, base_url: &BaseUrl) -> Option<&str> {
        if self.belongs_to(base_url) { self.access.username() } else { None }
    }

    /// How the saved tokens stand for a request to `base_url` at `now`.
    pub fn state(&self, base_url: &BaseUrl, now: DateTime<Utc>, min_valid: TimeDelta) -> TokenState {
        if !self.belongs_to(base_url) {
            TokenState::OtherServer
        } else if self.access.is_fresh(now, min_valid) {
            TokenState::Valid
        } else if self.access.time_left(now) > TimeDelta::zero() {
            TokenState::ExpiringSoon
        } else {
            TokenState::Expired
        }
    }
}

/// An OAuth client kept without tokens (a logout that keeps the client): the next password
/// login to its server goes through it, so that the tokens can be renewed again without a new
/// client being made.
#[derive(Debug, Clone)]
pub struct KeptClient {
    /// The server the client belongs to.
    pub base_url: BaseUrl,
    /// The client's id and key.
    pub client: OAuthClient,
    /// The id of the client when this tool created it (see [`TokenSet::created_client_id`]).
    pub created_client_id: Option<String>,
    /// The user the client's tokens were for, when known.
    pub username: Option<String>,
}

/// How saved tokens stand for a given server at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenState {
    /// Usable, with more than the asked-for margin left.
    Valid,
    /// Not expired, but within the asked-for margin.
    ExpiringSoon,
    /// Expired.
    Expired,
    /// Issued by another server, or of unknown origin: never sent to this one.
    OtherServer,
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::expiry::parse_expires_at;

    fn jwt(payload_json: &str) -> SecretString {
        let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        SecretString::from(format!("{}.{}.sig", encode("{}"), encode(payload_json)))
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_expires_at(text).expect("test timestamp")
    }

    #[test]
    fn expiry_is_the_earlier_of_field_and_claim() {
        // exp 1741119331 = 2025-03-04T20:15:31Z
        let token = jwt(r#"{"exp":1741119331}"#);
        let check = |expires_at: Option<&str>, expected: &str| {
            let access = AccessToken::new(token.clone(), expires_at.map(at)).expect("usable");
            assert_eq!(access.expires_at(), at(expected), "expires_at {expires_at:?}");
        };
        check(None, "2025-03-04T20:15:31Z");
        check(Some("2025-03-04T19:00:00Z"), "2025-03-04T19:00:00Z");
        check(Some("2030-01-01T00:00:00Z"), "2025-03-04T20:15:31Z");
    }

    #[test]
    fn unusable_tokens() {
        assert_eq!(AccessToken::new(SecretString::from(""), None).err(), Some(TokenError::Empty));
        assert_eq!(
            AccessToken::new(SecretString::from("  \n"), Some(at("2030-01-01T00:00:00Z"))).err(),
            Some(TokenError::Empty)
        );
        assert_eq!(AccessToken::new(SecretString::from("opaque"), None).err(), Some(TokenError::NoExpiry));
        assert_eq!(AccessToken::new(jwt(r#"{"sub":"x"}"#), None).err(), Some(TokenError::NoExpiry));
        let opaque = AccessToken::new(SecretString::from("opaque"), Some(at("2030-01-01T00:00:00Z"))).expect("usable");
        assert_eq!(opaque.username(), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let access = AccessToken::new(jwt(r#"{"exp":1741119331,"tapis/username":"jdoe"}"#), None).expect("usable");
        let refresh = RefreshToken::new(SecretString::from("refresh-secret-value"), None).expect("usable");
        let client =
            OAuthClient { client_id: "tapis-cli-x".into(), client_key: SecretString::from("client-key-value") };
        let set = TokenSet { refresh: Some(refresh), client: Some(client), ..TokenSet::new(access.clone()) };
        let shown = format!("{set:?} {access:?}");
        assert!(!shown.contains(access.expose_secret()), "{shown}");
        assert!(!shown.contains("refresh-secret-value"), "{shown}");
        assert!(!shown.contains("client-key-value") && shown.contains("tapis-cli-x"), "{shown}");
        assert!(shown.contains("[REDACTED]") && shown.contains("jdoe"), "{shown}");
    }

    #[test]
    fn user_and_tenant_fall_back_to_sub() {
        let access = AccessToken::new(jwt(r#"{"exp":1,"sub":"jdoe@designsafe"}"#), None).expect("usable");
        assert_eq!((access.username(), access.tenant_id()), (Some("jdoe"), Some("designsafe")));
        let access = AccessToken::new(jwt(r#"{"exp":1,"sub":"@"}"#), None).expect("usable");
        assert_eq!((access.username(), access.tenant_id()), (None, None));
    }

    #[test]
    fn freshness_at_the_edges_of_the_margin() {
        let expires_at = at("2025-03-04T20:15:31Z");
        let access = AccessToken::new(SecretString::from("opaque"), Some(expires_at)).expect("usable");
        let base_url = BaseUrl::parse("https://designsafe.tapis.io").expect("valid");
        let set = TokenSet { base_url: Some(base_url.clone()), ..TokenSet::new(access) };
        let margin = TimeDelta::seconds(60);
        let check = |seconds_before_expiry: i64, expected: TokenState| {
            let now = expires_at - TimeDelta::seconds(seconds_before_expiry);
            assert_eq!(set.state(&base_url, now, margin), expected, "{seconds_before_expiry}s before expiry");
        };
        check(3600, TokenState::Valid);
        check(61, TokenState::Valid);
        check(60, TokenState::ExpiringSoon);
        check(1, TokenState::ExpiringSoon);
        check(0, TokenState::Expired);
        check(-1, TokenState::Expired);
        let zero = expires_at - TimeDelta::milliseconds(1);
        assert_eq!(set.state(&base_url, zero, TimeDelta::zero()), TokenState::Valid);
    }

    #[test]
    fn tokens_belong_to_one_server() {
        let designsafe = BaseUrl::parse("https://designsafe.tapis.io").expect("valid");
        let tacc = BaseUrl::parse("https://tacc.tapis.io").expect("valid");
        let now = at("2025-01-01T00:00:00Z");
        let from_iss =
            AccessToken::new(jwt(r#"{"exp":1741119331,"iss":"https://designsafe.tapis.io/v3/tokens"}"#), None)
                .expect("usable");
        let no_iss = AccessToken::new(jwt(r#"{"exp":1741119331}"#), None).expect("usable");
        let set = |access: &AccessToken, base_url: Option<&BaseUrl>| TokenSet {
            base_url: base_url.cloned(),
            ..TokenSet::new(access.clone())
        };
        // The notebook's file: no recorded base URL, the iss decides.
        assert_eq!(set(&from_iss, None).state(&designsafe, now, TimeDelta::zero()), TokenState::Valid);
        assert_eq!(set(&from_iss, None).state(&tacc, now, TimeDelta::zero()), TokenState::OtherServer);
        // A recorded base URL and an iss that disagree: the token belongs to neither.
        assert_eq!(set(&from_iss, Some(&tacc)).state(&tacc, now, TimeDelta::zero()), TokenState::OtherServer);
        assert_eq!(set(&from_iss, Some(&tacc)).state(&designsafe, now, TimeDelta::zero()), TokenState::OtherServer);
        assert_eq!(set(&from_iss, Some(&designsafe)).state(&designsafe, now, TimeDelta::zero()), TokenState::Valid);
        // A recorded base URL with a token that names no issuer: the record decides.
        assert_eq!(set(&no_iss, Some(&tacc)).state(&tacc, now, TimeDelta::zero()), TokenState::Valid);
        // The refresh token's issuer must agree too.
        let refresh = |iss: &str| {
            let payload = format!(r#"{{"exp":1741119331,"iss":"{iss}/v3/tokens","tapis/token_type":"refresh"}}"#);
            RefreshToken::new(jwt(&payload), None).expect("usable")
        };
        let with_refresh = |iss: &str| TokenSet { refresh: Some(refresh(iss)), ..set(&from_iss, Some(&designsafe)) };
        assert_eq!(
            with_refresh("https://designsafe.tapis.io").state(&designsafe, now, TimeDelta::zero()),
            TokenState::Valid
        );
        assert_eq!(
            with_refresh("https://tacc.tapis.io").state(&designsafe, now, TimeDelta::zero()),
            TokenState::OtherServer
        );
        assert_eq!(with_refresh("https://tacc.tapis.io").state(&tacc, now, TimeDelta::zero()), TokenState::OtherServer);
        // Unknown origin: never sent.
        assert_eq!(set(&no_iss, None).state(&designsafe, now, TimeDelta::zero()), TokenState::OtherServer);
    }
}

#[cfg(test)]
mod renewal_tests {
    use super::*;

    #[test]
    fn renewal_needs_a_live_refresh_token_and_a_client() {
        let at = |seconds| DateTime::from_timestamp(seconds, 0).expect("valid");
        let access = AccessToken::new(SecretString::from("opaque"), Some(at(1_000))).expect("usable");
        let refresh = RefreshToken::new(SecretString::from("refresh"), Some(at(5_000))).expect("usable");
        let client = OAuthClient { client_id: "c".into(), client_key: SecretString::from("k") };
        let full =
            TokenSet { refresh: Some(refresh.clone()), client: Some(client.clone()), ..TokenSet::new(access.clone()) };
        assert!(full.renewal(at(4_999)).is_some());
        assert!(full.renewal(at(5_000)).is_none(), "an expired refresh token cannot renew");
        let no_client = TokenSet { refresh: Some(refresh), ..TokenSet::new(access.clone()) };
        assert!(no_client.renewal(at(0)).is_none());
        let no_refresh = TokenSet { client: Some(client), ..TokenSet::new(access) };
        assert!(no_refresh.renewal(at(0)).is_none());
    }

    #[test]
    fn something_to_lose_is_a_live_token_or_a_client_key() {
        let at = |seconds| DateTime::from_timestamp(seconds, 0).expect("valid");
        let access = AccessToken::new(SecretString::from("opaque"), Some(at(1_000))).expect("usable");
        let refresh = RefreshToken::new(SecretString::from("refresh"), Some(at(5_000))).expect("usable");
        let client = OAuthClient { client_id: "c".into(), client_key: SecretString::from("k") };
        let access_only = TokenSet::new(access.clone());
        assert!(access_only.has_something_to_lose(at(999)));
        assert!(!access_only.has_something_to_lose(at(1_000)), "an expired access token alone");
        let with_refresh = TokenSet { refresh: Some(refresh), ..TokenSet::new(access.clone()) };
        assert!(with_refresh.has_something_to_lose(at(4_999)));
        assert!(!with_refresh.has_something_to_lose(at(5_000)));
        let with_client = TokenSet { client: Some(client), ..TokenSet::new(access) };
        assert!(with_client.has_something_to_lose(at(9_999)), "a client's key is never lost");
    }

    #[test]
    fn the_saved_username_is_only_for_the_tokens_own_server() {
        use base64::Engine as _;
        let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        let claims = r#"{"iss":"https://tacc.tapis.io/v3/tokens","tapis/username":"jdoe","exp":1000}"#;
        let jwt = SecretString::from(format!("{}.{}.sig", encode("{}"), encode(claims)));
        let tokens = TokenSet::new(AccessToken::new(jwt, None).expect("usable"));
        let url = |text| BaseUrl::parse(text).expect("valid");
        assert_eq!(tokens.username_for(&url("https://tacc.tapis.io")), Some("jdoe"), "expired, but names its user");
        assert_eq!(tokens.username_for(&url("https://designsafe.tapis.io")), None, "another server's user");
        let expiry = DateTime::from_timestamp(1_000, 0);
        let opaque = TokenSet::new(AccessToken::new(SecretString::from("opaque"), expiry).expect("usable"));
        assert_eq!(opaque.username_for(&url("https://tacc.tapis.io")), None);
    }
}
