//! The figures the scenario must produce, computed from its own script alone.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{FEE, LATE_FEE};

/// What the script does with one appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Booked and left awaiting approval.
    Requested,
    Approved,
    Completed,
    /// Approved, then cancelled by the clinic (never late).
    CancelledInTime,
    /// Approved, then cancelled by its patient inside the window.
    CancelledLate,
    NoShow,
    Rejected,
    /// Cancelled by the clinic before any decision.
    Withdrawn,
    CompletedPaid,
    ApprovedPaid,
    NoShowFeePaid,
}

pub const OUTCOMES: [Outcome; 11] = [
    Outcome::Requested,
    Outcome::Approved,
    Outcome::Completed,
    Outcome::CancelledInTime,
    Outcome::CancelledLate,
    Outcome::NoShow,
    Outcome::Rejected,
    Outcome::Withdrawn,
    Outcome::CompletedPaid,
    Outcome::ApprovedPaid,
    Outcome::NoShowFeePaid,
];

impl Outcome {
    pub fn status(self) -> &'static str {
        use Outcome::*;
        match self {
            Requested => "REQUESTED",
            Approved | ApprovedPaid => "APPROVED",
            Completed | CompletedPaid => "COMPLETED",
            CancelledInTime | CancelledLate | Withdrawn => "CANCELLED",
            NoShow | NoShowFeePaid => "NO_SHOW",
            Rejected => "REJECTED",
        }
    }

    pub fn is_approved_first(self) -> bool {
        !matches!(
            self,
            Outcome::Requested | Outcome::Rejected | Outcome::Withdrawn
        )
    }

    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Outcome::CompletedPaid | Outcome::ApprovedPaid | Outcome::NoShowFeePaid
        )
    }

    /// The invoice's final amount unless void: the visit, or the fee of a miss.
    pub fn invoiced(self) -> i64 {
        use Outcome::*;
        match self {
            Approved | Completed | CompletedPaid | ApprovedPaid => FEE,
            CancelledLate | NoShow | NoShowFeePaid => LATE_FEE,
            Requested | Rejected | Withdrawn | CancelledInTime => 0,
        }
    }

    /// Whether the miss left a fee invoice.
    pub fn is_fee(self) -> bool {
        matches!(
            self,
            Outcome::CancelledLate | Outcome::NoShow | Outcome::NoShowFeePaid
        )
    }
}

/// One scripted appointment, as the test knows it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: i64,
    /// Clinic-local day of its start, `YYYY-MM-DD`.
    pub day: String,
    pub doctor_id: i64,
    /// The doctor's place in the script (which speciality they have).
    pub doctor_index: usize,
    pub outcome: Outcome,
    /// Which registered patient holds it (the ones that cancel themselves).
    pub registered: Option<usize>,
}

/// Counts of one bucket, as the API answers them.
#[derive(Debug, Default, Clone)]
struct Bucket(BTreeMap<&'static str, i64>);

impl Bucket {
    fn add(&mut self, outcome: Outcome) {
        *self.0.entry(outcome.status()).or_default() += 1;
        if outcome == Outcome::CancelledLate {
            *self.0.entry("LATE").or_default() += 1;
        }
    }

    fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    fn total(&self) -> i64 {
        self.0
            .iter()
            .filter(|(k, _)| **k != "LATE")
            .map(|(_, n)| n)
            .sum()
    }

    fn group(&self, key: String) -> Value {
        json!({
            "key": key,
            "total": self.total(),
            "approved": self.get("APPROVED"),
            "cancelled": self.get("CANCELLED"),
            "noShow": self.get("NO_SHOW"),
            "requested": self.get("REQUESTED"),
            "rejected": self.get("REJECTED"),
            "completed": self.get("COMPLETED"),
            "lateCancelled": self.get("LATE"),
        })
    }
}

fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `GET /api/analytics/summary` over the appointments `in_range`, with the revenue and
/// registrations the range holds.
pub fn summary(in_range: &[&Planned], revenue: (i64, i64), counts: (i64, i64)) -> Value {
    let mut bucket = Bucket::default();
    in_range.iter().for_each(|p| bucket.add(p.outcome));
    let total = bucket.total();
    let by_status: BTreeMap<&str, i64> = [
        "REQUESTED",
        "APPROVED",
        "REJECTED",
        "CANCELLED",
        "COMPLETED",
        "NO_SHOW",
    ]
    .into_iter()
    .map(|s| (s, bucket.get(s)))
    .collect();
    json!({
        "appointments": {"total": total, "byStatus": by_status},
        "cancellationRate": rate(bucket.get("CANCELLED"), total),
        "noShowRate": rate(bucket.get("NO_SHOW"), total),
        "lateCancellationRate": rate(bucket.get("LATE"), total),
        "revenue": {"invoiced": revenue.0, "paid": revenue.1},
        "newPatients": counts.0,
        "medicalRecords": counts.1,
    })
}

/// The revenue of the whole script: `(invoiced, paid)`.
pub fn revenue(plan: &[Planned]) -> (i64, i64) {
    let invoiced = plan.iter().map(|p| p.outcome.invoiced()).sum();
    let paid = plan
        .iter()
        .filter(|p| p.outcome.is_paid())
        .map(|p| p.outcome.invoiced())
        .sum();
    (invoiced, paid)
}

/// `GET /api/analytics/appointments` with buckets keyed by `key` (a sortable key and the
/// key the API shows).
pub fn groups<K: Ord>(plan: &[Planned], key: impl Fn(&Planned) -> (K, String)) -> Value {
    let mut buckets: BTreeMap<K, (String, Bucket)> = BTreeMap::new();
    for planned in plan {
        let (sort, shown) = key(planned);
        let entry = buckets
            .entry(sort)
            .or_insert_with(|| (shown, Bucket::default()));
        entry.1.add(planned.outcome);
    }
    Value::Array(
        buckets
            .into_values()
            .map(|(shown, bucket)| bucket.group(shown))
            .collect(),
    )
}
