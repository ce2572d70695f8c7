//! The notification service's configuration, from `CAREBOOK_*` variables.

use std::path::Path;
use std::time::Duration;

use platform::config::{ClinicConfig, DatabaseUrl, Service, parse_var, var};
use platform::time::Clock;

use crate::channels::email::DEFAULT_FROM;
use crate::channels::{SmsConfig, SmtpConfig};

const SMS_CREDENTIALS: [&str; 3] = [
    "CAREBOOK_SMS_ACCOUNT_SID",
    "CAREBOOK_SMS_AUTH_TOKEN",
    "CAREBOOK_SMS_FROM",
];

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub identity_urls: Vec<String>,
    pub patients_urls: Vec<String>,
    pub doctors_urls: Vec<String>,
    pub clinic: ClinicConfig,
    /// `CAREBOOK_REMINDER_HOURS` (default `24`), as minutes before the start, largest first.
    pub reminder_offsets_minutes: Vec<u32>,
    /// `CAREBOOK_SMTP_URL`, `CAREBOOK_SMTP_FROM`: e-mail is off without it.
    pub smtp: Option<SmtpConfig>,
    /// `CAREBOOK_SMS_URL` and its credentials: SMS is off without it.
    pub sms: Option<SmsConfig>,
    /// `CAREBOOK_SERVICE_SECRET`: required, to fetch recipients' contact data as a service.
    pub service_secret: Option<String>,
    pub clock: Clock,
    /// How often the worker looks for due reminders and notifications.
    pub poll_interval: Duration,
    /// Timeout of calls to the patient and doctor services.
    pub call_timeout: Duration,
    /// `CAREBOOK_WEBHOOKS_ALLOW_PRIVATE`: webhook targets may be on loopback or private
    /// ranges (tests, or a clinic whose integrations run on its own network).
    pub allow_private_webhooks: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("identity_urls", &self.identity_urls)
            .field("patients_urls", &self.patients_urls)
            .field("doctors_urls", &self.doctors_urls)
            .field("clinic", &self.clinic)
            .field("reminder_offsets_minutes", &self.reminder_offsets_minutes)
            .field("smtp", &self.smtp)
            .field("sms", &self.sms)
            .field(
                "service_secret",
                &self.service_secret.as_ref().map(|_| "***"),
            )
            .field("poll_interval", &self.poll_interval)
            .field("allow_private_webhooks", &self.allow_private_webhooks)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        let reminder_offsets_minutes = match var("CAREBOOK_REMINDER_HOURS") {
            Some(raw) => parse_reminder_hours(&raw)
                .map_err(|why| anyhow::anyhow!("CAREBOOK_REMINDER_HOURS {why}"))?,
            None => vec![24 * 60],
        };
        let config = Self {
            database_url: Service::Notifications.database_url(data_dir),
            identity_urls: Service::Identity.urls(),
            patients_urls: Service::Patients.urls(),
            doctors_urls: Service::Doctors.urls(),
            clinic: ClinicConfig::from_env()?,
            reminder_offsets_minutes,
            smtp: var("CAREBOOK_SMTP_URL").map(|url| SmtpConfig {
                url,
                from: var("CAREBOOK_SMTP_FROM").unwrap_or_else(|| DEFAULT_FROM.to_owned()),
            }),
            sms: sms_from_env()?,
            service_secret: var("CAREBOOK_SERVICE_SECRET"),
            clock: Clock::system(),
            poll_interval: Duration::from_millis(100),
            call_timeout: Duration::from_secs(3),
            allow_private_webhooks: parse_var("CAREBOOK_WEBHOOKS_ALLOW_PRIVATE")?.unwrap_or(false),
        };
        // Validated when the service is built: `carebook up` fills in the service secret later.
        Ok(config)
    }

    /// What the service cannot run without.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.service_secret.is_some(),
            "CAREBOOK_SERVICE_SECRET must be set: the notification service fetches recipients' \
             contact data from the patient and doctor services with a SERVICE token"
        );
        anyhow::ensure!(
            self.reminder_offsets_minutes.iter().all(|&m| m > 0),
            "reminder offsets must be positive"
        );
        Ok(())
    }
}

fn sms_from_env() -> anyhow::Result<Option<SmsConfig>> {
    let Some(base_url) = var("CAREBOOK_SMS_URL") else {
        if let Some(stray) = SMS_CREDENTIALS.iter().find(|key| var(key).is_some()) {
            anyhow::bail!("{stray} is set but CAREBOOK_SMS_URL is not: SMS stays off without it");
        }
        return Ok(None);
    };
    let missing: Vec<&str> = SMS_CREDENTIALS
        .into_iter()
        .filter(|key| var(key).is_none())
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "CAREBOOK_SMS_URL is set, so {} must be set too",
        missing.join(", ")
    );
    let get = |key: &str| var(key).unwrap_or_default();
    Ok(Some(SmsConfig {
        base_url,
        account_sid: get(SMS_CREDENTIALS[0]),
        auth_token: get(SMS_CREDENTIALS[1]),
        from: get(SMS_CREDENTIALS[2]),
    }))
}

/// `CAREBOOK_NOTIFICATION_LEASE_SECS`: how long the delivery worker holds a notification it
/// claimed; a crashed worker's notifications are sent by another after it (default 60 s).
/// Read apart from [`Config`], whose fields tests spell out.
pub fn delivery_lease() -> anyhow::Result<Duration> {
    match parse_var::<u64>("CAREBOOK_NOTIFICATION_LEASE_SECS")? {
        Some(secs) if secs >= 3 => Ok(Duration::from_secs(secs)),
        Some(_) => anyhow::bail!("CAREBOOK_NOTIFICATION_LEASE_SECS must be at least 3 seconds"),
        None => Ok(crate::worker::DEFAULT_LEASE),
    }
}

/// `"24,2"` or `"0.5"`: hours before the start, each more than 0 and at most 30 days; as
/// distinct minutes, largest first.
pub fn parse_reminder_hours(raw: &str) -> Result<Vec<u32>, String> {
    let mut minutes = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let hours: f64 = part
            .parse()
            .map_err(|_| format!("has `{part}`, which is not a number of hours"))?;
        if !(hours > 0.0 && hours <= 720.0) {
            return Err(format!(
                "has `{part}`; each must be more than 0 and at most 720 hours"
            ));
        }
        let m = (hours * 60.0).round() as u32;
        if m == 0 {
            return Err(format!("has `{part}`, which is less than a minute"));
        }
        minutes.push(m);
    }
    if minutes.is_empty() {
        return Err("lists no hours".to_owned());
    }
    minutes.sort_unstable_by(|a, b| b.cmp(a));
    minutes.dedup();
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::parse_reminder_hours;

    #[test]
    fn reminder_hours_become_distinct_minutes() {
        assert_eq!(parse_reminder_hours("24").unwrap(), vec![1440]);
        assert_eq!(parse_reminder_hours(" 2, 24 ,2").unwrap(), vec![1440, 120]);
        assert_eq!(parse_reminder_hours("0.5").unwrap(), vec![30]);
        for bad in ["", "0", "-1", "abc", "24,x", "1000", "NaN", "0.001"] {
            assert!(parse_reminder_hours(bad).is_err(), "{bad:?}");
        }
    }
}
