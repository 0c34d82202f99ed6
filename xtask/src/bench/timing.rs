//! Timing: processes against their floors, interleaved run by run, and the min, median and
//! max of the runs; peak RSS through GNU time; criterion's micro-benchmarks, read from its
//! `estimates.json`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::world::{Probe, World};
use super::{MICRO_BENCHES, N_RSS_RUNS, N_SOAK_RUNS, N_WARM_UP_RUNS, SOAK_CALLS};

/// Min, median and max of some runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stats {
    pub(super) min: f64,
    pub(super) median: f64,
    pub(super) max: f64,
}

impl Stats {
    pub(super) fn new(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let (n, at) = (values.len(), |index: usize| values.get(index).copied().unwrap_or(f64::NAN));
        // The middle value, or the mean of the two middle values when `n` is even.
        Self { min: at(0), median: (at(n.saturating_sub(1) / 2) + at(n / 2)) / 2.0, max: at(n.saturating_sub(1)) }
    }

    /// Runs of a command and of its floor, shown with 3 decimals, and the ratio of the medians.
    pub(super) fn against(it: Vec<f64>, floor: Vec<f64>) -> (String, String, f64) {
        let (it, floor) = (Self::new(it), Self::new(floor));
        (it.show(3), floor.show(3), it.median / floor.median)
    }

    /// `min / median / max` with `decimals` decimals.
    pub(super) fn show(&self, decimals: usize) -> String {
        format!("{:.decimals$} / {:.decimals$} / {:.decimals$}", self.min, self.median, self.max)
    }
}

/// `n_warm_up` runs of both, then `n_runs` of each, interleaved and alternating which goes
/// first (so drift on a noisy machine hits both alike). Returns (measured, floor).
pub(super) fn interleaved<T, U>(
    (n_warm_up, n_runs): (usize, usize),
    mut measured: impl FnMut() -> Result<T, String>,
    mut floor: impl FnMut() -> Result<U, String>,
) -> Result<(Vec<T>, Vec<U>), String> {
    let (mut measured_values, mut floor_values) = (Vec::new(), Vec::new());
    for run in 0..n_warm_up + n_runs {
        let keep = run >= n_warm_up;
        if run % 2 == 1 {
            floor_values.extend(keep.then_some(floor()?));
        }
        measured_values.extend(keep.then_some(measured()?));
        if run % 2 == 0 {
            floor_values.extend(keep.then_some(floor()?));
        }
    }
    Ok((measured_values, floor_values))
}

/// Peak RSS in MiB of cached `tapis token` and of `cat`, through GNU time's `%M` (the
/// kernel's `ru_maxrss` of the child).
pub(super) fn peak_rss(world: &World) -> Result<(Stats, Stats), String> {
    let probe = |command: Command| -> Result<f64, String> {
        let mut timed = Command::new(&world.gnu_time);
        timed.arg("--format=%M").arg(command.get_program()).args(command.get_args()).env_clear();
        let output = timed.envs(command.get_envs().filter_map(|(key, value)| Some((key, value?)))).output();
        let said = output.map(|output| String::from_utf8_lossy(&output.stderr).into_owned()).unwrap_or_default();
        let kib = said.trim().parse::<f64>().map_err(|_| format!("GNU time said `{said}`, not a size in KiB"))?;
        Ok(kib / 1024.0)
    };
    let runs = (N_WARM_UP_RUNS, N_RSS_RUNS);
    let (tapis, cat) = interleaved(runs, || probe(world.command(Probe::Token)), || probe(world.command(Probe::Cat)))?;
    Ok((Stats::new(tapis), Stats::new(cat)))
}

/// The soak: `tapis-auth`'s `soak` example (one session making calls, release build), run
/// [`N_SOAK_RUNS`] times; the resident memory in MiB after each of the [`SOAK_CALLS`], per run.
pub(super) fn soak() -> Result<[Vec<f64>; 2], String> {
    let args = ["build", "--release", "-p", "tapis-auth", "--example", "soak"];
    crate::run_cargo(&args, &[], "fix the build of the soak example")?;
    let example = crate::target_folder().join("release/examples/soak");
    let mut after = [Vec::new(), Vec::new()];
    for _ in 0..N_SOAK_RUNS {
        let printed = crate::output_of(Command::new(&example).args(SOAK_CALLS.map(|n| n.to_string())))?;
        // One line per checkpoint: `calls=300 rss_kib=6012 n_remembered=1`.
        let rss = printed.lines().filter_map(|line| line.split_once("rss_kib=")?.1.split(' ').next()?.parse().ok());
        let rss: Vec<f64> = rss.collect();
        let [short, long] = rss[..] else { return Err(format!("the soak example printed `{printed}`")) };
        after[0].push(short / 1024.0);
        after[1].push(long / 1024.0);
    }
    Ok(after)
}

/// One benchmark's id, and its median with the 95% confidence interval in nanoseconds.
pub(super) type Micro = (String, [f64; 3]);

/// Runs the criterion benchmarks with short times into a fresh `CRITERION_HOME` under `folder`
/// (so only this run's are read): every benchmark, by id.
pub(super) fn micro_benchmarks(folder: &Path) -> Result<Vec<Micro>, String> {
    let criterion_home = folder.join("criterion");
    for (package, bench) in MICRO_BENCHES {
        let args = ["bench", "-p", package, "--bench", bench, "--", "--warm-up-time", "1", "--measurement-time", "2"];
        let fix = "fix the criterion benchmark above";
        crate::run_cargo(&args, &[("CRITERION_HOME", &criterion_home.to_string_lossy())], fix)?;
    }
    // Each benchmark's `new/` folder holds its statistics (`estimates.json`) and id (`benchmark.json`).
    let estimates =
        crate::files_under(&criterion_home, "json").into_iter().filter(|file| file.ends_with("new/estimates.json"));
    let found = estimates.map(|file| {
        let read = |name: &str| serde_json::from_slice(&std::fs::read(file.with_file_name(name)).ok()?).ok();
        let micro =
            read("benchmark.json").zip(read("estimates.json")).and_then(|(id, figures)| read_micro(&id, &figures));
        micro.ok_or_else(|| format!("cannot read criterion's files beside {}", file.display()))
    });
    let mut found = found.collect::<Result<Vec<_>, _>>()?;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let no_estimates = || format!("criterion wrote no estimates under {}", criterion_home.display());
    Some(found).filter(|found| !found.is_empty()).ok_or_else(no_estimates)
}

fn read_micro(benchmark: &Value, estimates: &Value) -> Option<Micro> {
    let (median, interval) = (&estimates["median"], &estimates["median"]["confidence_interval"]);
    let [median, lower, upper] = [&median["point_estimate"], &interval["lower_bound"], &interval["upper_bound"]];
    Some((benchmark["full_id"].as_str()?.to_owned(), [median.as_f64()?, lower.as_f64()?, upper.as_f64()?]))
}

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn stats_are_min_median_max() {
        assert_eq!(Stats::new(vec![3.0, 1.0, 2.0]), Stats { min: 1.0, median: 2.0, max: 3.0 });
        assert_eq!(Stats::new(vec![4.0, 1.0, 2.0, 3.0]), Stats { min: 1.0, median: 2.5, max: 4.0 });
        assert_eq!(Stats::new(vec![1.0, 2.0]).show(3), "1.000 / 1.500 / 2.000");
    }

    #[test]
    fn criterion_estimates_are_read_whatever_the_key_order() {
        let estimates = serde_json::json!({
            "median_abs_dev": {"confidence_interval": {"lower_bound": 0.1, "upper_bound": 0.3}, "point_estimate": 0.2},
            "median": {"point_estimate": 41.0, "confidence_interval": {"upper_bound": 41.5, "lower_bound": 40.5}},
        });
        let benchmark = serde_json::json!({"group_id": "jwt", "full_id": "jwt/read_claims/tapis"});
        let micro = super::read_micro(&benchmark, &estimates);
        assert_eq!(micro, Some(("jwt/read_claims/tapis".to_owned(), [41.0, 40.5, 41.5])));
        assert!(super::read_micro(&benchmark, &serde_json::json!({"mean": {}})).is_none());
    }
}
