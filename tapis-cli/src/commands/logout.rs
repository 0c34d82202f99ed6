//! `tapis logout`: revoke the token (best effort) and delete the token file (or, with
//! `--keep-client`, leave only the OAuth client in it).

use anyhow::Context as _;

use crate::cli::{GlobalArgs, LogoutArgs};
use crate::exit::Exit;
use crate::output;

pub(crate) fn run(global: &GlobalArgs, args: &LogoutArgs) -> anyhow::Result<Exit> {
    let target = crate::profile::resolve(global)?;
    let (base_url, token_file) = (&target.base_url, &target.token_file);
    let mut options = super::target_options(global, &target);
    // The user asked for (TAPIS_USERNAME, the profile's): another user's tokens are not removed.
    options.credentials.username = target.username.clone();
    options.keep_client = args.keep_client;
    let report = tapis_auth::blocking::logout(&options).with_context(|| format!("cannot log out of {base_url}"))?;
    for warning in &report.warnings {
        output::warn(warning);
    }
    if let Some(copy) = &report.unusable_file_kept {
        output::warn(&format!("the token file was not usable; a copy of it was kept as {}", copy.display()));
    }
    if let Some(client_id) = &report.deleted_client {
        output::say(&format!("Deleted the OAuth client {client_id}."));
    }
    if let Some(client_id) = &report.kept_client {
        output::note(&format!(
            "kept the OAuth client {}: tapis did not create it (delete it on the server if it is yours and unused)",
            output::escape_controls(client_id)
        ));
    }
    if let Some(reason) = &report.not_revoked_because
        && (report.removed_file || report.found_tokens)
    {
        output::warn(&format!("the token was not revoked on the server: {reason}"));
    }
    if let Some(client_id) = report.client_kept_in_file.as_ref().filter(|_| !report.found_tokens) {
        output::say(&format!(
            "Not logged in to {base_url}. The OAuth client {} stays in {} for the next `tapis login`.",
            output::escape_controls(client_id),
            token_file.display()
        ));
    } else if let Some(client_id) = &report.client_kept_in_file {
        let revoked = match (report.revoked, report.revoked_refresh) {
            (true, true) => "Revoked the access and refresh tokens. ",
            (true, false) => "Revoked the token. ",
            (false, true) => "Revoked the refresh token. ",
            (false, false) => "",
        };
        output::say(&format!(
            "{revoked}Logged out of {base_url}. Kept the OAuth client {} in {}: the next `tapis login` goes through it, with renewal.",
            output::escape_controls(client_id),
            token_file.display()
        ));
    } else if report.removed_file {
        let revoked = match (report.revoked, report.revoked_refresh) {
            (true, true) => "Revoked the access and refresh tokens and removed",
            (true, false) => "Revoked the token and removed",
            (false, true) => "Revoked the refresh token and removed",
            (false, false) => "Removed",
        };
        output::say(&format!("{revoked} {}. Logged out of {base_url}.", token_file.display()));
    } else {
        output::say(&format!("Not logged in: there is no token file at {}.", token_file.display()));
    }
    Ok(Exit::Ok)
}
