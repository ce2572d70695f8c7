//! Instants are stored as UTC epoch milliseconds; request instants without an offset are read
//! in the clinic's time zone.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// Parses `2026-12-01T09:00:00+01:00`, `...Z`, or an offset-less local time in `zone`.
pub fn parse_instant(raw: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let raw = raw.trim();
    if let Ok(ts) = raw.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(zoned) = raw.parse::<Zoned>() {
        return Ok(zoned.timestamp());
    }
    let civil: DateTime = raw
        .parse()
        .map_err(|_| "must be an RFC 3339 date-time, e.g. 2026-12-01T09:00:00+01:00".to_owned())?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|_| "is not a valid local time in the clinic's time zone".to_owned())
}

pub fn to_millis(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

/// Reads a stored instant; stored values are always in range, so a bad one is a data bug.
pub fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Parses an IANA zone name such as `Europe/Berlin`.
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name.trim()).map_err(|_| format!("`{name}` is not a known IANA time zone"))
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
}
