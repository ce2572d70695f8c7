//! Where the benchmark's appointments go. Every booking gets a slot no other booking of the run
//! uses, for a doctor and a patient who are both free then, so a 409 is a bug, not a collision.
//!
//! Time is laid out in weeks from a base Monday two weeks ahead (UTC, the clinic's default
//! zone): the seeded doctors work Monday–Friday 09:00–17:00 in 30-minute slots, 80 a week.
//! Weeks `SCALE_FIRST_WEEK..SCALE_FIRST_WEEK + 25` hold the bulk data of the scale scenario
//! (partly in the past); bookings made during the run start at week `BOOKING_FIRST_WEEK`.

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};

/// Doctors and patients seeded into every system under test (ids `1..=N`).
pub const DOCTORS: u64 = 1_000;
pub const PATIENTS: u64 = 100_000;

pub const SLOT_MS: i64 = 30 * 60 * 1000;
pub const DAY_MS: i64 = 24 * 3600 * 1000;
pub const WEEK_MS: i64 = 7 * DAY_MS;
const SLOTS_PER_DAY: u64 = 16;
const SLOTS_PER_WEEK: u64 = 5 * SLOTS_PER_DAY;
const OPENING_MS: i64 = 9 * 3600 * 1000;

/// The scale data's 25 weeks (2,000 slots per doctor) start this many weeks before the base.
pub const SCALE_FIRST_WEEK: i64 = -15;
pub const SCALE_SLOTS_PER_DOCTOR: u64 = 2_000;
/// A week inside the scale data and in the future: where the scale scenario searches.
pub const SCALE_PROBE_WEEK: i64 = 2;
pub const BOOKING_FIRST_WEEK: i64 = 12;

/// The Monday, 00:00 UTC, at least two weeks from today.
pub fn base_monday() -> Date {
    let mut day = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .saturating_add(14.days());
    while day.weekday() != Weekday::Monday {
        day = day.saturating_add(1.day());
    }
    day
}

/// Epoch milliseconds of the Monday `offset` weeks from the base Monday.
pub fn week_start_ms(offset: i64) -> anyhow::Result<i64> {
    let monday = base_monday().to_zoned(jiff::tz::TimeZone::UTC)?;
    Ok(monday.timestamp().as_millisecond() + offset * WEEK_MS)
}

/// The date of day `day` (0 = Monday) of week `offset`, as `YYYY-MM-DD`.
pub fn date_of(offset: i64, day: i64) -> anyhow::Result<String> {
    let ms = week_start_ms(offset)? + day * DAY_MS;
    Ok(Timestamp::from_millisecond(ms)?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string())
}

/// The start of working slot `slot` (0-based, Monday 09:00 first) counted from `first_ms`.
pub fn slot_start_ms(first_ms: i64, slot: u64) -> i64 {
    let week = (slot / SLOTS_PER_WEEK) as i64;
    let day = ((slot % SLOTS_PER_WEEK) / SLOTS_PER_DAY) as i64;
    let within = (slot % SLOTS_PER_DAY) as i64;
    first_ms + week * WEEK_MS + day * DAY_MS + OPENING_MS + within * SLOT_MS
}

/// One booking to make: who, with whom, when.
#[derive(Debug, Clone, Copy)]
pub struct Booking {
    pub doctor_id: i64,
    pub patient_id: i64,
    pub start_ms: i64,
}

impl Booking {
    /// The start as the API takes it, e.g. `2026-06-01T09:30:00Z`.
    pub fn start(&self) -> String {
        Timestamp::from_millisecond(self.start_ms)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "patientId": self.patient_id,
            "doctorId": self.doctor_id,
            "appointmentDate": self.start(),
            "description": "benchmark visit",
        })
    }
}

/// Hands out bookings in order: booking `i` is for doctor `i % DOCTORS` in slot `i / DOCTORS`,
/// so the bookings sharing a slot have distinct doctors and (as `DOCTORS ≤ PATIENTS`) distinct
/// patients `i % PATIENTS`.
#[derive(Debug)]
pub struct Allocator {
    next: AtomicU64,
    first_ms: i64,
}

impl Allocator {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            next: AtomicU64::new(0),
            first_ms: week_start_ms(BOOKING_FIRST_WEEK)?,
        })
    }

    pub fn next(&self) -> Booking {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        Booking {
            doctor_id: (i % DOCTORS + 1) as i64,
            patient_id: (i % PATIENTS + 1) as i64,
            start_ms: slot_start_ms(self.first_ms, i / DOCTORS),
        }
    }
}
