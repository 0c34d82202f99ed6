//! `tapis api PATH`: an authenticated request to the Tapis API — the gh-api of Tapis.

use std::io::{Read as _, Write as _};

use anyhow::Context as _;
use serde_json::Value;
use tapis_auth::{ApiRequest, Origin, blocking};

use crate::cli::{ApiArgs, GlobalArgs};
use crate::exit::{Exit, usage};
use crate::output;
use crate::prompt::TerminalPrompter;

/// How much of a plain-text error body is quoted on stderr.
const MESSAGE_CHARS: usize = 300;

pub(crate) fn run(global: &GlobalArgs, args: &ApiArgs) -> anyhow::Result<Exit> {
    let path = checked_path(&args.path)?;
    let method = args.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        usage!("`{}` is not an HTTP method", args.method);
    }
    let headers = args.headers.iter().map(|header| parse_header(header)).collect::<anyhow::Result<Vec<_>>>()?;
    let body = args.data.as_deref().map(read_data).transpose()?;

    let (mut session, target) = super::session(global, &args.credentials, tapis_auth::DEFAULT_MIN_VALID)?;
    let mut request = ApiRequest::new(method.as_str(), path.as_str());
    request.headers = headers;
    request.body = body;
    // A 401 saying the token expired is renewed once and retried once by the library.
    let origin_before = session.origin();
    let answer = blocking::call_with_prompter(&mut session, &request, &mut TerminalPrompter::new())?;
    if session.origin() == Origin::LoggedIn && origin_before != Origin::LoggedIn {
        super::remember_profile(&target, session.username());
    }

    let json = serde_json::from_slice::<Value>(&answer.body).ok();
    let mut stdout = std::io::stdout().lock();
    match &json {
        Some(value) if !args.raw => writeln!(stdout, "{}", serde_json::to_string_pretty(value)?)?,
        _ => {
            stdout.write_all(&answer.body)?;
            if !answer.body.is_empty() && !answer.body.ends_with(b"\n") && json.is_some() {
                writeln!(stdout)?;
            }
        }
    }
    stdout.flush()?;
    if (200..300).contains(&answer.status) {
        return Ok(Exit::Ok);
    }
    let message = json
        .as_ref()
        .and_then(|value| value.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| excerpt(&answer.body));
    output::error_line(&format!("{method} {path} answered {}: {message}", answer.status));
    Ok(Exit::ApiError)
}

/// A path on the base URL; absolute URLs are refused so that the token never leaves its server.
fn checked_path(path: &str) -> anyhow::Result<String> {
    let lowered = path.trim().to_ascii_lowercase();
    if lowered.starts_with("//") || lowered.contains("://") {
        usage!(
            "`{path}` is not a path on the base URL; tapis api only sends the token to its own server (use a path such as /v3/jobs/list)"
        );
    }
    let path = path.trim();
    Ok(if path.starts_with('/') { path.to_owned() } else { format!("/{path}") })
}

fn parse_header(header: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = header.split_once(':') else {
        usage!("`{header}` is not a header; use `Name: value`");
    };
    let name = name.trim();
    if name.eq_ignore_ascii_case("x-tapis-token") {
        usage!("X-Tapis-Token is set by tapis api itself");
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// The request body from `--data`: JSON text, `@FILE`, or `-` for standard input. It must be
/// JSON, since it is sent as `application/json`.
fn read_data(data: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = if data == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("cannot read the request body from standard input")?;
        bytes
    } else if let Some(file) = data.strip_prefix('@') {
        std::fs::read(file).with_context(|| format!("cannot read the request body from {file}"))?
    } else {
        data.as_bytes().to_vec()
    };
    if let Err(error) = serde_json::from_slice::<Value>(&bytes) {
        usage!("the request body given with --data is not valid JSON ({error})");
    }
    Ok(bytes)
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() { "(no body)".to_owned() } else { line.chars().take(MESSAGE_CHARS).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(checked_path("/v3/jobs/list").expect("path"), "/v3/jobs/list");
        assert_eq!(checked_path("v3/jobs/list?limit=2").expect("path"), "/v3/jobs/list?limit=2");
        for foreign in ["https://evil.example/v3", "HTTP://evil.example", "//evil.example/v3", "ftp://x"] {
            assert!(checked_path(foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(parse_header("Accept: text/plain").expect("header"), ("Accept".into(), "text/plain".into()));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("x-tapis-token: other").is_err());
    }
}
