//! Working hours turned into instants in a doctor's zone: the bookable slots of a date range,
//! and whether an interval lies inside working hours.
//!
//! Hours are civil (wall-clock) times, so daylight-saving changes need care. A slot start that
//! does not exist (the clocks jump forward over it) is skipped; one that exists twice (the
//! clocks fall back) takes its first occurrence. A slot lasts `slot_minutes` of real time.

use contracts::doctors::Slot;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use platform::validation::Violations;

use crate::domain::schedule::{ClockTime, WeeklyHours, WorkingBlock};

/// The longest date range a slot query may ask for, in days after its first date.
pub const MAX_RANGE_DAYS: i64 = 62;

/// A doctor's working week in the doctor's zone, with the length of one slot.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    zone: TimeZone,
    hours: WeeklyHours,
    slot_minutes: u32,
}

impl WorkingCalendar {
    pub fn new(zone: TimeZone, hours: WeeklyHours, slot_minutes: u32) -> Self {
        Self {
            zone,
            hours,
            slot_minutes,
        }
    }

    /// Every slot of working hours on the dates `from..=to`, in order and never overlapping.
    pub fn slots(&self, from: Date, to: Date) -> Vec<Slot> {
        let mut slots = Vec::new();
        let mut date = from;
        while date <= to {
            for block in self.hours.on(date.weekday()) {
                self.push_block_slots(date, block, &mut slots);
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        slots
    }

    /// Whether `[start, end)` lies inside one block of the working hours of the local date of
    /// `start`.
    pub fn within_hours(&self, interval: Slot) -> bool {
        let date = interval.start.to_zoned(self.zone.clone()).date();
        self.hours
            .on(date.weekday())
            .filter_map(|block| self.block_interval(date, block))
            .any(|block| block.start <= interval.start && interval.end <= block.end)
    }

    /// Whether `start` is the start of one of the slots of its local date: bookings begin on
    /// the grid the doctor's slots make, so no slot is left half used.
    pub fn on_grid(&self, start: Timestamp) -> bool {
        let date = start.to_zoned(self.zone.clone()).date();
        self.slots(date, date)
            .iter()
            .any(|slot| slot.start == start)
    }

    /// Steps through the block in civil time, keeping the slots that exist, end inside the
    /// block, and do not overlap the previous slot (which a skipped hour can cause when the
    /// slot length does not divide it).
    fn push_block_slots(&self, date: Date, block: &WorkingBlock, out: &mut Vec<Slot>) {
        let Some(bounds) = self.block_interval(date, block) else {
            return;
        };
        let step = i64::from(self.slot_minutes);
        let mut minute = i64::from(block.start.minutes());
        while minute + step <= i64::from(block.end.minutes()) {
            if let Some(slot) = self.slot_at(date, minute) {
                let clear = out.last().is_none_or(|previous| previous.end <= slot.start);
                if clear && slot.end <= bounds.end {
                    out.push(slot);
                }
            }
            minute += step;
        }
    }

    fn slot_at(&self, date: Date, minute: i64) -> Option<Slot> {
        let start = first_occurrence(&self.zone, civil_at(date, minute)?)?;
        let length = SignedDuration::from_mins(i64::from(self.slot_minutes));
        let end = start.checked_add(length).ok()?;
        Some(Slot { start, end })
    }

    /// The real-time extent of a block on a date: from the first moment the clock reads its
    /// start to the last moment it reads its end.
    fn block_interval(&self, date: Date, block: &WorkingBlock) -> Option<Slot> {
        let civil = |time: ClockTime| civil_at(date, i64::from(time.minutes()));
        let start = boundary(&self.zone, civil(block.start)?, Edge::Start)?;
        let end = boundary(&self.zone, civil(block.end)?, Edge::End)?;
        Some(Slot { start, end })
    }
}

/// The first and last date of a slot query, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    /// Two `YYYY-MM-DD` dates, in order, at most [`MAX_RANGE_DAYS`] apart.
    pub fn parse(from: &str, to: &str) -> platform::Result<Self> {
        let mut v = Violations::default();
        let from = v.check("from", parse_date(from));
        let to = v.check("to", parse_date(to));
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                v.add("to", "must not be before from");
            } else if from
                .checked_add(MAX_RANGE_DAYS.days())
                .is_ok_and(|last| to > last)
            {
                v.add(
                    "to",
                    format!("must be at most {MAX_RANGE_DAYS} days after from"),
                );
            }
        }
        let range = from.zip(to).map(|(from, to)| Self { from, to });
        v.finish(range)
    }
}

/// The candidates that start after `now` and overlap nothing `taken` (time off, appointments).
pub fn free_slots(candidates: Vec<Slot>, now: Timestamp, taken: &[Slot]) -> Vec<Slot> {
    candidates
        .into_iter()
        .filter(|slot| slot.start > now)
        .filter(|slot| !taken.iter().any(|t| overlaps(*slot, *t)))
        .collect()
}

/// Whether two half-open intervals share any instant.
pub fn overlaps(a: Slot, b: Slot) -> bool {
    a.start < b.end && b.start < a.end
}

fn parse_date(raw: &str) -> Result<Date, String> {
    raw.trim()
        .parse()
        .map_err(|_| "must be a date in the form YYYY-MM-DD".to_owned())
}

/// Midnight of `date` plus `minute` minutes, in civil time (so minute 1440 is the next day).
fn civil_at(date: Date, minute: i64) -> Option<DateTime> {
    date.to_datetime(Time::midnight())
        .checked_add(SignedDuration::from_mins(minute))
        .ok()
}

/// The instant a civil time names: its first occurrence in a fold, none in a gap.
fn first_occurrence(zone: &TimeZone, civil: DateTime) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => {
            offset.to_timestamp(civil).ok()
        }
        AmbiguousOffset::Gap { .. } => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Start,
    End,
}

/// The instant of a block boundary. In a fold a start takes the first occurrence and an end
/// the second, so the block covers the repeated hour; in a gap both take the moment the clocks
/// jump, which is where the civil time would have been.
fn boundary(zone: &TimeZone, civil: DateTime, edge: Edge) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(civil).ok(),
        AmbiguousOffset::Fold { before, after } => match edge {
            Edge::Start => before.to_timestamp(civil).ok(),
            Edge::End => after.to_timestamp(civil).ok(),
        },
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the later offset the civil time lies just before the jump, so the next
            // transition of the zone is the jump itself.
            let probe = after.to_timestamp(civil).ok()?;
            zone.following(probe).next().map(|t| t.timestamp())
        }
    }
}

#[cfg(test)]
mod tests;
