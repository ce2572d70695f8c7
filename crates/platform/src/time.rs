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
}
