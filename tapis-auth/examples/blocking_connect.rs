//! Sign in from a plain (not async) program: the saved token when it is valid, else a
//! renewal, else a password login asked for on the terminal.
//!
//! ```text
//! cargo run -p tapis-auth --example blocking_connect -- https://designsafe.tapis.io
//! ```

use std::io::Write as _;

use tapis_auth::{
    ApiRequest, BaseUrl, LoginOptions, Notice, PromptError, Prompter, SecretString, blocking, default_token_file_path,
};

/// Asks on standard input (the password is echoed here; a real program would use a
/// terminal library such as `rpassword`).
struct Stdin;

impl Prompter for Stdin {
    fn can_prompt(&self) -> bool {
        true
    }

    fn username(&mut self, base_url: &BaseUrl) -> Result<String, PromptError> {
        ask(&format!("Username for {base_url}: "))
    }

    fn password(&mut self, username: &str) -> Result<SecretString, PromptError> {
        ask(&format!("Password for {username}: ")).map(SecretString::from)
    }

    fn notice(&mut self, notice: &Notice) {
        eprintln!("note: {notice:?}");
    }
}

fn ask(question: &str) -> Result<String, PromptError> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line)? == 0 {
        return Err(PromptError::EndOfInput);
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = BaseUrl::parse(&std::env::args().nth(1).unwrap_or_else(|| "https://designsafe.tapis.io".into()))?;
    let options = LoginOptions::new(base_url, default_token_file_path().ok_or("no home folder")?);
    let mut session = blocking::connect(&options, &mut Stdin)?;
    println!("signed in as {:?} until {}", session.username(), session.expires_at());

    let answer = blocking::call(&mut session, &ApiRequest::get("/v3/oauth2/userinfo"))?;
    println!("{}: {}", answer.status, String::from_utf8_lossy(&answer.body));
    Ok(())
}
