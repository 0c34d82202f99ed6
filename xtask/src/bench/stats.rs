//! Min, median and max of some runs.

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
        let n = values.len();
        if n == 0 {
            return Self { min: f64::NAN, median: f64::NAN, max: f64::NAN };
        }
        let median = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
        Self { min: values[0], median, max: values[n - 1] }
    }

    pub(super) fn scaled(self, factor: f64) -> Self {
        Self { min: self.min * factor, median: self.median * factor, max: self.max * factor }
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
