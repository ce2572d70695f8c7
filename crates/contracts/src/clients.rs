//! Typed clients for the questions services ask each other.

use jiff::Timestamp;
use platform::ApiError;
use platform::client::{Forwarded, ServiceClient};
use reqwest::Method;

use crate::appointments::{Appointment, DecisionBody, NewAppointment};
use crate::doctors::{Availability, Doctor, Slot};
use crate::patients::Patient;
use crate::privacy::{ExportPart, export_path};

#[derive(Debug, Clone)]
pub struct PatientsClient(pub ServiceClient);

impl PatientsClient {
    pub async fn patient(&self, id: i64, fwd: &Forwarded) -> Result<Option<Patient>, ApiError> {
        self.0.get(&format!("/api/patients/{id}"), fwd).await
    }

    /// Whether patient `id` exists; the answer carries no personal data.
    pub async fn exists(&self, id: i64, fwd: &Forwarded) -> Result<bool, ApiError> {
        self.0
            .exists(&format!("/api/patients/{id}/exists"), fwd)
            .await
    }
}

#[derive(Debug, Clone)]
pub struct DoctorsClient(pub ServiceClient);

impl DoctorsClient {
    /// `None` when the doctor does not exist.
    pub async fn doctor(&self, id: i64, fwd: &Forwarded) -> Result<Option<Doctor>, ApiError> {
        self.0.get(&format!("/api/doctors/{id}"), fwd).await
    }

    /// `None` when the doctor does not exist.
    pub async fn availability(
        &self,
        doctor_id: i64,
        start: Timestamp,
        duration_minutes: Option<u32>,
        fwd: &Forwarded,
    ) -> Result<Option<Availability>, ApiError> {
        let mut path = format!("/api/doctors/{doctor_id}/availability?start={start}");
        if let Some(minutes) = duration_minutes {
            path.push_str(&format!("&durationMinutes={minutes}"));
        }
        self.0.get(&path, fwd).await
    }
}

#[derive(Debug, Clone)]
pub struct AppointmentsClient(pub ServiceClient);

impl AppointmentsClient {
    pub async fn book(
        &self,
        request: &NewAppointment,
        fwd: &Forwarded,
    ) -> Result<Appointment, ApiError> {
        self.0
            .send_json(Method::POST, "/api/appointments", Some(request), fwd)
            .await
    }

    pub async fn appointment(
        &self,
        id: i64,
        fwd: &Forwarded,
    ) -> Result<Option<Appointment>, ApiError> {
        self.0.get(&format!("/api/appointments/{id}"), fwd).await
    }

    /// Applies a doctor's decision: `verb` is `approve` or `reject`.
    pub async fn decide(
        &self,
        id: i64,
        verb: &str,
        body: &DecisionBody,
        fwd: &Forwarded,
    ) -> Result<Appointment, ApiError> {
        let path = format!("/api/appointments/{id}/{verb}");
        self.0.send_json(Method::POST, &path, Some(body), fwd).await
    }

    /// Whether the calling doctor has a care relationship with the patient (an `APPROVED` or
    /// `COMPLETED` appointment together); a doctor is answered only about their own.
    pub async fn caller_has_patient(
        &self,
        patient_id: i64,
        fwd: &Forwarded,
    ) -> Result<bool, ApiError> {
        let path = format!("/api/appointments/patient-ids?patientId={patient_id}");
        let ids: Option<Vec<i64>> = self.0.get(&path, fwd).await?;
        Ok(ids.is_some_and(|ids| ids.contains(&patient_id)))
    }

    /// Ids of the patients the calling doctor has a care relationship with.
    pub async fn caller_patient_ids(&self, fwd: &Forwarded) -> Result<Vec<i64>, ApiError> {
        let ids = self.0.get("/api/appointments/patient-ids", fwd).await?;
        Ok(ids.unwrap_or_default())
    }

    /// Intervals during which a doctor's active appointments hold the time.
    pub async fn busy(
        &self,
        doctor_id: i64,
        from: Timestamp,
        to: Timestamp,
        fwd: &Forwarded,
    ) -> Result<Vec<Slot>, ApiError> {
        let path = format!("/api/appointments/busy?doctorId={doctor_id}&from={from}&to={to}");
        Ok(self.0.get(&path, fwd).await?.unwrap_or_default())
    }
}

/// A service's part of a patient's export, asked with a `SERVICE` token.
#[derive(Debug, Clone)]
pub struct ExportPartClient(pub ServiceClient);

impl ExportPartClient {
    /// Every service answers for every patient id (an empty part when it holds nothing), so
    /// a 404 means the service cannot answer: unavailable, like a failure.
    pub async fn part<T: serde::de::DeserializeOwned>(
        &self,
        patient_id: i64,
        fwd: &Forwarded,
    ) -> Result<ExportPart<T>, ApiError> {
        self.0
            .get(&export_path(patient_id), fwd)
            .await?
            .ok_or_else(|| {
                ApiError::Unavailable("A service could not answer its part of the export.".into())
            })
    }
}
