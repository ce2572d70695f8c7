//! The service's store, event handler and worker against real databases: every scenario runs
//! on a fresh SQLite file and on a fresh PostgreSQL database (`CAREBOOK_TEST_POSTGRES_URL`).
//! Time is a manual clock; the SMS provider and the profile endpoints are a local HTTP stub.
#![allow(clippy::unwrap_used)]

mod api;
mod batches;
mod delivery;
mod events;
mod ordering;
mod reminders;
mod running;
mod smtp;
mod stub;

use std::time::Duration;

use contracts::appointments::AppointmentStatus;
use contracts::events::AppointmentChanged;
use contracts::notifications::{Channel, NotificationKind, RecipientType};
use jiff::{SignedDuration, Timestamp};
use platform::auth::{Principal, Role};
use platform::config::ClinicConfig;
use platform::events::{Delivered, deliver};
use platform::outbox::Envelope;
use platform::page::PageRequest;
use platform::testing::TestDatabase;
use platform::time::Clock;

use crate::channels::SmsConfig;
use crate::domain::StoredNotification;
use crate::policy;
use crate::store::{ListFilter, NotificationStore};
use crate::{Config, MIGRATIONS, NotificationService};

use self::stub::Stub;

pub const PATIENT: i64 = 6;
pub const DOCTOR: i64 = 4;
pub const PATIENT_PHONE: &str = "+442079460958";
pub const SMS_FROM: &str = "+15005550006";

/// Runs each named `async fn(TestDatabase)` once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::tests::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::tests::postgres().await).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

pub async fn sqlite() -> TestDatabase {
    TestDatabase::sqlite(&MIGRATIONS).await
}

pub async fn postgres() -> TestDatabase {
    TestDatabase::postgres(&MIGRATIONS).await
}

/// A Monday morning, far from any DST change.
pub fn t0() -> Timestamp {
    "2030-01-07T08:00:00Z".parse().unwrap()
}

pub fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

pub struct Harness {
    pub service: NotificationService,
    pub config: Config,
    pub clock: Clock,
    pub stub: Stub,
    _db: TestDatabase,
}

impl Harness {
    /// The service with SMS on (through the stub), reminders 24 h and 2 h before, the clock at
    /// [`t0`], and one known patient and doctor.
    pub async fn new(test_db: TestDatabase) -> Self {
        Self::with(test_db, |_| {}).await
    }

    pub async fn with(test_db: TestDatabase, tweak: impl FnOnce(&mut Config)) -> Self {
        let stub = Stub::start().await;
        stub.add_patient(PATIENT, "Ada Lovelace", PATIENT_PHONE);
        stub.add_doctor(DOCTOR, "Dr. Amara Okafor", Some("Europe/Berlin"));
        let clock = Clock::manual(t0());
        let mut config = Config {
            database_url: "sqlite://unused".to_owned().into(),
            identity_urls: vec![stub.url.clone()],
            patients_urls: vec![stub.url.clone()],
            doctors_urls: vec![stub.url.clone()],
            clinic: ClinicConfig::default(),
            reminder_offsets_minutes: vec![24 * 60, 2 * 60],
            smtp: None,
            sms: Some(SmsConfig {
                base_url: stub.url.clone(),
                account_sid: "AC123".to_owned(),
                auth_token: "sms-token".to_owned(),
                from: SMS_FROM.to_owned(),
            }),
            service_secret: Some("service-secret-for-tests-32-bytes-long".to_owned()),
            clock: clock.clone(),
            poll_interval: Duration::from_millis(10),
            call_timeout: Duration::from_secs(2),
            allow_private_webhooks: true,
        };
        tweak(&mut config);
        let service = NotificationService::with_db(config.clone(), test_db.db.clone()).unwrap();
        Self {
            service,
            config,
            clock,
            stub,
            _db: test_db,
        }
    }

    /// Another instance of the service on the same database (a restart, or a second replica).
    pub fn another_instance(&self) -> NotificationService {
        NotificationService::with_db(self.config.clone(), self.service.db().clone()).unwrap()
    }

    pub fn store(&self) -> &NotificationStore {
        &self.service.state.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Hands `event` to the handler the way the consumer does (inbox and all).
    pub async fn deliver(&self, event: &Envelope) -> Delivered {
        let handler = self.service.handler();
        deliver(self.service.db(), "notifications", handler.as_ref(), event)
            .await
            .unwrap()
    }

    /// A fresh event of `event_type` about an appointment, delivered once.
    pub async fn publish(&self, event_type: &str, changed: &AppointmentChanged) -> Envelope {
        let event = envelope(event_type, changed);
        assert_eq!(self.deliver(&event).await, Delivered::Handled);
        event
    }

    /// Every stored notification, newest first.
    pub async fn all(&self) -> Vec<StoredNotification> {
        let page = PageRequest { page: 0, size: 100 };
        let everything = policy::may_list(&admin(), ListFilter::default()).unwrap();
        let (items, _) = self.store().list(&everything, page).await.unwrap();
        items
    }

    pub async fn of_kind(&self, kind: NotificationKind) -> Vec<StoredNotification> {
        self.all()
            .await
            .into_iter()
            .filter(|n| n.kind == kind)
            .collect()
    }
}

/// The bootstrap administrator, as a token would name them.
pub fn admin() -> Principal {
    Principal {
        user_id: 1,
        role: Role::Admin,
        patient_id: None,
        doctor_id: None,
    }
}

pub fn envelope(event_type: &str, changed: &AppointmentChanged) -> Envelope {
    Envelope {
        id: uuid::Uuid::new_v4(),
        event_type: event_type.to_owned(),
        occurred_at: t0(),
        source: "appointments".to_owned(),
        data: serde_json::to_value(changed).unwrap(),
        traceparent: None,
    }
}

/// Appointment `id` of [`PATIENT`] with [`DOCTOR`], 30 minutes from `start`, at version 1.
pub fn appointment(id: i64, start: Timestamp, status: AppointmentStatus) -> AppointmentChanged {
    AppointmentChanged {
        appointment_id: id,
        patient_id: PATIENT,
        doctor_id: DOCTOR,
        start,
        end: start + SignedDuration::from_mins(30),
        status,
        previous_start: None,
        late_cancellation: None,
        version: 1,
        service_type: None,
    }
}

/// The same appointment after its next change: `status`, and a higher version.
pub fn next(before: &AppointmentChanged, status: AppointmentStatus) -> AppointmentChanged {
    AppointmentChanged {
        status,
        previous_start: None,
        version: before.version + 1,
        ..before.clone()
    }
}

/// `(recipient type, recipient id, kind, channel)` of each notification, sorted.
pub fn summary(
    items: &[StoredNotification],
) -> Vec<(RecipientType, i64, NotificationKind, Channel)> {
    let mut rows: Vec<_> = items
        .iter()
        .map(|n| (n.recipient.kind, n.recipient.id, n.kind, n.channel))
        .collect();
    rows.sort_by_key(|(t, id, k, c)| (t.as_str(), *id, k.as_str(), c.as_str()));
    rows
}
