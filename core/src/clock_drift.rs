//! Clock drift between this computer and the emnify API (pure: times are passed in).
//!
//! Every emnify response carries a `Date` header with the server's clock in whole
//! seconds. Compared with the local clock around the request it gives the offset
//! (server minus local): positive when emnify's clock is ahead, i.e. this computer's is
//! behind. TOTP codes are computed from the clock, so a large offset makes the server
//! refuse them; when the user allows it, codes are computed for emnify's time instead.

use serde::{Deserialize, Serialize};

/// Offsets up to this many seconds (either way) count as "in sync" and are stored as 0:
/// the `Date` header has a resolution of one second and the request takes its time, so
/// a measurement is only good to about ±1.5 s.
pub const IN_SYNC_SECONDS: i64 = 2;

/// An offset of more than this many seconds is worth a warning. Beyond the ±2 s noise of
/// a measurement, 5 s is the first drift that shows: the countdown of each code is off by
/// that much, so a code copied in its last seconds is already expired at the server
/// (services that accept only the current step refuse it). emnify itself still accepts
/// such codes (one step either way), so it is a warning, not an error.
pub const WARN_ABOVE_SECONDS: i64 = 5;

/// Steps either side of its own that the emnify API accepts a code for.
pub const CODE_STEP_TOLERANCE: u64 = 1;

/// One measurement of the offset against the emnify API, as kept in the vault file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockOffset {
    /// emnify's clock minus this computer's, in seconds (0 when in sync): positive when
    /// emnify is ahead.
    pub offset_seconds: i64,
    /// When it was measured (Unix seconds, by the local clock).
    pub measured_at: u64,
    /// Host of the API base URL that answered (e.g. `cdn.emnify.net`).
    pub source: String,
}

/// What is known about the clock: the last measurement and the user's choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClockStatus {
    /// The last measurement, if any response carried a `Date` header yet.
    pub offset: Option<ClockOffset>,
    /// Whether codes are computed for emnify's time (the `clock_correction` setting).
    pub correction: bool,
}

impl ClockStatus {
    /// The measured offset in seconds (0 when nothing was measured).
    pub fn offset_seconds(&self) -> i64 {
        self.offset.as_ref().map_or(0, |o| o.offset_seconds)
    }

    /// Whether codes are computed for a corrected time (correction on and a
    /// measurement to correct with).
    pub fn corrected(&self) -> bool {
        self.correction && self.offset.is_some()
    }

    /// The time to compute codes for at local time `local_now`.
    pub fn code_time(&self, local_now: u64) -> u64 {
        corrected_time(local_now, self.offset_seconds(), self.correction)
    }

    /// Whether the user should be warned: the drift exceeds [`WARN_ABOVE_SECONDS`] and
    /// codes are not corrected for it.
    pub fn needs_warning(&self) -> bool {
        !self.correction && exceeds_warning(self.offset_seconds())
    }

    /// One sentence for the user when [`ClockStatus::needs_warning`], else `None`.
    pub fn warning(&self) -> Option<String> {
        let offset = self.offset.as_ref().filter(|_| self.needs_warning())?;
        Some(format!(
            "{} (measured against {}): codes may be refused; turn on clock correction (`emnify-auth clock correct on`, or in the app's Settings) or fix the system clock (e.g. enable NTP)",
            describe_offset(offset.offset_seconds),
            offset.source
        ))
    }
}

/// The offset (emnify minus local, whole seconds) from one response: `server_date` is its
/// `Date` header (Unix seconds, truncated), `local_before_ms` and `local_after_ms` the
/// local clock in milliseconds when the request was sent and when the answer arrived.
/// The server's time is taken as the middle of its second, the local one as the middle
/// of the request; offsets within [`IN_SYNC_SECONDS`] are 0.
pub fn measure_offset(server_date: u64, local_before_ms: u64, local_after_ms: u64) -> i64 {
    let server_ms = i128::from(server_date) * 1000 + 500;
    let local_ms =
        (i128::from(local_before_ms) + i128::from(local_after_ms.max(local_before_ms))) / 2;
    let seconds = (server_ms - local_ms + 500).div_euclid(1000);
    let seconds = i64::try_from(seconds).unwrap_or(if seconds < 0 { i64::MIN } else { i64::MAX });
    if seconds.abs() <= IN_SYNC_SECONDS {
        0
    } else {
        seconds
    }
}

/// The time to compute codes for: `local_now` moved by `offset_seconds` when correction
/// is allowed, else `local_now` as it is.
pub fn corrected_time(local_now: u64, offset_seconds: i64, correction_allowed: bool) -> u64 {
    if correction_allowed {
        local_now.saturating_add_signed(offset_seconds)
    } else {
        local_now
    }
}

/// Whether an offset deserves a warning (more than [`WARN_ABOVE_SECONDS`] either way).
pub fn exceeds_warning(offset_seconds: i64) -> bool {
    offset_seconds.abs() > WARN_ABOVE_SECONDS
}

/// Whether a code computed for `code_time` (local clock) is sure to be refused by a
/// server whose clock is `offset_seconds` ahead: its step lies more than
/// [`CODE_STEP_TOLERANCE`] steps from the server's, even allowing for the
/// ±[`IN_SYNC_SECONDS`] uncertainty of the offset. For 30 s codes that is always the case
/// from 62 s of drift, never up to 28 s, and in between depending on where in its step the
/// code falls.
pub fn code_sure_to_be_rejected(code_time: u64, offset_seconds: i64, period: u64) -> bool {
    if period == 0 {
        return false;
    }
    let period = i128::from(period);
    let code_step = i128::from(code_time).div_euclid(period);
    let server = i128::from(code_time) + i128::from(offset_seconds);
    let earliest = (server - i128::from(IN_SYNC_SECONDS)).div_euclid(period);
    let latest = (server + i128::from(IN_SYNC_SECONDS)).div_euclid(period);
    let tolerance = i128::from(CODE_STEP_TOLERANCE);
    earliest > code_step + tolerance || latest < code_step - tolerance
}

/// Seconds after which an unchanged offset is written again, so "measured at" stays
/// recent without a write of the vault file for every response.
pub const REFRESH_SECONDS: u64 = 60;

/// Whether `new` should replace the stored measurement `previous`: it differs, or the
/// stored one is more than [`REFRESH_SECONDS`] old.
pub fn should_record(previous: Option<&ClockOffset>, new: &ClockOffset) -> bool {
    match previous {
        None => true,
        Some(old) => {
            old.offset_seconds != new.offset_seconds
                || old.source != new.source
                || new.measured_at.abs_diff(old.measured_at) > REFRESH_SECONDS
        }
    }
}

/// "this computer's clock is 90 s behind emnify's", "… 12 s ahead of emnify's", or
/// "this computer's clock is in sync with emnify's".
pub fn describe_offset(offset_seconds: i64) -> String {
    match offset_seconds {
        0 => "this computer's clock is in sync with emnify's".to_owned(),
        n if n > 0 => format!("this computer's clock is {n} s behind emnify's"),
        n => format!(
            "this computer's clock is {} s ahead of emnify's",
            n.unsigned_abs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;

    fn offset(seconds: i64) -> ClockOffset {
        ClockOffset {
            offset_seconds: seconds,
            measured_at: T,
            source: "cdn.emnify.net".into(),
        }
    }

    #[test]
    fn the_offset_compares_the_middle_of_the_servers_second_with_the_middle_of_the_request() {
        let ms = T * 1000;
        // Server 90 s ahead: it stamps T+90 during a request from T.200 to T.400.
        assert_eq!(measure_offset(T + 90, ms + 200, ms + 400), 90);
        // A slow request (2 s): the middle of it counts.
        assert_eq!(measure_offset(T + 91, ms + 200, ms + 2200), 90);
        // Behind.
        assert_eq!(measure_offset(T - 45, ms + 100, ms + 300), -45);
        // Answers arriving "before" they were sent (a clock step) do not panic.
        assert_eq!(measure_offset(T + 30, ms + 500, ms), 30);
    }

    #[test]
    fn a_couple_of_seconds_count_as_in_sync() {
        let ms = T * 1000;
        for date in [T - 2, T - 1, T, T + 1, T + 2] {
            assert_eq!(measure_offset(date, ms, ms + 100), 0, "{date}");
        }
        assert_eq!(measure_offset(T + 3, ms + 400, ms + 600), 3);
        assert_eq!(measure_offset(T - 3, ms + 400, ms + 600), -3);
    }

    #[test]
    fn codes_are_corrected_only_when_allowed() {
        assert_eq!(corrected_time(T, 90, true), T + 90);
        assert_eq!(corrected_time(T, -90, true), T - 90);
        assert_eq!(corrected_time(T, 90, false), T);
        assert_eq!(corrected_time(10, -90, true), 0);
    }

    #[test]
    fn the_status_knows_when_to_warn_and_what_to_correct() {
        let none = ClockStatus::default();
        assert_eq!(none.code_time(T), T);
        assert!(!none.corrected() && !none.needs_warning() && none.warning().is_none());

        let slight = ClockStatus {
            offset: Some(offset(WARN_ABOVE_SECONDS)),
            correction: false,
        };
        assert!(!slight.needs_warning());

        let off = ClockStatus {
            offset: Some(offset(90)),
            correction: false,
        };
        assert_eq!(off.code_time(T), T);
        assert!(!off.corrected());
        let warning = off.warning().expect("a warning");
        assert!(
            warning.contains("90 s behind emnify's")
                && warning.contains("cdn.emnify.net")
                && warning.contains("emnify-auth clock correct on")
                && warning.contains("NTP"),
            "{warning}"
        );

        let on = ClockStatus {
            correction: true,
            ..off
        };
        assert_eq!(on.code_time(T), T + 90);
        assert!(on.corrected() && !on.needs_warning());
    }

    #[test]
    fn codes_are_surely_refused_only_beyond_the_tolerance() {
        let step_start = (T / 30) * 30;
        for phase in 0..30 {
            let at = step_start + phase;
            // Well within one step: never.
            for drift in [-28, -10, 0, 10, 28] {
                assert!(
                    !code_sure_to_be_rejected(at, drift, 30),
                    "{drift} at {phase}"
                );
            }
            // Two steps and the uncertainty: always.
            for drift in [-90, -62, 62, 90, 3600] {
                assert!(
                    code_sure_to_be_rejected(at, drift, 30),
                    "{drift} at {phase}"
                );
            }
        }
        // In between it depends on the phase: 45 s ahead is refused late in a step only.
        assert!(!code_sure_to_be_rejected(step_start + 5, 45, 30));
        assert!(code_sure_to_be_rejected(step_start + 20, 45, 30));
        assert!(!code_sure_to_be_rejected(step_start, 90, 0));
    }

    #[test]
    fn measurements_are_written_when_they_change_or_age() {
        let stored = offset(90);
        assert!(should_record(None, &stored));
        assert!(!should_record(Some(&stored), &stored));
        let later = ClockOffset {
            measured_at: T + REFRESH_SECONDS,
            ..stored.clone()
        };
        assert!(!should_record(Some(&stored), &later));
        let much_later = ClockOffset {
            measured_at: T + REFRESH_SECONDS + 1,
            ..stored.clone()
        };
        assert!(should_record(Some(&stored), &much_later));
        assert!(should_record(Some(&stored), &offset(91)));
        let elsewhere = ClockOffset {
            source: "127.0.0.1".into(),
            ..stored.clone()
        };
        assert!(should_record(Some(&stored), &elsewhere));
    }

    #[test]
    fn offsets_read_as_sentences() {
        assert_eq!(
            describe_offset(90),
            "this computer's clock is 90 s behind emnify's"
        );
        assert_eq!(
            describe_offset(-12),
            "this computer's clock is 12 s ahead of emnify's"
        );
        assert!(describe_offset(0).contains("in sync"));
    }
}
