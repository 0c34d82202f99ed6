//! The budgets and the report, `BENCHMARKS.md`: each figure becomes a table row as it is
//! measured, and a missed budget a sentence.

use std::process::Command;

use super::{N_HERD_RUNS, N_WARM_UP_RUNS};

/// The budgets README.md's "Speed" section states: ratios of medians, counts and sizes.
pub(super) const TOKEN_RATIO_BUDGET: f64 = 2.0;
pub(super) const LOGIN_RATIO_BUDGET: f64 = 1.5;
pub(super) const RSS_BUDGET_MIB: f64 = 10.0;
pub(super) const BINARY_BUDGET_MIB: f64 = 8.0;
/// How much more memory a program may hold after the soak's long run of calls than after its
/// short one: calls must not cost memory that stays.
pub(super) const SOAK_GROWTH_BUDGET_MIB: f64 = 1.0;

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
    ("Micro-benchmarks (criterion)", "`cargo bench -p tapis-auth-core` and `cargo bench -p tapis-store`, run by the xtask \
     with `--warm-up-time 1 --measurement-time 2`: criterion's median time per call, with its 95% confidence interval. \
     `redact/one_message/*` masks a 1 KiB message holding one of 10 or of 1,000 remembered tokens.",
     "benchmark | median | 95% CI"),
];

/// The rows of each of the [`TABLES`], and the budgets missed.
#[derive(Default)]
pub(super) struct Report {
    head: String,
    pub(super) rows: [Vec<String>; 4],
    pub(super) missed: Vec<String>,
}

impl Report {
    pub(super) fn new() -> Self {
        let now = tapis_testkit::isoformat_seconds(tapis_testkit::now_unix());
        let (date, commit) = (format!("{} {} UTC", &now[..10], &now[11..16]), commit());
        Self { head: format!("- machine: {}\n- date: {date}\n- commit: {commit}", machine()), ..Self::default() }
    }

    /// Adds a row to table `table`: `cells`, then the budget (as shown) and the verdict, if the
    /// row has a budget; a missed budget is also listed, with the row.
    pub(super) fn row(&mut self, table: usize, cells: String, budget: Option<(String, bool)>) {
        let verdict = match budget {
            None => "— | —".to_owned(),
            Some((budget, true)) => format!("{budget} | pass"),
            Some((budget, false)) => {
                self.missed.push(format!("{cells} | budget {budget}"));
                format!("{budget} | **FAIL**")
            }
        };
        self.rows[table].push(format!("{cells} | {verdict}"));
    }

    pub(super) fn markdown(&self) -> String {
        let intro = INTRO.replace("{N_WARM_UP_RUNS}", &N_WARM_UP_RUNS.to_string());
        let mut out = format!("# Benchmarks\n\n{intro}\n\n{}\n", self.head);
        for ((title, paragraph, columns), rows) in TABLES.iter().zip(&self.rows) {
            let title = title.replace("{N_HERD_RUNS}", &N_HERD_RUNS.to_string());
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
    let memory =
        kib.map_or_else(|| "unknown memory".to_owned(), |kib| format!("{:.1} GiB memory", kib / 1024.0 / 1024.0));
    let rustc = crate::output_of(Command::new("rustc").arg("--version")).unwrap_or_default();
    format!("{n_cpus} CPUs (`nproc`), {cpu}, {memory}, {rustc}")
}

/// `git rev-parse --short HEAD`, marked when the work tree has uncommitted changes (other
/// than this report). Only reads the repository (`--no-optional-locks`).
fn commit() -> String {
    let git = |args: &[&str]| {
        let mut git = Command::new("git");
        crate::output_of(git.arg("--no-optional-locks").args(args).current_dir(crate::workspace_root())).ok()
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else { return "unknown (not a git checkout)".to_owned() };
    match git(&["status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"]) {
        Some(changes) if changes.is_empty() => head,
        Some(_) => format!("{head} (with uncommitted changes)"),
        None => format!("{head} (uncommitted changes unknown)"),
    }
}
