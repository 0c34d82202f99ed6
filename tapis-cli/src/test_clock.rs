//! The clock of the end-to-end tests, in debug builds only: with `TAPIS_TEST_CLOCK` naming a
//! file, every wait of the flow (a retry's backoff, a server's `Retry-After`, the interval
//! between device-login polls) passes at once and moves the flow's clock forward by as much,
//! and the clock runs ahead of the system's by the whole seconds written in that file
//! (none while it is missing or empty), so a test moves time for the processes it runs
//! instead of waiting. A release build has none of this.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tapis_auth::time::Sleep;
use tapis_auth::{Clock, SharedClock};

/// The variable naming the file of the clock's lead, in seconds.
pub(crate) const TEST_CLOCK_VARIABLE: &str = "TAPIS_TEST_CLOCK";

/// The test clock when [`TEST_CLOCK_VARIABLE`] is set.
pub(crate) fn from_environment() -> Option<SharedClock> {
    let file = std::env::var_os(TEST_CLOCK_VARIABLE)?;
    Some(SharedClock::new(TestClock { lead_file: PathBuf::from(file), slept: Mutex::default() }))
}

#[derive(Debug)]
struct TestClock {
    lead_file: PathBuf,
    slept: Mutex<Duration>,
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let lead = std::fs::read_to_string(&self.lead_file).ok().and_then(|text| text.trim().parse().ok());
        let slept = *self.slept.lock().expect("not poisoned");
        Utc::now() + TimeDelta::seconds(lead.unwrap_or(0)) + slept
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        *self.slept.lock().expect("not poisoned") += duration;
        Box::pin(std::future::ready(()))
    }
}
