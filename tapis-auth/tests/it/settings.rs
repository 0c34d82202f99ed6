//! The table of where and as whom to sign in (`tests/fixtures/settings_cases.json`), through
//! the library's one resolution. The `tapis` command's and the Python package's tests run the
//! same cases through their front doors.

use std::path::Path;

use serde_json::Value;
use tapis_auth::settings::{self, Given, Places, Purpose, Sources};

/// The cases, as every front door reads them.
pub(crate) fn cases() -> Value {
    let text = include_str!("../fixtures/settings_cases.json");
    serde_json::from_str(text).expect("the cases are JSON")
}

/// Writes the table's `profiles` as `profiles.toml` under `home`.
fn write_profiles(table: &Value, places: &Places) {
    let mut config = tapis_store::profiles::Config::default();
    for (name, fields) in table["profiles"].as_object().expect("profiles") {
        let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
        config.profiles.insert(
            name.clone(),
            tapis_store::profiles::Profile::new(text("base_url"), text("username"), text("token_file").map(Into::into)),
        );
    }
    let path = places.config_file.as_ref().expect("a config file");
    tapis_store::profiles::update_config(path, |saved| *saved = config).expect("profiles.toml");
}

/// The sources of a case, by the command's names.
fn sources(case: &Value, places: &Places) -> Sources {
    let caller = |key: &str, name: &'static str| case["caller"][key].as_str().map(|value| Given::caller(name, value));
    let variable = |name: &'static str| case["environment"][name].as_str().map(|value| Given::environment(name, value));
    let mut sources = Sources::default();
    sources.profile = Given::first(caller("profile", "--profile"), variable("TAPIS_PROFILE"));
    sources.base_url = Given::first(caller("base_url", "--base-url"), variable("TAPIS_BASE_URL"));
    sources.token_file = Given::first(caller("token_file", "--token-file"), variable("TAPIS_TOKEN_FILE"));
    sources.username = Given::first(caller("username", "--username"), variable("TAPIS_USERNAME"));
    sources.places = places.clone();
    sources
}

/// A token file as the table writes it: `~` for the home folder, `/` between names (on
/// Windows too).
fn in_table(path: &Path, home: &Path) -> String {
    match path.strip_prefix(home) {
        Ok(rest) => {
            let names: Vec<_> = rest.iter().map(|name| name.to_string_lossy()).collect();
            format!("~/{}", names.join("/"))
        }
        Err(_) => path.display().to_string(),
    }
}

#[test]
fn every_case_of_the_table_resolves_as_it_says() {
    let table = cases();
    let cases = table["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15, "the table has its cases");
    for case in cases {
        let name = case["name"].as_str().expect("a name");
        let home = tempfile::tempdir().expect("home");
        let places = Places::under(home.path());
        write_profiles(&table, &places);
        match (settings::resolve(&sources(case, &places), Purpose::Use), case.get("expect_error")) {
            (Ok(target), None) => {
                let actual = serde_json::json!({
                    "profile": target.profile,
                    "base_url": target.base_url.as_str(),
                    "token_file": in_table(&target.token_file, home.path()),
                    "username": target.username,
                });
                assert_eq!(actual, case["expect"], "{name}");
            }
            (Err(error), Some(expected)) => {
                let text = tapis_auth::message_of(&error, &tapis_auth::WaysOut::NEUTRAL).expect("worded");
                assert!(text.contains(expected.as_str().expect("text")), "{name}: {text}");
            }
            (outcome, _) => panic!("{name}: {outcome:?}"),
        }
    }
}

#[test]
fn a_password_without_a_username_is_for_the_saved_user_of_this_server() {
    let home = tempfile::tempdir().expect("home");
    let places = Places::under(home.path());
    let base_url = "https://tacc.tapis.io";
    let access = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", tapis_testkit::now_unix() - 60, base_url));
    let file = home.path().join(".tapis_tokens.json");
    std::fs::write(
        &file,
        serde_json::json!({"access_token": access, "expires_at": "2020-01-01T00:00:00+00:00"}).to_string(),
    )
    .expect("write");
    let mut sources = Sources::default();
    sources.places = places;
    sources.base_url = Some(Given::caller("--base-url", base_url));
    sources.password = Some("pw".to_owned().into());
    let target = settings::resolve(&sources, Purpose::Use).expect("resolved");
    assert_eq!(target.username.as_deref(), Some("jdoe"), "the expired token still names its user");
    sources.base_url = Some(Given::caller("--base-url", "https://designsafe.tapis.io"));
    assert_eq!(settings::resolve(&sources, Purpose::Use).expect("resolved").username, None, "another server's user");
}

#[test]
fn a_login_records_only_the_callers_words_in_the_profile() {
    let home = tempfile::tempdir().expect("home");
    let places = Places::under(home.path());
    let mut sources = Sources::default();
    sources.places = places.clone();
    sources.profile = Some(Given::caller("--profile", "new"));
    // The environment never names a new profile's server.
    sources.base_url = Some(Given::environment("TAPIS_BASE_URL", "https://tacc.tapis.io"));
    let error = settings::resolve(&sources, Purpose::Login).expect_err("refused");
    assert!(error.to_string().contains("never changes the profiles"), "{error}");
    // The caller's does; a user from the environment is not recorded.
    sources.base_url = Some(Given::caller("--base-url", "https://tacc.tapis.io"));
    sources.username = Some(Given::environment("TAPIS_USERNAME", "alice"));
    let target = settings::resolve(&sources, Purpose::Login).expect("resolved");
    let created = target.profile_update(None, Some("alice")).expect("created");
    assert_eq!((created.base_url.as_deref(), created.username.as_deref()), (Some("https://tacc.tapis.io"), None));
    // A login with another server from the command line changes the profile's server.
    let saved =
        tapis_store::profiles::Profile::new(Some("https://designsafe.tapis.io".into()), Some("jdoe".into()), None);
    tapis_store::profiles::update_config(places.config_file.as_ref().expect("config"), |config| {
        config.profiles.insert("new".into(), saved.clone())
    })
    .expect("write");
    let target = settings::resolve(&sources, Purpose::Login).expect("resolved");
    assert!(target.changes_server);
    let changed = target.profile_update(Some(&saved), Some("alice")).expect("changed");
    assert_eq!(
        (changed.base_url.as_deref(), changed.username.as_deref()),
        (Some("https://tacc.tapis.io"), Some("jdoe"))
    );
}
