//! Times of the event timeline: ISO 8601 date-times as the emnify API and IDaaS webhooks
//! write them, the `q` filter's date format, and `--since` spans such as `24h` (all pure).

/// Why a `--since` span was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SinceError {
    /// Not a number followed by a unit.
    #[error(
        "'{0}' is not a time span: use a whole number followed by m (minutes), h (hours) or d (days), e.g. 30m, 24h or 7d"
    )]
    NotASpan(String),
    /// Zero, or longer than a year.
    #[error("'{0}' is out of range: use a span from 1m to 366d (emnify keeps events for 30 days)")]
    OutOfRange(String),
}

/// The longest `--since` span accepted, in seconds.
pub const MAX_SINCE_SECONDS: u64 = 366 * 86_400;

/// Parses a `--since` span: a whole number and a unit, `m`, `h`, `d` (also `w` for weeks),
/// e.g. `30m`, `24h`, `7d`. Returns seconds.
pub fn parse_since(text: &str) -> Result<u64, SinceError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| SinceError::NotASpan(text.to_owned()))?;
    let (digits, unit) = trimmed.split_at(split);
    let unit_seconds: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(SinceError::NotASpan(text.to_owned())),
    };
    if digits.is_empty() {
        return Err(SinceError::NotASpan(text.to_owned()));
    }
    let amount: u64 = digits
        .parse()
        .map_err(|_| SinceError::OutOfRange(text.to_owned()))?;
    match amount.checked_mul(unit_seconds) {
        Some(seconds) if (1..=MAX_SINCE_SECONDS).contains(&seconds) => Ok(seconds),
        _ => Err(SinceError::OutOfRange(text.to_owned())),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn number(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Unix seconds of an ISO 8601 date-time: `2021-11-04T11:47:10.517Z`,
/// `2025-12-01T20:10:04Z`, `2019-06-13T09:55:57+0000`, `…+02:00`, or with a space instead
/// of the `T`. Without a zone the time is taken as UTC. Fractions are dropped. `None` for
/// anything else, and for times before 1970.
pub fn parse_iso8601(text: &str) -> Option<u64> {
    let b = text.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i64::from(number(&b[0..4])?);
    let month = number(&b[5..7])?;
    let day = number(&b[8..10])?;
    let hour = number(&b[11..13])?;
    let minute = number(&b[14..16])?;
    let second = number(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset: i64 = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (hours, minutes) = match zone {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (number(&[*h1, *h2])?, number(&[*m1, *m2])?)
                }
                [h1, h2] => (number(&[*h1, *h2])?, 0),
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    let local = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second.min(59));
    u64::try_from(local - offset).ok()
}

/// `2026-11-26T01:01:30Z`: the date format of the events API's `from`/`until` filters.
pub fn format_iso8601(unix: u64) -> String {
    let mut text = crate::login::flow::format_utc(unix).replacen(' ', "T", 1);
    text.push('Z');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_spans() {
        assert_eq!(parse_since("30m"), Ok(1_800));
        assert_eq!(parse_since("24h"), Ok(86_400));
        assert_eq!(parse_since("7d"), Ok(604_800));
        assert_eq!(parse_since(" 2w "), Ok(1_209_600));
        assert_eq!(parse_since("90min"), Ok(5_400));
        assert_eq!(parse_since("1D"), Ok(86_400));
        for bad in ["", "h", "24", "24x", "-1h", "1.5h", "h24", "24 hours"] {
            assert!(
                matches!(parse_since(bad), Err(SinceError::NotASpan(_))),
                "{bad}"
            );
        }
        for bad in [
            "0m",
            "367d",
            "99999999999999999999d",
            "18446744073709551615d",
        ] {
            assert!(
                matches!(parse_since(bad), Err(SinceError::OutOfRange(_))),
                "{bad}"
            );
        }
        let message = parse_since("5x").unwrap_err().to_string();
        assert!(message.contains("30m, 24h or 7d"), "{message}");
    }

    #[test]
    fn iso8601_as_the_api_and_webhooks_write_it() {
        // The documentation's event example and an IDaaS webhook example.
        assert_eq!(
            parse_iso8601("2021-11-04T11:47:10.517Z"),
            Some(1_636_026_430)
        );
        assert_eq!(parse_iso8601("2025-12-01T20:10:04Z"), Some(1_764_619_804));
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso8601("2019-06-13T09:55:57.000+0000"),
            Some(1_560_419_757)
        );
        assert_eq!(
            parse_iso8601("2019-06-13T11:55:57+02:00"),
            Some(1_560_419_757)
        );
        assert_eq!(parse_iso8601("2019-06-13T08:55:57-01"), Some(1_560_419_757));
        assert_eq!(parse_iso8601("2019-06-13 09:55:57"), Some(1_560_419_757));
        assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "",
            "yesterday",
            "2023-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-11-04T24:00:00Z",
            "2021-11-04T11:47:10.Z",
            "2021-11-04T11:47:10 UTC",
            "1969-12-31T23:59:59Z",
            "2021-11-04",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn filter_dates_round_trip() {
        assert_eq!(format_iso8601(1_636_026_430), "2021-11-04T11:47:10Z");
        assert_eq!(
            parse_iso8601(&format_iso8601(1_795_654_890)),
            Some(1_795_654_890)
        );
    }
}
