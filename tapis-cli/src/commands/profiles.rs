//! `tapis profiles`: every profile with its base URL, user, state and expiry; `tapis
//! profiles remove NAME` forgets one.

use std::io::Write as _;

use anyhow::Context as _;
use chrono::TimeDelta;
use serde_json::json;
use tapis_store::TokenStore;
use tapis_store::profiles::DEFAULT_PROFILE;

use crate::cli::{GlobalArgs, ProfilesAction, ProfilesArgs};
use crate::exit::Exit;
use crate::output;
use crate::profile;

pub(crate) fn run(global: &GlobalArgs, args: &ProfilesArgs) -> anyhow::Result<Exit> {
    if let Some(ProfilesAction::Remove { name }) = &args.action {
        return remove(global, name);
    }
    let now = super::client_config(global).clock.now();
    let mut rows = Vec::new();
    for target in profile::all_targets(global)? {
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

/// Removes the profile `name` from `profiles.toml`; its token file is left as it is, and named.
fn remove(global: &GlobalArgs, name: &str) -> anyhow::Result<Exit> {
    let mut named = global.clone();
    named.profile = Some(name.to_owned());
    named.on_command_line.profile = true;
    // Which server the environment names does not matter to forgetting a profile.
    if !named.base_url_on_command_line {
        named.base_url = None;
    }
    // The profile as it is used (an unknown one is the usual usage error, listing those there are).
    let target = profile::resolve(&named)?;
    let config_file = target.config_file.clone().context("no profile is named")?;
    tapis_store::profiles::update_config(&config_file, |config| config.profiles.remove(name))
        .with_context(|| format!("cannot remove the profile `{name}`"))?;
    output::say(&format!("Removed the profile `{name}` from {}.", config_file.display()));
    if target.token_file.exists() {
        output::note(&format!(
            "its token file {} is left as it is; `tapis --token-file {} --base-url {} logout` logs out of it",
            target.token_file.display(),
            target.token_file.display(),
            target.base_url
        ));
    }
    Ok(Exit::Ok)
}
