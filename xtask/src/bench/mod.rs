//! `cargo xtask bench [--check]`: whole-process benchmarks of the release `tapis` binary,
//! the criterion micro-benchmarks, and the budgets they are held to.
//!
//! Every timing is reported next to a *floor* measured in the same run, interleaved run by
//! run, and judged by the ratio of the medians: cached `tapis token` and `status --json`
//! against `cat` of the same file; `login --force` against `curl` making the same request
//! (and one raw request from here, for scale); a herd of N `tapis token` against one. Modules:
//! `world` (HOME, token files, the counting `MockTapis`, the commands), `timing` (processes,
//! peak RSS, criterion), `stats` (min / median / max), `report` (budgets, `BENCHMARKS.md`).

mod report;
mod stats;
mod timing;
mod world;

use report::{LOGIN_RATIO_BUDGET, Report, TOKEN_RATIO_BUDGET};
use stats::Stats;
use timing::{interleaved, time};
use world::{HerdKind, World};

/// Warm-up runs (page cache, binary, mock), then measured runs of each cached-path command,
/// of `login --force`, of each herd size and of the peak-RSS probe, each against its floor.
const N_WARM_UP_RUNS: usize = 5;
const N_CACHED_RUNS: usize = 50;
const N_LOGIN_RUNS: usize = 20;
const N_HERD_RUNS: usize = 10;
const N_RSS_RUNS: usize = 20;
const HERD_SIZES: [usize; 3] = [8, 32, 64];
/// The criterion benchmarks: (package, bench target).
const MICRO_BENCHES: [(&str, &str); 2] = [("tapis-core", "parsers"), ("tapis-store", "token_file")];
const CAT: &str = "`cat` of the token file";
const LOGIN: &str = "`tapis login --force`";
const RAW: &str = "one raw HTTP request of the same body, from the harness (for scale: no process start)";
const CURL: &str = "`curl` of the same request (a process making one request)";

/// The `bench` task. `args` are the words after `bench`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => return Err("usage: cargo xtask bench [--check]".to_owned()),
    };
    let root = crate::workspace_root();
    let mut report = Report::new(root); // before the build, so that the commit named is the one built
    crate::run_cargo(&["build", "--release", "-p", "tapis-cli"], &[])?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let binary = target.join("release/tapis");
    let world = World::new(&binary)?;
    world.check()?;

    eprintln!("==> cached path: `tapis token` and `tapis status --json` against `cat`");
    let cat = || time(&mut world.cat());
    let (token, floor) = interleaved(N_CACHED_RUNS, || time(&mut world.tapis_token(&world.cached_file)), cat)?;
    report.timing(("cached `tapis token`", N_CACHED_RUNS), token, (CAT, floor), Some(TOKEN_RATIO_BUDGET));
    let (status, floor) = interleaved(N_CACHED_RUNS, || time(&mut world.tapis_status()), cat)?;
    report.timing(("cached `tapis status --json`", N_CACHED_RUNS), status, (CAT, floor), None);

    // A request from inside the harness pays for no process start, so it is only for scale;
    // the budget is against `curl`, a process making the same request (if curl is installed).
    eprintln!("==> `tapis login --force` against one raw request and against curl");
    let (login, raw) = interleaved(N_LOGIN_RUNS, || time(&mut world.tapis_login()), || world.raw_password_grant())?;
    let curl = world.curl_password_grant();
    report.timing((LOGIN, N_LOGIN_RUNS), login, (RAW, raw), curl.is_none().then_some(LOGIN_RATIO_BUDGET));
    if let Some(mut curl) = curl {
        let (login, floor) = interleaved(N_LOGIN_RUNS, || time(&mut world.tapis_login()), || time(&mut curl))?;
        report.timing((LOGIN, N_LOGIN_RUNS), login, (CURL, floor), Some(LOGIN_RATIO_BUDGET));
    }

    for kind in [HerdKind::Renewal, HerdKind::PasswordLogin] {
        for n in HERD_SIZES {
            eprintln!("==> a herd of {n} `tapis token` with an expired token: {}", kind.describe());
            let (requests, wall, one) = herd_against_one(&world, n, kind)?;
            report.herd(kind.describe(), n, requests, wall, one);
        }
    }

    eprintln!("==> peak RSS of the cached path and the binary's size");
    let size = std::fs::metadata(&binary).map_err(|error| format!("cannot read {}: {error}", binary.display()))?;
    report.memory(timing::peak_rss(&world)?, size.len());
    for (package, bench) in MICRO_BENCHES {
        timing::micro_benchmarks(world.home(), package, bench, &mut report)?;
    }

    let markdown = report.markdown();
    println!("{markdown}");
    let path = root.join("BENCHMARKS.md");
    std::fs::write(&path, &markdown).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    eprintln!("==> wrote {}", path.display());
    if report.missed.is_empty() {
        return Ok(());
    }
    let missed = format!("{} budget(s) missed:\n  {}", report.missed.len(), report.missed.join("\n  "));
    if check {
        return Err(missed);
    }
    eprintln!("==> {missed}\n(`--check` would fail)");
    Ok(())
}

/// Herds of `n` interleaved with herds of 1 of the same kind, after a warm-up herd: requests
/// per herd of `n`, and the wall times (ms) of the herds and of the single processes.
fn herd_against_one(world: &World, n: usize, kind: HerdKind) -> Result<(Stats, Stats, Stats), String> {
    world.herd(n, kind)?;
    let (mut requests, mut wall, mut one) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..N_HERD_RUNS {
        // Alternate which goes first, so that neither always runs on a warmer machine.
        for size in if run % 2 == 0 { [n, 1] } else { [1, n] } {
            let (milliseconds, n_requests) = world.herd(size, kind)?;
            if size == n {
                wall.push(milliseconds);
                requests.push(n_requests as f64);
            } else {
                one.push(milliseconds);
            }
        }
    }
    Ok((Stats::new(requests), Stats::new(wall), Stats::new(one)))
}
