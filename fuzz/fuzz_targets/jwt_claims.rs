//! The JWT claim reader: never panics, on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let _ = tapis_auth_core::jwt::read_claims(input);
});
