//! E-mail through a minimal local SMTP server (the external party): the message, its stable
//! Message-ID, and a refused recipient failing at once.

use std::sync::{Arc, Mutex};

use contracts::appointments::AppointmentStatus as S;
use contracts::events::types;
use contracts::notifications::{Channel, NotificationStatus, RecipientType};
use platform::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{Harness, PATIENT, appointment, hours, on_both_backends};
use crate::channels::SmtpConfig;
use crate::worker::DeliveryPass;

on_both_backends!(
    an_email_goes_out_with_a_stable_message_id,
    a_refused_recipient_fails_at_once,
);

/// Accepts every session; `refuse` answers RCPT with 550. Keeps each message's DATA.
async fn smtp_server(refuse: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::spawn(session(socket, refuse, store.clone()));
        }
    });
    (url, received)
}

async fn session(socket: TcpStream, refuse: bool, received: Arc<Mutex<Vec<String>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 stub ESMTP\r\n").await.unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 stub\r\n"
        } else if command.starts_with("RCPT") && refuse {
            b"550 5.1.1 mailbox unavailable\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await.unwrap();
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(&line);
                data.push('\n');
            }
            received.lock().unwrap().push(data);
            b"250 queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await.unwrap();
    }
}

async fn with_email(db: TestDatabase, url: String) -> Harness {
    Harness::with(db, |config| {
        config.sms = None;
        config.smtp = Some(SmtpConfig {
            url,
            from: "carebook <no-reply@carebook.test>".to_owned(),
        });
    })
    .await
}

async fn an_email_goes_out_with_a_stable_message_id(db: TestDatabase) {
    let (url, received) = smtp_server(false).await;
    let h = with_email(db, url).await;
    let start = h.now() + hours(72);
    h.publish(
        types::APPOINTMENT_REJECTED,
        &appointment(1, start, S::Rejected),
    )
    .await;
    let pass = h.service.worker().deliver_due(h.now()).await.unwrap();
    assert_eq!(
        pass,
        DeliveryPass {
            sent: 2,
            retried: 0,
            failed: 0
        }
    );

    let email = h
        .all()
        .await
        .into_iter()
        .find(|n| n.channel == Channel::Email)
        .unwrap();
    assert_eq!(
        (email.recipient.kind, email.recipient.id),
        (RecipientType::Patient, PATIENT)
    );
    assert_eq!(email.status, NotificationStatus::Sent);
    let messages = received.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    let id_header = format!("Message-ID: <notification-{}@carebook>", email.id);
    assert!(message.contains(&id_header), "{message}");
    assert!(message.contains("To: patient6@example.org"), "{message}");
    assert!(
        message.contains("Subject: Appointment request #1 declined"),
        "{message}"
    );
    assert!(message.contains("Hello Ada Lovelace,"), "{message}");
}

async fn a_refused_recipient_fails_at_once(db: TestDatabase) {
    let (url, received) = smtp_server(true).await;
    let h = with_email(db, url).await;
    h.publish(
        types::APPOINTMENT_REJECTED,
        &appointment(1, h.now() + hours(72), S::Rejected),
    )
    .await;
    let pass = h.service.worker().deliver_due(h.now()).await.unwrap();
    assert_eq!(
        pass,
        DeliveryPass {
            sent: 1,
            retried: 0,
            failed: 1
        }
    );
    let email = h
        .all()
        .await
        .into_iter()
        .find(|n| n.channel == Channel::Email)
        .unwrap();
    assert_eq!(
        (email.status, email.attempts),
        (NotificationStatus::Failed, 1)
    );
    assert_eq!(
        email.last_error.as_deref(),
        Some("the SMTP server refused the message (550)")
    );
    assert!(received.lock().unwrap().is_empty());
}
