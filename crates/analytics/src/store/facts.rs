//! Events into read models, inside the consumer's transaction. Every fact keeps its newest
//! applied version and what it contributes to the counters: a newer version moves the counts
//! (the old contribution out, the new one in), an older one is ignored, and the same state
//! applied twice adds nothing. So the figures do not depend on the order or the number of
//! deliveries, which also makes a replay of the whole history safe beside live consumers.
//!
//! A batch of events is gathered first ([`Changes`]): the newest state of each fact and the
//! sum of the counters' moves. It is then written in a few statements per table, the facts
//! before the counters and every table's rows in key order, so consumers writing at the same
//! time take their row locks in one order and cannot deadlock.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use contracts::appointments::AppointmentStatus;
use contracts::billing::PaymentStatus;
use contracts::events::{AppointmentChanged, DoctorChanged, InvoiceChanged};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use platform::db::insert_values;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::{AnyConnection, Arguments, Row};

use crate::store::counts::Counts;
use crate::store::locked;

/// The clinic-local day of an instant, as the tables store it.
pub fn day_of(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).date().to_string()
}

/// What a batch of events changes in the read models, gathered before anything is written.
#[derive(Debug, Default)]
pub struct Changes {
    appointments: Newest<Slot>,
    invoices: Newest<Takings>,
    /// Per doctor: the newest version that carried a speciality, and the speciality.
    specialities: BTreeMap<i64, (i64, String)>,
    /// Per kind and entity: the day it happened.
    once: BTreeMap<(Once, i64), String>,
}

/// The newest state of each entity of a batch, by id, with its version. Of two states with one
/// version the later wins, as it would one event at a time.
type Newest<F> = BTreeMap<i64, (i64, F)>;

fn keep_newest<F>(newest: &mut Newest<F>, id: i64, version: i64, state: F) {
    match newest.entry(id) {
        Entry::Vacant(entry) => {
            entry.insert((version, state));
        }
        Entry::Occupied(mut entry) if entry.get().0 <= version => {
            entry.insert((version, state));
        }
        Entry::Occupied(_) => {}
    }
}

impl Changes {
    pub fn appointment(&mut self, changed: &AppointmentChanged, zone: &TimeZone) {
        let slot = Slot::of(changed, zone);
        keep_newest(
            &mut self.appointments,
            changed.appointment_id,
            changed.version,
            slot,
        );
    }

    pub fn invoice(&mut self, changed: &InvoiceChanged, occurred_at: Timestamp, zone: &TimeZone) {
        let takings = Takings::of(changed, occurred_at, zone);
        keep_newest(
            &mut self.invoices,
            changed.invoice_id,
            changed.version,
            takings,
        );
    }

    /// Keeps the doctor's speciality from the newest event that carries one.
    pub fn doctor(&mut self, changed: &DoctorChanged) {
        if let Some(speciality) = changed.speciality.as_deref() {
            let speciality = speciality.trim().to_owned();
            keep_newest(
                &mut self.specialities,
                changed.doctor_id,
                changed.version,
                speciality,
            );
        }
    }

    /// Counts `entity_id` of `once` on `day` unless it was counted already.
    pub fn once(&mut self, once: Once, entity_id: i64, day: String) {
        self.once.entry((once, entity_id)).or_insert(day);
    }

    /// Writes the batch: facts first (invoices, specialities, things counted once,
    /// appointments), then the counters they moved.
    pub async fn write(&self, conn: &mut AnyConnection) -> anyhow::Result<()> {
        let mut counts = Counts::default();
        write_facts(conn, &self.invoices, &mut counts).await?;
        write_specialities(conn, &self.specialities).await?;
        write_once(conn, &self.once, &mut counts).await?;
        write_facts(conn, &self.appointments, &mut counts).await?;
        counts.write(conn).await?;
        Ok(())
    }
}

/// A fact kept per entity: the newest version applied and its state.
trait Fact: PartialEq + Sized {
    /// Its table, the key column, and the state's columns (after the key and `version`).
    const TABLE: &'static str;
    const KEY: &'static str;
    const COLUMNS: &'static str;

    fn bind(&self, args: &mut AnyArguments) -> Result<(), BoxDynError>;

    /// The state of a row of `KEY, version, COLUMNS`.
    fn read(row: &AnyRow) -> sqlx::Result<Self>;

    /// Adds what the fact contributes to the counters, `sign` times.
    fn count(&self, sign: i64, counts: &mut Counts);
}

/// Where one appointment counts: its day, doctor, status, and whether it was cancelled late.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    day: String,
    doctor_id: i64,
    status: String,
    late: i64,
}

impl Slot {
    fn of(changed: &AppointmentChanged, zone: &TimeZone) -> Self {
        let late = changed.status == AppointmentStatus::Cancelled
            && changed.late_cancellation == Some(true);
        Self {
            day: day_of(changed.start, zone),
            doctor_id: changed.doctor_id,
            status: changed.status.as_str().to_owned(),
            late: i64::from(late),
        }
    }
}

impl Fact for Slot {
    const TABLE: &'static str = "appointment_facts";
    const KEY: &'static str = "appointment_id";
    const COLUMNS: &'static str = "day, doctor_id, status, late";

    fn bind(&self, args: &mut AnyArguments) -> Result<(), BoxDynError> {
        args.add(self.day.as_str())?;
        args.add(self.doctor_id)?;
        args.add(self.status.as_str())?;
        args.add(self.late)
    }

    fn read(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            day: row.try_get(2)?,
            doctor_id: row.try_get(3)?,
            status: row.try_get(4)?,
            late: row.try_get(5)?,
        })
    }

    fn count(&self, sign: i64, counts: &mut Counts) {
        counts.appointment(&self.day, self.doctor_id, &self.status, self.late, sign);
    }
}

/// What one invoice adds to revenue: its amount on the day it was created unless void, and on
/// the day it was paid once paid.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Takings {
    invoiced_day: String,
    invoiced: i64,
    paid_day: Option<String>,
    paid: i64,
}

impl Takings {
    fn of(changed: &InvoiceChanged, occurred_at: Timestamp, zone: &TimeZone) -> Self {
        let invoiced = match changed.payment_status {
            PaymentStatus::Void => 0,
            PaymentStatus::Pending | PaymentStatus::Paid => changed.amount,
        };
        let paid_day = (changed.payment_status == PaymentStatus::Paid)
            .then(|| day_of(changed.paid_at.unwrap_or(occurred_at), zone));
        Self {
            invoiced_day: day_of(changed.created_at.unwrap_or(occurred_at), zone),
            invoiced,
            paid: if paid_day.is_some() {
                changed.amount
            } else {
                0
            },
            paid_day,
        }
    }
}

impl Fact for Takings {
    const TABLE: &'static str = "invoice_facts";
    const KEY: &'static str = "invoice_id";
    const COLUMNS: &'static str = "invoiced_day, invoiced, paid_day, paid";

    fn bind(&self, args: &mut AnyArguments) -> Result<(), BoxDynError> {
        args.add(self.invoiced_day.as_str())?;
        args.add(self.invoiced)?;
        args.add(self.paid_day.as_deref())?;
        args.add(self.paid)
    }

    fn read(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            invoiced_day: row.try_get(2)?,
            invoiced: row.try_get(3)?,
            paid_day: row.try_get(4)?,
            paid: row.try_get(5)?,
        })
    }

    fn count(&self, sign: i64, counts: &mut Counts) {
        counts.revenue(&self.invoiced_day, sign * self.invoiced, 0);
        if let Some(day) = &self.paid_day {
            counts.revenue(day, 0, sign * self.paid);
        }
    }
}

/// Applies the newest state of each fact unless a newer one of it was applied already: new
/// facts are inserted, the others read (and locked) and updated, and the counters move by what
/// changed.
async fn write_facts<F: Fact>(
    conn: &mut AnyConnection,
    newest: &Newest<F>,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    if newest.is_empty() {
        return Ok(());
    }
    let (table, key, columns) = (F::TABLE, F::KEY, F::COLUMNS);
    let bind = |args: &mut AnyArguments, (id, (version, state)): &(&i64, &(i64, F))| {
        args.add(**id)?;
        args.add(*version)?;
        state.bind(args)
    };
    let facts: Vec<_> = newest.iter().collect();
    let head = format!("INSERT INTO {table} ({key}, version, {columns})");
    let tail = format!("ON CONFLICT ({key}) DO NOTHING RETURNING {key}");
    let inserted = insert_values(conn, (&head, &tail), &facts, bind).await?;
    let inserted: BTreeSet<i64> = inserted
        .iter()
        .map(|row| row.try_get(0))
        .collect::<sqlx::Result<_>>()?;

    let mut known = Vec::new();
    for (id, (_, state)) in newest {
        if inserted.contains(id) {
            state.count(1, counts);
        } else {
            known.push(*id);
        }
    }
    let mut changed = Vec::new();
    for stored in read_locked::<F>(conn, &known).await? {
        let (id, version, old) = stored;
        let Some(new) = newest.get_key_value(&id) else {
            anyhow::bail!("{table} returned {key} {id}, which was not asked for");
        };
        let (new_version, new_state) = new.1;
        if version > *new_version || old == *new_state {
            continue;
        }
        old.count(-1, counts);
        new_state.count(1, counts);
        changed.push(new);
    }
    let tail = format!(
        "ON CONFLICT ({key}) DO UPDATE SET version = excluded.version, {}",
        columns
            .split(", ")
            .map(|column| format!("{column} = excluded.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    insert_values(conn, (&head, &tail), &changed, bind).await?;
    Ok(())
}

/// The stored `(id, version, state)` of facts `ids`, locked until the transaction ends. Every
/// one must exist: they all conflicted with an insert just now.
async fn read_locked<F: Fact>(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> anyhow::Result<Vec<(i64, i64, F)>> {
    let (table, key, columns) = (F::TABLE, F::KEY, F::COLUMNS);
    let mut stored = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(platform::db::ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = locked(
            conn,
            &format!(
                "SELECT {key}, version, {columns} FROM {table} WHERE {key} IN ({}) \
                 ORDER BY {key}",
                placeholders.join(", ")
            ),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            stored.push((row.try_get(0)?, row.try_get(1)?, F::read(&row)?));
        }
    }
    // A fact deleted meanwhile (a rebuild's) is an error: the batch is retried.
    anyhow::ensure!(
        stored.len() == ids.len(),
        "{} of {} {table} rows vanished while applying a batch",
        ids.len() - stored.len(),
        ids.len()
    );
    Ok(stored)
}

async fn write_specialities(
    conn: &mut AnyConnection,
    specialities: &BTreeMap<i64, (i64, String)>,
) -> anyhow::Result<()> {
    let rows: Vec<_> = specialities.iter().collect();
    insert_values(
        conn,
        (
            "INSERT INTO doctor_specialities (doctor_id, speciality, version)",
            "ON CONFLICT (doctor_id) DO UPDATE SET speciality = excluded.speciality, \
             version = excluded.version WHERE doctor_specialities.version <= excluded.version",
        ),
        &rows,
        |args, (doctor_id, (version, speciality))| {
            args.add(**doctor_id)?;
            args.add(speciality.as_str())?;
            args.add(*version)
        },
    )
    .await?;
    Ok(())
}

async fn write_once(
    conn: &mut AnyConnection,
    once: &BTreeMap<(Once, i64), String>,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let rows: Vec<_> = once.iter().collect();
    let inserted = insert_values(
        conn,
        (
            "INSERT INTO counted_once (kind, entity_id, day)",
            "ON CONFLICT (kind, entity_id) DO NOTHING RETURNING kind, entity_id",
        ),
        &rows,
        |args, ((once, entity_id), day)| {
            args.add(once.kind())?;
            args.add(*entity_id)?;
            args.add(day.as_str())
        },
    )
    .await?;
    let inserted: BTreeSet<(String, i64)> = inserted
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<sqlx::Result<_>>()?;
    for ((once, entity_id), day) in once {
        if inserted.contains(&(once.kind().to_owned(), *entity_id)) {
            counts.once(day, once.kind());
        }
    }
    Ok(())
}

/// What is counted once per entity, on the day it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Once {
    PatientRegistered,
    RecordAdded,
}

impl Once {
    pub fn kind(self) -> &'static str {
        match self {
            Self::PatientRegistered => "patient",
            Self::RecordAdded => "record",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_the_clinics() {
        let late_evening: Timestamp = "2026-12-15T03:30:00Z".parse().unwrap();
        let new_york = jiff::tz::TimeZone::get("America/New_York").unwrap();
        assert_eq!(day_of(late_evening, &new_york), "2026-12-14");
        assert_eq!(day_of(late_evening, &TimeZone::UTC), "2026-12-15");
    }

    #[test]
    fn a_batch_keeps_the_newest_state_and_the_later_of_a_tie() {
        let mut newest = Newest::default();
        keep_newest(&mut newest, 1, 2, "approved");
        keep_newest(&mut newest, 1, 1, "requested");
        assert_eq!(newest[&1], (2, "approved"));
        keep_newest(&mut newest, 1, 2, "cancelled");
        assert_eq!(newest[&1], (2, "cancelled"));
    }
}
