//! A `patients` row as stored, and its strict decoding: stored data that is not what this
//! service writes is an error (500), never a plausible default.

use anyhow::{Context, anyhow};
use contracts::patients::Patient;
use jiff::Timestamp;

/// Every column a [`PatientRow`] reads, in one place for every query.
pub const COLUMNS: &str =
    "id, name, email, phone, dob, address, medical_history, registration_date, has_account";

#[derive(sqlx::FromRow)]
pub struct PatientRow {
    id: i64,
    name: String,
    email: String,
    phone: String,
    dob: String,
    address: String,
    medical_history: Option<String>,
    registration_date: i64,
    has_account: i64,
}

/// A patient with what only this service needs to know about them.
#[derive(Debug, Clone)]
pub struct StoredPatient {
    pub patient: Patient,
    /// The profile belongs to an account, whose login e-mail its e-mail is.
    pub has_account: bool,
}

impl TryFrom<PatientRow> for StoredPatient {
    type Error = anyhow::Error;

    // Messages name the row and the column, never the stored value (it is personal data).
    fn try_from(row: PatientRow) -> anyhow::Result<Self> {
        let id = row.id;
        let dob = row
            .dob
            .parse()
            .with_context(|| format!("patient {id}: stored dob is not a date"))?;
        let registration_date = Timestamp::from_millisecond(row.registration_date)
            .with_context(|| format!("patient {id}: stored registration_date is out of range"))?;
        let has_account = match row.has_account {
            0 => false,
            1 => true,
            _ => return Err(anyhow!("patient {id}: stored has_account is not 0 or 1")),
        };
        Ok(Self {
            patient: Patient {
                id,
                name: row.name,
                email: row.email,
                phone: row.phone,
                dob,
                address: row.address,
                registration_date,
                medical_history: row.medical_history,
            },
            has_account,
        })
    }
}

/// Decodes a row into the patient it holds.
pub fn decode(row: PatientRow) -> platform::Result<Patient> {
    Ok(StoredPatient::try_from(row)?.patient)
}
