//! Date formats of the emnify API and of HTTP, written out by hand so the simulator needs no
//! date library: ISO 8601 timestamps like `2021-11-04T11:47:10.517Z` (what the API returns),
//! the `YYYY-MM-DDTHH:mm:ssZ` form of the events `q` filter, and the IMF-fixdate of the HTTP
//! `Date` header.

const DAY_NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date (year, month 1-12, day 1-31) of a day count since 1970-01-01.
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // Both values are small and positive by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Days since 1970-01-01 of a civil date. Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2021-11-04T11:47:10.517Z` for a Unix time in milliseconds.
pub fn iso8601_millis(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// The HTTP `Date` header form (IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let secs = unix_ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    let weekday = DAY_NAMES[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTH_NAMES[usize::try_from(m - 1).unwrap_or(0)];
    format!(
        "{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Parses `YYYY-MM-DDTHH:mm:ss[.fff]Z` (also `+00:00` instead of `Z`, or a bare
/// `YYYY-MM-DD`) into Unix milliseconds. Returns `None` for anything else.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |part: &str| -> Option<i64> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut date_parts = date.split('-');
    let y = num(date_parts.next()?)?;
    let m = u32::try_from(num(date_parts.next()?)?).ok()?;
    let d = u32::try_from(num(date_parts.next()?)?).ok()?;
    if date_parts.next().is_some() || date.len() != 10 || !(1..=12).contains(&m) {
        return None;
    }
    if d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if let Some(time) = time {
        let time = time
            .strip_suffix('Z')
            .or_else(|| time.strip_suffix("+00:00"))?;
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let h = num(parts.next()?)?;
        let mi = num(parts.next()?)?;
        let se = num(parts.next()?)?;
        if parts.next().is_some() || hms.len() != 8 || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        ms += (h * 3600 + mi * 60 + se) * 1000;
        if let Some(frac) = frac {
            let digits: String = frac.chars().chain("000".chars()).take(3).collect();
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            ms += num(&digits)?;
        }
    }
    Some(ms)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601_millis(1_636_026_430_517),
            "2021-11-04T11:47:10.517Z"
        );
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [0, 1_636_026_430_517, 951_782_400_000, 4_102_444_800_000] {
            assert_eq!(parse_iso8601(&iso8601_millis(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso8601("2026-01-01T00:00:00Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(parse_iso8601("2026-01-01"), Some(1_767_225_600_000));
        assert_eq!(
            parse_iso8601("2026-01-01T00:00:00+00:00"),
            Some(1_767_225_600_000)
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-01-01T25:00:00Z",
            "yesterday",
            "2026-01-01T00:00:00",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
