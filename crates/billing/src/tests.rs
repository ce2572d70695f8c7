//! The handler and store against real databases: every scenario runs on a fresh SQLite file
//! and on a fresh PostgreSQL database.
#![allow(clippy::unwrap_used)]

use contracts::appointments::AppointmentStatus as S;
use contracts::billing::{Invoice, InvoiceKind, PaymentStatus, PaymentType};
use contracts::events::{AppointmentChanged, types};
use jiff::{SignedDuration, Timestamp};
use platform::audit::AuditContext;
use platform::auth::{Principal, Role};
use platform::events::{Delivered, deliver};
use platform::outbox::Envelope;
use platform::page::{PageParams, PageRequest};
use platform::testing::TestDatabase;
use platform::time::Clock;

use crate::fees::{PriceList, parse_fees, service_key};
use crate::handler::BillingHandler;
use crate::policy;
use crate::store::{InvoiceStore, ListFilter, Sealed};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(platform::testing::TestDatabase::sqlite(&crate::MIGRATIONS).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(platform::testing::TestDatabase::postgres(&crate::MIGRATIONS).await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    approval_invoices_once_at_the_configured_fee,
    cancellations_and_no_shows_follow_the_fee_policy,
    stale_events_change_nothing,
    a_policy_without_fees_voids_misses,
    paying_is_once_and_told,
);

const PATIENT: i64 = 6;
const DOCTOR: i64 = 4;

fn prices() -> PriceList {
    PriceList {
        service_fees: parse_fees("CHECKUP=3000", service_key).unwrap(),
        default_fee: 8001,
        ..PriceList::default()
    }
}

fn appointment(id: i64, status: S, version: i64) -> AppointmentChanged {
    let start: Timestamp = "2030-01-07T09:00:00Z".parse().unwrap();
    AppointmentChanged {
        appointment_id: id,
        patient_id: PATIENT,
        doctor_id: DOCTOR,
        start,
        end: start + SignedDuration::from_mins(30),
        status,
        previous_start: None,
        late_cancellation: None,
        version,
        service_type: None,
    }
}

fn envelope(event_type: &str, changed: &AppointmentChanged) -> Envelope {
    Envelope {
        id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        occurred_at: Timestamp::now(),
        source: "appointments".to_owned(),
        data: serde_json::to_value(changed).unwrap(),
        traceparent: None,
    }
}

struct Harness {
    store: InvoiceStore,
    handler: BillingHandler,
    db: TestDatabase,
}

impl Harness {
    fn new(db: TestDatabase) -> Self {
        Self::with(db, prices())
    }

    fn with(db: TestDatabase, prices: PriceList) -> Self {
        let handler = BillingHandler::new(prices, Clock::system());
        Self {
            store: InvoiceStore::new(db.db.clone()),
            handler,
            db,
        }
    }

    async fn send(&self, event: &Envelope) -> Delivered {
        deliver(&self.db.db, "billing", &self.handler, event)
            .await
            .unwrap()
    }

    async fn event(&self, event_type: &str, changed: &AppointmentChanged) {
        assert_eq!(
            self.send(&envelope(event_type, changed)).await,
            Delivered::Handled
        );
    }

    async fn invoices(&self) -> Vec<Invoice> {
        let page = PageParams::default().validate().unwrap();
        self.store
            .list(&ListFilter::default(), page)
            .await
            .unwrap()
            .0
    }

    async fn of(&self, appointment_id: i64) -> Option<Invoice> {
        self.invoices()
            .await
            .into_iter()
            .find(|i| i.appointment_id == appointment_id)
    }

    /// `(type, invoice status)` of every event billing published, in order.
    async fn published(&self) -> Vec<(String, String)> {
        platform::outbox::pending(self.db.db.pool(), 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    e.event_type,
                    e.data["paymentStatus"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

async fn approval_invoices_once_at_the_configured_fee(db: TestDatabase) {
    let h = Harness::new(db);
    let approved = envelope(types::APPOINTMENT_APPROVED, &appointment(1, S::Approved, 1));
    assert_eq!(h.send(&approved).await, Delivered::Handled);
    assert_eq!(h.send(&approved).await, Delivered::Duplicate);
    // Booked straight into APPROVED (auto-approval), with a priced service type.
    let mut auto = appointment(2, S::Approved, 1);
    auto.service_type = Some("CHECKUP".to_owned());
    h.event(types::APPOINTMENT_REQUESTED, &auto).await;
    // A request awaiting approval costs nothing yet.
    h.event(
        types::APPOINTMENT_REQUESTED,
        &appointment(3, S::Requested, 1),
    )
    .await;

    let invoices = h.invoices().await;
    assert_eq!(invoices.len(), 2);
    let first = h.of(1).await.unwrap();
    assert_eq!((first.amount, first.currency.as_str()), (8001, "EUR"));
    assert_eq!(
        (first.payment_status, first.kind),
        (PaymentStatus::Pending, InvoiceKind::Visit)
    );
    assert_eq!(first.patient_id, PATIENT);
    assert_eq!(h.of(2).await.unwrap().amount, 3000);
    // Completing the visit keeps its one invoice.
    h.event(
        types::APPOINTMENT_COMPLETED,
        &appointment(1, S::Completed, 2),
    )
    .await;
    assert_eq!(h.invoices().await.len(), 2);
    let created = ("InvoiceCreated".to_owned(), "PENDING".to_owned());
    assert_eq!(h.published().await, vec![created.clone(), created]);
}

async fn cancellations_and_no_shows_follow_the_fee_policy(db: TestDatabase) {
    let h = Harness::new(db);
    for id in 1..=4 {
        h.event(
            types::APPOINTMENT_APPROVED,
            &appointment(id, S::Approved, 1),
        )
        .await;
    }
    h.event(
        types::APPOINTMENT_CANCELLED,
        &appointment(1, S::Cancelled, 2),
    )
    .await;
    let mut late = appointment(2, S::Cancelled, 2);
    late.late_cancellation = Some(true);
    h.event(types::APPOINTMENT_CANCELLED, &late).await;
    h.event(types::APPOINTMENT_NO_SHOW, &appointment(3, S::NoShow, 2))
        .await;
    h.event(types::APPOINTMENT_REJECTED, &appointment(4, S::Rejected, 2))
        .await;
    // A no-show whose approval this service never saw still leaves its fee.
    h.event(types::APPOINTMENT_NO_SHOW, &appointment(5, S::NoShow, 3))
        .await;

    let status = |i: Invoice| (i.payment_status, i.kind, i.amount);
    assert_eq!(
        status(h.of(1).await.unwrap()),
        (PaymentStatus::Void, InvoiceKind::Visit, 8001)
    );
    let late_fee = (
        PaymentStatus::Pending,
        InvoiceKind::LateCancellationFee,
        4000,
    );
    assert_eq!(status(h.of(2).await.unwrap()), late_fee);
    let no_show_fee = (PaymentStatus::Pending, InvoiceKind::NoShowFee, 4000);
    assert_eq!(status(h.of(3).await.unwrap()), no_show_fee);
    assert_eq!(status(h.of(4).await.unwrap()).0, PaymentStatus::Void);
    assert_eq!(status(h.of(5).await.unwrap()), no_show_fee);
    let updated = h.published().await;
    assert_eq!(
        updated
            .iter()
            .filter(|(t, _)| t == "InvoiceUpdated")
            .count(),
        4
    );
}

async fn stale_events_change_nothing(db: TestDatabase) {
    let h = Harness::new(db);
    // The cancellation overtook the approval: the approval is history, not news.
    h.event(
        types::APPOINTMENT_CANCELLED,
        &appointment(1, S::Cancelled, 2),
    )
    .await;
    h.event(types::APPOINTMENT_APPROVED, &appointment(1, S::Approved, 1))
        .await;
    assert!(h.of(1).await.is_none());
    h.event(types::APPOINTMENT_APPROVED, &appointment(2, S::Approved, 1))
        .await;
    h.event(types::APPOINTMENT_NO_SHOW, &appointment(2, S::NoShow, 3))
        .await;
    h.event(
        types::APPOINTMENT_CANCELLED,
        &appointment(2, S::Cancelled, 2),
    )
    .await;
    assert_eq!(h.of(2).await.unwrap().kind, InvoiceKind::NoShowFee);
}

async fn a_policy_without_fees_voids_misses(db: TestDatabase) {
    let free = PriceList {
        late_fee_percent: 0,
        ..prices()
    };
    let h = Harness::with(db, free);
    h.event(types::APPOINTMENT_APPROVED, &appointment(1, S::Approved, 1))
        .await;
    h.event(types::APPOINTMENT_NO_SHOW, &appointment(1, S::NoShow, 2))
        .await;
    h.event(types::APPOINTMENT_NO_SHOW, &appointment(2, S::NoShow, 2))
        .await;
    let voided = h.of(1).await.unwrap();
    assert_eq!(
        (voided.payment_status, voided.kind),
        (PaymentStatus::Void, InvoiceKind::Visit)
    );
    assert!(h.of(2).await.is_none());
}

fn ctx(role: Role, patient_id: Option<i64>) -> AuditContext {
    AuditContext {
        principal: Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id: None,
        },
        endpoint: "POST /api/billing/invoices/{id}/pay".to_owned(),
        request_id: "test".to_owned(),
    }
}

async fn paying_is_once_and_told(db: TestDatabase) {
    let h = Harness::new(db);
    h.event(types::APPOINTMENT_APPROVED, &appointment(1, S::Approved, 1))
        .await;
    let id = h.of(1).await.unwrap().id;
    let patient = ctx(Role::Patient, Some(PATIENT));
    let sealed: Sealed = h.store.find(id).await.unwrap().unwrap();
    let proof = policy::may_pay(&patient.principal, &sealed).unwrap();
    let now = Timestamp::now();
    let paid = h
        .store
        .pay(proof, PaymentType::Card, &patient, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paid.payment_status, PaymentStatus::Paid);
    assert_eq!(paid.payment_type, Some(PaymentType::Card));
    assert!(paid.paid_at.is_some());
    assert!(
        h.store
            .pay(proof, PaymentType::Cash, &patient, now)
            .await
            .unwrap()
            .is_none()
    );
    // A paid visit stays paid whatever happens to the appointment after.
    h.event(types::APPOINTMENT_NO_SHOW, &appointment(1, S::NoShow, 2))
        .await;
    let invoice = h.of(1).await.unwrap();
    assert_eq!(
        (invoice.payment_type, invoice.amount),
        (Some(PaymentType::Card), 8001)
    );
    let published = h.published().await;
    assert_eq!(
        published.last().unwrap(),
        &("InvoicePaid".to_owned(), "PAID".to_owned())
    );
    let filter = ListFilter {
        payment_status: Some(PaymentStatus::Paid),
        ..ListFilter::default()
    };
    let page = PageRequest { page: 0, size: 20 };
    assert_eq!(h.store.list(&filter, page).await.unwrap().1, 1);
}
