//! Timing: processes against their floors, interleaved run by run; peak RSS through GNU
//! time; criterion's micro-benchmarks, read from its `estimates.json`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::report::Report;
use super::stats::Stats;
use super::world::World;
use super::{N_RSS_RUNS, N_WARM_UP_RUNS};

/// Runs `command` to completion and returns how long it took; a failure is an error.
pub(super) fn time(command: &mut Command) -> Result<Duration, String> {
    let started = Instant::now();
    let status = command.status().map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    let elapsed = started.elapsed();
    if status.success() { Ok(elapsed) } else { Err(format!("{:?} failed ({status})", command.get_program())) }
}

/// Warm-up runs of both, then `n_runs` of each, interleaved and alternating which goes first
/// (so drift on a noisy machine hits both alike). Returns (measured, floor) in milliseconds.
pub(super) fn interleaved(
    n_runs: usize,
    mut measured: impl FnMut() -> Result<Duration, String>,
    mut floor: impl FnMut() -> Result<Duration, String>,
) -> Result<(Stats, Stats), String> {
    let (measured, floor) =
        interleaved_values(n_runs, || measured().map(|d| d.as_secs_f64()), || floor().map(|d| d.as_secs_f64()))?;
    Ok((measured.scaled(1000.0), floor.scaled(1000.0)))
}

/// [`interleaved`] for any figure, not only times.
fn interleaved_values(
    n_runs: usize,
    mut measured: impl FnMut() -> Result<f64, String>,
    mut floor: impl FnMut() -> Result<f64, String>,
) -> Result<(Stats, Stats), String> {
    for _ in 0..N_WARM_UP_RUNS {
        measured()?;
        floor()?;
    }
    let (mut measured_values, mut floor_values) = (Vec::with_capacity(n_runs), Vec::with_capacity(n_runs));
    for run in 0..n_runs {
        if run % 2 == 0 {
            measured_values.push(measured()?);
            floor_values.push(floor()?);
        } else {
            floor_values.push(floor()?);
            measured_values.push(measured()?);
        }
    }
    Ok((Stats::new(measured_values), Stats::new(floor_values)))
}

/// Peak RSS in bytes of cached `tapis token` and of `cat`, through GNU time's `%M` (the
/// kernel's `ru_maxrss` of the child); `None` when GNU time is not installed.
pub(super) fn peak_rss(world: &World) -> Result<Option<(Stats, Stats)>, String> {
    let gnu_time = Path::new("/usr/bin/time");
    if !gnu_time.is_file() {
        return Ok(None);
    }
    let report_file = world.home().join("time.txt");
    let probe = |command: Command| -> Result<f64, String> {
        let mut timed = Command::new(gnu_time);
        timed.arg("--format=%M").arg("--output").arg(&report_file).arg(command.get_program()).args(command.get_args());
        timed.env_clear().envs(command.get_envs().filter_map(|(key, value)| Some((key, value?))));
        time(timed.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()))?;
        let text =
            std::fs::read_to_string(&report_file).map_err(|error| format!("cannot read GNU time's report: {error}"))?;
        let kib: f64 =
            text.trim().parse().map_err(|_| format!("GNU time wrote `{}`, not a size in KiB", text.trim()))?;
        Ok(kib * 1024.0)
    };
    let rss = interleaved_values(N_RSS_RUNS, || probe(world.tapis_token(&world.cached_file)), || probe(world.cat()))?;
    Ok(Some(rss))
}

/// Runs one bench target with short times into a fresh `CRITERION_HOME` under `folder` (so
/// only this run's benchmarks are read) and adds its benchmarks to the report.
pub(super) fn micro_benchmarks(folder: &Path, package: &str, bench: &str, report: &mut Report) -> Result<(), String> {
    let criterion_home = folder.join(format!("criterion-{bench}"));
    let args = ["bench", "-p", package, "--bench", bench, "--", "--warm-up-time", "1", "--measurement-time", "2"];
    crate::run_cargo(&args, &[("CRITERION_HOME", &criterion_home.to_string_lossy())])?;
    let mut found = Vec::new();
    collect_estimates(&criterion_home, &mut found)?;
    if found.is_empty() {
        return Err(format!("criterion wrote no estimates under {}", criterion_home.display()));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.iter().for_each(|(id, figures)| report.micro(id, *figures));
    Ok(())
}

/// One benchmark's id, and its median with the 95% confidence interval in nanoseconds.
type Micro = (String, [f64; 3]);

/// Every `new/` folder under `folder` holds one benchmark's `benchmark.json` (its id) and
/// `estimates.json` (its statistics, in nanoseconds).
fn collect_estimates(folder: &Path, found: &mut Vec<Micro>) -> Result<(), String> {
    let entries = std::fs::read_dir(folder).map_err(|error| format!("cannot read {}: {error}", folder.display()))?;
    for path in entries.flatten().map(|entry| entry.path()).filter(|path| path.is_dir()) {
        if !path.ends_with("new") {
            collect_estimates(&path, found)?;
            continue;
        }
        let read = |name: &str| -> Result<Value, String> {
            let text = std::fs::read(path.join(name))
                .map_err(|error| format!("cannot read {}: {error}", path.join(name).display()))?;
            serde_json::from_slice(&text).map_err(|error| format!("{} is not JSON: {error}", path.join(name).display()))
        };
        found.push(
            read_micro(&read("benchmark.json")?, &read("estimates.json")?)
                .ok_or_else(|| format!("cannot understand criterion's files in {}", path.display()))?,
        );
    }
    Ok(())
}

fn read_micro(benchmark: &Value, estimates: &Value) -> Option<Micro> {
    let (median, interval) = (&estimates["median"], &estimates["median"]["confidence_interval"]);
    let bounds = [&median["point_estimate"], &interval["lower_bound"], &interval["upper_bound"]];
    let [median, lower, upper] = bounds.map(Value::as_f64);
    Some((benchmark["full_id"].as_str()?.to_owned(), [median?, lower?, upper?]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn criterion_estimates_are_read_whatever_the_key_order() {
        let estimates = serde_json::json!({
            "median_abs_dev": {"confidence_interval": {"lower_bound": 0.1, "upper_bound": 0.3}, "point_estimate": 0.2},
            "median": {"point_estimate": 41.0, "confidence_interval": {"upper_bound": 41.5, "lower_bound": 40.5}},
            "mean": {"confidence_interval": {"lower_bound": 1.0, "upper_bound": 3.0}, "point_estimate": 2.0},
        });
        let benchmark = serde_json::json!({"group_id": "jwt", "full_id": "jwt/read_claims/tapis"});
        let micro = super::read_micro(&benchmark, &estimates).expect("read");
        assert_eq!(micro, ("jwt/read_claims/tapis".to_owned(), [41.0, 40.5, 41.5]));
        assert!(super::read_micro(&benchmark, &serde_json::json!({"mean": {}})).is_none());
    }
}
