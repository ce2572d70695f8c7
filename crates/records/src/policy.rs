//! Who may see and write whose records: the one place this service decides it. Store methods
//! take a proof ([`MayRead`], [`MayWrite`]) that only [`Policy`] hands out, so a handler that
//! skips the check does not compile.

use platform::ApiError;
use platform::auth::{Principal, Role};
use platform::client::Forwarded;

use crate::directory::Directory;
use crate::store::RecordStore;

/// The caller may see patient `patient_id`'s records; only those by `only_author` when set.
#[derive(Debug, Clone, Copy)]
pub struct MayRead {
    patient_id: i64,
    only_author: Option<i64>,
}

/// The caller may add a record to patient `patient_id`'s file, written by `doctor_id`.
#[derive(Debug, Clone, Copy)]
pub struct MayWrite {
    patient_id: i64,
    doctor_id: i64,
}

impl MayRead {
    pub fn patient_id(self) -> i64 {
        self.patient_id
    }

    pub fn only_author(self) -> Option<i64> {
        self.only_author
    }
}

impl MayWrite {
    pub fn patient_id(self) -> i64 {
        self.patient_id
    }

    pub fn doctor_id(self) -> i64 {
        self.doctor_id
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    store: RecordStore,
    directory: Directory,
}

impl Policy {
    pub fn new(store: RecordStore, directory: Directory) -> Self {
        Self { store, directory }
    }

    /// The patient; ADMIN; a doctor caring for the patient. A doctor whose care ended still
    /// sees the records they wrote, and only those. Everyone else is refused alike.
    pub async fn may_read(
        &self,
        principal: &Principal,
        patient_id: i64,
    ) -> Result<MayRead, ApiError> {
        let all = MayRead {
            patient_id,
            only_author: None,
        };
        match (principal.role, principal.doctor_id) {
            (Role::Admin, _) => Ok(all),
            (Role::Patient, _) if principal.is_patient(patient_id) => Ok(all),
            (Role::Doctor, Some(doctor_id)) => {
                if self.store.cares_for(doctor_id, patient_id).await? {
                    Ok(all)
                } else if self.store.has_authored(doctor_id, patient_id).await? {
                    Ok(MayRead {
                        patient_id,
                        only_author: Some(doctor_id),
                    })
                } else {
                    Err(ApiError::Forbidden)
                }
            }
            _ => Err(ApiError::Forbidden),
        }
    }

    /// The patient service assembling the patient's export (`SERVICE`): every record.
    pub fn may_export(principal: &Principal, patient_id: i64) -> Result<MayRead, ApiError> {
        principal.require(&[Role::Service])?;
        Ok(MayRead {
            patient_id,
            only_author: None,
        })
    }

    /// A doctor caring for the patient, as the author (naming another doctor is refused);
    /// ADMIN for an existing patient and the existing doctor it names (422 otherwise).
    pub async fn may_write(
        &self,
        principal: &Principal,
        patient_id: i64,
        named_doctor: Option<i64>,
        fwd: &Forwarded,
    ) -> Result<MayWrite, ApiError> {
        match (principal.role, principal.doctor_id) {
            (Role::Doctor, Some(doctor_id)) => {
                if named_doctor.is_some_and(|named| named != doctor_id)
                    || !self.store.cares_for(doctor_id, patient_id).await?
                {
                    return Err(ApiError::Forbidden);
                }
                Ok(MayWrite {
                    patient_id,
                    doctor_id,
                })
            }
            (Role::Admin, _) => {
                let doctor_id = named_doctor.ok_or_else(|| {
                    ApiError::invalid(
                        "doctorId",
                        "is required when an administrator writes a record",
                    )
                })?;
                self.directory.check(patient_id, doctor_id, fwd).await?;
                Ok(MayWrite {
                    patient_id,
                    doctor_id,
                })
            }
            _ => Err(ApiError::Forbidden),
        }
    }
}
