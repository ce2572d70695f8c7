//! What the appointment service asks the patient and doctor services before it books.

use std::time::Duration;

use contracts::clients::{DoctorsClient, PatientsClient};
use contracts::doctors::Availability;
use jiff::Timestamp;
use moka::future::Cache;
use platform::client::Forwarded;
use platform::{ApiError, FieldError};

#[derive(Debug, Clone)]
pub struct Directory {
    patients: PatientsClient,
    doctors: DoctorsClient,
    /// Patients seen to exist recently: most bookings come from a few active patients.
    known_patients: Cache<i64, ()>,
}

impl Directory {
    pub fn new(patients: PatientsClient, doctors: DoctorsClient) -> Self {
        Self {
            patients,
            doctors,
            known_patients: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
        }
    }

    /// Asks both services at once; 422 naming every unknown reference.
    pub async fn check(
        &self,
        patient_id: i64,
        doctor_id: i64,
        start: Timestamp,
        duration_minutes: Option<u32>,
        fwd: &Forwarded,
    ) -> platform::Result<Availability> {
        let (patient_known, availability) = tokio::join!(
            self.patient_exists(patient_id, fwd),
            self.doctors
                .availability(doctor_id, start, duration_minutes, fwd)
        );
        let patient_known = patient_known?;
        let availability = availability?;
        let mut unknown = Vec::new();
        if !patient_known {
            unknown.push(FieldError::new("patientId", "no such patient"));
        }
        match availability {
            Some(availability) if unknown.is_empty() => Ok(availability),
            Some(_) => Err(ApiError::Unprocessable(unknown)),
            None => {
                unknown.push(FieldError::new("doctorId", "no such doctor"));
                Err(ApiError::Unprocessable(unknown))
            }
        }
    }

    /// Asks the doctor service whether a new time fits (the doctor is known to exist).
    pub async fn availability(
        &self,
        doctor_id: i64,
        start: Timestamp,
        duration_minutes: Option<u32>,
        fwd: &Forwarded,
    ) -> platform::Result<Availability> {
        self.doctors
            .availability(doctor_id, start, duration_minutes, fwd)
            .await?
            .ok_or_else(|| ApiError::unprocessable("doctorId", "no such doctor"))
    }

    /// Drops what is cached about a patient, when the patient service says it changed.
    pub fn forget_patient(&self, id: i64) {
        let known = self.known_patients.clone();
        tokio::spawn(async move { known.invalidate(&id).await });
    }

    async fn patient_exists(&self, id: i64, fwd: &Forwarded) -> platform::Result<bool> {
        if self.known_patients.contains_key(&id) {
            return Ok(true);
        }
        // The existence call carries no personal data: booking needs nothing more.
        let exists = self.patients.exists(id, fwd).await?;
        if exists {
            self.known_patients.insert(id, ()).await;
        }
        Ok(exists)
    }
}
