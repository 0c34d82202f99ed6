//! Timing: processes against their floors, interleaved run by run; peak RSS through GNU
//! time; criterion's micro-benchmarks, read from its `estimates.json`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use super::{N_RSS_RUNS, N_WARM_UP_RUNS, report::Report, stats::Stats, world::World};

/// Runs `command` to completion: how long it took in milliseconds; a failure is an error.
pub(super) fn time(command: &mut Command) -> Result<f64, String> {
    let started = Instant::now();
    let status = command.status().map_err(|error| format!("cannot run {:?}: {error}", command.get_program()))?;
    let milliseconds = started.elapsed().as_secs_f64() * 1000.0;
    if status.success() { Ok(milliseconds) } else { Err(format!("{:?} failed ({status})", command.get_program())) }
}

/// Warm-up runs of both, then `n_runs` of each, interleaved and alternating which goes first
/// (so drift on a noisy machine hits both alike). Returns (measured, floor).
pub(super) fn interleaved(
    n_runs: usize,
    mut measured: impl FnMut() -> Result<f64, String>,
    mut floor: impl FnMut() -> Result<f64, String>,
) -> Result<(Stats, Stats), String> {
    for _ in 0..N_WARM_UP_RUNS {
        measured()?;
        floor()?;
    }
    let (mut measured_values, mut floor_values) = (Vec::new(), Vec::new());
    for run in 0..n_runs {
        if run % 2 == 1 {
            floor_values.push(floor()?);
        }
        measured_values.push(measured()?);
        if run % 2 == 0 {
            floor_values.push(floor()?);
        }
    }
    Ok((Stats::new(measured_values), Stats::new(floor_values)))
}

/// Peak RSS in bytes of cached `tapis token` and of `cat`, through GNU time's `%M` (the
/// kernel's `ru_maxrss` of the child); `None` when GNU time is not installed.
pub(super) fn peak_rss(world: &World) -> Result<Option<(Stats, Stats)>, String> {
    let (gnu_time, report_file) = (Path::new("/usr/bin/time"), world.home().join("time.txt"));
    let probe = |command: Command| -> Result<f64, String> {
        let mut timed = Command::new(gnu_time);
        timed.arg("--format=%M").arg("--output").arg(&report_file).arg(command.get_program()).args(command.get_args());
        timed.env_clear().envs(command.get_envs().filter_map(|(key, value)| Some((key, value?))));
        time(timed.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()))?;
        let text = std::fs::read_to_string(&report_file).unwrap_or_default();
        let kib = text.trim().parse::<f64>().map_err(|_| format!("GNU time wrote `{text}`, not a size in KiB"))?;
        Ok(kib * 1024.0)
    };
    let tapis_and_cat =
        || interleaved(N_RSS_RUNS, || probe(world.tapis_token(&world.cached_file)), || probe(world.cat()));
    if gnu_time.is_file() { tapis_and_cat().map(Some) } else { Ok(None) }
}

/// Runs one bench target with short times into a fresh `CRITERION_HOME` under `folder` (so
/// only this run's benchmarks are read) and adds its benchmarks to the report.
pub(super) fn micro_benchmarks(folder: &Path, package: &str, bench: &str, report: &mut Report) -> Result<(), String> {
    let criterion_home = folder.join(format!("criterion-{bench}"));
    let spec = crate::layering::package_spec(package);
    let args = ["bench", "-p", &spec, "--bench", bench, "--", "--warm-up-time", "1", "--measurement-time", "2"];
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
/// `estimates.json` (its statistics).
fn collect_estimates(folder: &Path, found: &mut Vec<Micro>) -> Result<(), String> {
    let entries = std::fs::read_dir(folder).map_err(|error| format!("cannot read {}: {error}", folder.display()))?;
    for path in entries.flatten().map(|entry| entry.path()).filter(|path| path.is_dir()) {
        if !path.ends_with("new") {
            collect_estimates(&path, found)?;
            continue;
        }
        let read = |name: &str| serde_json::from_slice(&std::fs::read(path.join(name)).unwrap_or_default()).ok();
        let micro =
            read("benchmark.json").zip(read("estimates.json")).and_then(|(id, figures)| read_micro(&id, &figures));
        found.push(micro.ok_or_else(|| format!("cannot read criterion's files in {}", path.display()))?);
    }
    Ok(())
}

fn read_micro(benchmark: &Value, estimates: &Value) -> Option<Micro> {
    let (median, interval) = (&estimates["median"], &estimates["median"]["confidence_interval"]);
    let [median, lower, upper] = [&median["point_estimate"], &interval["lower_bound"], &interval["upper_bound"]];
    Some((benchmark["full_id"].as_str()?.to_owned(), [median.as_f64()?, lower.as_f64()?, upper.as_f64()?]))
}

#[cfg(test)]
mod tests {
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
