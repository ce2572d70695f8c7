//! The counters' moves of a batch of events, summed per row and written as one multi-row
//! upsert per table, in key order.

use std::collections::BTreeMap;

use platform::db::insert_values;
use sqlx::{AnyConnection, Arguments};

/// What a batch adds to each counter row; rows it leaves unchanged are not written.
#[derive(Debug, Default)]
pub struct Counts {
    /// Per `(day, doctor_id, status, late)`.
    appointments: BTreeMap<(String, i64, String, i64), i64>,
    /// Per day: `(invoiced, paid)`.
    revenue: BTreeMap<String, (i64, i64)>,
    /// Per `(day, kind)`.
    once: BTreeMap<(String, &'static str), i64>,
}

impl Counts {
    pub fn appointment(&mut self, day: &str, doctor_id: i64, status: &str, late: i64, n: i64) {
        let key = (day.to_owned(), doctor_id, status.to_owned(), late);
        *self.appointments.entry(key).or_default() += n;
    }

    pub fn revenue(&mut self, day: &str, invoiced: i64, paid: i64) {
        let sums = self.revenue.entry(day.to_owned()).or_default();
        sums.0 += invoiced;
        sums.1 += paid;
    }

    pub fn once(&mut self, day: &str, kind: &'static str) {
        *self.once.entry((day.to_owned(), kind)).or_default() += 1;
    }

    pub async fn write(&self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        let slots: Vec<_> = self.appointments.iter().filter(|(_, n)| **n != 0).collect();
        insert_values(
            conn,
            (
                "INSERT INTO appointment_counts (day, doctor_id, status, late, n)",
                "ON CONFLICT (day, doctor_id, status, late) \
                 DO UPDATE SET n = appointment_counts.n + excluded.n",
            ),
            &slots,
            |args, ((day, doctor_id, status, late), n)| {
                args.add(day.as_str())?;
                args.add(*doctor_id)?;
                args.add(status.as_str())?;
                args.add(*late)?;
                args.add(**n)
            },
        )
        .await?;

        let mut daily = BTreeMap::<(&str, &str, i64), i64>::new();
        for ((day, _, status, late), n) in &slots {
            *daily.entry((day, status, *late)).or_default() += **n;
        }
        let daily: Vec<_> = daily.into_iter().filter(|(_, n)| *n != 0).collect();
        insert_values(
            conn,
            (
                "INSERT INTO daily_appointment_counts (day, status, late, n)",
                "ON CONFLICT (day, status, late) \
                 DO UPDATE SET n = daily_appointment_counts.n + excluded.n",
            ),
            &daily,
            |args, ((day, status, late), n)| {
                args.add(*day)?;
                args.add(*status)?;
                args.add(*late)?;
                args.add(*n)
            },
        )
        .await?;

        let revenue: Vec<_> = self
            .revenue
            .iter()
            .filter(|(_, sums)| **sums != (0, 0))
            .collect();
        insert_values(
            conn,
            (
                "INSERT INTO daily_revenue (day, invoiced, paid)",
                "ON CONFLICT (day) DO UPDATE SET \
                 invoiced = daily_revenue.invoiced + excluded.invoiced, \
                 paid = daily_revenue.paid + excluded.paid",
            ),
            &revenue,
            |args, (day, (invoiced, paid))| {
                args.add(day.as_str())?;
                args.add(*invoiced)?;
                args.add(*paid)
            },
        )
        .await?;

        let once: Vec<_> = self.once.iter().collect();
        insert_values(
            conn,
            (
                "INSERT INTO daily_counts (day, kind, n)",
                "ON CONFLICT (day, kind) DO UPDATE SET n = daily_counts.n + excluded.n",
            ),
            &once,
            |args, ((day, kind), n)| {
                args.add(day.as_str())?;
                args.add(*kind)?;
                args.add(**n)
            },
        )
        .await?;
        Ok(())
    }
}
