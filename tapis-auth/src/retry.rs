//! Bounded retries with exponential backoff and jitter.

use std::time::Duration;

/// How many attempts a request gets by default (the first try included).
pub const DEFAULT_N_ATTEMPTS: u32 = 3;

/// How transient failures are retried. The backoff is a value, so tests pass
/// [`RetryPolicy::immediate`] and run with no delay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub n_attempts: u32,
    /// The delay before the second attempt; doubled for each later one.
    pub initial_backoff: Duration,
    /// The longest delay between two attempts (a `Retry-After` is capped to it too).
    pub max_backoff: Duration,
    /// Whether to pick each delay at random in [delay/2, delay], so that many processes that
    /// failed together do not retry together.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            n_attempts: DEFAULT_N_ATTEMPTS,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The same number of attempts with no delay between them (for tests).
    pub fn immediate(n_attempts: u32) -> Self {
        Self { n_attempts, initial_backoff: Duration::ZERO, max_backoff: Duration::ZERO, jitter: false }
    }

    /// The delay before attempt number `attempt` (2 for the first retry). A server's
    /// `Retry-After` is honoured when it is longer, up to `max_backoff`.
    pub fn delay_before(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = attempt.saturating_sub(2).min(16);
        let exponential = self.initial_backoff.saturating_mul(1 << doublings).min(self.max_backoff);
        let delay = if self.jitter && !exponential.is_zero() {
            exponential.mul_f64(rand::random_range(0.5..=1.0))
        } else {
            exponential
        };
        delay.max(retry_after.unwrap_or_default()).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let policy = RetryPolicy { jitter: false, ..RetryPolicy::default() };
        let delays: Vec<u128> = (2..=7).map(|attempt| policy.delay_before(attempt, None).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(policy.delay_before(2, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(policy.delay_before(2, Some(Duration::from_secs(600))), Duration::from_secs(8));
    }

    #[test]
    fn jitter_stays_within_half_to_full() {
        let policy = RetryPolicy::default();
        for _ in 0..200 {
            let delay = policy.delay_before(3, None);
            assert!(delay >= Duration::from_millis(500) && delay <= Duration::from_millis(1000), "{delay:?}");
        }
    }

    #[test]
    fn immediate_never_waits() {
        let policy = RetryPolicy::immediate(3);
        assert_eq!(policy.delay_before(2, Some(Duration::from_secs(30))), Duration::ZERO);
    }
}
