//! The token-endpoint answer parser: never panics, on any bytes the server could send.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let _ = tapis_auth::fuzzing::parse_token_response(&value);
        let _ = tapis_auth::fuzzing::envelope_message(&value);
    }
});
