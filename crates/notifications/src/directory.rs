//! Contact data of recipients, asked of the services that own it (events carry ids only) and
//! cached for a few minutes. Profile events drop cached entries early.

use std::sync::Arc;
use std::time::Duration;

use contracts::clients::{DoctorsClient, PatientsClient};
use contracts::events::types;
use contracts::notifications::RecipientType;
use jiff::tz::TimeZone;
use moka::future::Cache;
use platform::ApiError;
use platform::auth::ServiceTokens;
use platform::client::Forwarded;
use platform::outbox::Envelope;
use platform::time::parse_zone;

use crate::domain::Recipient;

const CACHE_TTL: Duration = Duration::from_secs(300);

/// The events after which a cached contact may be stale.
pub const PROFILE_EVENTS: &[&str] = &[
    types::PATIENT_REGISTERED,
    types::PATIENT_UPDATED,
    types::PATIENT_ERASED,
    types::DOCTOR_CREATED,
    types::DOCTOR_UPDATED,
];

/// How to reach one person. Its `Debug` shows nothing: every field is personal data.
#[derive(Clone)]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub phone: String,
    /// A doctor's own zone, if they set one.
    pub timezone: Option<TimeZone>,
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contact").finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Directory {
    patients: PatientsClient,
    doctors: DoctorsClient,
    tokens: Arc<ServiceTokens>,
    cache: Cache<Recipient, Arc<Contact>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cache holds contact data.
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

impl Directory {
    pub fn new(patients: PatientsClient, doctors: DoctorsClient, tokens: ServiceTokens) -> Self {
        Self {
            patients,
            doctors,
            tokens: Arc::new(tokens),
            cache: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(CACHE_TTL)
                .build(),
        }
    }

    /// The recipient's contact, asked with the service's own token; `Ok(None)` when the
    /// owning service says the recipient does not exist.
    pub async fn contact(&self, recipient: Recipient) -> Result<Option<Arc<Contact>>, ApiError> {
        if let Some(hit) = self.cache.get(&recipient).await {
            return Ok(Some(hit));
        }
        let fwd = self.tokens.forwarded().await?;
        self.fetch(recipient, &fwd).await
    }

    /// Whether the recipient exists, asked with the caller's credentials.
    pub async fn exists(&self, recipient: Recipient, fwd: &Forwarded) -> Result<bool, ApiError> {
        if self.cache.contains_key(&recipient) {
            return Ok(true);
        }
        Ok(self.fetch(recipient, fwd).await?.is_some())
    }

    async fn fetch(
        &self,
        recipient: Recipient,
        fwd: &Forwarded,
    ) -> Result<Option<Arc<Contact>>, ApiError> {
        let contact = match recipient.kind {
            RecipientType::Patient => {
                self.patients
                    .patient(recipient.id, fwd)
                    .await?
                    .map(|p| Contact {
                        name: p.name,
                        email: p.email,
                        phone: p.phone,
                        timezone: None,
                    })
            }
            RecipientType::Doctor => self.doctors.doctor(recipient.id, fwd).await?.map(|d| {
                Contact {
                    name: d.name,
                    email: d.email,
                    phone: d.phone,
                    // A zone the doctor service accepted but we do not know falls back to the
                    // clinic's rather than failing the delivery.
                    timezone: d.timezone.as_deref().and_then(|z| parse_zone(z).ok()),
                }
            }),
        };
        let Some(contact) = contact.map(Arc::new) else {
            return Ok(None);
        };
        self.cache.insert(recipient, contact.clone()).await;
        Ok(Some(contact))
    }

    pub async fn invalidate_patient(&self, id: i64) {
        self.cache.invalidate(&Recipient::patient(id)).await;
    }

    pub async fn invalidate_doctor(&self, id: i64) {
        self.cache.invalidate(&Recipient::doctor(id)).await;
    }

    /// Drops what a profile event (see [`PROFILE_EVENTS`]) may have made stale.
    pub async fn forget(&self, event: &Envelope) {
        let id = |field: &str| event.data.get(field).and_then(serde_json::Value::as_i64);
        match event.event_type.as_str() {
            types::PATIENT_REGISTERED | types::PATIENT_UPDATED | types::PATIENT_ERASED => {
                if let Some(id) = id("patientId") {
                    self.invalidate_patient(id).await;
                }
            }
            types::DOCTOR_CREATED | types::DOCTOR_UPDATED => {
                if let Some(id) = id("doctorId") {
                    self.invalidate_doctor(id).await;
                }
            }
            _ => {}
        }
    }

    /// A synchronous callback for `EventBus::spawn_listener` that drops stale entries.
    pub fn invalidator(&self) -> impl Fn(&Envelope) + Send + Sync + 'static {
        let directory = self.clone();
        move |event: &Envelope| {
            let directory = directory.clone();
            let event = event.clone();
            tokio::spawn(async move { directory.forget(&event).await });
        }
    }
}
