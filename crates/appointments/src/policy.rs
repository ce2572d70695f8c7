//! Who may do what with appointments: the one place this service decides it. An appointment
//! the caller may not see answers 404, exactly like one that does not exist.

use contracts::appointments::Appointment;
use platform::ApiError;
use platform::auth::{Principal, Role};

use crate::store::ListFilter;

/// What the caller wants to do with one appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Read it: ADMIN, its patient, its doctor.
    View,
    /// Reschedule, edit or cancel it: ADMIN, its patient, its doctor.
    Change,
    /// Approve, reject, complete, mark no-show: ADMIN, its doctor.
    Decide,
}

/// Whether `principal` may act on `appointment` as intended. `Err(NotFound)` when the caller
/// may not even see it; `Err(Forbidden)` when they see it but may not do this.
pub fn check(
    principal: &Principal,
    appointment: &Appointment,
    intent: Intent,
) -> Result<(), ApiError> {
    let is_patient = principal.is_patient(appointment.patient_id);
    let is_doctor = principal.is_doctor(appointment.doctor_id);
    let privileged = matches!(principal.role, Role::Admin | Role::Service);
    if !(privileged || is_patient || is_doctor) {
        return Err(crate::not_found(appointment.id));
    }
    match intent {
        Intent::View | Intent::Change => Ok(()),
        Intent::Decide if privileged || is_doctor => Ok(()),
        Intent::Decide => Err(ApiError::Forbidden),
    }
}

/// The patient books for themselves; ADMIN for anyone.
pub fn may_book(principal: &Principal, patient_id: i64) -> Result<(), ApiError> {
    if principal.is_admin() || principal.is_patient(patient_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Narrows a list to what the caller may see: ADMIN and services everything, a doctor or a
/// patient their own. Asking explicitly for someone else's is 403.
pub fn scope_list(principal: &Principal, mut filter: ListFilter) -> Result<ListFilter, ApiError> {
    match principal.role {
        Role::Admin | Role::Service => {}
        Role::Doctor => filter.doctor_id = Some(own(filter.doctor_id, principal.doctor_id)?),
        Role::Patient => filter.patient_id = Some(own(filter.patient_id, principal.patient_id)?),
    }
    Ok(filter)
}

/// Whose patients a doctor-patient lookup is about: a doctor's own; ADMIN names the doctor.
pub fn doctor_for_patient_ids(principal: &Principal, asked: Option<i64>) -> Result<i64, ApiError> {
    match principal.role {
        Role::Doctor => own(asked, principal.doctor_id),
        Role::Admin | Role::Service => {
            asked.ok_or_else(|| ApiError::invalid("doctorId", "is required"))
        }
        Role::Patient => Err(ApiError::Forbidden),
    }
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

    #[test]
    fn only_its_people_see_an_appointment_and_only_its_doctor_decides() {
        let a = appointment();
        let admin = principal(Role::Admin, None, None);
        let patient = principal(Role::Patient, Some(1), None);
        let other_patient = principal(Role::Patient, Some(3), None);
        let doctor = principal(Role::Doctor, None, Some(2));
        let other_doctor = principal(Role::Doctor, None, Some(4));
        assert!(check(&admin, &a, Intent::Decide).is_ok());
        assert!(check(&patient, &a, Intent::Change).is_ok());
        assert!(matches!(
            check(&patient, &a, Intent::Decide),
            Err(ApiError::Forbidden)
        ));
        assert!(check(&doctor, &a, Intent::Decide).is_ok());
        assert!(matches!(
            check(&other_patient, &a, Intent::View),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            check(&other_doctor, &a, Intent::View),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn lists_are_narrowed_to_the_caller() {
        let doctor = principal(Role::Doctor, None, Some(2));
        let scoped = scope_list(&doctor, ListFilter::default()).unwrap();
        assert_eq!(scoped.doctor_id, Some(2));
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
                .patient_id,
            Some(1)
        );
    }
}
