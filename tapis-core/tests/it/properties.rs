//! Properties of the pure parsers, over generated input (the fuzz targets' twins, run in CI).

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use tapis_auth_core::expiry::{format_expires_at, parse_expires_at};
use tapis_auth_core::jwt::read_claims;

/// An instant between 1970 and 2200, with nanoseconds.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..7_258_118_400, 0u32..1_000_000_000)
        .prop_map(|(seconds, nanos)| DateTime::from_timestamp(seconds, nanos).expect("in range"))
}

/// An offset in minutes, within ±23:59.
fn offset_minutes() -> impl Strategy<Value = i32> {
    -1439i32..=1439
}

proptest! {
    #[test]
    fn the_expiry_parser_never_panics(input in ".{0,80}") {
        let _ = parse_expires_at(&input);
    }

    #[test]
    fn the_expiry_parser_never_panics_on_near_misses(input in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.,+Zz-]{0,30}") {
        let _ = parse_expires_at(&input);
    }

    /// Any instant, written with any offset, 0–9 fractional digits and `T` or a space,
    /// reads back as the same instant (to the precision written).
    #[test]
    fn any_spelling_of_an_instant_reads_back(at in instant(), minutes in offset_minutes(), digits in 0usize..=9, space in any::<bool>(), zulu in any::<bool>()) {
        let offset = chrono::FixedOffset::east_opt(minutes * 60).expect("valid offset");
        let local = at.with_timezone(&offset);
        let mut text = local.format("%Y-%m-%d").to_string();
        text.push(if space { ' ' } else { 'T' });
        text.push_str(&local.format("%H:%M:%S").to_string());
        let nanos = local.timestamp_subsec_nanos();
        if digits > 0 {
            let fraction = format!("{nanos:09}");
            text.push('.');
            text.push_str(&fraction[..digits]);
        }
        if zulu && minutes == 0 {
            text.push('Z');
        } else {
            text.push_str(&local.format("%:z").to_string());
        }
        let parsed = parse_expires_at(&text).expect("a valid spelling parses");
        let kept = 10i64.pow(9 - digits as u32);
        let expected_nanos = i64::from(nanos) / kept * kept;
        prop_assert_eq!(parsed.timestamp(), at.timestamp(), "{}", text);
        prop_assert_eq!(i64::from(parsed.timestamp_subsec_nanos()), expected_nanos, "{}", text);
        // And what we write reads back to the same second.
        prop_assert_eq!(parse_expires_at(&format_expires_at(parsed)).expect("own output").timestamp(), at.timestamp());
    }

    #[test]
    fn the_claim_reader_never_panics(input in ".{0,200}") {
        let _ = read_claims(&input);
    }

    #[test]
    fn the_claim_reader_never_panics_on_dotted_base64(a in "[A-Za-z0-9_=-]{0,40}", b in "[A-Za-z0-9_=-]{0,120}", c in "[A-Za-z0-9_=-]{0,40}") {
        let _ = read_claims(&format!("{a}.{b}.{c}"));
    }

    /// Claims written into a JWT are read back.
    #[test]
    fn claims_round_trip(user in "[a-z][a-z0-9_]{0,15}", exp in 0i64..10_000_000_000) {
        let token = tapis_testkit::jwt(&tapis_testkit::claims(&user, exp, "https://designsafe.tapis.io"));
        let claims = read_claims(&token).expect("a JWT");
        prop_assert_eq!(claims.exp, Some(exp));
        prop_assert_eq!(claims.username.as_deref(), Some(user.as_str()));
        prop_assert_eq!(claims.iss.as_deref(), Some("https://designsafe.tapis.io/v3/tokens"));
    }
}
