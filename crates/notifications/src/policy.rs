//! Who may do what with notifications and webhooks: the one place this service decides it.
//! Every store method that reads or changes a notification, a webhook or its deliveries takes a
//! proof from here ([`MayList`], [`MaySend`], [`MayManageWebhooks`], [`MayDeliver`]); their
//! fields are private to this module, so a handler that skips the check does not compile.
//!
//! - Listing: ADMIN (and services) see every notification, filtered as asked. A patient or a
//!   doctor sees only their own: the recipient filters are set to them, and asking explicitly
//!   for another recipient (another id, or the other recipient type) is 403, as with
//!   appointment lists.
//! - Sending a message: ADMIN only.
//! - Webhooks (subscriptions and their delivery log): ADMIN only.
//! - Delivering what is due: the service's own workers, never a caller.

use contracts::notifications::RecipientType;
use platform::ApiError;
use platform::auth::{Principal, Role};

use crate::store::ListFilter;

/// The caller may see the notifications its filter selects (narrowed to their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MayList(ListFilter);

impl MayList {
    pub fn filter(&self) -> &ListFilter {
        &self.0
    }
}

/// The caller may send an administrator's message to a patient or doctor.
#[derive(Debug, Clone, Copy)]
pub struct MaySend(());

/// The caller may manage webhook subscriptions and read their delivery log.
#[derive(Debug, Clone, Copy)]
pub struct MayManageWebhooks(());

/// A worker of this service may claim and send due notifications and webhook deliveries.
#[derive(Debug, Clone, Copy)]
pub struct MayDeliver(());

/// Narrows a list to what the caller may see; 403 when they asked for someone else's.
pub fn may_list(principal: &Principal, filter: ListFilter) -> Result<MayList, ApiError> {
    match principal.role {
        Role::Admin | Role::Service => Ok(filter),
        Role::Patient => own(RecipientType::Patient, principal.patient_id, filter),
        Role::Doctor => own(RecipientType::Doctor, principal.doctor_id, filter),
    }
    .map(MayList)
}

/// Only ADMIN sends messages to patients and doctors.
pub fn may_send(principal: &Principal) -> Result<MaySend, ApiError> {
    principal.require(&[Role::Admin])?;
    Ok(MaySend(()))
}

/// Only ADMIN manages webhooks: a subscription receives every matching event of the clinic.
pub fn may_manage_webhooks(principal: &Principal) -> Result<MayManageWebhooks, ApiError> {
    principal.require(&[Role::Admin])?;
    Ok(MayManageWebhooks(()))
}

/// The delivery workers (notifications and webhooks) act for the service itself.
pub fn delivery_worker() -> MayDeliver {
    MayDeliver(())
}

fn own(
    kind: RecipientType,
    mine: Option<i64>,
    mut filter: ListFilter,
) -> Result<ListFilter, ApiError> {
    // A token without its profile id has no notifications it may see.
    let mine = mine.ok_or(ApiError::Forbidden)?;
    let other_type = filter.recipient_type.is_some_and(|asked| asked != kind);
    let other_id = filter.recipient_id.is_some_and(|asked| asked != mine);
    if other_type || other_id {
        return Err(ApiError::Forbidden);
    }
    filter.recipient_type = Some(kind);
    filter.recipient_id = Some(mine);
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, patient_id: Option<i64>, doctor_id: Option<i64>) -> Principal {
        Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id,
        }
    }

    fn filter(recipient_type: Option<RecipientType>, recipient_id: Option<i64>) -> ListFilter {
        ListFilter {
            recipient_type,
            recipient_id,
            status: None,
        }
    }

    #[test]
    fn patients_and_doctors_see_only_their_own() {
        let patient = principal(Role::Patient, Some(6), None);
        let scoped = may_list(&patient, ListFilter::default()).unwrap();
        assert_eq!(
            scoped.filter(),
            &filter(Some(RecipientType::Patient), Some(6))
        );
        assert_eq!(
            may_list(&patient, filter(None, Some(6))).unwrap().filter(),
            &filter(Some(RecipientType::Patient), Some(6))
        );
        let doctor = principal(Role::Doctor, None, Some(4));
        assert_eq!(
            may_list(&doctor, ListFilter::default()).unwrap().filter(),
            &filter(Some(RecipientType::Doctor), Some(4))
        );
    }

    #[test]
    fn asking_for_someone_elses_is_forbidden() {
        let patient = principal(Role::Patient, Some(6), None);
        for asked in [
            filter(None, Some(7)),
            filter(Some(RecipientType::Doctor), None),
            filter(Some(RecipientType::Doctor), Some(6)),
        ] {
            assert!(matches!(
                may_list(&patient, asked),
                Err(ApiError::Forbidden)
            ));
        }
        let unlinked = principal(Role::Doctor, None, None);
        assert!(matches!(
            may_list(&unlinked, ListFilter::default()),
            Err(ApiError::Forbidden)
        ));
    }

    #[test]
    fn admins_see_everything_and_alone_send() {
        let admin = principal(Role::Admin, None, None);
        let asked = filter(Some(RecipientType::Doctor), Some(3));
        assert_eq!(may_list(&admin, asked.clone()).unwrap().filter(), &asked);
        assert!(may_send(&admin).is_ok());
        assert!(may_manage_webhooks(&admin).is_ok());
        let patient = principal(Role::Patient, Some(6), None);
        assert!(matches!(may_send(&patient), Err(ApiError::Forbidden)));
        let doctor = principal(Role::Doctor, None, Some(4));
        assert!(matches!(may_send(&doctor), Err(ApiError::Forbidden)));
        for caller in [patient, doctor, principal(Role::Service, None, None)] {
            assert!(matches!(
                may_manage_webhooks(&caller),
                Err(ApiError::Forbidden)
            ));
        }
    }
}
