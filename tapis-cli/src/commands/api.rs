//! `tapis api PATH`: an authenticated request to the Tapis API — the gh-api of Tapis.
//!
//! The request is checked and sent, and its answer read, by the library (`ApiRequest::check`,
//! `Session::call`, `ApiResponse::message`); this file parses the flags and prints.

use std::io::{IsTerminal as _, Read as _, Write as _};

use anyhow::Context as _;
use serde_json::Value;
use tapis_auth::{ApiRequest, Origin, blocking};

use crate::cli::{ApiArgs, GlobalArgs};
use crate::exit::{Exit, usage};
use crate::output;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &ApiArgs) -> anyhow::Result<Exit> {
    let headers = args.headers.iter().map(|header| parse_header(header)).collect::<anyhow::Result<Vec<_>>>()?;
    let body = args.data.as_deref().map(read_data).transpose()?;
    let mut request =
        ApiRequest::new(default_method(args.method.as_deref(), body.is_some()), path_on_base_url(&args.path));
    request.headers = headers;
    request.body = body;
    // Refused before any sign-in or request: a foreign path, a bad method or header.
    let target = crate::profile::resolve(global)?;
    request.check(&target.base_url)?;

    let (mut session, target) = super::session(global, &args.credentials, tapis_auth::DEFAULT_MIN_VALID)?;
    // A token the server refuses (expired by its clock, revoked) is renewed once and the
    // request sent once more, by the library.
    let origin_before = session.origin();
    let answer = blocking::call_with_prompter(&mut session, &request, &mut TerminalPrompter::new())?;
    if session.origin() == Origin::LoggedIn && origin_before != Origin::LoggedIn {
        super::remember_profile(&target, session.username());
    }

    let json = answer.json();
    let mut stdout = std::io::stdout().lock();
    match &json {
        Some(value) if !args.raw => writeln!(stdout, "{}", serde_json::to_string_pretty(value)?)?,
        _ => {
            stdout.write_all(&answer.body)?;
            if needs_final_newline(&answer.body, json.is_some(), stdout.is_terminal()) {
                writeln!(stdout)?;
            }
        }
    }
    stdout.flush()?;
    if answer.is_success() {
        return Ok(Exit::Ok);
    }
    output::error_line(&format!(
        "{} {} answered {}: {}",
        request.method,
        request.path,
        answer.status,
        answer.message()
    ));
    Ok(Exit::ApiError)
}

/// The path as typed, with the leading `/` added when it is left out (`v3/jobs/list`, as gh api
/// takes `repos/...`). An absolute URL stays as it is, so that the library refuses it.
fn path_on_base_url(typed: &str) -> String {
    let typed = typed.trim();
    if typed.starts_with('/') || typed.contains("://") { typed.to_owned() } else { format!("/{typed}") }
}

/// The method: the one given, else POST when there is a body (as curl and gh api do), else
/// GET.
fn default_method(given: Option<&str>, has_body: bool) -> String {
    match given {
        Some(method) => method.to_ascii_uppercase(),
        None if has_body => "POST".to_owned(),
        None => "GET".to_owned(),
    }
}

/// Whether a body printed as it came gets a final newline: a JSON body always (it is text,
/// and `--raw` should still end its line), any other body only on a terminal, so that the
/// prompt starts on its own line while a body piped or saved to a file stays byte for byte
/// what the server sent (it may be a file's contents, or binary).
fn needs_final_newline(body: &[u8], is_json: bool, stdout_is_terminal: bool) -> bool {
    !body.is_empty() && !body.ends_with(b"\n") && (is_json || stdout_is_terminal)
}

/// `Name: value`, the flag's syntax; whether the name and value can be sent is the library's
/// check.
fn parse_header(header: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = header.split_once(':') else {
        usage!("`{header}` is not a header; use `Name: value`");
    };
    Ok((name.trim().to_owned(), value.trim().to_owned()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(parse_header("Accept: text/plain").expect("header"), ("Accept".into(), "text/plain".into()));
        assert!(parse_header("no colon").is_err());
    }

    #[test]
    fn a_path_without_its_leading_slash_is_on_the_base_url() {
        assert_eq!(path_on_base_url("v3/jobs/list"), "/v3/jobs/list");
        assert_eq!(path_on_base_url(" /v3/systems "), "/v3/systems");
        assert_eq!(path_on_base_url("https://elsewhere.example/v3"), "https://elsewhere.example/v3");
        assert_eq!(path_on_base_url("//elsewhere.example/v3"), "//elsewhere.example/v3");
    }

    #[test]
    fn data_means_post_unless_a_method_is_given() {
        assert_eq!(default_method(None, false), "GET");
        assert_eq!(default_method(None, true), "POST");
        assert_eq!(default_method(Some("put"), true), "PUT");
        assert_eq!(default_method(Some("GET"), true), "GET");
    }

    #[test]
    fn final_newline() {
        for (body, is_json, terminal, expected) in [
            (&b"plain"[..], false, false, false),
            (b"plain", false, true, true),
            (b"plain\n", false, true, false),
            (b"", false, true, false),
            (b"{}", true, false, true),
            (b"{}\n", true, false, false),
        ] {
            assert_eq!(needs_final_newline(body, is_json, terminal), expected, "{body:?} {is_json} {terminal}");
        }
    }
}
