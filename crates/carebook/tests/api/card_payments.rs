//! Card payments through the provider stand-in, end to end through the gateway on both
//! backends: a checkout makes one PaymentIntent per invoice and amount, the provider's signed
//! webhook pays the invoice once, and forged, stale or repeated webhooks change nothing.

use std::collections::HashMap;

use platform::config::Service;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::billing::invoice_when;
use crate::fixtures::payments::{CardProvider, CreatedIntent, sign_with};
use crate::helpers::{Account, Backend, Reply, Setup, TestApp, monday_at, read};

macro_rules! on_both_backends_paying {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends_paying!(
    checkout_and_the_signed_webhook_pay_once,
    forged_stale_and_foreign_webhooks_change_nothing,
    without_a_provider_cards_are_recorded_by_pay,
);

const FEE: i64 = 7250;
const WEBHOOK: &str = "/api/billing/webhooks/payments";

async fn spawn(backend: Backend, provider: Option<&CardProvider>) -> TestApp {
    let mut setup = Setup::new(backend);
    setup.billing_prices = Some(billing::PriceList {
        currency: "CHF".to_owned(),
        default_fee: FEE,
        doctor_fees: HashMap::new(),
        service_fees: HashMap::new(),
        late_fee_percent: 50,
    });
    setup.billing_payments = provider.map(CardProvider::config);
    TestApp::spawn_with(setup).await
}

/// A patient with one approved visit: (the patient, the invoice's id).
async fn invoiced_patient(app: &TestApp) -> (Account, i64) {
    let doctor = app.create_doctor(1).await;
    let patient = app.register_patient(1).await;
    let visit = app
        .book_approved(patient.patient_id.unwrap(), doctor, &monday_at("09:00"))
        .await;
    let id = invoice_when(app, visit, |_| true).await["id"]
        .as_i64()
        .unwrap();
    (patient, id)
}

async fn checkout(app: &TestApp, who: Option<&Account>, invoice: i64) -> Reply {
    let token = who.map_or(app.admin_token.as_str(), |a| a.token.as_str());
    let path = format!("/api/billing/invoices/{invoice}/checkout");
    app.call(Some(token), Method::POST, &path, None).await
}

/// POSTs `body` to the webhook as the provider does: no token, the signature header if given.
async fn deliver(app: &TestApp, body: &str, signature: Option<&str>) -> Reply {
    let mut request = app
        .http
        .post(format!("{}{WEBHOOK}", app.gateway))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    read(request.send().await.unwrap()).await
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn invoice(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/billing/invoices/{id}"))
        .await
        .expect(200)
        .body
}

fn paid_events(types: &[String]) -> usize {
    types.iter().filter(|t| *t == "InvoicePaid").count()
}

async fn checkout_and_the_signed_webhook_pay_once(backend: Backend) {
    let provider = CardProvider::start().await;
    let app = spawn(backend, Some(&provider)).await;
    let (patient, id) = invoiced_patient(&app).await;
    let stranger = app.register_patient(2).await;

    // Someone else's invoice, or none: as if it did not exist, and the provider is not asked.
    checkout(&app, Some(&stranger), id).await.expect(404);
    checkout(&app, None, 999_999).await.expect(404);
    assert_eq!(provider.attempts(), 0);

    // The provider is down: 503, nothing charged, nothing stored.
    provider.fail_next(1);
    let down = checkout(&app, Some(&patient), id).await.expect(503);
    assert!(down.body["detail"].as_str().unwrap().contains("provider"));
    assert_eq!(payment_intent_of(&app, id).await, None);
    assert!(provider.intents().is_empty());

    // The patient checks out: one intent for the invoice's amount, in lower-case currency.
    let started = checkout(&app, Some(&patient), id).await.expect(200).body;
    let intents = provider.intents();
    assert_eq!(intents.len(), 1);
    let intent = &intents[0];
    assert_eq!(
        (
            intent.amount,
            intent.currency.as_str(),
            intent.invoice_id.as_str()
        ),
        (FEE, "chf", id.to_string().as_str())
    );
    assert_eq!(
        started,
        json!({"invoiceId": id, "paymentIntentId": intent.id, "amount": FEE, "currency": "CHF",
               "clientSecret": started["clientSecret"]})
    );
    assert!(
        started["clientSecret"]
            .as_str()
            .unwrap()
            .starts_with(&intent.id)
    );
    assert_eq!(
        payment_intent_of(&app, id).await.as_deref(),
        Some(intent.id.as_str())
    );
    // Again (a double click, or ADMIN): the same intent, through the same idempotency key.
    let again = checkout(&app, None, id).await.expect(200).body;
    assert_eq!(again, started);
    assert_eq!(provider.intents().len(), 1);
    assert_eq!(provider.attempts(), 3);
    assert_eq!(invoice(&app, id).await["paymentStatus"], "PENDING");

    // The provider's signed webhook pays it, as CARD.
    let event = provider.succeeded_event(intent);
    let signature = provider.sign(&event, now());
    let receipt = deliver(&app, &event, Some(&signature)).await.expect(200);
    let event_id = serde_json::from_str::<Value>(&event).unwrap()["id"].clone();
    assert_eq!(
        receipt.body,
        json!({"eventId": event_id, "outcome": "PAID"})
    );
    let paid = invoice(&app, id).await;
    assert_eq!(
        (&paid["paymentStatus"], &paid["paymentType"]),
        (&json!("PAID"), &json!("CARD"))
    );
    assert!(paid["paidAt"].is_string());

    // Delivered twice (the provider retries), or the intent reported again under a new event
    // id: still one payment, one InvoicePaid.
    let repeat = deliver(&app, &event, Some(&signature)).await.expect(200);
    assert_eq!(repeat.body["outcome"], "DUPLICATE");
    let resent = provider.succeeded_event(intent);
    let resent_signature = provider.sign(&resent, now());
    let resent = deliver(&app, &resent, Some(&resent_signature))
        .await
        .expect(200);
    assert_eq!(resent.body["outcome"], "IGNORED");
    assert_eq!(invoice(&app, id).await, paid);
    assert_eq!(paid_events(&app.outbox_types(Service::Billing).await), 1);

    // A paid invoice has nothing left to check out or pay.
    let conflict = checkout(&app, Some(&patient), id).await.expect(409);
    assert!(
        conflict.body["detail"]
            .as_str()
            .unwrap()
            .contains("PENDING")
    );
    app.post(
        &format!("/api/billing/invoices/{id}/pay"),
        &json!({"paymentType": "CASH"}),
    )
    .await
    .expect(409);
    assert_eq!(provider.intents().len(), 1);

    // The trail names the patient's checkout and the provider's payment (no user, SERVICE).
    let me = patient.patient_id.unwrap();
    let trail = app
        .get(&format!("/api/audit?patientId={me}&size=100"))
        .await
        .expect(200)
        .body;
    let resource = format!("invoice/{id}");
    let changes: Vec<(&str, &str, &str)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["resource"] == resource.as_str() && row["action"] == "UPDATE")
        .map(|row| {
            (
                row["actorRole"].as_str().unwrap(),
                row["outcome"].as_str().unwrap(),
                row["endpoint"].as_str().unwrap(),
            )
        })
        .collect();
    let webhook = format!("POST {WEBHOOK}");
    assert!(
        changes.contains(&("SERVICE", "SUCCESS", webhook.as_str())),
        "{changes:?}"
    );
    assert!(
        changes.contains(&(
            "PATIENT",
            "SUCCESS",
            "POST /api/billing/invoices/{id}/checkout"
        )),
        "{changes:?}"
    );
}

async fn forged_stale_and_foreign_webhooks_change_nothing(backend: Backend) {
    let provider = CardProvider::start().await;
    let app = spawn(backend, Some(&provider)).await;
    let (patient, id) = invoiced_patient(&app).await;
    checkout(&app, Some(&patient), id).await.expect(200);
    let intent = provider.intents().remove(0);
    let event = provider.succeeded_event(&intent);

    let refusals = [
        // No signature at all.
        None,
        // Signed with another secret: forged.
        Some(sign_with("whsec_not_the_clinics", &event, now())),
        // A genuine signature of another body.
        Some(provider.sign(&event.replace("succeeded\"", "succeeded\" "), now())),
        // A genuine signature, captured ten minutes ago and replayed.
        Some(provider.sign(&event, now() - 600)),
        // Nonsense.
        Some("t=soon,v1=zz".to_owned()),
    ];
    for signature in &refusals {
        let refused = deliver(&app, &event, signature.as_deref())
            .await
            .expect(400);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("signature"),
            "{}",
            refused.body
        );
    }
    // Signed, but not an event; an event for an intent the checkout did not make; an amount
    // other than the invoice's.
    let garbage = "{\"not\": \"an event\"}";
    deliver(&app, garbage, Some(&provider.sign(garbage, now())))
        .await
        .expect(400);
    let strangers = [
        CreatedIntent {
            id: "pi_made_elsewhere".to_owned(),
            ..intent.clone()
        },
        CreatedIntent {
            amount: 1,
            ..intent.clone()
        },
    ];
    for stranger in &strangers {
        let body = provider.succeeded_event(stranger);
        let ignored = deliver(&app, &body, Some(&provider.sign(&body, now())))
            .await
            .expect(200);
        assert_eq!(ignored.body["outcome"], "IGNORED");
    }
    // A body over the webhook's limit.
    let huge = format!(
        "{{\"id\":\"evt_big\",\"pad\":\"{}\"}}",
        "x".repeat(100 * 1024)
    );
    deliver(&app, &huge, Some(&provider.sign(&huge, now())))
        .await
        .expect(413);

    assert_eq!(invoice(&app, id).await["paymentStatus"], "PENDING");
    assert_eq!(paid_events(&app.outbox_types(Service::Billing).await), 0);
    // The genuine event still pays, afterwards.
    let paid = deliver(&app, &event, Some(&provider.sign(&event, now())))
        .await
        .expect(200);
    assert_eq!(paid.body["outcome"], "PAID");
    assert_eq!(invoice(&app, id).await["paymentStatus"], "PAID");
}

async fn without_a_provider_cards_are_recorded_by_pay(backend: Backend) {
    let app = spawn(backend, None).await;
    let (patient, id) = invoiced_patient(&app).await;
    let refused = checkout(&app, Some(&patient), id).await.expect(409);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("not configured")
    );
    let event = json!({"id": "evt_1", "type": "payment_intent.succeeded"}).to_string();
    let signature = sign_with("whsec_guess", &event, now());
    deliver(&app, &event, Some(&signature)).await.expect(400);
    assert_eq!(payment_intent_of(&app, id).await, None);
    let path = format!("/api/billing/invoices/{id}/pay");
    let card = json!({"paymentType": "CARD"});
    let paid = app
        .call(Some(&patient.token), Method::POST, &path, Some(&card))
        .await
        .expect(200);
    assert_eq!(paid.body["paymentType"], "CARD");
}

/// The intent stored on an invoice, read from the billing database.
async fn payment_intent_of(app: &TestApp, id: i64) -> Option<String> {
    let mut conn = sqlx::AnyConnection::connect(&app.database_urls[&Service::Billing])
        .await
        .unwrap();
    let (intent,): (Option<String>,) =
        sqlx::query_as("SELECT payment_intent_id FROM invoices WHERE id = $1")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    intent
}
