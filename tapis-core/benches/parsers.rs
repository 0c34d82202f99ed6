//! Micro-benchmarks of tapis-auth-core's pure parsers: the `expires_at` timestamps and the JWT
//! claims. Both run on every `tapis token`, so they sit on the cached path. And the cost of
//! one redaction with few and with many secrets remembered, which should not differ much.
//!
//! `cargo bench -p tapis-auth-core` (short warm-up and measurement times are set below, so a run
//! takes seconds; criterion's `--warm-up-time`/`--measurement-time` flags override them).
//! `cargo xtask bench` runs these too and copies the medians into BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tapis_auth_core::expiry::parse_expires_at;
use tapis_auth_core::jwt::read_claims;
use tapis_auth_core::redact::Redactor;

/// An `exp` far enough out that the token is valid whenever the benchmark runs.
const EXP: i64 = 4_070_908_800; // 2099-01-01T00:00:00Z

fn expiry(c: &mut Criterion) {
    let mut group = c.benchmark_group("expiry/parse_expires_at");
    // The three shapes seen in practice: Tapis answers (Python isoformat with microseconds),
    // the notebooks' token file (whole seconds, +00:00), and a `Z`-suffixed RFC 3339 time.
    for (name, input) in [
        ("tapis_answer", "2025-03-04T20:15:31.123456+00:00"),
        ("notebook_file", "2025-09-05T02:30:48+00:00"),
        ("rfc3339_z", "2025-09-05T02:30:48Z"),
    ] {
        group.bench_function(name, |b| b.iter(|| parse_expires_at(black_box(input))));
    }
    group.finish();
}

fn claims(c: &mut Criterion) {
    // A Tapis access token as DesignSafe issues it (RS256 header, the full claim set).
    let token = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", EXP, "https://designsafe.tapis.io"));
    c.bench_function("jwt/read_claims/tapis_access_token", |b| b.iter(|| read_claims(black_box(&token))));
}

fn redaction(c: &mut Criterion) {
    // A server's error message of about 1 KiB that echoes one of the secrets.
    let mut group = c.benchmark_group("redact/one_message");
    for n_secrets in [10, 1000] {
        let mut redactor = Redactor::new();
        let tokens: Vec<String> = (0..n_secrets)
            .map(|n| {
                tapis_testkit::jwt(&tapis_testkit::claims(&format!("user{n}"), EXP, "https://designsafe.tapis.io"))
            })
            .collect();
        tokens.iter().for_each(|token| redactor.add(token));
        let message = format!("{} {} {}", "x".repeat(400), tokens[n_secrets / 2], "y".repeat(400));
        assert_eq!(redactor.redact(&message).matches("***").count(), 1);
        group.bench_function(format!("{n_secrets}_secrets"), |b| b.iter(|| redactor.redact(black_box(&message))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = expiry, claims, redaction
}
criterion_main!(benches);
