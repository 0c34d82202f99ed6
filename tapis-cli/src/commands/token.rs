//! `tapis token`: a valid access token on stdout, for `eval`, `curl -H @<(...)` and friends.

use std::io::Write as _;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::{GlobalArgs, TokenArgs, TokenFormat};
use crate::exit::Exit;
use crate::output;

pub(crate) fn run(global: &GlobalArgs, args: &TokenArgs) -> anyhow::Result<Exit> {
    let (session, _) = super::session(global, &args.credentials, args.min_valid)?;
    // A token that could not be saved is still printed: the caller can use it for this run,
    // and the warning has been given on stderr.
    let token = session.access_token();
    let secret = token.expose_secret();
    let text = match args.format {
        TokenFormat::Raw => format!("{secret}\n"),
        TokenFormat::Header => format!("X-Tapis-Token: {secret}\n"),
        TokenFormat::Env => format!(
            "export TAPIS_TOKEN={}\nexport TAPIS_BASE_URL={}\n",
            shell_quote(secret),
            shell_quote(session.base_url().as_str())
        ),
        TokenFormat::Json => {
            let object = json!({
                "access_token": secret,
                "expires_at": output::instant(token.expires_at()),
                "base_url": session.base_url().as_str(),
                "username": token.username(),
                "tenant_id": token.tenant_id(),
            });
            format!("{}\n", output::json_text(&object))
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write the token to standard output")?;
    Ok(Exit::Ok)
}

/// Quotes a value for a POSIX shell: single quotes, with `'` written as `'\''`.
pub(crate) fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("eyJ.abc_-.x"), "'eyJ.abc_-.x'");
        assert_eq!(shell_quote("it's $HOME `x`"), r"'it'\''s $HOME `x`'");
        assert_eq!(shell_quote(""), "''");
    }
}
