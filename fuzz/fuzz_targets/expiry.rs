//! The `expires_at` parser: never panics; whatever it accepts, its own output parses back to
//! the same instant (to the second).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapis_auth_core::expiry::{format_expires_at, parse_expires_at};

fuzz_target!(|input: &str| {
    if let Ok(instant) = parse_expires_at(input) {
        let written = format_expires_at(instant);
        let again = parse_expires_at(&written).expect("own output parses");
        assert_eq!(again.timestamp(), instant.timestamp());
    }
});
