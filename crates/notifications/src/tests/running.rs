//! The assembled service: `app()` serves and its worker loop delivers on its own.

use std::time::Duration;

use contracts::appointments::AppointmentStatus as S;
use contracts::events::types;
use contracts::notifications::NotificationStatus;
use platform::events::EventBus;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Harness, appointment, hours};

#[tokio::test]
async fn the_app_serves_health_and_guards_its_api() {
    let h = Harness::new(super::sqlite().await).await;
    let dir = tempfile_dir();
    let mut config = h.config.clone();
    config.database_url = format!("sqlite://{}", dir.join("notifications.db").display()).into();
    let bus = EventBus::new(None, contracts::events::TOPOLOGY);
    let shutdown = CancellationToken::new();
    let app = crate::app(config, &bus, &shutdown).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = shutdown.clone();
    tokio::spawn(platform::server::serve(listener, app, async move {
        stop.cancelled().await
    }));

    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{url}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let anonymous = http
        .get(format!("{url}/api/notifications"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_worker_loop_delivers_until_shut_down() {
    let h = Harness::new(super::sqlite().await).await;
    h.publish(
        types::APPOINTMENT_APPROVED,
        &appointment(1, h.now() + hours(72), S::Approved),
    )
    .await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        h.service
            .worker()
            .run(Duration::from_millis(5), shutdown.clone()),
    );
    // The loop runs on its own schedule: wait (bounded) for it to catch up.
    for _ in 0..400 {
        let all = h.all().await;
        if all.iter().all(|n| n.status == NotificationStatus::Sent) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        h.all()
            .await
            .iter()
            .all(|n| n.status == NotificationStatus::Sent)
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("carebook-notifications-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
