//! The analytics service's read models, in portable SQL: written by [`facts`] from events,
//! read here. Reads sum pre-aggregated daily rows, never one row per appointment.

use std::collections::BTreeMap;

use contracts::analytics::{AppointmentFigures, AppointmentGroup, Revenue, Summary};
use contracts::appointments::AppointmentStatus;
use platform::db::Db;
use sqlx::AnyConnection;

use crate::policy::MayReadFigures;
use crate::query::{DayRange, GroupBy};

mod counts;
pub mod facts;
pub mod seeding;

/// The bucket of appointments whose doctor's speciality is not known (yet).
pub const UNKNOWN_SPECIALITY: &str = "(unknown)";

/// Every table of the read models, emptied by a rebuild.
pub const TABLES: [&str; 8] = [
    "appointment_facts",
    "appointment_counts",
    "daily_appointment_counts",
    "doctor_specialities",
    "invoice_facts",
    "daily_revenue",
    "counted_once",
    "daily_counts",
];

/// `sql` locking the rows it reads until the transaction ends, on PostgreSQL (several
/// consumers); SQLite runs one writer at a time.
pub(crate) fn locked(conn: &AnyConnection, sql: &str) -> String {
    if conn.backend_name() == "PostgreSQL" {
        format!("{sql} FOR UPDATE")
    } else {
        sql.to_owned()
    }
}

#[derive(Debug, Clone)]
pub struct FiguresStore {
    db: Db,
}

/// Counted appointments of one bucket: `(status, late, n)` rows folded together.
#[derive(Debug, Default)]
struct Tally(BTreeMap<(String, bool), i64>);

impl Tally {
    fn add(&mut self, status: String, late: i64, n: i64) {
        *self.0.entry((status, late != 0)).or_default() += n;
    }

    fn of(&self, status: AppointmentStatus) -> i64 {
        self.0
            .iter()
            .filter(|((s, _), _)| s == status.as_str())
            .map(|(_, n)| n)
            .sum()
    }

    fn late(&self) -> i64 {
        self.0
            .iter()
            .filter(|((s, late), _)| *late && s == AppointmentStatus::Cancelled.as_str())
            .map(|(_, n)| n)
            .sum()
    }

    fn total(&self) -> i64 {
        self.0.values().sum()
    }

    fn group(&self, key: String) -> AppointmentGroup {
        use AppointmentStatus::*;
        AppointmentGroup {
            key,
            total: self.total(),
            approved: self.of(Approved),
            cancelled: self.of(Cancelled),
            no_show: self.of(NoShow),
            requested: self.of(Requested),
            rejected: self.of(Rejected),
            completed: self.of(Completed),
            late_cancelled: self.late(),
        }
    }
}

/// `part / whole`, 0 when there is nothing to divide.
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl FiguresStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn summary(
        &self,
        _proof: MayReadFigures,
        range: DayRange,
    ) -> anyhow::Result<Summary> {
        let (from, to) = range.bounds();
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, late, CAST(SUM(n) AS BIGINT) FROM daily_appointment_counts \
             WHERE day >= $1 AND day <= $2 GROUP BY status, late",
        )
        .bind(&from)
        .bind(&to)
        .fetch_all(self.db.pool())
        .await?;
        let mut tally = Tally::default();
        for (status, late, n) in rows {
            tally.add(status, late, n);
        }
        let (invoiced, paid): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(invoiced), 0) AS BIGINT), \
             CAST(COALESCE(SUM(paid), 0) AS BIGINT) FROM daily_revenue \
             WHERE day >= $1 AND day <= $2",
        )
        .bind(&from)
        .bind(&to)
        .fetch_one(self.db.pool())
        .await?;
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT kind, CAST(SUM(n) AS BIGINT) FROM daily_counts \
             WHERE day >= $1 AND day <= $2 GROUP BY kind",
        )
        .bind(&from)
        .bind(&to)
        .fetch_all(self.db.pool())
        .await?;
        let count = |kind: facts::Once| {
            counts
                .iter()
                .find(|(k, _)| k == kind.kind())
                .map_or(0, |(_, n)| *n)
        };
        let total = tally.total();
        let by_status = AppointmentStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), tally.of(*s)))
            .collect();
        Ok(Summary {
            appointments: AppointmentFigures { total, by_status },
            cancellation_rate: rate(tally.of(AppointmentStatus::Cancelled), total),
            no_show_rate: rate(tally.of(AppointmentStatus::NoShow), total),
            late_cancellation_rate: rate(tally.late(), total),
            revenue: Revenue { invoiced, paid },
            new_patients: count(facts::Once::PatientRegistered),
            medical_records: count(facts::Once::RecordAdded),
        })
    }

    /// Buckets with at least one appointment, in key order (days and doctor ids ascending,
    /// specialities alphabetically).
    pub async fn groups(
        &self,
        _proof: MayReadFigures,
        group_by: GroupBy,
        range: DayRange,
    ) -> anyhow::Result<Vec<AppointmentGroup>> {
        let (from, to) = range.bounds();
        let sql = match group_by {
            GroupBy::Day => {
                "SELECT day, CAST(0 AS BIGINT), status, late, CAST(SUM(n) AS BIGINT) \
                 FROM daily_appointment_counts WHERE day >= $1 AND day <= $2 \
                 GROUP BY day, status, late"
            }
            GroupBy::Doctor => {
                "SELECT CAST('' AS TEXT), doctor_id, status, late, CAST(SUM(n) AS BIGINT) \
                 FROM appointment_counts WHERE day >= $1 AND day <= $2 \
                 GROUP BY doctor_id, status, late"
            }
            // Joined when read, so a speciality learned after the appointments still counts them.
            GroupBy::Speciality => {
                "SELECT COALESCE(d.speciality, ''), CAST(0 AS BIGINT), c.status, c.late, \
                 CAST(SUM(c.n) AS BIGINT) FROM appointment_counts c \
                 LEFT JOIN doctor_specialities d ON d.doctor_id = c.doctor_id \
                 WHERE c.day >= $1 AND c.day <= $2 \
                 GROUP BY COALESCE(d.speciality, ''), c.status, c.late"
            }
        };
        let rows: Vec<(String, i64, String, i64, i64)> = sqlx::query_as(sql)
            .bind(&from)
            .bind(&to)
            .fetch_all(self.db.pool())
            .await?;
        // Sort keys: doctors by id, the rest by their text.
        let mut buckets: BTreeMap<(i64, String), Tally> = BTreeMap::new();
        for (key, doctor_id, status, late, n) in rows {
            let sort = match group_by {
                GroupBy::Doctor => (doctor_id, doctor_id.to_string()),
                _ => (0, key),
            };
            buckets.entry(sort).or_default().add(status, late, n);
        }
        Ok(buckets
            .into_iter()
            .filter(|(_, tally)| tally.total() > 0)
            .map(|((_, key), tally)| {
                let key = match (group_by, key.is_empty()) {
                    (GroupBy::Speciality, true) => UNKNOWN_SPECIALITY.to_owned(),
                    (_, _) => key,
                };
                tally.group(key)
            })
            .collect())
    }
}
