//! Billing (API.md "Billing"): invoices that follow appointments, and their payment.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `PENDING` until paid (`PAID`) or called off (`VOID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Void,
}

/// How an invoice was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentType {
    Card,
    Cash,
    Insurance,
}

/// What an invoice charges for: the visit, or the fee of a late cancellation or a no-show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvoiceKind {
    Visit,
    LateCancellationFee,
    NoShowFee,
}

macro_rules! wire_names {
    ($ty:ty, $($variant:ident => $name:literal),+) => {
        impl $ty {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == raw)
            }
        }
    };
}

wire_names!(PaymentStatus, Pending => "PENDING", Paid => "PAID", Void => "VOID");
wire_names!(PaymentType, Card => "CARD", Cash => "CASH", Insurance => "INSURANCE");
wire_names!(InvoiceKind, Visit => "VISIT", LateCancellationFee => "LATE_CANCELLATION_FEE",
    NoShowFee => "NO_SHOW_FEE");

/// One invoice of one appointment. Money is integer minor units of an ISO 4217 currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: i64,
    pub patient_id: i64,
    pub appointment_id: i64,
    /// In minor units of `currency` (cents for EUR).
    #[schema(example = 6000)]
    pub amount: i64,
    #[schema(example = "EUR")]
    pub currency: String,
    pub payment_status: PaymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    pub kind: InvoiceKind,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paid_at: Option<Timestamp>,
}

/// `POST /api/billing/invoices/{id}/pay`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_type: PaymentType,
}

/// `GET /api/billing/invoices` filters. A patient always gets their own.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceFilter {
    pub patient_id: Option<i64>,
    pub payment_status: Option<PaymentStatus>,
}

/// `POST /api/billing/invoices/{id}/checkout`: what a client needs to have the card charged
/// (with the provider's own client library, e.g. Stripe.js `confirmCardPayment`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checkout {
    pub invoice_id: i64,
    /// The provider's PaymentIntent id (`pi_…`).
    pub payment_intent_id: String,
    /// The secret with which the client confirms the intent; show it to no one else.
    pub client_secret: String,
    /// In minor units of `currency`.
    #[schema(example = 6000)]
    pub amount: i64,
    #[schema(example = "EUR")]
    pub currency: String,
}

/// What a provider event did to the invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookOutcome {
    /// The event paid its invoice.
    Paid,
    /// The event was handled before; nothing changed.
    Duplicate,
    /// Nothing to do (another event type, or not the payment of a `PENDING` invoice's intent).
    Ignored,
}

/// The answer to the payment provider's webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceipt {
    pub event_id: String,
    pub outcome: WebhookOutcome,
}
