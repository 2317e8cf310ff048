//! The simulator's controllable clock.
//!
//! Everything time-dependent in the simulator (token lifetimes, TOTP steps, lockouts, the
//! rate-limit window, trusted-device expiry, event timestamps and the `Date` header) reads
//! this clock, so tests can jump hours or days ahead without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A clock that runs at real speed but can be moved forward or set to any instant.
///
/// It is a cheap handle: clones share the same offset, so a test can keep one clone while the
/// server reads another. It starts at real time.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    /// Milliseconds added to the real wall clock. Kept as an offset (rather than a frozen
    /// instant) so that time keeps flowing in the demo mode, where nobody moves the clock.
    offset_ms: Arc<AtomicI64>,
}

impl SimClock {
    /// A clock at real time.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock that starts at `unix_secs` (and runs on from there).
    pub fn starting_at(unix_secs: u64) -> Self {
        let clock = Self::new();
        clock.set(unix_secs);
        clock
    }

    /// The simulated current time.
    pub fn now(&self) -> SystemTime {
        let ms = self.unix_millis();
        if ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
        }
    }

    /// The simulated current time in milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        real_unix_millis().saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// The simulated current time in whole seconds since the Unix epoch (0 before 1970).
    pub fn unix_secs(&self) -> u64 {
        u64::try_from(self.unix_millis().div_euclid(1000)).unwrap_or(0)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `unix_secs` (forwards or backwards); it keeps running from there.
    pub fn set(&self, unix_secs: u64) {
        let target = i64::try_from(unix_secs).unwrap_or(i64::MAX / 1000) * 1000;
        self.offset_ms
            .store(target - real_unix_millis(), Ordering::SeqCst);
    }

    /// How far the simulated clock is ahead of (positive) or behind (negative) real time.
    pub fn offset_millis(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

fn real_unix_millis() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_near_real_time_and_moves() {
        let clock = SimClock::new();
        let real = real_unix_millis();
        assert!((clock.unix_millis() - real).abs() < 1000);
        clock.advance(Duration::from_secs(3600));
        assert!((clock.unix_millis() - real - 3_600_000).abs() < 1000);
        clock.set(1_000_000_000);
        assert!(clock.unix_secs().abs_diff(1_000_000_000) <= 1);
        let other = clock.clone();
        other.advance(Duration::from_secs(10));
        assert!(clock.unix_secs().abs_diff(1_000_000_010) <= 1);
    }
}
