//! Gathering a patient's export: each service's part from its internal endpoint, asked with
//! this service's own `SERVICE` token, all at once and under one deadline. A service that
//! fails or does not answer in time fails the whole export (503): a copy that silently misses
//! a service's data would be wrong.

use std::sync::Arc;
use std::time::Duration;

use contracts::appointments::Appointment;
use contracts::billing::Invoice;
use contracts::clients::ExportPartClient;
use contracts::identity::Account;
use contracts::notifications::Notification;
use contracts::patients::Patient;
use contracts::privacy::{ExportPart, ExportedRecord, PatientExport};
use jiff::Timestamp;
use platform::ApiError;
use platform::audit::AuditEntry;
use platform::auth::ServiceTokens;

/// The internal endpoints of every service holding data about patients.
#[derive(Debug, Clone)]
pub struct ExportSources {
    /// `None` without `CAREBOOK_SERVICE_SECRET`: exports then answer 503.
    pub tokens: Option<Arc<ServiceTokens>>,
    /// Each `None` when the service has no URL configured: exports then answer 503.
    pub identity: Option<ExportPartClient>,
    pub appointments: Option<ExportPartClient>,
    pub notifications: Option<ExportPartClient>,
    pub records: Option<ExportPartClient>,
    pub billing: Option<ExportPartClient>,
    pub deadline: Duration,
}

impl ExportSources {
    /// The whole document: `profile` and this service's own trail `audit`, plus every other
    /// service's part.
    pub async fn gather(
        &self,
        profile: Patient,
        mut audit: Vec<AuditEntry>,
    ) -> Result<PatientExport, ApiError> {
        let id = profile.id;
        let parts = async {
            let tokens = self.tokens.as_ref().ok_or_else(|| {
                ApiError::Unavailable(
                    "Exports need CAREBOOK_SERVICE_SECRET on the patient service.".to_owned(),
                )
            })?;
            let fwd = tokens.forwarded().await?;
            tokio::try_join!(
                part::<Account>(&self.identity, id, &fwd),
                part::<Appointment>(&self.appointments, id, &fwd),
                part::<Notification>(&self.notifications, id, &fwd),
                part::<ExportedRecord>(&self.records, id, &fwd),
                part::<Invoice>(&self.billing, id, &fwd),
            )
        };
        let (account, appointments, notifications, records, invoices) =
            tokio::time::timeout(self.deadline, parts)
                .await
                .map_err(|_| {
                    tracing::warn!(patient_id = id, "export: a service did not answer in time");
                    ApiError::Unavailable(
                        "A service did not answer in time; try the export again shortly."
                            .to_owned(),
                    )
                })??;
        let account = take(account, &mut audit);
        let appointments = take(appointments, &mut audit);
        let notifications = take(notifications, &mut audit);
        let records = take(records, &mut audit);
        let invoices = take(invoices, &mut audit);
        audit.sort_by_key(|entry| (entry.at, entry.service.clone(), entry.id));
        Ok(PatientExport {
            patient_id: id,
            exported_at: Timestamp::now(),
            account: account.into_iter().next(),
            profile,
            appointments,
            notifications,
            records,
            invoices,
            audit,
        })
    }
}

/// One service's part, or 503 when the service is not configured.
async fn part<T: serde::de::DeserializeOwned>(
    client: &Option<ExportPartClient>,
    patient_id: i64,
    fwd: &platform::client::Forwarded,
) -> Result<ExportPart<T>, ApiError> {
    match client {
        Some(client) => client.part(patient_id, fwd).await,
        None => Err(ApiError::Unavailable(
            "A service holding patient data has no URL configured.".to_owned(),
        )),
    }
}

/// A part's items; its audit entries join `audit`.
fn take<T>(part: ExportPart<T>, audit: &mut Vec<AuditEntry>) -> Vec<T> {
    audit.extend(part.audit);
    part.items
}
