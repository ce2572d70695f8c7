//! Who may do what with invoices: the one place this service decides it. A patient sees and
//! pays their own invoices (by card through the provider, too: a checkout), ADMIN all; nobody
//! else any. Store methods that touch one invoice take a proof ([`MayRead`], [`MayPay`]) only
//! these functions hand out. The payment provider is no caller with a token: its webhook pays
//! an invoice only with the proof that the provider signed it
//! ([`crate::payments::WebhookVerifier::verify`]).

use platform::ApiError;
use platform::auth::{Principal, Role};

use crate::store::{ListFilter, Sealed};

/// The caller may see invoice `.0`.
#[derive(Debug, Clone, Copy)]
pub struct MayRead(i64);

/// The caller may pay invoice `.0`.
#[derive(Debug, Clone, Copy)]
pub struct MayPay(i64);

impl MayRead {
    pub fn invoice_id(self) -> i64 {
        self.0
    }
}

impl MayPay {
    pub fn invoice_id(self) -> i64 {
        self.0
    }

    /// Whoever may pay an invoice may see it (a checkout answers with its amount).
    pub fn may_read(self) -> MayRead {
        MayRead(self.0)
    }
}

/// ADMIN, or the invoice's patient; to anyone else it does not exist (404), so invoice ids
/// cannot be probed.
fn allowed(principal: &Principal, invoice: &Sealed) -> Result<i64, ApiError> {
    if principal.is_admin() || principal.is_patient(invoice.patient_id()) {
        Ok(invoice.id())
    } else {
        Err(ApiError::NotFound("No such invoice.".to_owned()))
    }
}

pub fn may_read(principal: &Principal, invoice: &Sealed) -> Result<MayRead, ApiError> {
    allowed(principal, invoice).map(MayRead)
}

pub fn may_pay(principal: &Principal, invoice: &Sealed) -> Result<MayPay, ApiError> {
    allowed(principal, invoice).map(MayPay)
}

/// Narrows a list to what the caller may see; 403 when a patient asks for someone else's,
/// and for doctors, who see no invoices.
pub fn scope_list(principal: &Principal, mut filter: ListFilter) -> Result<ListFilter, ApiError> {
    match principal.role {
        Role::Admin => Ok(filter),
        Role::Patient => {
            let mine = principal.patient_id.ok_or(ApiError::Forbidden)?;
            if filter.patient_id.is_some_and(|asked| asked != mine) {
                return Err(ApiError::Forbidden);
            }
            filter.patient_id = Some(mine);
            Ok(filter)
        }
        Role::Doctor | Role::Service => Err(ApiError::Forbidden),
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
    fn only_admin_and_the_patient_reach_an_invoice() {
        let invoice = Sealed::for_test(10, 6);
        assert!(may_pay(&principal(Role::Admin, None), &invoice).is_ok());
        assert_eq!(
            may_read(&principal(Role::Patient, Some(6)), &invoice)
                .unwrap()
                .invoice_id(),
            10
        );
        for other in [
            principal(Role::Patient, Some(7)),
            principal(Role::Doctor, None),
            principal(Role::Service, None),
        ] {
            assert!(matches!(
                may_pay(&other, &invoice),
                Err(ApiError::NotFound(_))
            ));
        }
    }

    #[test]
    fn lists_are_narrowed_to_the_patient() {
        let patient = principal(Role::Patient, Some(6));
        let scoped = scope_list(&patient, ListFilter::default()).unwrap();
        assert_eq!(scoped.patient_id, Some(6));
        let other = ListFilter {
            patient_id: Some(7),
            ..ListFilter::default()
        };
        assert!(matches!(
            scope_list(&patient, other.clone()),
            Err(ApiError::Forbidden)
        ));
        assert_eq!(
            scope_list(&principal(Role::Admin, None), other)
                .unwrap()
                .patient_id,
            Some(7)
        );
        assert!(scope_list(&principal(Role::Doctor, None), ListFilter::default()).is_err());
    }
}
