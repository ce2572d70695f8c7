//! The HTTP handlers called directly with their extractors: who may send and see what, the
//! validation of a message, and the audit rows of patients' notifications.

use axum::extract::{Query, State};
use contracts::appointments::AppointmentStatus as S;
use contracts::events::types;
use contracts::notifications::{
    Channel, NewNotification, NotificationFilter, NotificationKind, NotificationStatus,
    RecipientType,
};
use platform::ApiError;
use platform::audit::AuditContext;
use platform::auth::{Principal, Role};
use platform::client::Forwarded;
use platform::extract::Json;
use platform::page::PageParams;
use platform::testing::TestDatabase;

use super::{DOCTOR, Harness, PATIENT, appointment, hours, on_both_backends};
use crate::api::notifications::{create, list};
use crate::policy;

on_both_backends!(
    an_admin_sends_a_message_that_the_worker_delivers,
    a_message_is_validated_whole_and_its_recipient_must_exist,
    patients_and_doctors_list_only_their_own_and_reads_are_audited,
    a_message_whose_audit_row_fails_is_not_stored,
);

fn ctx(role: Role, patient_id: Option<i64>, doctor_id: Option<i64>) -> AuditContext {
    AuditContext {
        principal: Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id,
        },
        endpoint: "test".to_owned(),
        request_id: "request-1".to_owned(),
    }
}

fn admin() -> AuditContext {
    ctx(Role::Admin, None, None)
}

fn caller() -> Forwarded {
    Forwarded::service("caller-token", None)
}

fn message(recipient_id: i64, text: &str) -> NewNotification {
    NewNotification {
        recipient_id,
        recipient_type: None,
        message: text.to_owned(),
        subject: None,
        channel: None,
    }
}

async fn audit_rows(h: &Harness, action: &str) -> i64 {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE patient_id = $1 AND action = $2")
            .bind(PATIENT)
            .bind(action)
            .fetch_one(h.service.db().pool())
            .await
            .unwrap();
    count
}

async fn an_admin_sends_a_message_that_the_worker_delivers(db: TestDatabase) {
    let h = Harness::new(db).await;
    let state = h.service.state.clone();
    let input = message(PATIENT, "  Closed on Friday.  ");
    let (status, axum::Json(sent)) = create(State(state), admin(), caller(), Json(input))
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 202);
    assert_eq!(
        (sent.recipient_type, sent.recipient_id),
        (RecipientType::Patient, PATIENT)
    );
    assert_eq!(
        (sent.channel, sent.kind),
        (Channel::InApp, NotificationKind::Message)
    );
    assert_eq!(
        (sent.status, sent.attempts),
        (NotificationStatus::Pending, 0)
    );
    assert_eq!(sent.message, "Closed on Friday.");
    assert_eq!(audit_rows(&h, "CREATE").await, 1);

    assert_eq!(
        h.service.worker().deliver_due(h.now()).await.unwrap().sent,
        1
    );
    let delivered = h
        .store()
        .find(policy::delivery_worker(), sent.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, NotificationStatus::Sent);
    assert_eq!(delivered.message.as_deref(), Some("Closed on Friday."));
    assert_eq!(
        delivered.subject.as_deref(),
        Some("Message from your clinic")
    );

    let mut by_sms = message(DOCTOR, "Please call the front desk.");
    by_sms.recipient_type = Some(RecipientType::Doctor);
    by_sms.channel = Some(Channel::Sms);
    by_sms.subject = Some("Front desk".to_owned());
    let state = h.service.state.clone();
    let (_, axum::Json(sent)) = create(State(state), admin(), caller(), Json(by_sms))
        .await
        .unwrap();
    assert_eq!(sent.subject.as_deref(), Some("Front desk"));
    h.service.worker().deliver_due(h.now()).await.unwrap();
    let sms = h.stub.sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].form["Body"], "Please call the front desk.");
}

async fn a_message_is_validated_whole_and_its_recipient_must_exist(db: TestDatabase) {
    // E-mail is not configured in these tests.
    let h = Harness::new(db).await;
    let state = || State(h.service.state.clone());
    let mut bad = message(0, "   ");
    bad.subject = Some(String::new());
    bad.channel = Some(Channel::Email);
    let Err(ApiError::Invalid(errors)) = create(state(), admin(), caller(), Json(bad)).await else {
        panic!("expected 400");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["recipientId", "message", "subject", "channel"]);

    let unknown = create(state(), admin(), caller(), Json(message(99, "Hello"))).await;
    let Err(ApiError::Unprocessable(errors)) = unknown else {
        panic!("expected 422");
    };
    assert_eq!(errors[0].field, "recipientId");

    let patient = ctx(Role::Patient, Some(PATIENT), None);
    let refused = create(state(), patient, caller(), Json(message(PATIENT, "Hi"))).await;
    assert!(matches!(refused, Err(ApiError::Forbidden)));
    assert!(h.all().await.is_empty());
}

async fn patients_and_doctors_list_only_their_own_and_reads_are_audited(db: TestDatabase) {
    let h = Harness::new(db).await;
    h.publish(
        types::APPOINTMENT_APPROVED,
        &appointment(1, h.now() + hours(72), S::Approved),
    )
    .await;
    let state = || State(h.service.state.clone());
    let page = || Query(PageParams::default());
    let filter = |recipient_id, status| {
        Query(NotificationFilter {
            recipient_id,
            recipient_type: None,
            status,
        })
    };

    let patient = ctx(Role::Patient, Some(PATIENT), None);
    let axum::Json(own) = list(state(), patient.clone(), filter(None, None), page())
        .await
        .unwrap();
    assert_eq!(own.total, 2);
    assert!(own.items.iter().all(|n| n.recipient_id == PATIENT));
    assert!(
        own.items
            .iter()
            .all(|n| n.recipient_type == RecipientType::Patient)
    );
    // Not yet delivered: the message is the kind's title.
    assert!(
        own.items
            .iter()
            .all(|n| n.message == "Appointment confirmed")
    );
    assert_eq!(audit_rows(&h, "LIST").await, 2);

    let other = list(state(), patient, filter(Some(7), None), page()).await;
    assert!(matches!(other, Err(ApiError::Forbidden)));

    let doctor = ctx(Role::Doctor, None, Some(DOCTOR));
    let axum::Json(own) = list(state(), doctor, filter(None, None), page())
        .await
        .unwrap();
    assert_eq!(own.total, 2);
    assert!(
        own.items
            .iter()
            .all(|n| n.recipient_type == RecipientType::Doctor)
    );

    h.service.worker().deliver_due(h.now()).await.unwrap();
    let sent = Some(NotificationStatus::Sent);
    let axum::Json(all) = list(state(), admin(), filter(None, sent), page())
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    let pending = Some(NotificationStatus::Pending);
    let axum::Json(none) = list(state(), admin(), filter(None, pending), page())
        .await
        .unwrap();
    assert_eq!(none.total, 0);
}

#[test]
fn the_openapi_document_covers_both_operations() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    let path = &doc["paths"]["/api/notifications"];
    assert!(
        path["get"].is_object() && path["post"].is_object(),
        "{path}"
    );
    assert!(path["post"]["responses"]["202"].is_object());
    let schemas = &doc["components"]["schemas"];
    for name in [
        "Notification",
        "NewNotification",
        "Channel",
        "RecipientType",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
}

#[tokio::test]
async fn the_service_refuses_to_start_without_a_service_secret() {
    let h = Harness::new(super::sqlite().await).await;
    let mut config = h.config.clone();
    config.service_secret = None;
    let refused = crate::NotificationService::with_db(config, h.service.db().clone()).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("CAREBOOK_SERVICE_SECRET must be set"),
        "{refused}"
    );
    // Secrets stay out of logged configurations.
    let shown = format!("{:?}", h.config);
    assert!(!shown.contains("service-secret-for-tests") && !shown.contains("sms-token"));
}

async fn a_message_whose_audit_row_fails_is_not_stored(db: TestDatabase) {
    let h = Harness::new(db).await;
    sqlx::query("DROP TABLE audit_log")
        .execute(h.service.db().pool())
        .await
        .unwrap();
    let state = h.service.state.clone();
    let input = message(PATIENT, "Closed on Friday.");
    let sent = create(State(state), admin(), caller(), Json(input)).await;
    assert!(matches!(sent, Err(ApiError::Internal(_))));
    assert!(
        h.all().await.is_empty(),
        "the message and its audit row go together"
    );
}
