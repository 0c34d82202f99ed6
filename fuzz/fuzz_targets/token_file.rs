//! The token-file parser: never panics; a file it accepts, written back, reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapis_store::format::{parse_token_file, render_token_file};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(tokens) = parse_token_file(bytes) {
        let again = parse_token_file(&render_token_file(&tokens)).expect("own output parses");
        assert_eq!(again.access.expose_secret(), tokens.access.expose_secret());
        assert_eq!(again.access.expires_at().timestamp(), tokens.access.expires_at().timestamp());
    }
});
