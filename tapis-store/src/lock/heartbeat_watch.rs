//! Staleness on the waiter's own clock.
//!
//! An entry of another machine (or one whose owner cannot be placed on this machine) is stale
//! when its heartbeat — the entry's mtime, to the nanosecond, together with its inode — has
//! not changed while this waiter watched it for a whole lease, measured with this process's
//! monotonic clock ([`Instant`]). Only *whether* the heartbeat changed is used, never what
//! time it says: which machine or file server set the mtime, and how far its clock is from
//! ours, do not matter.
//!
//! A waiter that itself did not look for a while (it was stopped, or the file system stalled
//! and every look blocked) starts its watch again: the holder may have been held up by the
//! same stall, and gets a whole lease after it.

use std::time::{Duration, Instant};

/// What changes with every heartbeat of an entry (and with a new entry under the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Beat {
    pub(super) inode: (u64, u64),
    pub(super) mtime: (i64, i64),
}

impl Beat {
    pub(super) fn of(stat: &rustix::fs::Stat) -> Self {
        #[allow(clippy::unnecessary_cast, reason = "the field types differ between targets")]
        Self {
            inode: (stat.st_dev as u64, stat.st_ino as u64),
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
        }
    }
}

/// One waiter's watch on the lock folder's entry.
#[derive(Debug)]
pub(super) struct HeartbeatWatch {
    lease: Duration,
    watching: Option<Watching>,
}

#[derive(Debug)]
struct Watching {
    entry: String,
    beat: Beat,
    unchanged_since: Instant,
    last_look: Instant,
}

impl HeartbeatWatch {
    pub(super) fn new(lease: Duration) -> Self {
        Self { lease, watching: None }
    }

    /// The longest pause between two looks that still counts as watching: a quarter of the
    /// lease, and at least a second (so that a short lease in a test is not reset by polling).
    fn longest_pause(&self) -> Duration {
        (self.lease / 4).max(Duration::from_secs(1))
    }

    /// Records a look at `entry` with heartbeat `beat` at `now`, and says whether the entry is
    /// stale: the same heartbeat, watched without a long pause, for at least the lease.
    pub(super) fn is_stale(&mut self, entry: &str, beat: Beat, now: Instant) -> bool {
        let longest_pause = self.longest_pause();
        match &mut self.watching {
            Some(watching) if watching.entry == entry && watching.beat == beat => {
                if now.saturating_duration_since(watching.last_look) > longest_pause {
                    watching.unchanged_since = now;
                }
                watching.last_look = now;
                now.saturating_duration_since(watching.unchanged_since) >= self.lease
            }
            _ => {
                self.watching = Some(Watching { entry: entry.to_owned(), beat, unchanged_since: now, last_look: now });
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(90);

    fn beat(mtime: i64) -> Beat {
        Beat { inode: (1, 2), mtime: (mtime, 0) }
    }

    /// Looks at `(seconds after start, entry, mtime)`; the verdict of each.
    fn check(looks: &[(u64, &str, i64)], expected: &[bool]) {
        let start = Instant::now();
        let mut watch = HeartbeatWatch::new(LEASE);
        let verdicts: Vec<bool> = looks
            .iter()
            .map(|(at, entry, mtime)| watch.is_stale(entry, beat(*mtime), start + Duration::from_secs(*at)))
            .collect();
        assert_eq!(verdicts, expected, "{looks:?}");
    }

    #[test]
    fn stale_only_after_a_whole_lease_without_a_beat_whatever_the_clocks_say() {
        // Looks every 10 s; the mtime is another machine's, so any value: ahead, behind.
        let still =
            |mtime: i64| -> Vec<(u64, &'static str, i64)> { (0..=10).map(|at| (at * 10, "a", mtime)).collect() };
        let mut stale_at_90 = vec![false; 9];
        stale_at_90.extend([true, true]);
        for mtime in [0, 1_700_000_000, 1_700_000_000 + 300, 1_700_000_000 - 300, i64::MAX] {
            check(&still(mtime), &stale_at_90);
        }
        // A heartbeat every 10 s, even one going backwards (a clock set back), keeps it live.
        let beating: Vec<(u64, &str, i64)> = (0..=20).map(|at| (at * 10, "a", 1000 - at as i64)).collect();
        check(&beating, &[false; 21]);
        // Another entry (a new holder) starts the watch again.
        let mut looks: Vec<(u64, &str, i64)> = (0..=8).map(|at| (at * 10, "a", 5)).collect();
        looks.extend((0..=9).map(|at| (85 + at * 10, "b", 5)));
        let mut expected = vec![false; looks.len()];
        expected[looks.len() - 1] = true;
        check(&looks, &expected);
    }

    #[test]
    fn a_waiter_that_did_not_look_for_a_while_watches_a_whole_lease_again() {
        // A pause of 60 s (a stall of the file system, or of this process) restarts the watch.
        let mut looks = vec![(0, "a", 5), (10, "a", 5)];
        looks.extend((7..=16).map(|tens| (tens * 10, "a", 5)));
        let mut expected = vec![false; looks.len()];
        expected[looks.len() - 1] = true;
        check(&looks, &expected);
    }
}
