//! Who may do what with patient data: the one place this service decides it. Store methods
//! that touch one patient take a proof ([`MayRead`], [`MayWrite`]) that only these functions
//! hand out, so a handler that skips the check does not compile.

use contracts::clients::AppointmentsClient;
use platform::ApiError;
use platform::auth::{Principal, Role};
use platform::client::Forwarded;

/// The caller may see patient `.0`.
#[derive(Debug, Clone, Copy)]
pub struct MayRead(i64);

/// The caller may change patient `.0`.
#[derive(Debug, Clone, Copy)]
pub struct MayWrite(i64);

impl MayRead {
    pub fn patient_id(self) -> i64 {
        self.0
    }
}

impl MayWrite {
    pub fn patient_id(self) -> i64 {
        self.0
    }
}

/// The caller may learn whether patient `.0` exists, and nothing more.
#[derive(Debug, Clone, Copy)]
pub struct MayCheckExists(i64);

impl MayCheckExists {
    pub fn patient_id(self) -> i64 {
        self.0
    }
}

/// Which patients a list may show.
#[derive(Debug, Clone)]
pub enum ListScope {
    All,
    Only(Vec<i64>),
}

#[derive(Debug, Clone)]
pub struct Policy {
    appointments: AppointmentsClient,
}

impl Policy {
    pub fn new(appointments: AppointmentsClient) -> Self {
        Self { appointments }
    }

    /// ADMIN, or a service acting for registration.
    pub fn may_create(principal: &Principal) -> Result<(), ApiError> {
        principal.require(&[Role::Admin, Role::Service])
    }

    /// ADMIN, the patient, or a doctor with an appointment with the patient. Everyone else
    /// is refused alike, whether or not the patient exists.
    pub async fn may_read(
        &self,
        principal: &Principal,
        patient_id: i64,
        fwd: &Forwarded,
    ) -> Result<MayRead, ApiError> {
        let allowed = match principal.role {
            Role::Admin | Role::Service => true,
            Role::Patient => principal.is_patient(patient_id),
            Role::Doctor => {
                self.appointments
                    .caller_has_patient(patient_id, fwd)
                    .await?
            }
        };
        allowed
            .then_some(MayRead(patient_id))
            .ok_or(ApiError::Forbidden)
    }

    /// ADMIN or the patient.
    pub fn may_write(principal: &Principal, patient_id: i64) -> Result<MayWrite, ApiError> {
        (principal.is_admin() || principal.is_patient(patient_id))
            .then_some(MayWrite(patient_id))
            .ok_or(ApiError::Forbidden)
    }

    /// The patient for themselves, or ADMIN, may request an appointment for `patient_id`.
    pub fn may_book_for(principal: &Principal, patient_id: i64) -> Result<MayRead, ApiError> {
        (principal.is_admin() || principal.is_patient(patient_id))
            .then_some(MayRead(patient_id))
            .ok_or(ApiError::Forbidden)
    }

    /// ADMIN and services about anyone (booking asks before it books); a patient about
    /// themselves only, so nobody enumerates patient ids.
    pub fn may_check_exists(
        principal: &Principal,
        patient_id: i64,
    ) -> Result<MayCheckExists, ApiError> {
        let allowed = match principal.role {
            Role::Admin | Role::Service => true,
            Role::Patient => principal.is_patient(patient_id),
            Role::Doctor => false,
        };
        allowed
            .then_some(MayCheckExists(patient_id))
            .ok_or(ApiError::Forbidden)
    }

    /// ADMIN sees every patient; a doctor sees their own patients; nobody else lists.
    pub async fn list_scope(
        &self,
        principal: &Principal,
        fwd: &Forwarded,
    ) -> Result<ListScope, ApiError> {
        match principal.role {
            Role::Admin => Ok(ListScope::All),
            Role::Doctor => Ok(ListScope::Only(
                self.appointments.caller_patient_ids(fwd).await?,
            )),
            Role::Patient | Role::Service => Err(ApiError::Forbidden),
        }
    }
}
