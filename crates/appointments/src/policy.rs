//! Who may do what with appointments: the one place this service decides it. An appointment
//! the caller may not see answers 404, exactly like one that does not exist.
//!
//! The store hands out appointments [`Sealed`], and its methods that read or change one take a
//! proof ([`MayApply`], [`MayChange`], [`MayBook`], [`Scoped`], [`MayListPatientsOf`]) whose
//! fields are private to this module: a handler that skips the check has nothing to pass.

use contracts::appointments::Appointment;
use platform::ApiError;
use platform::auth::{Principal, Role};

use crate::domain::lifecycle::{Intent, Transition};
use crate::store::ListFilter;

/// An appointment as read from the store, not yet shown to anyone.
#[derive(Debug, Clone)]
pub struct Sealed(Appointment);

impl Sealed {
    /// Sealing is harmless; only this module opens.
    pub(crate) fn new(appointment: Appointment) -> Self {
        Self(appointment)
    }

    /// Whose appointment it is, for the audit row of a request about it (even a refused one).
    pub fn patient_id(&self) -> i64 {
        self.0.patient_id
    }
}

/// The caller may apply `transition` to `appointment`, which it may see.
#[derive(Debug, Clone)]
pub struct MayApply {
    appointment: Appointment,
    transition: Transition,
    by_patient: bool,
}

impl MayApply {
    pub fn appointment(&self) -> &Appointment {
        &self.appointment
    }

    pub fn transition(&self) -> Transition {
        self.transition
    }

    /// The appointment's own patient acts (a late cancellation counts only for them).
    pub fn by_patient(&self) -> bool {
        self.by_patient
    }
}

/// The caller may reschedule or edit `appointment`.
#[derive(Debug, Clone)]
pub struct MayChange {
    appointment: Appointment,
    by_patient: bool,
    overrides_rules: bool,
}

impl MayChange {
    pub fn appointment(&self) -> &Appointment {
        &self.appointment
    }

    /// The appointment's own patient acts: moving an approved visit asks the doctor again.
    pub fn by_patient(&self) -> bool {
        self.by_patient
    }

    /// ADMIN: the clinic's booking rules may be overridden (and the override is audited).
    pub fn overrides_rules(&self) -> bool {
        self.overrides_rules
    }
}

/// User `caller_id` may book for patient `patient_id`.
#[derive(Debug, Clone, Copy)]
pub struct MayBook {
    caller_id: i64,
    patient_id: i64,
    overrides_rules: bool,
}

impl MayBook {
    pub fn patient_id(self) -> i64 {
        self.patient_id
    }

    /// The booking user: their `Idempotency-Key`s never replay another user's booking.
    pub fn caller_id(self) -> i64 {
        self.caller_id
    }

    /// ADMIN: the clinic's booking rules may be overridden (and the override is audited).
    pub fn overrides_rules(self) -> bool {
        self.overrides_rules
    }
}

/// A list filter narrowed to what the caller may see.
#[derive(Debug, Clone)]
pub struct Scoped(ListFilter);

impl Scoped {
    pub fn filter(&self) -> &ListFilter {
        &self.0
    }
}

/// The caller may learn which patients doctor `.0` cares for.
#[derive(Debug, Clone, Copy)]
pub struct MayListPatientsOf(i64);

impl MayListPatientsOf {
    pub fn doctor_id(self) -> i64 {
        self.0
    }
}

/// Opens `sealed` for a caller who may see it: ADMIN, services, its patient, its doctor.
pub fn view(principal: &Principal, sealed: Sealed) -> Result<Appointment, ApiError> {
    let appointment = sealed.0;
    if sees(principal, &appointment) {
        Ok(appointment)
    } else {
        Err(crate::not_found(appointment.id))
    }
}

/// Whether the caller may apply `transition`; what kind of act it is comes from the
/// transition itself. `Err(NotFound)` when the caller may not even see it; `Err(Forbidden)`
/// when they see it but may not do this.
pub fn may_apply(
    principal: &Principal,
    sealed: Sealed,
    transition: Transition,
) -> Result<MayApply, ApiError> {
    let appointment = view(principal, sealed)?;
    let decider = privileged(principal) || principal.is_doctor(appointment.doctor_id);
    if transition.intent() == Intent::Decide && !decider {
        return Err(ApiError::Forbidden);
    }
    Ok(MayApply {
        by_patient: principal.is_patient(appointment.patient_id),
        appointment,
        transition,
    })
}

/// Reschedule or edit: ADMIN, its patient, its doctor.
pub fn may_change(principal: &Principal, sealed: Sealed) -> Result<MayChange, ApiError> {
    let appointment = view(principal, sealed)?;
    Ok(MayChange {
        by_patient: principal.is_patient(appointment.patient_id),
        overrides_rules: principal.is_admin(),
        appointment,
    })
}

/// The patient books for themselves; ADMIN for anyone, and may override the booking rules.
pub fn may_book(principal: &Principal, patient_id: i64) -> Result<MayBook, ApiError> {
    if principal.is_admin() || principal.is_patient(patient_id) {
        Ok(MayBook {
            caller_id: principal.user_id,
            patient_id,
            overrides_rules: principal.is_admin(),
        })
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Narrows a list to what the caller may see: ADMIN and services everything, a doctor or a
/// patient their own. Asking explicitly for someone else's is 403.
pub fn scope_list(principal: &Principal, mut filter: ListFilter) -> Result<Scoped, ApiError> {
    match principal.role {
        Role::Admin | Role::Service => {}
        Role::Doctor => filter.doctor_id = Some(own(filter.doctor_id, principal.doctor_id)?),
        Role::Patient => filter.patient_id = Some(own(filter.patient_id, principal.patient_id)?),
    }
    Ok(Scoped(filter))
}

/// Whose patients a doctor-patient lookup is about: a doctor's own; ADMIN names the doctor.
pub fn doctor_for_patient_ids(
    principal: &Principal,
    asked: Option<i64>,
) -> Result<MayListPatientsOf, ApiError> {
    let doctor_id = match principal.role {
        Role::Doctor => own(asked, principal.doctor_id)?,
        Role::Admin | Role::Service => {
            asked.ok_or_else(|| ApiError::invalid("doctorId", "is required"))?
        }
        Role::Patient => return Err(ApiError::Forbidden),
    };
    Ok(MayListPatientsOf(doctor_id))
}

fn privileged(principal: &Principal) -> bool {
    matches!(principal.role, Role::Admin | Role::Service)
}

fn sees(principal: &Principal, appointment: &Appointment) -> bool {
    privileged(principal)
        || principal.is_patient(appointment.patient_id)
        || principal.is_doctor(appointment.doctor_id)
}

fn own(asked: Option<i64>, mine: Option<i64>) -> Result<i64, ApiError> {
    let mine = mine.ok_or(ApiError::Forbidden)?;
    match asked {
        Some(other) if other != mine => Err(ApiError::Forbidden),
        _ => Ok(mine),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::appointments::AppointmentStatus;
    use jiff::Timestamp;

    fn principal(role: Role, patient_id: Option<i64>, doctor_id: Option<i64>) -> Principal {
        Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id,
        }
    }

    fn appointment() -> Appointment {
        Appointment {
            id: 9,
            patient_id: 1,
            doctor_id: 2,
            appointment_date: Timestamp::UNIX_EPOCH,
            end_date: Timestamp::UNIX_EPOCH,
            duration_minutes: 30,
            description: String::new(),
            service_type: None,
            status: AppointmentStatus::Requested,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            cancellation_reason: None,
            rejection_reason: None,
            late_cancellation: None,
        }
    }

    fn sealed() -> Sealed {
        Sealed::new(appointment())
    }

    #[test]
    fn only_its_people_see_an_appointment_and_only_its_doctor_decides() {
        let admin = principal(Role::Admin, None, None);
        let patient = principal(Role::Patient, Some(1), None);
        let other_patient = principal(Role::Patient, Some(3), None);
        let doctor = principal(Role::Doctor, None, Some(2));
        let other_doctor = principal(Role::Doctor, None, Some(4));
        assert!(may_apply(&admin, sealed(), Transition::Approve).is_ok());
        let cancel = may_apply(&patient, sealed(), Transition::Cancel).unwrap();
        assert!(cancel.by_patient());
        assert!(matches!(
            may_apply(&patient, sealed(), Transition::Approve),
            Err(ApiError::Forbidden)
        ));
        assert!(
            !may_apply(&doctor, sealed(), Transition::NoShow)
                .unwrap()
                .by_patient()
        );
        assert!(matches!(
            view(&other_patient, sealed()),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            may_change(&other_doctor, sealed()),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn only_admin_overrides_the_booking_rules() {
        let admin = principal(Role::Admin, None, None);
        let patient = principal(Role::Patient, Some(1), None);
        assert!(may_book(&admin, 1).unwrap().overrides_rules());
        assert!(!may_book(&patient, 1).unwrap().overrides_rules());
        assert!(matches!(may_book(&patient, 2), Err(ApiError::Forbidden)));
        let change = may_change(&patient, sealed()).unwrap();
        assert!(change.by_patient() && !change.overrides_rules());
        assert!(may_change(&admin, sealed()).unwrap().overrides_rules());
    }

    #[test]
    fn lists_are_narrowed_to_the_caller() {
        let doctor = principal(Role::Doctor, None, Some(2));
        let scoped = scope_list(&doctor, ListFilter::default()).unwrap();
        assert_eq!(scoped.filter().doctor_id, Some(2));
        let other = ListFilter {
            doctor_id: Some(5),
            ..ListFilter::default()
        };
        assert!(matches!(
            scope_list(&doctor, other),
            Err(ApiError::Forbidden)
        ));
        let patient = principal(Role::Patient, Some(1), None);
        assert_eq!(
            scope_list(&patient, ListFilter::default())
                .unwrap()
                .filter()
                .patient_id,
            Some(1)
        );
    }
}
