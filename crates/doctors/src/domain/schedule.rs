//! Weekly working hours: what a valid schedule is, and the hours of a doctor who has none.

use std::fmt;

use contracts::doctors::{Schedule, Weekday as WireDay, WorkingHours};
use jiff::civil::Weekday;
use platform::validation::Violations;

pub const DEFAULT_SLOT_MINUTES: u32 = 30;
pub const MAX_BLOCKS: usize = 50;
const MIN_SLOT_MINUTES: u32 = platform::values::MIN_VISIT_MINUTES;
const MAX_SLOT_MINUTES: u32 = platform::values::MAX_SLOT_MINUTES;
const END_OF_DAY: u16 = 24 * 60;

/// A wall-clock time of day as minutes since midnight; `24:00` (1440) is allowed as an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(u16);

impl ClockTime {
    /// Parses `HH:MM`, from `00:00` to `24:00`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || "must be a time of day in the form HH:MM".to_owned();
        let (hours, minutes) = raw.trim().split_once(':').ok_or_else(invalid)?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hours) || !two_digits(minutes) {
            return Err(invalid());
        }
        let (hours, minutes): (u16, u16) = (
            hours.parse().map_err(|_| invalid())?,
            minutes.parse().map_err(|_| invalid())?,
        );
        if minutes > 59 || hours * 60 + minutes > END_OF_DAY {
            return Err("must be between 00:00 and 24:00".to_owned());
        }
        Ok(Self(hours * 60 + minutes))
    }

    /// A stored value; `None` when out of range (never written by this service).
    pub fn from_minutes(minutes: i64) -> Option<Self> {
        u16::try_from(minutes)
            .ok()
            .filter(|m| *m <= END_OF_DAY)
            .map(Self)
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// One block of working hours on a weekday, `[start, end)` in the doctor's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingBlock {
    pub day: Weekday,
    pub start: ClockTime,
    pub end: ClockTime,
}

/// A week of working hours, ordered by day and start; blocks of one day never overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours(Vec<WorkingBlock>);

impl WeeklyHours {
    /// The hours of a doctor without a stored schedule: Monday to Friday, 09:00 to 17:00.
    pub fn standard() -> Self {
        let (start, end) = (ClockTime(9 * 60), ClockTime(17 * 60));
        let weekdays = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ];
        Self(
            weekdays
                .into_iter()
                .map(|day| WorkingBlock { day, start, end })
                .collect(),
        )
    }

    /// Blocks already known to be valid (read back from storage), put in order.
    pub fn from_blocks(mut blocks: Vec<WorkingBlock>) -> Self {
        blocks.sort_by_key(|b| (b.day.to_monday_one_offset(), b.start));
        Self(blocks)
    }

    pub fn blocks(&self) -> &[WorkingBlock] {
        &self.0
    }

    /// The blocks of one weekday, earliest first.
    pub fn on(&self, day: Weekday) -> impl Iterator<Item = &WorkingBlock> {
        self.0.iter().filter(move |b| b.day == day)
    }

    pub fn to_wire(&self) -> Vec<WorkingHours> {
        self.0
            .iter()
            .map(|b| WorkingHours {
                day: to_wire_day(b.day),
                start: b.start.to_string(),
                end: b.end.to_string(),
            })
            .collect()
    }
}

/// A validated `PUT /api/doctors/{id}/schedule` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleUpdate {
    pub slot_minutes: u32,
    pub hours: WeeklyHours,
}

impl ScheduleUpdate {
    /// Checks the slot length and every block, and reports all failures at once.
    pub fn parse(input: Schedule) -> platform::Result<Self> {
        let mut v = Violations::default();
        let slot_minutes = v.check("slotMinutes", parse_slot_minutes(input.slot_minutes));
        if input.weekly.len() > MAX_BLOCKS {
            v.add("weekly", format!("must have at most {MAX_BLOCKS} blocks"));
            return v.finish(None);
        }
        let blocks: Vec<_> = input
            .weekly
            .iter()
            .enumerate()
            .filter_map(|(i, hours)| parse_block(i, hours, &mut v).map(|b| (i, b)))
            .collect();
        report_overlaps(&blocks, &mut v);
        let update = slot_minutes.map(|slot_minutes| Self {
            slot_minutes,
            hours: WeeklyHours::from_blocks(blocks.into_iter().map(|(_, b)| b).collect()),
        });
        v.finish(update)
    }

    pub fn to_wire(&self) -> Schedule {
        Schedule {
            slot_minutes: self.slot_minutes,
            weekly: self.hours.to_wire(),
        }
    }
}

/// A slot length: 5 to 240 minutes.
pub fn parse_slot_minutes(minutes: u32) -> Result<u32, String> {
    if (MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!(
            "must be between {MIN_SLOT_MINUTES} and {MAX_SLOT_MINUTES} minutes"
        ))
    }
}

fn parse_block(i: usize, hours: &WorkingHours, v: &mut Violations) -> Option<WorkingBlock> {
    let start = v.check(
        &format!("weekly[{i}].start"),
        ClockTime::parse(&hours.start),
    );
    let end = v.check(&format!("weekly[{i}].end"), ClockTime::parse(&hours.end));
    let (start, end) = (start?, end?);
    if start >= end {
        v.add(&format!("weekly[{i}].end"), "must be after start");
        return None;
    }
    Some(WorkingBlock {
        day: from_wire_day(hours.day),
        start,
        end,
    })
}

/// Names every block that overlaps an earlier-starting block of the same day.
fn report_overlaps(blocks: &[(usize, WorkingBlock)], v: &mut Violations) {
    let mut ordered: Vec<_> = blocks.iter().collect();
    ordered.sort_by_key(|(i, b)| (b.day.to_monday_one_offset(), b.start, *i));
    // The block reaching furthest so far this day: a later-starting block that begins before
    // its end overlaps it, even when blocks in between do not.
    let mut reach: Option<&(usize, WorkingBlock)> = None;
    for current in ordered {
        let (i, block) = current;
        match reach {
            Some((j, far)) if far.day == block.day && block.start < far.end => {
                v.add(&format!("weekly[{i}]"), format!("overlaps weekly[{j}]"));
                if block.end > far.end {
                    reach = Some(current);
                }
            }
            _ => reach = Some(current),
        }
    }
}

pub fn from_wire_day(day: WireDay) -> Weekday {
    match day {
        WireDay::Monday => Weekday::Monday,
        WireDay::Tuesday => Weekday::Tuesday,
        WireDay::Wednesday => Weekday::Wednesday,
        WireDay::Thursday => Weekday::Thursday,
        WireDay::Friday => Weekday::Friday,
        WireDay::Saturday => Weekday::Saturday,
        WireDay::Sunday => Weekday::Sunday,
    }
}

pub fn to_wire_day(day: Weekday) -> WireDay {
    match day {
        Weekday::Monday => WireDay::Monday,
        Weekday::Tuesday => WireDay::Tuesday,
        Weekday::Wednesday => WireDay::Wednesday,
        Weekday::Thursday => WireDay::Thursday,
        Weekday::Friday => WireDay::Friday,
        Weekday::Saturday => WireDay::Saturday,
        Weekday::Sunday => WireDay::Sunday,
    }
}

#[cfg(test)]
mod tests;
