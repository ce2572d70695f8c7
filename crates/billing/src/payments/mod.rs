//! Card payments through a Stripe-compatible provider: a checkout creates a PaymentIntent for a
//! `PENDING` invoice, and the provider's signed webhook marks the invoice `PAID` once the card
//! was charged. Off unless `CAREBOOK_PAYMENTS_URL`, `CAREBOOK_PAYMENTS_SECRET_KEY` and
//! `CAREBOOK_PAYMENTS_WEBHOOK_SECRET` are all set; then `pay` with `CARD` still works as before.

pub mod api;
mod config;
mod event;
mod provider;
mod signature;

pub use config::PaymentsConfig;
pub use event::{ProviderEvent, Succeeded};
pub use provider::{Intent, PaymentProvider};
pub use signature::{Refusal, Signed, WebhookVerifier};

/// What the service needs to take card payments: the provider's API and the webhook's secret.
#[derive(Debug, Clone)]
pub struct Payments {
    pub provider: PaymentProvider,
    pub verifier: WebhookVerifier,
}

impl Payments {
    pub fn new(config: PaymentsConfig) -> anyhow::Result<Self> {
        Ok(Self {
            verifier: WebhookVerifier::new(config.webhook_secret.as_bytes(), config.tolerance),
            provider: PaymentProvider::new(&config)?,
        })
    }
}
