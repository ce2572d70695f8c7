//! Instants shown in the reader's time zone, always with the zone named.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};

/// `candidate` when it is a zone this build knows (the browser's), else the clinic's.
pub fn zone_name(candidate: &str, clinic: &TimeZone) -> String {
    let candidate = candidate.trim();
    if !candidate.is_empty() && TimeZone::get(candidate).is_ok() {
        return candidate.to_owned();
    }
    clinic.iana_name().unwrap_or("UTC").to_owned()
}

pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// "Monday 7 December 2026, 09:30".
pub fn when(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%A %-d %B %Y, %H:%M")
        .to_string()
}

/// "09:30".
pub fn clock(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%H:%M").to_string()
}

/// "Mon 7 Dec".
pub fn day_label(date: Date) -> String {
    date.strftime("%a %-d %b").to_string()
}

/// The Monday of `date`'s week.
pub fn week_start(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days()).unwrap_or(date)
}

pub fn today(zone: &TimeZone) -> Date {
    Timestamp::now().to_zoned(zone.clone()).date()
}

pub fn local_date(at: Timestamp, zone: &TimeZone) -> Date {
    at.to_zoned(zone.clone()).date()
}

pub fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(days.days()).unwrap_or(date)
}
