//! Who may see the clinic's figures: the one place this service decides it. Only ADMIN; the
//! store's reads take the [`MayReadFigures`] proof only [`may_read_figures`] hands out.

use platform::ApiError;
use platform::auth::Principal;

/// The caller may read the clinic's aggregate figures.
#[derive(Debug, Clone, Copy)]
pub struct MayReadFigures(());

/// ADMIN only; anyone else signed in gets 403 (the endpoints are no secret).
pub fn may_read_figures(principal: &Principal) -> Result<MayReadFigures, ApiError> {
    if principal.is_admin() {
        Ok(MayReadFigures(()))
    } else {
        Err(ApiError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use platform::auth::Role;

    use super::*;

    #[test]
    fn only_admin_reads_figures() {
        let principal = |role| Principal {
            user_id: 1,
            role,
            patient_id: Some(2),
            doctor_id: Some(3),
        };
        assert!(may_read_figures(&principal(Role::Admin)).is_ok());
        for role in [Role::Doctor, Role::Patient, Role::Service] {
            assert!(matches!(
                may_read_figures(&principal(role)),
                Err(ApiError::Forbidden)
            ));
        }
    }
}
