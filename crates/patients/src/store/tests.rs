//! The store against real databases: every scenario runs on a fresh SQLite file and on a fresh
//! PostgreSQL database.

use contracts::patients::PatientInput;
use jiff::civil::date;
use platform::ApiError;
use platform::audit::AuditContext;
use platform::auth::{Principal, Role};
use platform::db::Db;
use platform::testing::TestDatabase;

use super::PatientStore;
use crate::MIGRATIONS;
use crate::domain::PatientDetails;
use crate::policy::Policy;

/// Runs each named `async fn(&PatientStore, &Db)` once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = super::TestDatabase::sqlite(&super::MIGRATIONS).await;
                    super::$name(&super::store(&test_db.db), &test_db.db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = super::TestDatabase::postgres(&super::MIGRATIONS).await;
                    super::$name(&super::store(&test_db.db), &test_db.db).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_change_whose_audit_row_fails_changes_nothing,
    an_account_holders_email_and_medical_history_are_kept,
    a_bad_stored_value_is_an_error_not_a_default,
);

fn store(db: &Db) -> PatientStore {
    PatientStore::new(
        db.clone(),
        platform::audit::AuditLog::new(db.clone(), "patients"),
    )
}

fn ctx(role: Role, patient_id: Option<i64>) -> AuditContext {
    AuditContext {
        principal: Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id: None,
        },
        endpoint: "PUT /api/patients/{id}".to_owned(),
        request_id: "test".to_owned(),
    }
}

fn details(email: &str, medical_history: Option<&str>) -> PatientDetails {
    let input = PatientInput {
        name: "Ada Lovelace".into(),
        email: email.into(),
        phone: "+44 20 7946 0958".into(),
        dob: "1985-12-10".into(),
        address: "12 St James's Square".into(),
        medical_history: medical_history.map(str::to_owned),
    };
    PatientDetails::parse(input, date(2026, 11, 21)).unwrap()
}

/// A patient registered by the identity service, so with an account.
async fn registered(store: &PatientStore, history: Option<&str>) -> i64 {
    let service = ctx(Role::Service, None);
    let access = Policy::may_create(&service.principal).unwrap();
    let created = store
        .insert(access, &details("ada@example.org", history), &service)
        .await
        .unwrap();
    created.id
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.pool()).await.unwrap();
    n
}

async fn a_change_whose_audit_row_fails_changes_nothing(store: &PatientStore, db: &Db) {
    let id = registered(store, None).await;
    let events = count(db, "SELECT COUNT(*) FROM outbox").await;
    sqlx::query("DROP TABLE audit_log")
        .execute(db.pool())
        .await
        .unwrap();
    let admin = ctx(Role::Admin, None);
    let access = Policy::may_write(&admin.principal, id).unwrap();
    let changed = details("ada@example.org", Some("asthma"));
    assert!(store.update(access, &changed, &admin).await.is_err());
    let read = Policy::may_book_for(&admin.principal, id).unwrap();
    let stored = store.find(read).await.unwrap().unwrap();
    assert_eq!(stored.medical_history, None);
    assert_eq!(count(db, "SELECT COUNT(*) FROM outbox").await, events);
}

async fn an_account_holders_email_and_medical_history_are_kept(store: &PatientStore, _: &Db) {
    let id = registered(store, Some("asthma")).await;
    let patient = ctx(Role::Patient, Some(id));
    let access = Policy::may_write(&patient.principal, id).unwrap();

    let new_email = details("admin@example.org", Some("asthma"));
    let refused = store.update(access, &new_email, &patient).await;
    assert!(matches!(refused, Err(ApiError::Invalid(e)) if e[0].field == "email"));
    let new_history = details("ada@example.org", Some("none"));
    let refused = store.update(access, &new_history, &patient).await;
    assert!(matches!(refused, Err(ApiError::Forbidden)));

    // Leaving the history out keeps it.
    let kept = store
        .update(access, &details("ada@example.org", None), &patient)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.medical_history.as_deref(), Some("asthma"));
    assert_eq!(kept.email, "ada@example.org");
}

async fn a_bad_stored_value_is_an_error_not_a_default(store: &PatientStore, db: &Db) {
    let id = registered(store, None).await;
    let admin = ctx(Role::Admin, None);
    let read = Policy::may_book_for(&admin.principal, id).unwrap();
    for corrupt in [
        "UPDATE patients SET has_account = 7",
        "UPDATE patients SET has_account = 1, dob = 'soon'",
    ] {
        sqlx::query(corrupt).execute(db.pool()).await.unwrap();
        assert!(matches!(store.find(read).await, Err(ApiError::Internal(_))));
    }
}
