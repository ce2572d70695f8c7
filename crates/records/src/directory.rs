//! Whether the patient and doctor an administrator names exist, asked of their services (the
//! patient service's existence call answers no personal data, and reads nothing into its audit).

use contracts::clients::{DoctorsClient, PatientsClient};
use platform::client::Forwarded;
use platform::{ApiError, FieldError};

#[derive(Debug, Clone)]
pub struct Directory {
    patients: PatientsClient,
    doctors: DoctorsClient,
}

impl Directory {
    pub fn new(patients: PatientsClient, doctors: DoctorsClient) -> Self {
        Self { patients, doctors }
    }

    /// Asks both services at once; 422 naming every unknown reference.
    pub async fn check(
        &self,
        patient_id: i64,
        doctor_id: i64,
        fwd: &Forwarded,
    ) -> platform::Result<()> {
        let (patient, doctor) = tokio::join!(
            self.patients.exists(patient_id, fwd),
            self.doctors.doctor(doctor_id, fwd)
        );
        let mut unknown = Vec::new();
        if !patient? {
            unknown.push(FieldError::new("patientId", "no such patient"));
        }
        if doctor?.is_none() {
            unknown.push(FieldError::new("doctorId", "no such doctor"));
        }
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(unknown))
        }
    }
}
