//! Owns the API's rate limits: failed logins per account and per client address, and run
//! creation per user, each a sliding window kept in this process's memory.
//!
//! Hand-written rather than `governor`: the login limits count *failures*, recorded
//! after the password check and cleared by a success, which a token bucket that charges
//! every request does not express. The windows are per API replica; with several
//! replicas an attacker's budget is multiplied by their number, still bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys above which a window sweeps out keys with no recent hits (bounds memory under a
/// flood of distinct keys).
const SWEEP_ABOVE: usize = 10_000;

/// At most `max` hits per key within any `window`.
#[derive(Debug)]
pub struct SlidingWindow {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    /// A limit of `max` per `window` (`max == 0`: unlimited).
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: max as usize,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    fn with_hits<T>(&self, f: impl FnOnce(&mut HashMap<String, VecDeque<Instant>>) -> T) -> T {
        match self.hits.lock() {
            Ok(mut hits) => f(&mut hits),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// `Err(retry_after)` when `key` is at its limit now; nothing is recorded.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.max == 0 {
            return Ok(());
        }
        let now = Instant::now();
        self.with_hits(|hits| {
            let Some(times) = hits.get_mut(key) else {
                return Ok(());
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                times.pop_front();
            }
            match times.front() {
                Some(oldest) if times.len() >= self.max => {
                    Err(self.window.saturating_sub(now.duration_since(*oldest)))
                }
                _ => Ok(()),
            }
        })
    }

    /// Records a hit for `key`.
    pub fn record(&self, key: &str) {
        if self.max == 0 {
            return;
        }
        let now = Instant::now();
        self.with_hits(|hits| {
            if hits.len() > SWEEP_ABOVE {
                hits.retain(|_, times| {
                    times
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < self.window)
                });
            }
            let times = hits.entry(key.to_string()).or_default();
            times.push_back(now);
            while times.len() > self.max {
                times.pop_front();
            }
        });
    }

    /// [`Self::check`], then [`Self::record`] if allowed.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        self.check(key)?;
        self.record(key);
        Ok(())
    }

    /// Forgets `key` (a successful login clears its account's failures).
    pub fn clear(&self, key: &str) {
        self.with_hits(|hits| hits.remove(key));
    }
}

/// The API's limits.
#[derive(Debug)]
pub struct Limits {
    /// Failed logins per account.
    pub login_failures_per_account: SlidingWindow,
    /// Failed logins per client address.
    pub login_failures_per_ip: SlidingWindow,
    /// Runs created per user.
    pub runs_per_user: SlidingWindow,
    /// Daily token and spend quotas per user.
    pub quotas: crate::quota::Quotas,
}

impl Limits {
    /// 5 failed logins per account and 20 per address in 15 minutes; `runs_per_minute`
    /// runs per user per minute (0: unlimited).
    pub fn new(runs_per_minute: u32) -> Self {
        let quarter_hour = Duration::from_secs(15 * 60);
        Self {
            login_failures_per_account: SlidingWindow::new(5, quarter_hour),
            login_failures_per_ip: SlidingWindow::new(20, quarter_hour),
            runs_per_user: SlidingWindow::new(runs_per_minute, Duration::from_secs(60)),
            quotas: crate::quota::Quotas::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(DEFAULT_RUNS_PER_MINUTE)
    }
}

/// Runs one user may create per minute by default (`CADRE_RUNS_PER_MINUTE`).
pub const DEFAULT_RUNS_PER_MINUTE: u32 = 120;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_limit_recover_and_clear() {
        let limit = SlidingWindow::new(2, Duration::from_millis(200));
        assert!(limit.hit("a").is_ok());
        assert!(limit.hit("a").is_ok());
        let retry = limit.hit("a").unwrap_err();
        assert!(retry <= Duration::from_millis(200) && retry > Duration::ZERO);
        assert!(limit.hit("b").is_ok(), "keys are independent");
        std::thread::sleep(Duration::from_millis(220));
        assert!(limit.hit("a").is_ok(), "the window slid");
        limit.record("a");
        assert!(limit.check("a").is_err());
        limit.clear("a");
        assert!(limit.check("a").is_ok());
        let unlimited = SlidingWindow::new(0, Duration::from_secs(1));
        for _ in 0..100 {
            assert!(unlimited.hit("x").is_ok());
        }
    }
}
