//! The billing service's configuration, from `CAREBOOK_*` variables (see the README).

use std::path::Path;

use platform::config::{DatabaseUrl, Service, var};

use crate::fees::{self, PriceList};
use crate::payments::PaymentsConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub identity_urls: Vec<String>,
    pub prices: PriceList,
    /// `CAREBOOK_RETENTION_INVOICES_YEARS`: how long an erased patient's invoices are kept.
    pub retention_years: u32,
    /// What time it is for the retention job (and for the invoices events create).
    pub clock: platform::time::Clock,
    /// Card payments through a provider (`CAREBOOK_PAYMENTS_*`); `None`: off.
    pub payments: Option<PaymentsConfig>,
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            database_url: Service::Billing.database_url(data_dir),
            identity_urls: Service::Identity.urls(),
            prices: prices_from_env()?,
            retention_years: platform::retention::years_from_env(
                "CAREBOOK_RETENTION_INVOICES_YEARS",
                platform::retention::DEFAULT_INVOICE_YEARS,
            )?,
            clock: platform::time::Clock::system(),
            payments: PaymentsConfig::from_env()?,
        })
    }
}

fn prices_from_env() -> anyhow::Result<PriceList> {
    let setting = |key: &str, why: String| anyhow::anyhow!("{key} {why}");
    let mut prices = PriceList::default();
    if let Some(raw) = var("CAREBOOK_BILLING_CURRENCY") {
        prices.currency =
            fees::parse_currency(&raw).map_err(|e| setting("CAREBOOK_BILLING_CURRENCY", e))?;
    }
    if let Some(raw) = var("CAREBOOK_BILLING_DEFAULT_FEE") {
        prices.default_fee =
            fees::parse_amount(&raw).map_err(|e| setting("CAREBOOK_BILLING_DEFAULT_FEE", e))?;
    }
    if let Some(raw) = var("CAREBOOK_BILLING_DOCTOR_FEES") {
        prices.doctor_fees = fees::parse_fees(&raw, fees::doctor_key)
            .map_err(|e| setting("CAREBOOK_BILLING_DOCTOR_FEES", e))?;
    }
    if let Some(raw) = var("CAREBOOK_BILLING_SERVICE_FEES") {
        prices.service_fees = fees::parse_fees(&raw, fees::service_key)
            .map_err(|e| setting("CAREBOOK_BILLING_SERVICE_FEES", e))?;
    }
    if let Some(raw) = var("CAREBOOK_BILLING_LATE_FEE_PERCENT") {
        prices.late_fee_percent = raw
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| anyhow::anyhow!("CAREBOOK_BILLING_LATE_FEE_PERCENT must be 0 to 100"))?;
    }
    Ok(prices)
}
