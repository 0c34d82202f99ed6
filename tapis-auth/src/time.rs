//! Time as a dependency: the flow reads the clock and sleeps only through a [`Clock`] that
//! the caller passes in ([`crate::ClientConfig::clock`]), so that a test moves time forward
//! instead of waiting for it (after aws-config's `SharedTimeSource` and `SharedAsyncSleep`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A future that completes after a [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the flow asks of time: the current time and a wait. Both in one trait, so that a
/// test clock whose sleeps return at once can move its `now` forward by as much.
///
/// The default, [`SystemClock`], reads the system clock and sleeps on tokio's timer. The
/// HTTP client's own timeouts (connect, request) are not waits of the flow: they always run
/// on tokio's timer.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Waits for `duration` (a retry's backoff, the interval between two device-login polls).
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The system clock, with sleeps on tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A cheaply cloned handle on a [`Clock`]; [`SystemClock`] by default.
#[derive(Clone)]
pub struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    /// A handle on `clock`.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self(Arc::new(clock))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    /// Waits for `duration`.
    pub fn sleep(&self, duration: Duration) -> Sleep {
        self.0.sleep(duration)
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        Self::new(SystemClock)
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl<T: Clock + 'static> From<Arc<T>> for SharedClock {
    fn from(clock: Arc<T>) -> Self {
        Self(clock)
    }
}
