//! The broker goes away while the clinic keeps working: nothing fails, nothing is lost.

use platform::config::Service;

use super::{
    Mode, assert_each_once_and_sent, book_and_approve, settled_notifications, spawn,
    stored_notifications,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_made_while_the_broker_is_unreachable_are_each_notified_once_it_is_back() {
    let (app, broker) = spawn(Mode::Distributed, |setup| setup).await;
    let broker = broker.unwrap();
    broker.proxy.cut().await;

    // Every booking and approval succeeds with the broker away: the events wait in the
    // services' outboxes.
    let appointments = book_and_approve(&app, (10, 50), 500, 8).await;
    assert_eq!(appointments.len(), 500);
    let notifications = &app.database_urls[&Service::Notifications];
    assert!(stored_notifications(notifications).await.is_empty());

    broker.proxy.restore();
    // Per appointment: a request to approve and a confirmation to the doctor, and a
    // confirmation to the patient.
    let rows = settled_notifications(&app, 1500).await;
    assert_eq!(rows.len(), 1500);
    assert_each_once_and_sent(&rows);
    for id in appointments {
        let of_it = rows.iter().filter(|r| r.appointment_id == Some(id)).count();
        assert_eq!(of_it, 3, "appointment {id}");
    }
}
