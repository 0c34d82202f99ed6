//! `tapis profiles`: every profile with its base URL, user, state and expiry.

use std::io::Write as _;

use chrono::{TimeDelta, Utc};
use serde_json::json;
use tapis_store::TokenStore;

use crate::cli::ProfilesArgs;
use crate::exit::Exit;
use crate::output;
use crate::profile::{self, DEFAULT_PROFILE};

pub(crate) fn run(args: &ProfilesArgs) -> anyhow::Result<Exit> {
    let now = Utc::now();
    let mut rows = Vec::new();
    for target in profile::all_targets()? {
        // Only looks: a loose mode is left for the commands that use the token to tighten.
        let loaded = TokenStore::new(&target.token_file).load_read_only();
        let tokens = loaded.as_ref().ok().and_then(|loaded| loaded.tokens.as_ref());
        let state = super::status::StatusState::of(
            tokens.map(|tokens| tokens.state(&target.base_url, now, TimeDelta::zero())),
            loaded.is_err(),
        );
        let user = tokens.and_then(|tokens| tokens.access.username()).map(str::to_owned).or(target.username.clone());
        rows.push(json!({
            "name": target.profile.as_deref().unwrap_or(DEFAULT_PROFILE),
            "base_url": target.base_url.as_str(),
            "username": user,
            "state": state.to_string(),
            "expires_at": tokens.map(|tokens| output::instant(tokens.access.expires_at())),
            "token_file": target.token_file.display().to_string(),
        }));
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", output::json_text(&serde_json::Value::Array(rows)))?;
        return Ok(Exit::Ok);
    }
    let cell =
        |row: &serde_json::Value, key: &str| output::escape_controls(row[key].as_str().unwrap_or("-")).into_owned();
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                cell(row, "name"),
                cell(row, "base_url"),
                cell(row, "username"),
                cell(row, "state"),
                cell(row, "expires_at"),
            ]
        })
        .collect();
    let header = ["NAME", "BASE URL", "USER", "STATE", "EXPIRES AT"].map(str::to_owned);
    let widths: Vec<usize> = (0..5)
        .map(|column| table.iter().chain([&header]).map(|row| row[column].chars().count()).max().unwrap_or(0))
        .collect();
    for row in [&header].into_iter().chain(&table) {
        let line: Vec<String> = row.iter().zip(&widths).map(|(text, width)| format!("{text:<width$}")).collect();
        writeln!(stdout, "{}", line.join("  ").trim_end())?;
    }
    Ok(Exit::Ok)
}
