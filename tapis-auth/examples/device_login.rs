//! Sign in with the device-code grant: open a page in any browser and enter a code. Uses the
//! OAuth client saved in the token file (made by a first password login), or the one named.
//!
//! ```text
//! cargo run -p tapis-auth --example device_login -- https://designsafe.tapis.io [CLIENT_ID]
//! ```

use tapis_auth::{BaseUrl, DeviceClient, LoginOptions, Notice, PromptError, Prompter, SecretString, blocking};

/// Shows the page and the code; never asks for a password.
struct ShowCode;

impl Prompter for ShowCode {
    fn can_prompt(&self) -> bool {
        false
    }

    fn username(&mut self, _base_url: &BaseUrl) -> Result<String, PromptError> {
        Err(PromptError::EndOfInput)
    }

    fn password(&mut self, _username: &str) -> Result<SecretString, PromptError> {
        Err(PromptError::EndOfInput)
    }

    fn notice(&mut self, notice: &Notice) {
        match notice {
            Notice::DeviceCode { verification_uri, user_code, .. } => {
                println!("open {verification_uri} and enter the code {user_code}");
            }
            Notice::DeviceWaiting { .. } => {}
            other => eprintln!("note: {other:?}"),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let base_url = BaseUrl::parse(&arguments.next().unwrap_or_else(|| "https://designsafe.tapis.io".into()))?;
    let mut options = LoginOptions::new(base_url, tapis_auth::default_token_file_path().ok_or("no home folder")?);
    options.device_client = arguments.next().map(DeviceClient::new);
    let session = blocking::device_login(&options, &mut ShowCode)?;
    println!("signed in as {:?} until {}", session.username(), session.expires_at());
    Ok(())
}
