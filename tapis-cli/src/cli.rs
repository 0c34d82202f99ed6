//! The command line: clap types only. Every option that has an environment variable says so
//! in `--help`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum, value_parser};
use tapis_auth::{
    DEFAULT_DEVICE_POLL_INTERVAL, DEFAULT_HTTP_TIMEOUT, DEFAULT_LOCK_TIMEOUT, DEFAULT_MIN_VALID,
    DEFAULT_N_PROMPT_ATTEMPTS,
};
use tapis_auth_core::BaseUrl;

use crate::exit::EXIT_CODES_HELP;

/// Sign in to a Tapis v3 platform and stay signed in.
#[derive(Debug, PartialEq, Parser)]
#[command(name = "tapis", version, about, after_help = EXIT_CODES_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every verb takes, before or after the verb.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct GlobalArgs {
    /// The named profile to use: its base URL, username and token file [default: the notebooks' defaults]
    #[arg(long, global = true, env = "TAPIS_PROFILE", value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// The Tapis tenant to sign in to (the default is `DEFAULT_BASE_URL`, unless a profile says otherwise).
    #[arg(
        long,
        global = true,
        env = "TAPIS_BASE_URL",
        value_name = "URL",
        help = "The Tapis tenant to sign in to (https; plain http only to loopback, for testing) [default: https://designsafe.tapis.io]"
    )]
    pub(crate) base_url: Option<BaseUrl>,

    /// Whether `base_url` was given on the command line (`--base-url`), the user's own word,
    /// rather than inherited from `TAPIS_BASE_URL`: only the former may point a named profile
    /// at another server.
    #[arg(skip)]
    pub(crate) base_url_on_command_line: bool,

    /// Which of the other settings were given on the command line rather than inherited from
    /// their variables: the library records only the command line's in `profiles.toml`.
    #[arg(skip)]
    pub(crate) on_command_line: OnCommandLine,

    /// The token file, shared with the DesignSafe notebooks [default: ~/.tapis_tokens.json]
    #[arg(long, global = true, env = "TAPIS_TOKEN_FILE", value_name = "PATH")]
    pub(crate) token_file: Option<PathBuf>,

    /// How long to wait for another tapis process that is logging in
    #[arg(long, global = true, env = "TAPIS_LOCK_TIMEOUT", value_name = "DURATION", default_value = default_text(DEFAULT_LOCK_TIMEOUT),
          value_parser = parse_std_duration, hide_short_help = true)]
    pub(crate) lock_timeout: Duration,

    /// Bound on each HTTP request, connecting included
    #[arg(long, global = true, env = "TAPIS_HTTP_TIMEOUT", value_name = "DURATION", default_value = default_text(DEFAULT_HTTP_TIMEOUT),
          value_parser = parse_http_timeout, hide_short_help = true)]
    pub(crate) http_timeout: Duration,

    /// Show on stderr what is asked and answered: each request's method, URL, status, time and retry, the token file read and its token's state, the lock wait (secrets masked)
    #[arg(long, global = true, env = "TAPIS_DEBUG", value_parser = clap::builder::FalseyValueParser::new(), hide_short_help = true)]
    pub(crate) debug: bool,
}

/// Whether each setting with a variable was given on the command line (clap's value source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OnCommandLine {
    pub(crate) profile: bool,
    pub(crate) token_file: bool,
    pub(crate) username: bool,
}

#[derive(Debug, PartialEq, Subcommand)]
pub(crate) enum Command {
    /// Log in, unless the saved token is still valid (then no request is made)
    #[command(
        after_help = "The password is read from --password-stdin, else TAPIS_PASSWORD, else a hidden prompt.\nThere is no --password flag: command lines are visible to every user of the machine."
    )]
    Login(LoginArgs),
    /// Print a valid access token on stdout, logging in first if needed
    #[command(
        after_help = "Example: curl -H @<(tapis token --format header) https://designsafe.tapis.io/v3/oauth2/userinfo\n(The token stays out of curl's command line, which other users can see in ps.)"
    )]
    Token(TokenArgs),
    /// Show the saved token's user, tenant, expiry and state (exit 0 only when valid)
    Status(StatusArgs),
    /// Show the signed-in user's profile from the server (renewing the token first if needed)
    Whoami(WhoamiArgs),
    /// Revoke the saved tokens, delete the personal OAuth client and delete the token file
    Logout(LogoutArgs),
    /// Run a command with TAPIS_TOKEN and TAPIS_BASE_URL set to a valid token and its server
    #[command(
        after_help = "Example: tapis exec -- python3 submit_jobs.py\nThe command's exit code is tapis's; a command that cannot be found exits 127."
    )]
    Exec(ExecArgs),
    /// Make an authenticated request to the Tapis API and print the answer
    #[command(
        after_help = "Examples:\n  tapis api /v3/jobs/list\n  tapis api /v3/apps --data @app.json      (POST: --data means POST unless -X says otherwise)\nExits 0 on a 2xx answer and 6 on any other, with the server's message on stderr."
    )]
    Api(ApiArgs),
    /// List the profiles with their base URL, user, state and expiry (or remove one)
    #[command(
        after_help = "A profile is created by `tapis login --profile NAME [--base-url URL]`, and its server changed the same way.\n`tapis profiles remove NAME` forgets it (log out of it first: its token file is left as it is)."
    )]
    Profiles(ProfilesArgs),
    /// Print a shell completion script (e.g. `tapis completions bash > ~/.local/share/bash-completion/completions/tapis`)
    Completions(CompletionsArgs),
    /// Print the manual page (roff); `cargo xtask man` writes it to target/man/tapis.1
    #[command(hide = true)]
    Manpage,
}

/// Where credentials come from when a login is needed.
#[derive(Debug, PartialEq, Args)]
pub(crate) struct CredentialArgs {
    /// The username [default: the profile's; with a password given (--password-stdin, TAPIS_PASSWORD), the user of the saved token; else a prompt]
    #[arg(long, short = 'u', env = "TAPIS_USERNAME", value_name = "USERNAME")]
    pub(crate) username: Option<String>,

    /// Read the password from the first line of standard input
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,

    /// Log in even if the saved token is still valid
    #[arg(long)]
    pub(crate) force: bool,

    /// How many times to ask for the password when the server rejects it
    #[arg(long, value_name = "N", default_value_t = DEFAULT_N_PROMPT_ATTEMPTS, value_parser = value_parser!(u32).range(1..=10))]
    pub(crate) attempts: u32,

    /// Log in for an access token only: no personal OAuth client, no silent renewal
    #[arg(long)]
    pub(crate) no_refresh: bool,

    /// Log in in a browser with a code instead of a password (device login)
    #[arg(long, conflicts_with_all = ["password_stdin", "no_refresh"])]
    pub(crate) device: bool,

    /// The OAuth client for --device [default: the client in the token file]
    #[arg(long, env = "TAPIS_CLIENT_ID", value_name = "ID", requires = "device")]
    pub(crate) client_id: Option<String>,

    /// How often --device asks whether the login was approved
    #[arg(long, env = "TAPIS_DEVICE_POLL_INTERVAL", value_name = "DURATION", default_value = default_text(DEFAULT_DEVICE_POLL_INTERVAL),
          value_parser = parse_std_duration, hide = true)]
    pub(crate) device_poll_interval: Duration,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,

    /// Log in again unless the token stays valid at least this long (e.g. 90s, 10m, 1h; a bare number is seconds)
    #[arg(long, value_name = "DURATION", default_value = default_text(min_valid_default()), value_parser = parse_time_delta)]
    pub(crate) min_valid: TimeDelta,

    /// How to print the token
    #[arg(long, value_enum, default_value_t = TokenFormat::Raw)]
    pub(crate) format: TokenFormat,
}

/// How `tapis token` prints the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenFormat {
    /// The token alone
    Raw,
    /// `X-Tapis-Token: <token>`, for curl -H
    Header,
    /// `export TAPIS_TOKEN=...` and `TAPIS_BASE_URL`, for `eval "$(tapis token --format env)"`
    Env,
    /// A JSON object with the token, expiry, base URL, username and tenant
    Json,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,

    /// Renew or log in first unless the token stays valid at least this long
    #[arg(long, value_name = "DURATION", default_value = default_text(min_valid_default()), value_parser = parse_time_delta)]
    pub(crate) min_valid: TimeDelta,

    /// The command and its arguments, after `--`
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct ApiArgs {
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,

    /// The HTTP method [default: GET, or POST with --data, as curl and gh api do]
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub(crate) method: Option<String>,

    /// The path on the base URL, e.g. /v3/jobs/list (never a URL to another host)
    #[arg(value_name = "PATH")]
    pub(crate) path: String,

    /// The request body, as JSON: the text itself, @FILE, or - for standard input
    #[arg(short = 'd', long, value_name = "JSON|@FILE|-")]
    pub(crate) data: Option<String>,

    /// An extra request header, `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,

    /// Print a JSON answer as it came, not pretty-printed
    #[arg(long)]
    pub(crate) raw: bool,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct ProfilesArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) action: Option<ProfilesAction>,
}

#[derive(Debug, PartialEq, Subcommand)]
pub(crate) enum ProfilesAction {
    /// Remove a profile from profiles.toml (its token file is left as it is)
    Remove {
        /// The profile's name
        name: String,
    },
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct WhoamiArgs {
    /// Print the profile as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct LogoutArgs {
    /// Keep the personal OAuth client on the server (only revoke the tokens)
    #[arg(long)]
    pub(crate) keep_client: bool,
}

#[derive(Debug, PartialEq, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub(crate) json: bool,
}

/// The parse of a command line from clap's matches, with what only the matches know: where
/// the base URL came from.
pub(crate) fn cli_from_matches(matches: &mut clap::ArgMatches) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches as _;
    // A global option given after the verb is recorded in the verb's matches.
    let given_here = |matches: &clap::ArgMatches, id: &str| {
        matches.try_get_raw(id).is_ok_and(|raw| raw.is_some())
            && matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
    };
    let on_command_line =
        |id: &str| given_here(matches, id) || matches.subcommand().is_some_and(|(_, verb)| given_here(verb, id));
    let base_url_on_command_line = on_command_line("base_url");
    let on = OnCommandLine {
        profile: on_command_line("profile"),
        token_file: on_command_line("token_file"),
        username: on_command_line("username"),
    };
    let mut cli = Cli::from_arg_matches_mut(matches)?;
    cli.global.base_url_on_command_line = base_url_on_command_line;
    cli.global.on_command_line = on;
    Ok(cli)
}

/// A clap error about a value that came from an environment variable, reworded to name the
/// variable: clap names the option (`--http-timeout`), which the user did not type and which
/// may be hidden from `--help`. Other errors are returned as they are.
pub(crate) fn name_the_variable(error: clap::Error, command: &clap::Command, args: &[OsString]) -> clap::Error {
    use std::error::Error as _;

    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(error.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        return error;
    }
    let (Some(ContextValue::String(option)), Some(ContextValue::String(value))) =
        (error.get(ContextKind::InvalidArg), error.get(ContextKind::InvalidValue))
    else {
        return error;
    };
    let long = option.trim_start_matches('-').split([' ', '=']).next().unwrap_or_default();
    let Some(arg) = find_arg(command, long) else { return error };
    let Some(variable) = arg.get_env().and_then(|variable| variable.to_str()) else { return error };
    // Given on the command line (before any `--`), the value is the user's own word there.
    let flag = format!("--{long}");
    let short = arg.get_short().map(|short| format!("-{short}"));
    let typed = args.iter().skip(1).map(|arg| arg.to_string_lossy()).take_while(|arg| arg != "--").any(|arg| {
        arg == flag
            || arg.strip_prefix(flag.as_str()).is_some_and(|rest| rest.starts_with('='))
            || short.as_deref().is_some_and(|short| arg.starts_with(short) && !arg.starts_with("--"))
    });
    if typed || std::env::var_os(variable).is_none_or(|set| set.to_string_lossy() != value.as_str()) {
        return error;
    }
    let mut message = format!("invalid value '{value}' in the environment variable {variable}");
    if let Some(reason) = error.source() {
        message.push_str(&format!(": {reason}"));
    }
    if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue) {
        message.push_str(&format!(" (possible values: {})", valid.join(", ")));
    }
    clap::Error::raw(error.kind(), format!("{message}\n"))
}

/// The argument with this long name, in the command or any subcommand.
fn find_arg<'command>(command: &'command clap::Command, long: &str) -> Option<&'command clap::Arg> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .or_else(|| command.get_subcommands().find_map(|subcommand| find_arg(subcommand, long)))
}

/// The cached path's fast start: `tapis token` with no arguments, which scripts and job steps
/// run over and over, parsed without building clap's whole command tree (about a third of
/// that path's instructions). It yields exactly what clap would (a test checks this) from the
/// same variables, read with `variable`. Anything else — another argument, or a variable that
/// is set but empty or does not parse — returns `None`, and clap parses as usual, with its
/// messages.
pub(crate) fn parse_bare_token_command(args: &[OsString], variable: impl Fn(&str) -> Option<OsString>) -> Option<Cli> {
    if args.len() != 2 || args[1] != "token" || variable("TAPIS_DEBUG").is_some() {
        return None;
    }
    // A variable that is set must be non-empty UTF-8 that parses; clap is left to judge the rest.
    let text = |name: &str| -> Option<Option<String>> {
        match variable(name) {
            None => Some(None),
            Some(value) => value.into_string().ok().filter(|text| !text.is_empty()).map(Some),
        }
    };
    let base_url = match text("TAPIS_BASE_URL")? {
        Some(url) => Some(BaseUrl::parse(&url).ok()?),
        None => None,
    };
    let duration = |name: &str, default: Duration, parse: fn(&str) -> Result<Duration, String>| -> Option<Duration> {
        match text(name)? {
            Some(value) => parse(&value).ok(),
            None => Some(default),
        }
    };
    Some(Cli {
        global: GlobalArgs {
            profile: text("TAPIS_PROFILE")?,
            base_url,
            base_url_on_command_line: false,
            on_command_line: OnCommandLine::default(),
            token_file: text("TAPIS_TOKEN_FILE")?.map(PathBuf::from),
            lock_timeout: duration("TAPIS_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT, parse_std_duration)?,
            http_timeout: duration("TAPIS_HTTP_TIMEOUT", DEFAULT_HTTP_TIMEOUT, parse_http_timeout)?,
            debug: false,
        },
        command: Command::Token(TokenArgs {
            credentials: CredentialArgs { username: text("TAPIS_USERNAME")?, password_stdin: false },
            min_valid: DEFAULT_MIN_VALID,
            format: TokenFormat::Raw,
        }),
    })
}

/// `DEFAULT_MIN_VALID` as a std duration, for [`default_text`].
fn min_valid_default() -> Duration {
    DEFAULT_MIN_VALID.to_std().unwrap_or_default()
}

/// A library default as clap shows and parses it: whole minutes from two minutes up (`2m`),
/// else seconds (`60s`), else milliseconds. The defaults themselves live in the library.
fn default_text(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        format!("{}ms", duration.as_millis())
    } else if seconds >= 120 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

fn parse_time_delta(text: &str) -> Result<TimeDelta, String> {
    tapis_auth_core::duration::parse_duration(text).map_err(|error| error.to_string())
}

fn parse_std_duration(text: &str) -> Result<Duration, String> {
    let delta = parse_time_delta(text)?;
    delta.to_std().map_err(|_| format!("`{text}` is not a positive duration"))
}

/// `--http-timeout`: a zero bound would fail every request before it is sent, so it is refused.
fn parse_http_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_std_duration(text)?;
    if timeout.is_zero() {
        return Err(format!("`{text}` would time out every request at once; give a positive duration such as 30s"));
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_texts_parse_back_to_the_library_defaults() {
        for default in [DEFAULT_LOCK_TIMEOUT, DEFAULT_HTTP_TIMEOUT, DEFAULT_DEVICE_POLL_INTERVAL, min_valid_default()] {
            assert_eq!(parse_std_duration(&default_text(default)), Ok(default), "{}", default_text(default));
        }
        let texts = [120, 60, 30, 5].map(|seconds| default_text(Duration::from_secs(seconds)));
        assert_eq!(texts, ["2m", "60s", "30s", "5s"]);
        assert_eq!(default_text(Duration::from_millis(300)), "300ms");
    }

    #[test]
    fn global_options_go_before_or_after_the_verb() {
        let before = Cli::try_parse_from(["tapis", "--base-url", "https://tacc.tapis.io", "status"]).expect("parses");
        let after = Cli::try_parse_from(["tapis", "status", "--base-url", "https://tacc.tapis.io/"]).expect("parses");
        assert_eq!(before.global.base_url, after.global.base_url);
        assert_eq!(after.global.base_url.map(|url| url.to_string()).as_deref(), Some("https://tacc.tapis.io"));
    }

    #[test]
    fn the_base_url_flag_is_told_apart() {
        let parse = |args: &[&str]| {
            let mut matches = Cli::command().try_get_matches_from(args).expect("parses");
            cli_from_matches(&mut matches).expect("parses").global.base_url_on_command_line
        };
        assert!(parse(&["tapis", "--base-url", "https://tacc.tapis.io", "status"]));
        assert!(parse(&["tapis", "status", "--base-url", "https://tacc.tapis.io"]));
        assert!(!parse(&["tapis", "status"]));
    }

    #[test]
    fn exec_takes_the_command_after_a_double_dash() {
        let cli = Cli::try_parse_from(["tapis", "exec", "--", "sh", "-c", "echo --min-valid"]).expect("parses");
        let Command::Exec(args) = cli.command else { panic!("exec") };
        assert_eq!(args.command, ["sh", "-c", "echo --min-valid"]);
    }

    /// The fast start agrees with clap, under every combination of these variables (clap
    /// reads them from the real environment, so each case runs in a child process).
    #[test]
    fn the_bare_token_command_parses_as_clap_does() {
        let cases: &[&[(&str, &str)]] = &[
            &[],
            &[("TAPIS_BASE_URL", "https://tacc.tapis.io/"), ("TAPIS_TOKEN_FILE", "/tmp/t.json")],
            &[("TAPIS_PROFILE", "tacc"), ("TAPIS_USERNAME", "jdoe")],
            &[("TAPIS_LOCK_TIMEOUT", "300ms"), ("TAPIS_HTTP_TIMEOUT", "1m30s")],
            &[("TAPIS_BASE_URL", "http://127.0.0.1:8080"), ("TAPIS_LOCK_TIMEOUT", "5s")],
        ];
        let args: Vec<OsString> = ["tapis", "token"].map(OsString::from).to_vec();
        for variables in cases {
            let lookup =
                |name: &str| variables.iter().find(|(key, _)| *key == name).map(|(_, value)| OsString::from(value));
            let fast = parse_bare_token_command(&args, lookup).expect("the fast start takes these");
            assert_eq!(format!("{fast:?}"), clap_in_child(variables), "{variables:?}");
        }
        // What the fast start leaves to clap.
        let none = |_: &str| None;
        assert!(parse_bare_token_command(&["tapis", "token", "--format", "env"].map(OsString::from), none).is_none());
        assert!(parse_bare_token_command(&["tapis", "status"].map(OsString::from), none).is_none());
        let bad_url = |name: &str| (name == "TAPIS_BASE_URL").then(|| OsString::from("http://evil.example"));
        assert!(parse_bare_token_command(&args, bad_url).is_none());
        let empty = |name: &str| (name == "TAPIS_PROFILE").then(OsString::new);
        assert!(parse_bare_token_command(&args, empty).is_none());
        let debug = |name: &str| (name == "TAPIS_DEBUG").then(|| OsString::from("0"));
        assert!(parse_bare_token_command(&args, debug).is_none(), "TAPIS_DEBUG is left to clap");
        for zero in ["0", "0s", "0ms"] {
            let zero_timeout = |name: &str| (name == "TAPIS_HTTP_TIMEOUT").then(|| OsString::from(zero));
            assert!(
                parse_bare_token_command(&args, zero_timeout).is_none(),
                "{zero} is left to clap, which refuses it"
            );
        }
    }

    /// `Cli::parse_from(["tapis", "token"])` with exactly `variables` set, in a child process
    /// (this test binary, re-run on one test that prints the result).
    fn clap_in_child(variables: &[(&str, &str)]) -> String {
        let output = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(["--exact", "cli::tests::print_clap_parse_of_bare_token", "--nocapture", "--test-threads=1"])
            .env_clear()
            .env("TAPIS_PRINT_CLAP_PARSE", "1")
            .envs(variables.iter().copied())
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout
            .lines()
            .find_map(|line| line.split_once("CLAP: ").map(|(_, parse)| parse))
            .expect("the child printed its parse")
            .to_owned()
    }

    /// Run by [`clap_in_child`]: prints clap's parse of `tapis token` under this process's
    /// environment. Run alone, it checks that the parse succeeds.
    #[test]
    fn print_clap_parse_of_bare_token() {
        let mut matches = Cli::command().try_get_matches_from(["tapis", "token"]).expect("clap parses");
        let cli = cli_from_matches(&mut matches).expect("clap parses a bare `tapis token`");
        if std::env::var_os("TAPIS_PRINT_CLAP_PARSE").is_some() {
            println!("CLAP: {cli:?}");
        }
    }

    #[test]
    fn a_zero_http_timeout_is_refused() {
        for zero in ["0", "0s", "0ms"] {
            let error = Cli::try_parse_from(["tapis", "--http-timeout", zero, "status"]).expect_err("refused");
            assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation, "{zero}");
            assert!(error.to_string().contains("would time out every request"), "{error}");
        }
        let cli = Cli::try_parse_from(["tapis", "--http-timeout", "1ms", "status"]).expect("a tiny timeout is allowed");
        assert_eq!(cli.global.http_timeout, Duration::from_millis(1));
    }

    #[test]
    fn debug_is_a_flag_and_a_variable() {
        let cli = Cli::try_parse_from(["tapis", "token", "--debug"]).expect("parses");
        assert!(cli.global.debug);
        let cli = Cli::try_parse_from(["tapis", "--debug", "status"]).expect("parses");
        assert!(cli.global.debug);
        assert!(!Cli::try_parse_from(["tapis", "status"]).expect("parses").global.debug);
    }

    #[test]
    fn there_is_no_password_flag() {
        let error = Cli::try_parse_from(["tapis", "login", "--password", "hunter2"]).expect_err("refused");
        assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
