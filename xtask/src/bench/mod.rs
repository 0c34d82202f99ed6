//! `cargo xtask bench [--check]`: whole-process benchmarks of the release `tapis` binary,
//! the criterion micro-benchmarks, and the budgets they are held to.
//!
//! Every timing is reported next to a *floor* measured in the same run, interleaved run by
//! run, and judged by the ratio of the medians: cached `tapis token` and `status --json`
//! against `cat` of the same file; `login --force` against `curl` making the same request
//! (and one raw request from here, for scale); a herd of N `tapis token` against one. Modules:
//! `world` (HOME, token files, the counting `MockTapis`, the commands), `timing` (processes,
//! min / median / max, peak RSS, criterion), `report` (budgets, `BENCHMARKS.md`).

mod report;
mod timing;
mod world;

use report::{
    BINARY_BUDGET_MIB, LOGIN_RATIO_BUDGET, RSS_BUDGET_MIB, Report, SOAK_GROWTH_BUDGET_MIB, TOKEN_RATIO_BUDGET,
};
use timing::{Stats, interleaved};
use world::{Probe, World};

/// Warm-up runs (page cache, binary, mock), then measured runs of each cached-path command,
/// of `login --force`, of each herd size and of the peak-RSS probe, each against its floor.
const N_WARM_UP_RUNS: usize = 5;
const N_CACHED_RUNS: usize = 50;
const N_LOGIN_RUNS: usize = 20;
const N_HERD_RUNS: usize = 10;
const N_RSS_RUNS: usize = 20;
const HERD_SIZES: [usize; 3] = [8, 32, 64];
const N_SOAK_RUNS: usize = 3;
/// The soak's checkpoints: calls made on one session before its memory is read.
const SOAK_CALLS: [usize; 2] = [300, 10_000];
/// How the expired token a herd starts from was saved: with its refresh token (renewed with
/// the refresh grant), or with the client only (a password login through the client).
const HERDS: [(&str, bool); 2] =
    [("renewal (refresh token saved)", true), ("password login (client saved, no refresh token)", false)];
const CAT: &str = "`cat` of the token file";
const LOGIN: &str = "`tapis login --force`";
/// The whole-process timings: what is timed and how often, its floor, and the most the ratio
/// of the medians may be. A request from inside the harness pays for no process start, so it is
/// only for scale; the budget is against `curl`, a process making the same request.
#[rustfmt::skip] // a table
#[allow(clippy::type_complexity)]
const TIMINGS: [(&str, Probe, usize, &str, Probe, Option<f64>); 4] = [
    ("cached `tapis token`", Probe::Token, N_CACHED_RUNS, CAT, Probe::Cat, Some(TOKEN_RATIO_BUDGET)),
    ("cached `tapis status --json`", Probe::Status, N_CACHED_RUNS, CAT, Probe::Cat, None),
    (LOGIN, Probe::Login, N_LOGIN_RUNS, "one raw HTTP request of the same body, from the harness (for scale: no process start)",
     Probe::Raw, None),
    (LOGIN, Probe::Login, N_LOGIN_RUNS, "`curl` of the same request (a process making one request)", Probe::Curl,
     Some(LOGIN_RATIO_BUDGET)),
];
/// The criterion benchmarks: (package, bench target).
const MICRO_BENCHES: [(&str, &str); 2] = [("tapis-auth-core", "parsers"), ("tapis-store", "token_file")];

/// The `bench` task. `args` are the words after `bench`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let check = !args.is_empty();
    if args.len() > 1 || args.first().is_some_and(|flag| flag != "--check") {
        return Err("usage: cargo xtask bench [--check]".to_owned());
    }
    let (root, mut report) = (crate::workspace_root(), Report::new()); // before the build: the commit built
    crate::run_cargo(&["build", "--release", "-p", "tapis-cli"], &[], "fix the build errors above")?;
    let binary = crate::target_folder().join("release/tapis");
    let world = World::new(&binary)?; // logs in once, and checks the cached path

    for (name, probe, n_runs, floor_name, floor, budget) in TIMINGS {
        eprintln!("==> {name} against {floor_name}");
        let (it, floor) = interleaved((N_WARM_UP_RUNS, n_runs), || world.run(probe), || world.run(floor))?;
        let (it, floor, ratio) = Stats::against(it, floor);
        let cells = format!("{name} ({n_runs} runs) | {it} | {floor_name} | {floor} | {ratio:.2}×");
        report.row(0, cells, budget.map(|budget| (format!("≤ {budget:.1}×"), ratio <= budget)));
    }

    for ((kind, with_refresh), n) in HERDS.into_iter().flat_map(|kind| HERD_SIZES.map(|n| (kind, n))) {
        eprintln!("==> a herd of {n} `tapis token` with an expired token: {kind}");
        // Herds of `n` interleaved with herds of 1 from the same file, after a warm-up of each.
        let herd = |size| world.herd(size, with_refresh);
        let (herds, one) = interleaved((1, N_HERD_RUNS), || herd(n), || Ok(herd(1)?.0))?;
        let (wall, requests): (Vec<f64>, Vec<f64>) = herds.into_iter().unzip();
        let ((wall, one, ratio), requests) = (Stats::against(wall, one), Stats::new(requests));
        let cells = format!("{kind} | {n} | {} | {wall} | {one} | {ratio:.2}×", requests.show(0));
        report.row(1, cells, Some(("1 request".to_owned(), requests.min == 1.0 && requests.max == 1.0)));
    }

    eprintln!("==> peak RSS of the cached path and the binary's size");
    let (tapis, cat) = timing::peak_rss(&world)?;
    let (rss, cat, name) = (tapis.show(2), cat.show(2), "peak RSS of cached `tapis token`");
    let cells = format!("{name} ({N_RSS_RUNS} runs, GNU time `%M`) | {rss} | {CAT} | {cat}");
    report.row(2, cells, Some((format!("≤ {RSS_BUDGET_MIB:.0} MiB (max)"), tapis.max <= RSS_BUDGET_MIB)));
    let bytes = std::fs::metadata(&binary).map_err(|error| format!("cannot read {}: {error}", binary.display()))?.len();
    let mib = bytes as f64 / 1024.0 / 1024.0;
    let cells = format!("release binary `target/release/tapis`, stripped | {mib:.2} ({bytes} bytes) | |");
    report.row(2, cells, Some((format!("≤ {BINARY_BUDGET_MIB:.0} MiB"), mib <= BINARY_BUDGET_MIB)));
    let [short, long] = SOAK_CALLS;
    eprintln!("==> soak: the memory of one session after {short} and after {long} calls");
    let [after_short, after_long] = timing::soak()?;
    let (after_short, after_long) = (Stats::new(after_short), Stats::new(after_long));
    let growth = after_long.median - after_short.median;
    let cells = format!(
        "RSS of a program after {long} calls on one session ({N_SOAK_RUNS} runs, the `soak` example) | {} | after {short} calls | {}",
        after_long.show(2),
        after_short.show(2)
    );
    let budget = format!("≤ {SOAK_GROWTH_BUDGET_MIB:.1} MiB more (median: {growth:+.2})");
    report.row(2, cells, Some((budget, growth <= SOAK_GROWTH_BUDGET_MIB)));
    let show = |ns: f64| if ns < 1000.0 { format!("{ns:.1} ns") } else { format!("{:.3} µs", ns / 1000.0) };
    for (id, [median, lower, upper]) in timing::micro_benchmarks(world.home.path())? {
        report.rows[3].push(format!("`{id}` | {} | {} – {}", show(median), show(lower), show(upper)));
    }

    let markdown = report.markdown();
    println!("{markdown}");
    let path = root.join("BENCHMARKS.md");
    std::fs::write(&path, &markdown).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    eprintln!("==> wrote {}", path.display());
    let missed = format!("{} budget(s) missed:\n  {}", report.missed.len(), report.missed.join("\n  "));
    match (report.missed.is_empty(), check) {
        (false, true) => return Err(missed),
        (false, false) => eprintln!("==> {missed}\n(`--check` would fail)"),
        (true, _) => {}
    }
    Ok(())
}
