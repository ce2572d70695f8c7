//! Who may do what with doctors: the one place this service decides it. Reading profiles,
//! schedules and free slots is open to every signed-in user; changing them is for ADMIN and
//! the doctor; approving or rejecting is for doctors and ADMIN (the appointment service then
//! checks that the doctor is the appointment's own).

use platform::ApiError;
use platform::auth::{Principal, Role};

/// ADMIN, or a service acting for an ADMIN's registration of a doctor.
pub fn may_create(principal: &Principal) -> Result<(), ApiError> {
    principal.require(&[Role::Admin, Role::Service])
}

/// ADMIN or the doctor themselves: profile, schedule, time off (whose reasons are private).
pub fn may_manage(principal: &Principal, doctor_id: i64) -> Result<(), ApiError> {
    if principal.is_admin() || principal.is_doctor(doctor_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Doctors and ADMIN may answer appointment requests.
pub fn may_decide(principal: &Principal) -> Result<(), ApiError> {
    principal.require(&[Role::Admin, Role::Doctor])
}
