//! The provider's webhook body: an event `{id, type, data: {object}}`. Only
//! `payment_intent.succeeded` of an intent carrying our `metadata[invoiceId]` changes anything.

use serde::Deserialize;
use serde_json::Value;

/// The event type that pays an invoice.
pub const SUCCEEDED: &str = "payment_intent.succeeded";
/// Longest provider event id we store (Stripe's are about 30 characters).
const MAX_ID_CHARS: usize = 255;

/// A verified event, as far as its envelope goes.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default)]
    data: EventData,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct EventData {
    #[serde(default)]
    object: Value,
}

/// A succeeded PaymentIntent of one of our invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Succeeded {
    pub intent_id: String,
    pub invoice_id: i64,
    /// What was charged, in minor units.
    pub amount: i64,
    /// Lower-case ISO 4217, as the provider writes it.
    pub currency: String,
}

impl ProviderEvent {
    /// The envelope of a webhook body; an error says what is wrong with it.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let event: Self = serde_json::from_slice(body).map_err(|_| {
            "The webhook body is not a provider event `{id, type, data}`.".to_owned()
        })?;
        if event.id.is_empty() || event.id.chars().count() > MAX_ID_CHARS {
            return Err(format!(
                "The event id must be 1 to {MAX_ID_CHARS} characters."
            ));
        }
        Ok(event)
    }

    /// The payment this event reports, if it is a succeeded intent of one of our invoices;
    /// `None` for any other event (acknowledged and ignored).
    pub fn succeeded(&self) -> Option<Succeeded> {
        if self.event_type != SUCCEEDED {
            return None;
        }
        let intent = &self.data.object;
        let invoice_id = match &intent["metadata"]["invoiceId"] {
            Value::String(id) => id.parse().ok()?,
            Value::Number(id) => id.as_i64()?,
            _ => return None,
        };
        let amount = intent
            .get("amount_received")
            .and_then(Value::as_i64)
            .or_else(|| intent["amount"].as_i64())?;
        Some(Succeeded {
            intent_id: intent["id"].as_str()?.to_owned(),
            invoice_id,
            amount,
            currency: intent["currency"].as_str()?.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(body: &Value) -> ProviderEvent {
        ProviderEvent::parse(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_succeeded_intent_names_its_invoice_and_charge() {
        let body = json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {
            "id": "pi_1", "object": "payment_intent", "amount": 5000, "amount_received": 5000,
            "currency": "eur", "metadata": {"invoiceId": "42"}}}});
        assert_eq!(
            event(&body).succeeded(),
            Some(Succeeded {
                intent_id: "pi_1".to_owned(),
                invoice_id: 42,
                amount: 5000,
                currency: "eur".to_owned(),
            })
        );
    }

    #[test]
    fn other_events_and_foreign_intents_are_not_payments() {
        let other = json!({"id": "evt_2", "type": "payment_intent.created",
            "data": {"object": {"id": "pi_1", "amount": 1, "currency": "eur",
                                "metadata": {"invoiceId": "42"}}}});
        assert_eq!(event(&other).succeeded(), None);
        let foreign = json!({"id": "evt_3", "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_2", "amount": 1, "currency": "eur", "metadata": {}}}});
        assert_eq!(event(&foreign).succeeded(), None);
        let bare = json!({"id": "evt_4", "type": "payment_intent.succeeded"});
        assert_eq!(event(&bare).succeeded(), None);
    }

    #[test]
    fn an_unreadable_envelope_is_refused() {
        for body in [
            "not json".to_owned(),
            "[]".to_owned(),
            json!({"type": "x"}).to_string(),
            json!({"id": "", "type": "x"}).to_string(),
            json!({"id": "e".repeat(256), "type": "x"}).to_string(),
        ] {
            assert!(ProviderEvent::parse(body.as_bytes()).is_err(), "{body}");
        }
    }
}
