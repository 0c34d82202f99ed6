//! Micro-benchmarks of the token file's format: parsing is on the cached path of every
//! `tapis token`; rendering runs once per login.
//!
//! `cargo bench -p tapis-store` (short warm-up and measurement times are set below, so a run
//! takes seconds; criterion's `--warm-up-time`/`--measurement-time` flags override them).
//! `cargo xtask bench` runs these too and copies the medians into BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tapis_store::format::{parse_token_file, render_token_file};

/// An `exp` far enough out that the token is valid whenever the benchmark runs.
const EXP: i64 = 4_070_908_800; // 2099-01-01T00:00:00Z

const BASE_URL: &str = "https://designsafe.tapis.io";

fn token_file(c: &mut Criterion) {
    let jwt = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", EXP, BASE_URL));
    let mut refresh_claims = tapis_testkit::claims("jdoe", EXP, BASE_URL);
    refresh_claims["tapis/token_type"] = "refresh".into();
    let refresh_jwt = tapis_testkit::jwt(&refresh_claims);
    // What `tapis` writes after a password login: the notebooks' two fields, then its own,
    // with the refresh token and the personal OAuth client for renewal.
    let tapis_file = format!(
        "{{\n  \"access_token\": \"{jwt}\",\n  \"expires_at\": \"2099-01-01T00:00:00+00:00\",\n  \"base_url\": \"{BASE_URL}\",\n  \"username\": \"jdoe\",\n  \"refresh_token\": \"{refresh_jwt}\",\n  \"refresh_expires_at\": \"2099-01-01T00:00:00+00:00\",\n  \"client_id\": \"tapis-cli-host\",\n  \"client_key\": \"a-client-key\"\n}}\n"
    );
    // What the notebooks' `connect_tapis()` writes: two fields on one line.
    let notebook_file = format!(r#"{{"access_token": "{jwt}", "expires_at": "2099-01-01T00:00:00+00:00"}}"#);

    let mut group = c.benchmark_group("token_file");
    group.bench_function("parse_token_file/tapis", |b| b.iter(|| parse_token_file(black_box(tapis_file.as_bytes()))));
    group.bench_function("parse_token_file/notebook", |b| {
        b.iter(|| parse_token_file(black_box(notebook_file.as_bytes())))
    });
    let tokens = match parse_token_file(tapis_file.as_bytes()) {
        Ok(tokens) => tokens,
        Err(error) => panic!("the benchmark's token file does not parse: {error}"),
    };
    group.bench_function("render_token_file", |b| b.iter(|| render_token_file(black_box(&tokens))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = token_file
}
criterion_main!(benches);
