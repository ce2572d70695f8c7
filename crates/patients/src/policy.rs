//! Who may do what with patient data: the one place this service decides it. Every store method
//! takes a proof ([`MayCreate`], [`MayRead`], [`MayWrite`], [`MayList`], [`MayCheckExists`]) that only these
//! functions hand out (their fields are private to this module), so a handler that skips the
//! check does not compile.

use contracts::clients::AppointmentsClient;
use platform::ApiError;
use platform::auth::{Principal, Role};
use platform::client::Forwarded;

/// The caller may create a patient; `with_account` when it is the identity service creating
/// the profile of a new account (whose login e-mail the profile's e-mail then is).
#[derive(Debug, Clone, Copy)]
pub struct MayCreate {
    with_account: bool,
}

/// The caller may see patient `.0`.
#[derive(Debug, Clone, Copy)]
pub struct MayRead(i64);

/// The caller may change patient `patient_id`'s profile; its medical history only when
/// `medical_history` is set.
#[derive(Debug, Clone, Copy)]
pub struct MayWrite {
    patient_id: i64,
    medical_history: bool,
}

/// The caller may erase patient `.0` (ADMIN).
#[derive(Debug, Clone, Copy)]
pub struct MayErase(i64);

impl MayErase {
    pub fn patient_id(self) -> i64 {
        self.0
    }
}

/// The caller may have a copy of everything held about patient `.0` (the patient; ADMIN).
#[derive(Debug, Clone, Copy)]
pub struct MayExport(i64);

impl MayExport {
    pub fn patient_id(self) -> i64 {
        self.0
    }

    /// Reading the profile is part of the export.
    pub fn profile(self) -> MayRead {
        MayRead(self.0)
    }
}

/// The caller may list the patients in its scope.
#[derive(Debug, Clone)]
pub struct MayList(Scope);

#[derive(Debug, Clone)]
enum Scope {
    All,
    Only(Vec<i64>),
}

impl MayCreate {
    pub fn with_account(self) -> bool {
        self.with_account
    }
}

impl MayRead {
    pub fn patient_id(self) -> i64 {
        self.0
    }
}

impl MayWrite {
    pub fn patient_id(self) -> i64 {
        self.patient_id
    }

    /// The medical history to store: the caller's, when they may write it; otherwise the
    /// stored one, which they may repeat or leave out but not change (403).
    pub fn medical_history(
        self,
        stored: Option<String>,
        asked: Option<String>,
    ) -> Result<Option<String>, ApiError> {
        match asked {
            _ if self.medical_history => Ok(asked),
            None => Ok(stored),
            Some(asked) if stored.as_deref() == Some(asked.as_str()) => Ok(stored),
            Some(_) => Err(ApiError::Forbidden),
        }
    }
}

impl MayList {
    /// `None`: every patient; `Some(ids)`: only these.
    pub fn only(&self) -> Option<&[i64]> {
        match &self.0 {
            Scope::All => None,
            Scope::Only(ids) => Some(ids),
        }
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

#[derive(Debug, Clone)]
pub struct Policy {
    appointments: AppointmentsClient,
}

impl Policy {
    pub fn new(appointments: AppointmentsClient) -> Self {
        Self { appointments }
    }

    /// ADMIN, or the identity service creating the profile of a new account.
    pub fn may_create(principal: &Principal) -> Result<MayCreate, ApiError> {
        principal.require(&[Role::Admin, Role::Service])?;
        Ok(MayCreate {
            with_account: principal.role == Role::Service,
        })
    }

    /// ADMIN, the patient, or a doctor with a care relationship with the patient. Everyone
    /// else is refused alike, whether or not the patient exists.
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

    /// ADMIN (everything), or the patient (everything but the medical history, which doctors
    /// and ADMIN write).
    pub fn may_write(principal: &Principal, patient_id: i64) -> Result<MayWrite, ApiError> {
        (principal.is_admin() || principal.is_patient(patient_id))
            .then_some(MayWrite {
                patient_id,
                medical_history: principal.is_admin(),
            })
            .ok_or(ApiError::Forbidden)
    }

    /// Only ADMIN erases a patient (GDPR erasure); a patient asks the clinic.
    pub fn may_erase(principal: &Principal, patient_id: i64) -> Result<MayErase, ApiError> {
        principal
            .is_admin()
            .then_some(MayErase(patient_id))
            .ok_or(ApiError::Forbidden)
    }

    /// The patient themselves, or ADMIN, may export everything held about the patient.
    pub fn may_export(principal: &Principal, patient_id: i64) -> Result<MayExport, ApiError> {
        (principal.is_admin() || principal.is_patient(patient_id))
            .then_some(MayExport(patient_id))
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
    pub async fn may_list(
        &self,
        principal: &Principal,
        fwd: &Forwarded,
    ) -> Result<MayList, ApiError> {
        match principal.role {
            Role::Admin => Ok(MayList(Scope::All)),
            Role::Doctor => Ok(MayList(Scope::Only(
                self.appointments.caller_patient_ids(fwd).await?,
            ))),
            Role::Patient | Role::Service => Err(ApiError::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, patient_id: Option<i64>) -> Principal {
        Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id: None,
        }
    }

    #[test]
    fn a_patient_keeps_but_does_not_write_their_medical_history() {
        let patient = Policy::may_write(&principal(Role::Patient, Some(6)), 6).unwrap();
        let stored = Some("asthma".to_owned());
        let keep =
            |asked: Option<&str>| patient.medical_history(stored.clone(), asked.map(str::to_owned));
        assert_eq!(keep(None).unwrap(), stored);
        assert_eq!(keep(Some("asthma")).unwrap(), stored);
        assert!(matches!(keep(Some("none")), Err(ApiError::Forbidden)));
        assert!(matches!(
            patient.medical_history(None, Some("none".to_owned())),
            Err(ApiError::Forbidden)
        ));
    }

    #[test]
    fn an_admin_writes_the_medical_history() {
        let admin = Policy::may_write(&principal(Role::Admin, None), 6).unwrap();
        let stored = Some("asthma".to_owned());
        assert_eq!(admin.medical_history(stored.clone(), None).unwrap(), None);
        assert_eq!(
            admin
                .medical_history(stored, Some("none".to_owned()))
                .unwrap()
                .as_deref(),
            Some("none")
        );
    }

    #[test]
    fn only_admin_erases_and_only_the_patient_or_admin_exports() {
        let admin = principal(Role::Admin, None);
        let patient = principal(Role::Patient, Some(6));
        let doctor = principal(Role::Doctor, None);
        assert!(Policy::may_erase(&admin, 6).is_ok());
        assert!(Policy::may_erase(&patient, 6).is_err());
        assert!(Policy::may_erase(&doctor, 6).is_err());
        assert!(Policy::may_export(&admin, 6).is_ok());
        assert!(Policy::may_export(&patient, 6).is_ok());
        assert!(Policy::may_export(&patient, 7).is_err());
        assert!(Policy::may_export(&doctor, 6).is_err());
        assert!(Policy::may_export(&principal(Role::Service, None), 6).is_err());
    }

    #[test]
    fn only_the_identity_service_creates_profiles_with_an_account() {
        let service = Policy::may_create(&principal(Role::Service, None)).unwrap();
        assert!(service.with_account());
        let admin = Policy::may_create(&principal(Role::Admin, None)).unwrap();
        assert!(!admin.with_account());
        assert!(Policy::may_create(&principal(Role::Patient, Some(6))).is_err());
    }
}
