//! The provider's PaymentIntents API over HTTP: `POST {url}/v1/payment_intents`, form-encoded,
//! `Authorization: Bearer <secret key>`, with an `Idempotency-Key` derived from the invoice so a
//! repeated checkout (a double click, a retry after a timeout) gets the same intent.

use std::time::Duration;

use contracts::billing::Invoice;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;

use super::PaymentsConfig;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A PaymentIntent as the provider answered it: what the client needs to confirm the payment.
#[derive(Debug, Clone, Deserialize)]
pub struct Intent {
    pub id: String,
    pub client_secret: String,
    pub amount: i64,
    pub currency: String,
}

/// Why no intent was made; the checkout answers 503 either way and changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider is unreachable")]
    Unreachable,
    #[error("the payment provider answered {0}")]
    Status(u16),
    #[error("the payment provider's answer is not a payment intent")]
    Unreadable,
}

#[derive(Clone)]
pub struct PaymentProvider {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
}

impl std::fmt::Debug for PaymentProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentProvider")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl PaymentProvider {
    pub fn new(config: &PaymentsConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            http,
            endpoint: format!("{}/v1/payment_intents", config.url),
            authorization: format!("Bearer {}", config.secret_key),
        })
    }

    /// Creates (or, for the same key, finds again) the intent paying `invoice` as it stands.
    pub async fn create_intent(&self, invoice: &Invoice) -> Result<Intent, ProviderError> {
        let form = intent_form(invoice).map_err(|_| ProviderError::Unreadable)?;
        let response = self
            .http
            .post(&self.endpoint)
            .header(AUTHORIZATION, &self.authorization)
            .header("idempotency-key", idempotency_key(invoice))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|_| ProviderError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::Status(status.as_u16()));
        }
        response
            .json::<Intent>()
            .await
            .map_err(|_| ProviderError::Unreadable)
    }
}

/// The same invoice at the same amount is the same payment. The amount is part of the key: a
/// visit invoice that became a late-cancellation fee is a new payment, and the provider
/// refuses a key reused with other parameters.
pub fn idempotency_key(invoice: &Invoice) -> String {
    format!(
        "carebook-invoice-{}-{}-{}",
        invoice.id,
        invoice.amount,
        invoice.currency.to_ascii_lowercase()
    )
}

fn intent_form(invoice: &Invoice) -> Result<String, serde_urlencoded::ser::Error> {
    serde_urlencoded::to_string([
        ("amount", invoice.amount.to_string()),
        ("currency", invoice.currency.to_ascii_lowercase()),
        ("metadata[invoiceId]", invoice.id.to_string()),
        (
            "metadata[appointmentId]",
            invoice.appointment_id.to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use contracts::billing::{InvoiceKind, PaymentStatus};
    use jiff::Timestamp;

    use super::*;

    fn invoice(amount: i64) -> Invoice {
        Invoice {
            id: 42,
            patient_id: 6,
            appointment_id: 7,
            amount,
            currency: "EUR".to_owned(),
            payment_status: PaymentStatus::Pending,
            payment_type: None,
            kind: InvoiceKind::Visit,
            created_at: Timestamp::UNIX_EPOCH,
            paid_at: None,
        }
    }

    #[test]
    fn the_form_carries_amount_currency_and_the_invoice() {
        assert_eq!(
            intent_form(&invoice(5000)).unwrap(),
            "amount=5000&currency=eur&metadata%5BinvoiceId%5D=42&metadata%5BappointmentId%5D=7"
        );
    }

    #[test]
    fn the_key_follows_the_invoice_and_its_amount() {
        assert_eq!(
            idempotency_key(&invoice(5000)),
            "carebook-invoice-42-5000-eur"
        );
        assert_ne!(
            idempotency_key(&invoice(5000)),
            idempotency_key(&invoice(2500))
        );
    }
}
