//! The price list and fee policy (README "Billing"): what a visit costs, and what a late
//! cancellation or a no-show leaves to pay. Money is integer minor units, never floats.

use std::collections::HashMap;

/// Prices in minor units of one ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceList {
    /// `CAREBOOK_BILLING_CURRENCY`, default `EUR`.
    pub currency: String,
    /// `CAREBOOK_BILLING_DEFAULT_FEE`: the clinic's fee of a visit, default 5000.
    pub default_fee: i64,
    /// `CAREBOOK_BILLING_DOCTOR_FEES`, e.g. `12=8000,15=9000`.
    pub doctor_fees: HashMap<i64, i64>,
    /// `CAREBOOK_BILLING_SERVICE_FEES`, e.g. `CHECKUP=3000,VACCINATION=2500`.
    pub service_fees: HashMap<String, i64>,
    /// `CAREBOOK_BILLING_LATE_FEE_PERCENT`: share of the visit fee a late cancellation or a
    /// no-show costs, 0 to 100, default 50. 0 voids the invoice instead.
    pub late_fee_percent: u8,
}

impl Default for PriceList {
    fn default() -> Self {
        Self {
            currency: "EUR".to_owned(),
            default_fee: 5000,
            doctor_fees: HashMap::new(),
            service_fees: HashMap::new(),
            late_fee_percent: 50,
        }
    }
}

impl PriceList {
    /// The fee of a visit: its service type's price, else its doctor's, else the default.
    pub fn visit_fee(&self, doctor_id: i64, service_type: Option<&str>) -> i64 {
        service_type
            .and_then(|t| self.service_fees.get(t))
            .or_else(|| self.doctor_fees.get(&doctor_id))
            .copied()
            .unwrap_or(self.default_fee)
    }

    /// What a late cancellation or a no-show of a visit at `visit_fee` costs, rounded down to
    /// a whole minor unit; `None` when the policy charges nothing.
    pub fn late_fee(&self, visit_fee: i64) -> Option<i64> {
        let fee = visit_fee.saturating_mul(i64::from(self.late_fee_percent)) / 100;
        (fee > 0).then_some(fee)
    }
}

/// An ISO 4217 code: three upper-case letters.
pub fn parse_currency(raw: &str) -> Result<String, String> {
    let code = raw.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code.to_owned())
    } else {
        Err(format!("`{code}` is not an ISO 4217 code such as EUR"))
    }
}

/// An amount in minor units: a non-negative integer.
pub fn parse_amount(raw: &str) -> Result<i64, String> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|amount| *amount >= 0)
        .ok_or_else(|| {
            format!(
                "`{}` is not an amount in minor units (e.g. 5000)",
                raw.trim()
            )
        })
}

/// `key=amount,key=amount`, keys parsed by `key`.
pub fn parse_fees<K: std::hash::Hash + Eq>(
    raw: &str,
    key: impl Fn(&str) -> Option<K>,
) -> Result<HashMap<K, i64>, String> {
    let mut fees = HashMap::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, amount) = entry
            .split_once('=')
            .ok_or_else(|| format!("has `{entry}`, expected key=amount"))?;
        let name = key(name.trim()).ok_or_else(|| format!("has a bad key in `{entry}`"))?;
        if fees.insert(name, parse_amount(amount)?).is_some() {
            return Err(format!("names a key twice (`{entry}`)"));
        }
    }
    Ok(fees)
}

/// A positive doctor id.
pub fn doctor_key(raw: &str) -> Option<i64> {
    raw.parse().ok().filter(|id| *id > 0)
}

/// A service type as appointments carry it: non-blank.
pub fn service_key(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> PriceList {
        PriceList {
            doctor_fees: parse_fees("7=8000", doctor_key).unwrap(),
            service_fees: parse_fees("CHECKUP=3000", service_key).unwrap(),
            ..PriceList::default()
        }
    }

    #[test]
    fn service_type_then_doctor_then_default() {
        let p = prices();
        assert_eq!(p.visit_fee(7, Some("CHECKUP")), 3000);
        assert_eq!(p.visit_fee(7, Some("OTHER")), 8000);
        assert_eq!(p.visit_fee(7, None), 8000);
        assert_eq!(p.visit_fee(8, None), 5000);
        assert_eq!(p.visit_fee(8, Some("CHECKUP")), 3000);
    }

    #[test]
    fn late_fee_is_a_share_rounded_down() {
        let mut p = prices();
        assert_eq!(p.late_fee(5001), Some(2500));
        p.late_fee_percent = 100;
        assert_eq!(p.late_fee(5001), Some(5001));
        p.late_fee_percent = 0;
        assert_eq!(p.late_fee(5001), None);
    }

    #[test]
    fn bad_configuration_is_refused() {
        for bad in ["7", "x=1", "7=-1", "7=1.5", "7=1,7=2", "0=5"] {
            assert!(parse_fees(bad, doctor_key).is_err(), "{bad}");
        }
        assert_eq!(parse_fees(" 3=10 , 4=0", doctor_key).unwrap().len(), 2);
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(parse_currency(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_currency("CHF").unwrap(), "CHF");
    }
}
