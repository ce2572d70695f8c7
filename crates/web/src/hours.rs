//! The weekly hours form: one fieldset a day, each with the stored blocks and one empty block
//! more (a second block after lunch, say). Its fields are named by day and block
//! (`start-MONDAY-0`), and each API complaint about `weekly[i]` goes back to the block that
//! became entry `i` of the body.

use serde::Serialize;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::schedule::capitalized;

const DAYS: [(&str, &str); 7] = [
    ("MONDAY", "Monday"),
    ("TUESDAY", "Tuesday"),
    ("WEDNESDAY", "Wednesday"),
    ("THURSDAY", "Thursday"),
    ("FRIDAY", "Friday"),
    ("SATURDAY", "Saturday"),
    ("SUNDAY", "Sunday"),
];

/// The hours form as shown: as stored, or as typed with each block's complaint.
#[derive(Debug, Serialize)]
pub struct HoursForm {
    slot_minutes: String,
    slot_error: Option<String>,
    days: Vec<Day>,
}

#[derive(Debug, Serialize)]
struct Day {
    label: &'static str,
    blocks: Vec<Block>,
}

#[derive(Debug, Default, Serialize)]
struct Block {
    /// `MONDAY-0`: the block's fields are `start-<key>` and `end-<key>`.
    key: String,
    start: String,
    end: String,
    error: Option<String>,
}

impl HoursForm {
    /// The form of a stored schedule (`GET /api/doctors/{id}/schedule`).
    pub fn stored(schedule: &Value) -> Option<Self> {
        let slot_minutes = schedule["slotMinutes"].as_u64()?;
        let weekly = schedule["weekly"].as_array()?;
        let days = DAYS
            .iter()
            .map(|(day, label)| {
                let mut blocks: Vec<Block> = weekly
                    .iter()
                    .filter(|b| b["day"] == *day)
                    .enumerate()
                    .map(|(n, b)| Block {
                        key: format!("{day}-{n}"),
                        start: b["start"].as_str().unwrap_or_default().to_owned(),
                        end: b["end"].as_str().unwrap_or_default().to_owned(),
                        error: None,
                    })
                    .collect();
                blocks.push(Block {
                    key: format!("{day}-{}", blocks.len()),
                    ..Block::default()
                });
                Day { label, blocks }
            })
            .collect();
        Some(Self {
            slot_minutes: slot_minutes.to_string(),
            slot_error: None,
            days,
        })
    }

    /// The form as it was sent.
    pub fn typed(pairs: &[(String, String)]) -> Self {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let days = DAYS
            .iter()
            .map(|(day, label)| {
                let prefix = format!("start-{day}-");
                let mut numbers: Vec<u32> = pairs
                    .iter()
                    .filter_map(|(k, _)| k.strip_prefix(&prefix)?.parse().ok())
                    .collect();
                numbers.sort_unstable();
                numbers.dedup();
                let mut blocks: Vec<Block> = numbers
                    .into_iter()
                    .map(|n| {
                        let key = format!("{day}-{n}");
                        Block {
                            start: value(&format!("start-{key}")),
                            end: value(&format!("end-{key}")),
                            key,
                            error: None,
                        }
                    })
                    .collect();
                // A day the form did not send is a day off, shown with a block to fill in.
                if blocks.is_empty() {
                    blocks.push(Block {
                        key: format!("{day}-0"),
                        ..Block::default()
                    });
                }
                Day { label, blocks }
            })
            .collect();
        Self {
            slot_minutes: value("slotMinutes"),
            slot_error: None,
            days,
        }
    }

    /// The `PUT /api/doctors/{id}/schedule` body and, for each of its `weekly` entries, the key
    /// of the block it came from; `None` (with the complaints marked) when the form is
    /// incomplete. Blocks left empty are days or hours off.
    pub fn request_body(&mut self) -> Option<(Value, Vec<String>)> {
        let slot_minutes: Option<u32> = self.slot_minutes.parse().ok();
        if slot_minutes.is_none() {
            self.slot_error = Some("Enter the length of a visit in minutes.".to_owned());
        }
        let mut weekly = Vec::new();
        let mut keys = Vec::new();
        let mut complete = true;
        for ((day, _), form_day) in DAYS.iter().zip(&mut self.days) {
            for block in &mut form_day.blocks {
                match (block.start.is_empty(), block.end.is_empty()) {
                    (true, true) => {}
                    (false, false) => {
                        weekly.push(json!({"day": day, "start": block.start, "end": block.end}));
                        keys.push(block.key.clone());
                    }
                    _ => {
                        block.error =
                            Some("Enter both the start and the end, or neither.".to_owned());
                        complete = false;
                    }
                }
            }
        }
        let body = json!({"slotMinutes": slot_minutes?, "weekly": weekly});
        complete.then_some((body, keys))
    }

    /// Puts the API's complaints beside the blocks they concern; the words for the top of the
    /// page.
    pub fn mark(&mut self, err: &ApiError, keys: &[String]) -> String {
        let mut unplaced = Vec::new();
        for (field, message) in err.field_messages() {
            if field == "slotMinutes" {
                self.slot_error = Some(capitalized(message));
                continue;
            }
            let placed = block_of(field, keys).and_then(|(key, part)| {
                let block = self
                    .days
                    .iter_mut()
                    .flat_map(|d| d.blocks.iter_mut())
                    .find(|b| b.key == key)?;
                block.error = Some(match part {
                    "start" => format!("The start {message}."),
                    "end" => format!("The end {message}."),
                    // `weekly[2]`: "overlaps weekly[0]".
                    _ => "It overlaps another block of the same day.".to_owned(),
                });
                Some(())
            });
            if placed.is_none() {
                unplaced.push(capitalized(message));
            }
        }
        if unplaced.is_empty() && !err.field_messages().is_empty() {
            "Please correct the hours marked below.".to_owned()
        } else if unplaced.is_empty() {
            err.message()
        } else {
            unplaced.join(" ")
        }
    }
}

/// `weekly[3].end` → (the key of entry 3, "end"); `weekly[3]` → (…, "").
fn block_of<'k>(field: &str, keys: &'k [String]) -> Option<(&'k str, &'static str)> {
    let rest = field.strip_prefix("weekly[")?;
    let (index, part) = rest.split_once(']')?;
    let key = keys.get(index.parse::<usize>().ok()?)?;
    let part = match part {
        ".start" => "start",
        ".end" => "end",
        _ => "",
    };
    Some((key, part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn typed_blocks_become_the_body_and_empty_ones_days_off() {
        let mut form = HoursForm::typed(&pairs(&[
            ("slotMinutes", "20"),
            ("start-MONDAY-0", "08:00"),
            ("end-MONDAY-0", "12:00"),
            ("start-MONDAY-1", "13:00"),
            ("end-MONDAY-1", "16:00"),
            ("start-TUESDAY-0", ""),
            ("end-TUESDAY-0", ""),
        ]));
        let (body, keys) = form.request_body().unwrap();
        assert_eq!(body["slotMinutes"], 20);
        assert_eq!(body["weekly"].as_array().unwrap().len(), 2);
        assert_eq!(body["weekly"][1]["start"], "13:00");
        assert_eq!(keys, ["MONDAY-0", "MONDAY-1"]);
    }

    #[test]
    fn a_half_typed_block_is_marked_and_nothing_sent() {
        let mut form = HoursForm::typed(&pairs(&[
            ("slotMinutes", "30"),
            ("start-FRIDAY-0", "09:00"),
            ("end-FRIDAY-0", ""),
        ]));
        assert!(form.request_body().is_none());
        assert!(form.days[4].blocks[0].error.is_some());
    }

    #[test]
    fn api_complaints_go_to_the_block_they_name() {
        let keys = vec!["MONDAY-0".to_owned(), "WEDNESDAY-1".to_owned()];
        assert_eq!(
            block_of("weekly[1].end", &keys),
            Some(("WEDNESDAY-1", "end"))
        );
        assert_eq!(block_of("weekly[0]", &keys), Some(("MONDAY-0", "")));
        assert_eq!(block_of("weekly[2].end", &keys), None);
        assert_eq!(block_of("slotMinutes", &keys), None);
    }

    #[test]
    fn a_stored_schedule_has_one_empty_block_more_a_day() {
        let stored = json!({"slotMinutes": 30, "weekly": [
            {"day": "MONDAY", "start": "09:00", "end": "17:00"}
        ]});
        let form = HoursForm::stored(&stored).unwrap();
        assert_eq!(form.days[0].blocks.len(), 2);
        assert_eq!(form.days[0].blocks[1].key, "MONDAY-1");
        assert_eq!(form.days[6].blocks.len(), 1);
    }
}
