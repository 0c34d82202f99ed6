//! The budgets and the report, `BENCHMARKS.md`: each figure becomes a table row as it is
//! measured, and a missed budget a sentence.

use std::path::Path;
use std::process::Command;

use super::stats::Stats;
use super::{N_HERD_RUNS, N_RSS_RUNS, N_WARM_UP_RUNS};

/// The budgets README.md's "Speed" section states: ratios of medians, counts and sizes.
pub(super) const TOKEN_RATIO_BUDGET: f64 = 2.0;
pub(super) const LOGIN_RATIO_BUDGET: f64 = 1.5;
const RSS_BUDGET_MIB: f64 = 10.0;
const BINARY_BUDGET_MIB: f64 = 8.0;
const MIB: f64 = 1024.0 * 1024.0;

const INTRO: &str = "Written by `cargo xtask bench` (see `xtask/src/bench/`); rerun it and commit this file to \
record a new point in its history. Times are of the release binary, each process started with a clean environment \
against a mock Tapis server on 127.0.0.1, given as min / median / max over the runs after {N_WARM_UP_RUNS} warm-up runs. Each is \
judged against a floor measured in the same run, interleaved run by run, by the ratio of the medians: absolute times \
on a shared machine mean little. `cargo xtask bench --check` fails when a budget is missed.";

/// The tables, in order: title, paragraph, columns.
#[rustfmt::skip] // a table of text
const TABLES: [(&str, &str, &str); 4] = [
    ("Whole-process timings (ms)", "", "command | min / median / max | floor | floor min / median / max | ratio | budget | result"),
    ("The herd: N `tapis token` at once with an expired token ({N_HERD_RUNS} runs each)", "TAPIS_USERNAME and \
     TAPIS_PASSWORD are set. The token file is what `tapis` saves after a login, with the access token expired an \
     hour ago: with its refresh token (renewal), or without one (a password login through the saved client). The \
     floor is one `tapis token` from the same file, interleaved with the herds. Requests are counted by the mock server.",
     "saved token | N | requests per run, min / median / max | wall ms, min / median / max | one process ms, min / median / max | ratio | budget | result"),
    ("Memory and size (MiB)", "", "figure | min / median / max | floor | floor min / median / max | budget | result"),
    ("Micro-benchmarks (criterion)", "`cargo bench -p tapis-core` and `cargo bench -p tapis-store`, run by the xtask \
     with `--warm-up-time 1 --measurement-time 2`: criterion's median time per call, with its 95% confidence interval.",
     "benchmark | median | 95% CI"),
];

/// The rows of each of the [`TABLES`], and the budgets missed.
#[derive(Default)]
pub(super) struct Report {
    head: String,
    rows: [Vec<String>; 4],
    pub(super) missed: Vec<String>,
}

impl Report {
    pub(super) fn new(root: &Path) -> Self {
        let now = tapis_testkit::isoformat_seconds(tapis_testkit::now_unix());
        let (date, commit) = (format!("{} {} UTC", &now[..10], &now[11..16]), commit(root));
        Self { head: format!("- machine: {}\n- date: {date}\n- commit: {commit}", machine()), ..Self::default() }
    }

    /// Adds `cells` and the verdict to table `table`: `pass`, else `**FAIL**` and `missed`.
    fn row(&mut self, table: usize, cells: String, pass: bool, missed: impl FnOnce() -> String) {
        if !pass {
            self.missed.push(missed());
        }
        self.rows[table].push(format!("{cells} | {}", if pass { "pass" } else { "**FAIL**" }));
    }

    /// A command against its floor (ms), and the most the ratio of the medians may be.
    pub(super) fn timing(
        &mut self,
        (name, n): (&str, usize),
        it: Stats,
        (floor_name, floor): (&str, Stats),
        budget: Option<f64>,
    ) {
        let ratio = it.median / floor.median;
        let cells = format!("{name} ({n} runs) | {} | {floor_name} | {} | {ratio:.2}×", it.show(3), floor.show(3));
        match budget {
            None => self.rows[0].push(format!("{cells} | — | —")),
            Some(budget) => self.row(0, format!("{cells} | ≤ {budget:.1}×"), ratio <= budget, || {
                format!("{name} takes {ratio:.2}× {floor_name} (budget {budget:.1}×)")
            }),
        }
    }

    /// A herd of `n`: requests per run (budget: exactly one), its wall time and one process's (ms).
    pub(super) fn herd(&mut self, kind: &str, n: usize, requests: Stats, wall: Stats, one: Stats) {
        let (shown, ratio) = (requests.show(0), wall.median / one.median);
        let cells = format!("{kind} | {n} | {shown} | {} | {} | {ratio:.2}× | 1 request", wall.show(3), one.show(3));
        let pass = requests.min == 1.0 && requests.max == 1.0;
        self.row(1, cells, pass, || {
            format!("a herd of {n} ({kind}) made {shown} requests, min / median / max; budget: 1")
        });
    }

    /// Peak RSS in bytes of cached `tapis token` and of `cat` (`None`: no GNU time), and the
    /// binary's size.
    pub(super) fn memory(&mut self, rss: Option<(Stats, Stats)>, binary_bytes: u64) {
        let (rss_budget, name) = (format!("≤ {RSS_BUDGET_MIB:.0} MiB"), "peak RSS of cached `tapis token`");
        if let Some((tapis, cat)) = rss.map(|(tapis, cat)| (tapis.scaled(1.0 / MIB), cat.scaled(1.0 / MIB))) {
            let (shown, cat) = (tapis.show(2), cat.show(2));
            let cells = format!(
                "{name} ({N_RSS_RUNS} runs, GNU time `%M`) | {shown} | `cat` of the token file | {cat} | {rss_budget} (max)"
            );
            self.row(2, cells, tapis.max <= RSS_BUDGET_MIB, || {
                format!("{name} is {:.2} MiB ({rss_budget})", tapis.max)
            });
        } else {
            let cells = format!("{name} | not measured: install GNU time (`apt-get install time`) | | | {rss_budget}");
            self.row(2, cells, false, || "peak RSS not measured: GNU time is not installed".to_owned());
        }
        let mib = binary_bytes as f64 / MIB;
        let cells = format!(
            "release binary `target/release/tapis`, stripped | {mib:.2} ({binary_bytes} bytes) | | | ≤ {BINARY_BUDGET_MIB:.0} MiB"
        );
        self.row(2, cells, mib <= BINARY_BUDGET_MIB, || {
            format!("the release binary is {mib:.2} MiB (budget {BINARY_BUDGET_MIB} MiB)")
        });
    }

    /// A criterion benchmark's median and 95% confidence interval, in nanoseconds.
    pub(super) fn micro(&mut self, id: &str, [median, lower, upper]: [f64; 3]) {
        let show = |ns: f64| if ns < 1000.0 { format!("{ns:.1} ns") } else { format!("{:.3} µs", ns / 1000.0) };
        self.rows[3].push(format!("`{id}` | {} | {} – {}", show(median), show(lower), show(upper)));
    }

    pub(super) fn markdown(&self) -> String {
        let fill = |text: &str| {
            let text = text.replace("{N_WARM_UP_RUNS}", &N_WARM_UP_RUNS.to_string());
            text.replace("{N_HERD_RUNS}", &N_HERD_RUNS.to_string())
        };
        let mut out = format!("# Benchmarks\n\n{}\n\n{}\n", fill(INTRO), self.head);
        for ((title, paragraph, columns), rows) in TABLES.iter().zip(&self.rows) {
            let title = fill(title);
            out += &format!("\n## {title}\n\n{paragraph}{}", if paragraph.is_empty() { "" } else { "\n\n" });
            let rule = vec!["---"; columns.split(" | ").count()].join(" | ");
            for row in [*columns, &rule].into_iter().chain(rows.iter().map(String::as_str)) {
                out += &format!("| {row} |\n");
            }
        }
        out
    }
}

/// `nproc`, the CPU model, the memory and rustc.
fn machine() -> String {
    let n_cpus = std::thread::available_parallelism().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    let field = |file: &str, key: &str| -> Option<String> {
        let text = std::fs::read_to_string(file).ok()?;
        text.lines().find_map(|line| Some(line.strip_prefix(key)?.split_once(':')?.1.trim().to_owned()))
    };
    let cpu = field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".to_owned());
    let kib = field("/proc/meminfo", "MemTotal").and_then(|kib| kib.trim_end_matches("kB").trim().parse::<f64>().ok());
    let memory = kib.map_or_else(|| "unknown memory".to_owned(), |kib| format!("{:.1} GiB memory", kib / MIB));
    let rustc = output("rustc", &["--version"], Path::new(".")).unwrap_or_default();
    format!("{n_cpus} CPUs (`nproc`), {cpu}, {memory}, {rustc}")
}

/// `git rev-parse --short HEAD`, marked when the work tree has uncommitted changes (other
/// than this report). Only reads the repository (`--no-optional-locks`).
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| output("git", &[&["--no-optional-locks"], args].concat(), root);
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else { return "unknown (not a git checkout)".to_owned() };
    match git(&["status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"]) {
        Some(changes) if changes.is_empty() => head,
        Some(_) => format!("{head} (with uncommitted changes)"),
        None => format!("{head} (uncommitted changes unknown)"),
    }
}

/// The trimmed stdout of a command that succeeded.
fn output(program: &str, args: &[&str], folder: &Path) -> Option<String> {
    let output = Command::new(program).args(args).current_dir(folder).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
