//! `tapis whoami`: the signed-in user's profile, from the server.

use std::io::Write as _;

use anyhow::Context as _;
use serde_json::Value;

use crate::cli::{CredentialArgs, GlobalArgs, WhoamiArgs};
use crate::exit::Exit;
use crate::prompt::TerminalPrompter;

pub(crate) fn run(global: &GlobalArgs, args: &WhoamiArgs) -> anyhow::Result<Exit> {
    let credentials = CredentialArgs { username: std::env::var("TAPIS_USERNAME").ok(), password_stdin: false };
    let (mut session, _) = super::session(global, &credentials, tapis_auth::DEFAULT_MIN_VALID)?;
    // A token the server refuses (revoked) is renewed once and the request made again, as
    // `tapis api` does; both are the library's rule.
    let base_url = session.base_url().clone();
    let profile = tapis_auth::blocking::userinfo_with_prompter(&mut session, &mut TerminalPrompter::new())
        .with_context(|| format!("cannot get the user's profile from {base_url}"))?;

    let mut stdout = std::io::stdout().lock();
    if args.json {
        let text = crate::output::json_text(&profile);
        writeln!(stdout, "{text}").context("cannot write to standard output")?;
        return Ok(Exit::Ok);
    }
    let field = |name: &str| profile.get(name).and_then(Value::as_str).filter(|value| !value.is_empty());
    let name = [field("given_name"), field("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let mut lines = vec![("User", field("username").unwrap_or("(unknown)").to_owned())];
    if !name.is_empty() {
        lines.push(("Name", name));
    }
    if let Some(email) = field("email") {
        lines.push(("Email", email.to_owned()));
    }
    lines.push(("Tenant", session.access_token().tenant_id().unwrap_or("(unknown)").to_owned()));
    lines.push(("Base URL", session.base_url().to_string()));
    for (label, value) in lines {
        // The server's answer: escaped, as all such text is.
        let value = crate::output::escape_controls(&value);
        writeln!(stdout, "{:<10}{value}", format!("{label}:")).context("cannot write to standard output")?;
    }
    Ok(Exit::Ok)
}
