//! Min, median and max of some runs.

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

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn stats_are_min_median_max() {
        assert_eq!(Stats::new(vec![3.0, 1.0, 2.0]), Stats { min: 1.0, median: 2.0, max: 3.0 });
        assert_eq!(Stats::new(vec![4.0, 1.0, 2.0, 3.0]), Stats { min: 1.0, median: 2.5, max: 4.0 });
        assert_eq!(Stats::new(vec![1.0, 2.0]).show(3), "1.000 / 1.500 / 2.000");
    }
}
