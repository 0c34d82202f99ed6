//! The way out of an error, in a front door's words: the library says what happened and which
//! way out there is (a remedy kind), and each front door names that way in its own terms (a
//! flag or a command for the CLI, an argument for the Python package). The sentence around it
//! is the library's, so that both front doors say the same thing.

use std::error::Error;

use tapis_store::StoreError;

use crate::error::AuthError;
use crate::settings::SettingsError;
use tapis_store::profiles::DEFAULT_PROFILE;

/// A front door's name for each way out of an error (each remedy kind). The library's own
/// messages (`Display`) use [`WaysOut::NEUTRAL`]; [`message_of`] words an error with another.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WaysOut {
    /// Signing in where a person can be asked for a password.
    pub log_in: &'static str,
    /// Supplying the username and password without a person.
    pub supply_credentials: &'static str,
    /// Naming the user to sign in as.
    pub name_the_user: &'static str,
    /// Logging in again (a renewal or the token was refused).
    pub log_in_again: &'static str,
    /// The name of forcing a new login that replaces the saved tokens ("log in with ...").
    pub force: &'static str,
    /// The name of choosing another token file.
    pub token_file: &'static str,
    /// The name of choosing a profile.
    pub profile: &'static str,
    /// The name of choosing the server.
    pub base_url: &'static str,
    /// Giving a device login its OAuth client.
    pub give_client: &'static str,
    /// Starting a new device login.
    pub device_login: &'static str,
    /// Waiting longer for the token file's lock.
    pub wait_longer: &'static str,
    /// Creating a profile; `NAME` stands for its name.
    pub create_profile: &'static str,
}

impl WaysOut {
    /// The library's own words, which name no flag, argument or command.
    pub const NEUTRAL: WaysOut = WaysOut {
        log_in: "log in where a person can be asked for a password",
        supply_credentials: "supply the username and password",
        name_the_user: "supply the username too",
        log_in_again: "log in again",
        force: "the force option",
        token_file: "another token file",
        profile: "a profile",
        base_url: "its base URL",
        give_client: "give the OAuth client's id",
        device_login: "start a new device login",
        wait_longer: "wait longer for the lock",
        create_profile: "a login with the profile NAME",
    };
}

/// `error` in the words of `ways`, when it is an [`AuthError`] (boxed or not) or a
/// [`StoreError`] whose way out a front door names; `None` for any other error, which is
/// shown as it is. Every secret the process holds is masked.
pub fn message_of(error: &(dyn Error + 'static), ways: &WaysOut) -> Option<String> {
    if let Some(boxed) = error.downcast_ref::<Box<AuthError>>() {
        return message_of(boxed.as_ref(), ways);
    }
    if let Some(auth) = error.downcast_ref::<AuthError>() {
        return Some(crate::secrets::redact(&auth_message(auth, ways)).into_owned());
    }
    if let Some(settings) = error.downcast_ref::<SettingsError>() {
        return Some(settings_message(settings, ways));
    }
    error.downcast_ref::<StoreError>().map(|store| crate::secrets::redact(&store_message(store, ways)).into_owned())
}

/// A [`SettingsError`]'s words with `ways`.
pub(crate) fn settings_message(error: &SettingsError, ways: &WaysOut) -> String {
    match error {
        SettingsError::UnknownProfile { name, known, config_file } => {
            let path = config_file.display();
            let known = if known.is_empty() {
                format!("the only profile is `{DEFAULT_PROFILE}` (the notebooks' settings; {path} names no other)")
            } else {
                let names: Vec<String> = known.iter().map(|known| format!("`{known}`")).collect();
                format!("the profiles are `{DEFAULT_PROFILE}` and, in {path}, {}", names.join(", "))
            };
            format!("there is no profile `{name}`; {known}; {} creates it", ways.create_profile.replace("NAME", name))
        }
        SettingsError::ProfileServerFromEnvironment { profile, own, url, variable } => format!(
            "the profile `{profile}` is for {own}, but {variable} in the environment says {url}; unset {variable} to use the profile, or choose the server for this command with {}",
            ways.base_url
        ),
        SettingsError::NewProfileServerFromEnvironment { profile, url, variable } => format!(
            "the profile `{profile}` does not exist yet, and its server would come from {variable} in the environment ({url}), which never changes the profiles; choose its server with {}, or unset {variable}",
            ways.base_url
        ),
        SettingsError::NoHome { what } => {
            format!("cannot find a home folder for {what}; choose the token file with {}", ways.token_file)
        }
        other => other.to_string(),
    }
}

/// The `Display` of the [`AuthError`] variants that have a way out: their words with
/// [`WaysOut::NEUTRAL`], redacted.
pub(crate) fn neutral(error: &AuthError) -> String {
    crate::secrets::redact(&auth_message(error, &WaysOut::NEUTRAL)).into_owned()
}

/// An [`AuthError`]'s words with `ways`; the `Display` of [`AuthError`] is this with
/// [`WaysOut::NEUTRAL`] for the variants that have a way out.
pub(crate) fn auth_message(error: &AuthError, ways: &WaysOut) -> String {
    match error {
        AuthError::NoCredentials { base_url, lapsed_at: None } => format!(
            "not logged in to {base_url}, and no terminal to ask for a password; {}, or {}",
            ways.log_in, ways.supply_credentials
        ),
        AuthError::NoCredentials { base_url, lapsed_at: Some(at) } => format!(
            "the login to {base_url} has lapsed: its refresh token expired at {}, so the token cannot be renewed, and there is no terminal to ask for a password; {}, or {}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ways.log_in,
            ways.supply_credentials
        ),
        AuthError::PasswordWithoutUsername { base_url, path } => format!(
            "a password was given but no username, and the token file {} holds no login to {base_url} to take it from; {}",
            path.display(),
            ways.name_the_user
        ),
        AuthError::RenewalRejected { base_url, message } => {
            format!("renewing the token for {base_url} was refused ({message}); {}", ways.log_in_again)
        }
        AuthError::NoClient { base_url } => format!(
            "device login to {base_url} needs an OAuth client: log in with a password once (which creates one), or {}",
            ways.give_client
        ),
        AuthError::DeviceCodeExpired => {
            format!("the device code expired before the login was approved; {}", ways.device_login)
        }
        AuthError::OtherServer { server, base_url, path } => format!(
            "the token file {} holds the tokens of {server}, not of {base_url}; it was left unchanged — to use them or log out of them, work with {server} ({}, or {}); to sign in to {base_url} as well, give it its own token file ({}, or {}); to replace them, log in with {}",
            path.display(),
            ways.base_url,
            ways.profile,
            ways.token_file,
            ways.profile,
            ways.force
        ),
        AuthError::OtherUser { user, asked, base_url, path } => {
            let user = user.as_deref().unwrap_or("an unknown user");
            format!(
                "the token file {} holds the tokens of {user} on {base_url}, not of {asked}; it was left unchanged — to use them, sign in as {user}; to sign in as {asked} as well, give {asked} its own token file ({}, or {}); to replace them, log in with {}",
                path.display(),
                ways.token_file,
                ways.profile,
                ways.force
            )
        }
        AuthError::TokenRefused { url, status, message, .. } => {
            format!("{url} refused the token ({status}: {message}), and it could not be renewed; {}", ways.log_in_again)
        }
        AuthError::Prompt(crate::PromptError::NobodyToAsk) => format!(
            "nobody can be asked for a password here (this front end takes no input), and there is no valid saved token; {}, or {}",
            ways.log_in, ways.supply_credentials
        ),
        AuthError::Store(store) => store_message(store, ways),
        other => other.to_string(),
    }
}

/// A [`StoreError`]'s words with `ways`, for the errors whose way out is another file or a
/// longer wait; the others as the store words them.
fn store_message(error: &StoreError, ways: &WaysOut) -> String {
    match error {
        StoreError::NotOwned { path, owner } => format!(
            "the token file {} belongs to another user (uid {owner}); refusing to use it — remove it or choose another file ({})",
            path.display(),
            ways.token_file
        ),
        StoreError::LockNotOwned { path, owner } => format!(
            "the lock file {} belongs to another user (uid {owner}); refusing to wait on it — remove it or choose another file ({})",
            path.display(),
            ways.token_file
        ),
        StoreError::Symlink { path } => format!(
            "the token file {} is a symbolic link, and tokens are not written through links; choose the real file ({}), or remove the link",
            path.display(),
            ways.token_file
        ),
        StoreError::LockTimeout { path, waited } => format!(
            "another process has held {} for more than {:.1}s (it may be waiting for a password); try again, or {}",
            path.display(),
            waited.as_secs_f64(),
            ways.wait_longer
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHER: WaysOut = WaysOut {
        log_in: "LOG-IN",
        log_in_again: "AGAIN",
        supply_credentials: "CREDENTIALS",
        name_the_user: "NAME",
        force: "FORCE",
        token_file: "TOKEN-FILE",
        profile: "PROFILE",
        base_url: "BASE-URL",
        give_client: "CLIENT",
        device_login: "DEVICE",
        wait_longer: "WAIT",
        create_profile: "CREATE NAME",
    };

    fn check(error: AuthError, expected: &[&str]) {
        let text = message_of(&error, &OTHER).expect("an AuthError");
        for words in expected {
            assert!(text.contains(words), "{words} in {text}");
        }
        // The library's own words are the same sentence with the neutral ways out.
        if !matches!(error, AuthError::Store(_)) {
            assert_eq!(error.to_string(), auth_message(&error, &WaysOut::NEUTRAL));
        }
    }

    #[test]
    fn every_way_out_is_the_front_doors_word() {
        let url = || "https://tapis.example".to_owned();
        let path = || std::path::PathBuf::from("/t.json");
        check(AuthError::NoCredentials { base_url: url(), lapsed_at: None }, &["LOG-IN, or CREDENTIALS"]);
        let lapsed = chrono::DateTime::UNIX_EPOCH;
        check(
            AuthError::NoCredentials { base_url: url(), lapsed_at: Some(lapsed) },
            &["has lapsed", "1970-01-01T00:00:00Z", "LOG-IN"],
        );
        check(AuthError::PasswordWithoutUsername { base_url: url(), path: path() }, &["NAME"]);
        check(AuthError::RenewalRejected { base_url: url(), message: "m".into() }, &["AGAIN"]);
        check(AuthError::NoClient { base_url: url() }, &["CLIENT"]);
        check(AuthError::DeviceCodeExpired, &["DEVICE"]);
        let nobody = message_of(&AuthError::Prompt(crate::PromptError::NobodyToAsk), &OTHER).expect("worded");
        assert!(nobody.contains("takes no input") && nobody.contains("LOG-IN, or CREDENTIALS"), "{nobody}");
        check(
            AuthError::OtherServer { server: "https://a".into(), base_url: url(), path: path() },
            &["work with https://a (BASE-URL, or PROFILE)", "(TOKEN-FILE, or PROFILE)", "log in with FORCE"],
        );
        check(
            AuthError::OtherUser { user: Some("jdoe".into()), asked: "alice".into(), base_url: url(), path: path() },
            &["of jdoe", "not of alice", "give alice its own token file (TOKEN-FILE, or PROFILE)", "with FORCE"],
        );
        check(AuthError::TokenRefused { url: url(), status: 401, message: "m".into(), renewal: None }, &["AGAIN"]);
        check(AuthError::Store(StoreError::NotOwned { path: path(), owner: 0 }), &["TOKEN-FILE"]);
        check(AuthError::Store(StoreError::Symlink { path: path() }), &["TOKEN-FILE"]);
        let waited = std::time::Duration::from_secs(1);
        check(AuthError::Store(StoreError::LockTimeout { path: path(), waited }), &["WAIT"]);
        let boxed: Box<AuthError> = Box::new(AuthError::DeviceCodeExpired);
        assert!(message_of(&boxed, &OTHER).expect("boxed").contains("DEVICE"));
        assert_eq!(message_of(&std::io::Error::other("x"), &OTHER), None);
    }
}
