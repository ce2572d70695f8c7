//! Instants are stored as UTC epoch milliseconds; request instants without an offset are read
//! in the clinic's time zone.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

const FORMAT_HINT: &str = "must be an RFC 3339 date-time, e.g. 2026-12-01T09:00:00+01:00";

/// Parses strict RFC 3339 (`2026-12-01T09:00:00+01:00`, `...Z`, offsets within ±23:59), or
/// the same without an offset, read as local time in `zone`. Anything looser (`+25:00`, a
/// missing seconds field, a bracketed zone name) is refused: clients must agree with the
/// OpenAPI `date-time` format, not with whatever a lenient parser happens to accept.
pub fn parse_instant(raw: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let raw = raw.trim();
    let (local, offset) = split_offset(raw)?;
    let civil = parse_civil(local)?;
    match offset {
        Some(offset) => offset
            .to_timestamp(civil)
            .map_err(|_| FORMAT_HINT.to_owned()),
        None => zone
            .to_ambiguous_timestamp(civil)
            .compatible()
            .map_err(|_| "is not a valid local time in the clinic's time zone".to_owned()),
    }
}

/// Splits `Z` or `±HH:MM` off the end; `None` when the instant has no offset at all.
fn split_offset(raw: &str) -> Result<(&str, Option<Offset>), String> {
    if let Some(local) = raw.strip_suffix(['Z', 'z']) {
        return Ok((local, Some(Offset::UTC)));
    }
    let Some(split) = raw
        .len()
        .checked_sub(6)
        .filter(|at| raw.is_char_boundary(*at))
    else {
        return Ok((raw, None));
    };
    let (local, tail) = raw.split_at(split);
    let bytes = tail.as_bytes();
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return Ok((raw, None)),
    };
    if bytes[3] != b':' {
        return Err(FORMAT_HINT.to_owned());
    }
    let hours = two_digits(&bytes[1..3]).filter(|h| *h <= 23);
    let minutes = two_digits(&bytes[4..6]).filter(|m| *m <= 59);
    let (Some(hours), Some(minutes)) = (hours, minutes) else {
        return Err("must have an offset within ±23:59".to_owned());
    };
    let offset = Offset::from_seconds(sign * (hours * 3600 + minutes * 60))
        .map_err(|_| FORMAT_HINT.to_owned())?;
    Ok((local, Some(offset)))
}

/// `YYYY-MM-DDTHH:MM:SS` with an optional fraction of 1 to 9 digits, and nothing else.
fn parse_civil(local: &str) -> Result<DateTime, String> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    let bytes = local.as_bytes();
    let shaped = bytes.len() >= SHAPE.len()
        && SHAPE.iter().zip(bytes).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            b'T' => matches!(got, b'T' | b't'),
            other => other == got,
        });
    let fraction = &bytes[SHAPE.len().min(bytes.len())..];
    let fraction_ok = fraction.is_empty()
        || (fraction[0] == b'.'
            && (2..=10).contains(&fraction.len())
            && fraction[1..].iter().all(u8::is_ascii_digit));
    if !(shaped && fraction_ok) {
        return Err(FORMAT_HINT.to_owned());
    }
    local
        .replace('t', "T")
        .parse()
        .map_err(|_| FORMAT_HINT.to_owned())
}

fn two_digits(pair: &[u8]) -> Option<i32> {
    match pair {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(i32::from(a - b'0') * 10 + i32::from(b - b'0'))
        }
        _ => None,
    }
}

pub fn to_millis(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

/// Reads a stored instant that must be valid: a bad one is an error, never a plausible date.
pub fn try_from_millis(ms: i64) -> Result<Timestamp, String> {
    Timestamp::from_millisecond(ms).map_err(|_| format!("stored instant {ms} is out of range"))
}

/// Reads a stored instant; stored values are always in range, so a bad one is a data bug.
pub fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Parses an IANA zone name such as `Europe/Berlin`.
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name.trim()).map_err(|_| format!("`{name}` is not a known IANA time zone"))
}

/// What time it is, for background work (reminders, retries, leases). Production reads the
/// system clock; tests hold a manual clock and move it forward, so "24 hours before" needs no
/// waiting.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` reads the system clock.
    manual: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `start` until [`Clock::advance`] or [`Clock::set`] moves it.
    pub fn manual(start: Timestamp) -> Self {
        Self {
            manual: Some(std::sync::Arc::new(start.as_millisecond().into())),
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(ms) => from_millis(ms.load(std::sync::atomic::Ordering::SeqCst)),
            None => Timestamp::now(),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(ms) = &self.manual {
            let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            ms.fetch_add(by, std::sync::atomic::Ordering::SeqCst);
        }
    }

    pub fn set(&self, to: Timestamp) {
        if let Some(ms) = &self.manual {
            ms.store(to.as_millisecond(), std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_less_instants_are_clinic_local() {
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let winter = parse_instant("2026-12-01T09:00:00", &berlin).unwrap();
        assert_eq!(winter.to_string(), "2026-12-01T08:00:00Z");
        let summer = parse_instant("2026-07-01T09:00:00", &berlin).unwrap();
        assert_eq!(summer.to_string(), "2026-07-01T07:00:00Z");
    }

    #[test]
    fn explicit_offsets_win() {
        let utc = TimeZone::UTC;
        let ts = parse_instant("2026-12-01T09:00:00+01:00", &utc).unwrap();
        assert_eq!(ts.to_string(), "2026-12-01T08:00:00Z");
        assert!(parse_instant("tomorrow", &utc).is_err());
    }

    #[test]
    fn only_strict_rfc3339_is_accepted() {
        let utc = TimeZone::UTC;
        for good in [
            "2027-01-04T09:00:00Z",
            "2027-01-04t09:00:00z",
            "2027-01-04T09:00:00.123+23:59",
            "2027-01-04T09:00:00-00:30",
            "2027-01-04T09:00:00",
        ] {
            assert!(parse_instant(good, &utc).is_ok(), "{good}");
        }
        for bad in [
            "2027-01-04T09:00:00+25:00",
            "2027-01-04T09:00:00+24:00",
            "2027-01-04T09:00:00+01:60",
            "2027-01-04T09:00:00+0100",
            "2027-01-04T09:00",
            "2027-01-04 09:00:00Z",
            "2027-01-04T09:00:00+01:00[Europe/Berlin]",
            "2027-01-04T09:00:00.Z",
            "2027-13-04T09:00:00Z",
            "2027-01-04T09:00:00Ü",
            "+2027-01-04T09:00:00Z",
            "",
        ] {
            assert!(parse_instant(bad, &utc).is_err(), "{bad}");
        }
    }
}
