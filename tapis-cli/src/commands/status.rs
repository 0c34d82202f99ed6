//! `tapis status`: what is saved, for whom, until when. Reads the file only (and changes
//! nothing, not even its mode): no network.

use std::io::Write as _;

use anyhow::Context as _;
use chrono::TimeDelta;
use serde_json::json;
use tapis_auth_core::{TokenSet, TokenState};
use tapis_store::{LooseMode, TokenStore};

use crate::cli::{GlobalArgs, StatusArgs};
use crate::exit::Exit;
use crate::output;

/// The state as `status` and `profiles` show it (its `Display` is the name they print).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusState {
    /// No saved tokens.
    None,
    /// Not expired, for this server.
    Valid,
    Expired,
    /// The tokens belong to another server, or to none known.
    OtherServer,
    /// The token file could not be used.
    Unreadable,
    /// A state of a newer `tapis-auth-core` that this version does not name.
    Unknown,
}

impl StatusState {
    /// `state` is that of the saved tokens (`None` when there are none), `unreadable` whether
    /// the token file could not be used.
    pub(crate) fn of(state: Option<TokenState>, unreadable: bool) -> Self {
        match state {
            _ if unreadable => Self::Unreadable,
            None => Self::None,
            Some(TokenState::Valid | TokenState::ExpiringSoon) => Self::Valid,
            Some(TokenState::Expired) => Self::Expired,
            Some(TokenState::OtherServer) => Self::OtherServer,
            Some(_) => Self::Unknown,
        }
    }
}

impl std::fmt::Display for StatusState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::None => "none",
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::OtherServer => "other-server",
            Self::Unreadable => "unreadable",
            Self::Unknown => "unknown",
        })
    }
}

pub(crate) fn run(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<Exit> {
    let target = crate::profile::resolve(global)?;
    let base_url = &target.base_url;
    let token_file = &target.token_file;
    let given = target.given_token.clone();
    let from_environment = given.is_some();
    let source = if from_environment {
        format!("the {} environment variable", super::TOKEN_VARIABLE)
    } else {
        token_file.display().to_string()
    };
    let (tokens, problem, kept_client) = match given {
        Some(token) => match tapis_auth_core::AccessToken::new(token, None) {
            Ok(access) => (Some(TokenSet::new(access)), None, None),
            Err(error) => (None, Some(format!("the token in {} is not usable: {error}", super::TOKEN_VARIABLE)), None),
        },
        // `status` only looks: a loose mode is reported, not changed.
        None => match TokenStore::new(token_file).load_read_only() {
            Ok(loaded) => {
                if let Some(LooseMode::LeftAsIs(mode)) = loaded.loose_mode {
                    output::warn(&format!(
                        "the token file {} is readable by others (mode {mode:04o}); the next `tapis login` or `tapis token` makes it 0600",
                        token_file.display()
                    ));
                }
                (loaded.tokens, None, loaded.kept_client)
            }
            Err(error) if error.counts_as_no_token() => (None, Some(error.to_string()), None),
            Err(error) => return Err(error).context("cannot read the token status"),
        },
    };
    let now = super::client_config(global).clock.now();
    let state = tokens.as_ref().map(|tokens| tokens.state(base_url, now, TimeDelta::zero()));
    let shown = StatusState::of(state, problem.is_some());
    let access = tokens.as_ref().map(|tokens| &tokens.access);
    let left = access.map(|access| access.time_left(now));
    let renewal = tokens.as_ref().and_then(|tokens| tokens.renewal(now));
    let refresh_expires_at = renewal.and_then(|(refresh, _)| refresh.expires_at());

    let mut stdout = std::io::stdout().lock();
    if args.json {
        let report = json!({
            "base_url": base_url.as_str(),
            "profile": target.profile,
            "username_asked": target.username,
            "token_file": (!from_environment).then(|| token_file.display().to_string()),
            "token_source": if from_environment { "environment" } else { "file" },
            "state": shown.to_string(),
            "username": access.and_then(|access| access.username()),
            "tenant_id": access.and_then(|access| access.tenant_id()),
            "expires_at": access.map(|access| output::instant(access.expires_at())),
            "seconds_left": left.map(|left| left.num_seconds().max(0)),
            "token_server": tokens.as_ref().and_then(TokenSet::server).map(|url| url.to_string()),
            "renewal": renewal.is_some(),
            "refresh_expires_at": refresh_expires_at.map(output::instant),
            "client_id": renewal.map(|(_, client)| client.client_id.as_str()),
            "problem": problem,
        });
        let text = output::json_text(&report);
        writeln!(stdout, "{text}").context("cannot write to standard output")?;
    } else {
        let mut lines = Vec::new();
        if let Some(profile) = &target.profile {
            lines.push(("Profile", profile.clone()));
        }
        lines.push(("Base URL", base_url.to_string()));
        lines.push((if from_environment { "Token from" } else { "Token file" }, source.clone()));
        if let Some(access) = access {
            lines.push(("User", access.username().unwrap_or("(unknown)").to_owned()));
            lines.push(("Tenant", access.tenant_id().unwrap_or("(unknown)").to_owned()));
            lines.push(("Expires at", output::instant(access.expires_at())));
            // The label says "left" already: `3h 59m`, or `none (expired 5m 02s ago)`.
            let left_text = match left {
                Some(left) if left > TimeDelta::zero() => tapis_auth_core::duration::format_duration(left),
                Some(left) => format!("none ({})", output::time_left(left)),
                None => String::new(),
            };
            lines.push(("Time left", left_text));
            let renewal_line = match (renewal, refresh_expires_at) {
                (Some((_, client)), Some(at)) => {
                    format!(
                        "on, through the OAuth client {} (refresh token expires at {})",
                        client.client_id,
                        output::instant(at)
                    )
                }
                (Some((_, client)), None) => format!("on, through the OAuth client {}", client.client_id),
                (None, _) if from_environment => {
                    format!("off (a token from {} is never renewed)", super::TOKEN_VARIABLE)
                }
                // A plain `tapis login` answers "already logged in" while the token is valid.
                (None, _) => match tokens.as_ref().and_then(|tokens| tokens.refresh.as_ref()?.expires_at()) {
                    Some(at) if at <= now => {
                        format!(
                            "off: the refresh token expired at {} (`tapis login --force` turns it on)",
                            output::instant(at)
                        )
                    }
                    _ => "off (`tapis login --force` turns it on)".to_owned(),
                },
            };
            lines.push(("Renewal", renewal_line));
        }
        if let Some(kept) = &kept_client {
            let server = if kept.base_url == *base_url { String::new() } else { format!(" of {}", kept.base_url) };
            lines.push((
                "Client",
                format!("{}{server}, kept without tokens (the next `tapis login` uses it)", kept.client.client_id),
            ));
        }
        let state_line = match (shown, &problem) {
            (StatusState::Unreadable, Some(problem)) => format!("{shown} ({problem})"),
            (StatusState::OtherServer, _) => match tokens.as_ref().map(|tokens| (tokens.server(), &tokens.base_url)) {
                Some((None, Some(recorded))) => format!(
                    "other-server (the recorded base URL {} and the tokens' issuers disagree)",
                    output::escape_controls(recorded.as_str())
                ),
                Some((Some(server), _)) => format!("other-server (the token belongs to {server})"),
                _ => "other-server (the token belongs to an unknown server)".to_owned(),
            },
            (shown, _) => shown.to_string(),
        };
        lines.push(("State", state_line));
        for (label, value) in lines {
            // Names and ids come from the token or the file: escaped, as all such text is.
            let value = output::escape_controls(&value);
            writeln!(stdout, "{:<12}{value}", format!("{label}:")).context("cannot write to standard output")?;
        }
    }
    Ok(if shown == StatusState::Valid { Exit::Ok } else { Exit::NotLoggedIn })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(state: Option<TokenState>, unreadable: bool, expected: StatusState, name: &str) {
        let shown = StatusState::of(state, unreadable);
        assert_eq!((shown, shown.to_string().as_str()), (expected, name), "{state:?}, unreadable {unreadable}");
    }

    #[test]
    fn states_are_named_as_status_and_profiles_print_them() {
        check(None, false, StatusState::None, "none");
        check(Some(TokenState::Valid), false, StatusState::Valid, "valid");
        check(Some(TokenState::ExpiringSoon), false, StatusState::Valid, "valid");
        check(Some(TokenState::Expired), false, StatusState::Expired, "expired");
        check(Some(TokenState::OtherServer), false, StatusState::OtherServer, "other-server");
        check(None, true, StatusState::Unreadable, "unreadable");
        check(Some(TokenState::Valid), true, StatusState::Unreadable, "unreadable");
    }
}
