//! The base URL of a Tapis tenant, and the rule that decides which URLs may carry a token.

use core::net::IpAddr;
use std::fmt;

use url::{Host, Url};

/// The default tenant: DesignSafe.
pub const DEFAULT_BASE_URL: &str = "https://designsafe.tapis.io";

/// The path of a tenant's token service under its base URL; a JWT's `iss` is
/// `<base URL>/v3/tokens`.
const TOKEN_SERVICE_PATH: &str = "/v3/tokens";

/// Why a base URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// Not a URL at all.
    #[error("`{url}` is not a URL ({reason}); expected something like {DEFAULT_BASE_URL}")]
    Invalid {
        /// What was given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A scheme other than `https` (or `http` to a loopback host).
    #[error(
        "`{url}` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)"
    )]
    Insecure {
        /// What was given.
        url: String,
    },
    /// Query strings, fragments and user names have no place in a base URL.
    #[error("`{url}` has a {part}; a base URL is a scheme, a host and at most a path, like {DEFAULT_BASE_URL}")]
    Unexpected {
        /// What was given.
        url: String,
        /// The offending part: "query", "fragment" or "user name or password".
        part: &'static str,
    },
}

/// A checked base URL: `https://host[:port][/path]`, or `http://` to a loopback host.
///
/// Two base URLs are equal when they name the same server: the scheme and host are compared
/// case-insensitively, a default port is dropped and a trailing `/` is ignored.
///
/// ```
/// use tapis_auth_core::BaseUrl;
/// let a = BaseUrl::parse("https://DesignSafe.tapis.io/").unwrap();
/// assert_eq!(a.as_str(), "https://designsafe.tapis.io");
/// assert_eq!(a.join("/v3/oauth2/tokens"), "https://designsafe.tapis.io/v3/oauth2/tokens");
/// assert!(BaseUrl::parse("http://designsafe.tapis.io").is_err()); // http only to loopback
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    /// Normalised: no trailing slash, lower-case scheme and host, no default port.
    normalized: String,
}

impl BaseUrl {
    /// Checks and normalises a base URL. A pasted API root (`https://host/v3`) is the server.
    pub fn parse(input: &str) -> Result<Self, BaseUrlError> {
        let text = input.trim();
        let url = Url::parse(text)
            .map_err(|error| BaseUrlError::Invalid { url: text.to_owned(), reason: error.to_string() })?;
        let unexpected = |part| BaseUrlError::Unexpected { url: text.to_owned(), part };
        if url.query().is_some() {
            return Err(unexpected("query"));
        }
        if url.fragment().is_some() {
            return Err(unexpected("fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(unexpected("user name or password"));
        }
        let Some(host) = url.host() else {
            return Err(BaseUrlError::Invalid { url: text.to_owned(), reason: "no host".to_owned() });
        };
        let allowed = match url.scheme() {
            "https" => true,
            "http" => is_loopback(&host),
            _ => false,
        };
        if !allowed {
            return Err(BaseUrlError::Insecure { url: text.to_owned() });
        }
        let mut normalized = format!("{}://{}", url.scheme(), host);
        if let Some(port) = url.port() {
            normalized.push_str(&format!(":{port}"));
        }
        // A pasted API root (`https://host/v3`) names the server whose paths start with `/v3`.
        let path = url.path().trim_end_matches('/');
        normalized.push_str(path.strip_suffix("/v3").unwrap_or(path));
        Ok(Self { normalized })
    }

    /// The base URL a JWT's `iss` claim (`https://host/v3/tokens`) names, if it names one.
    ///
    /// ```
    /// use tapis_auth_core::BaseUrl;
    /// let from_iss = BaseUrl::from_issuer("https://designsafe.tapis.io/v3/tokens").unwrap();
    /// assert_eq!(from_iss, BaseUrl::parse("https://designsafe.tapis.io").unwrap());
    /// ```
    pub fn from_issuer(iss: &str) -> Option<Self> {
        let trimmed = iss.trim().trim_end_matches('/');
        let base = trimmed.strip_suffix(TOKEN_SERVICE_PATH)?;
        Self::parse(base).ok()
    }

    /// The normalised URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The URL of `path` on this server. `path` must start with `/`.
    pub fn join(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/'), "paths on a base URL start with /");
        format!("{}{}", self.normalized, path)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.normalized)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "BaseUrl({})", self.normalized)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = BaseUrlError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => IpAddr::V4(*address).is_loopback(),
        Host::Ipv6(address) => IpAddr::V6(*address).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected`: the normalised URL, or the error's Display text.
    fn check(input: &str, expected: &str) {
        let actual = match BaseUrl::parse(input) {
            Ok(url) => url.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn parse_table() {
        let table = [
            ("https://designsafe.tapis.io", "https://designsafe.tapis.io"),
            ("https://designsafe.tapis.io/", "https://designsafe.tapis.io"),
            ("HTTPS://DesignSafe.Tapis.IO:443/", "https://designsafe.tapis.io"),
            ("https://tacc.tapis.io:8443/prefix/", "https://tacc.tapis.io:8443/prefix"),
            ("https://designsafe.tapis.io/v3", "https://designsafe.tapis.io"),
            ("https://designsafe.tapis.io/v3/", "https://designsafe.tapis.io"),
            ("https://tacc.tapis.io/prefix/v3", "https://tacc.tapis.io/prefix"),
            ("http://127.0.0.1:1234", "http://127.0.0.1:1234"),
            ("http://127.8.9.10", "http://127.8.9.10"),
            ("http://localhost:80/", "http://localhost"),
            ("http://[::1]:9000", "http://[::1]:9000"),
            (
                "http://designsafe.tapis.io",
                "error: `http://designsafe.tapis.io` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)",
            ),
            (
                "http://10.0.0.1",
                "error: `http://10.0.0.1` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)",
            ),
            (
                "http://localhost.evil.example",
                "error: `http://localhost.evil.example` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)",
            ),
            (
                "ftp://designsafe.tapis.io",
                "error: `ftp://designsafe.tapis.io` does not use https; tokens are sent only over https (plain http is allowed only to loopback addresses, for testing)",
            ),
            (
                "designsafe.tapis.io",
                "error: `designsafe.tapis.io` is not a URL (relative URL without a base); expected something like https://designsafe.tapis.io",
            ),
            (
                "https://designsafe.tapis.io/?x=1",
                "error: `https://designsafe.tapis.io/?x=1` has a query; a base URL is a scheme, a host and at most a path, like https://designsafe.tapis.io",
            ),
            (
                "https://user:pw@designsafe.tapis.io",
                "error: `https://user:pw@designsafe.tapis.io` has a user name or password; a base URL is a scheme, a host and at most a path, like https://designsafe.tapis.io",
            ),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn issuer_names_its_server() {
        let designsafe = BaseUrl::parse(DEFAULT_BASE_URL).expect("valid");
        assert_eq!(BaseUrl::from_issuer("https://designsafe.tapis.io/v3/tokens"), Some(designsafe.clone()));
        assert_eq!(BaseUrl::from_issuer("https://designsafe.tapis.io/v3/tokens/"), Some(designsafe));
        assert_eq!(BaseUrl::from_issuer("https://designsafe.tapis.io"), None);
        assert_eq!(BaseUrl::from_issuer("http://evil.example/v3/tokens"), None);
        assert_eq!(
            BaseUrl::from_issuer("http://127.0.0.1:4000/v3/tokens").map(|url| url.to_string()),
            Some("http://127.0.0.1:4000".to_owned())
        );
    }
}
