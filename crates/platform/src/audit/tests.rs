//! The group-committing writer on real SQLite and PostgreSQL databases.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use futures::future::join_all;

use super::*;
use crate::ApiError;
use crate::auth::{Principal, Role};
use crate::db::Migrations;
use crate::testing::TestDatabase;

static NO_MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./tests/no-migrations"),
    postgres: &sqlx::migrate!("./tests/no-migrations"),
};

async fn database(postgres: bool) -> TestDatabase {
    if postgres {
        TestDatabase::postgres(&NO_MIGRATIONS).await
    } else {
        TestDatabase::sqlite(&NO_MIGRATIONS).await
    }
}

fn ctx(request_id: &str) -> AuditContext {
    AuditContext {
        principal: Principal {
            user_id: 7,
            role: Role::Admin,
            patient_id: None,
            doctor_id: None,
        },
        endpoint: "GET /api/things/{id}".to_owned(),
        request_id: request_id.to_owned(),
    }
}

/// How many rows name each resource.
async fn rows_by_resource(db: &Db) -> HashMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT resource, COUNT(*) FROM audit_log GROUP BY resource")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn execute(db: &Db, sql: &'static str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap();
}

/// 300 concurrent reads and 30 concurrent pages of 100 (more rows than one statement takes):
/// every request succeeds and every access has exactly one row, with its own request's id.
async fn concurrent_reads_are_all_audited_exactly_once(postgres: bool) {
    let test = database(postgres).await;
    let log = AuditLog::new(test.db.clone(), "test");
    let reads = (0..300).map(|n| {
        let log = log.clone();
        tokio::spawn(async move {
            let resource = format!("thing/{n}");
            let ctx = ctx(&format!("read-{n}"));
            log.record(&ctx, Some(n), Action::Read, &resource, Outcome::Success)
                .await
        })
    });
    let pages = (0..30).map(|page| {
        let log = log.clone();
        tokio::spawn(async move {
            let items = (0..100).map(|i| (Some(i), format!("page/{page}/item/{i}")));
            log.record_page(&ctx(&format!("page-{page}")), items).await
        })
    });
    let (reads, pages) = tokio::join!(join_all(reads), join_all(pages));
    for result in reads.into_iter().chain(pages) {
        result.unwrap().unwrap();
    }

    let rows = rows_by_resource(&test.db).await;
    assert_eq!(rows.len(), 300 + 30 * 100);
    assert!(
        rows.values().all(|&count| count == 1),
        "a row written twice"
    );
    let (request_id, action): (String, String) =
        sqlx::query_as("SELECT request_id, action FROM audit_log WHERE resource = 'page/4/item/9'")
            .fetch_one(test.db.pool())
            .await
            .unwrap();
    assert_eq!((request_id.as_str(), action.as_str()), ("page-4", "LIST"));
    let (request_id,): (String,) =
        sqlx::query_as("SELECT request_id FROM audit_log WHERE resource = 'thing/42'")
            .fetch_one(test.db.pool())
            .await
            .unwrap();
    assert_eq!(request_id, "read-42");
}

/// With the table gone every request of the batch fails and nothing is written; the writer
/// carries on once the table is back.
async fn a_failing_batch_fails_all_its_requests(postgres: bool) {
    let test = database(postgres).await;
    let log = AuditLog::new(test.db.clone(), "test");
    execute(&test.db, "ALTER TABLE audit_log RENAME TO audit_log_broken").await;
    let reads = (0..50).map(|n| {
        let log = log.clone();
        async move {
            let resource = format!("thing/{n}");
            log.record(
                &ctx("r"),
                Some(n),
                Action::Read,
                &resource,
                Outcome::Success,
            )
            .await
        }
    });
    let page_ctx = ctx("p");
    let page = log.record_page(&page_ctx, (0..10).map(|i| (Some(i), format!("item/{i}"))));
    let (reads, page) = tokio::join!(join_all(reads), page);
    assert!(matches!(page, Err(ApiError::Internal(_))), "{page:?}");
    for result in reads {
        assert!(matches!(result, Err(ApiError::Internal(_))), "{result:?}");
    }
    execute(&test.db, "ALTER TABLE audit_log_broken RENAME TO audit_log").await;
    assert!(rows_by_resource(&test.db).await.is_empty());

    log.record(
        &ctx("after"),
        Some(1),
        Action::Read,
        "thing/1",
        Outcome::Success,
    )
    .await
    .unwrap();
    assert_eq!(rows_by_resource(&test.db).await.get("thing/1"), Some(&1));
}

/// The table disappears while requests are in flight: whatever the batches turn out to be,
/// a request answered as a success has its row, and a failed one has none.
async fn no_request_succeeds_without_its_row(postgres: bool) {
    let test = database(postgres).await;
    let log = AuditLog::new(test.db.clone(), "test");
    let reads: Vec<_> = (0..200)
        .map(|n| {
            let log = log.clone();
            tokio::spawn(async move {
                let resource = format!("thing/{n}");
                let ctx = ctx("r");
                let result = log
                    .record(&ctx, Some(n), Action::Read, &resource, Outcome::Success)
                    .await;
                (resource, result.is_ok())
            })
        })
        .collect();
    execute(&test.db, "ALTER TABLE audit_log RENAME TO audit_log_broken").await;
    let results: Vec<_> = join_all(reads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    execute(&test.db, "ALTER TABLE audit_log_broken RENAME TO audit_log").await;

    let rows = rows_by_resource(&test.db).await;
    for (resource, answered) in results {
        let written = rows.get(&resource).copied().unwrap_or(0);
        assert_eq!(written, i64::from(answered), "{resource}");
    }
}

/// Rows written inside a caller's transaction go with it: rolled back, they are gone.
async fn a_row_in_a_transaction_commits_with_it(postgres: bool) {
    let test = database(postgres).await;
    let log = AuditLog::new(test.db.clone(), "test");
    let mut tx = test.db.begin().await.unwrap();
    log.record_in(&mut tx, &ctx("t"), Some(1), Action::Update, "thing/1")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = test.db.begin().await.unwrap();
    log.record_in(&mut tx, &ctx("t"), Some(2), Action::Update, "thing/2")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows = rows_by_resource(&test.db).await;
    assert_eq!(rows, HashMap::from([("thing/2".to_owned(), 1)]));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(false).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(true).await;
                }
            )*
        }
    };
}

on_both_backends!(
    concurrent_reads_are_all_audited_exactly_once,
    a_failing_batch_fails_all_its_requests,
    no_request_succeeds_without_its_row,
    a_row_in_a_transaction_commits_with_it,
);
