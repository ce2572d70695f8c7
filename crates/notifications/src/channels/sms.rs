//! SMS through a Twilio-style HTTP provider: `POST {url}/2010-04-01/Accounts/{sid}/Messages.json`
//! with basic auth and the form fields `To`, `From`, `Body`. 2xx is sent; 4xx (but 429) will
//! never work; 5xx, 429 and timeouts are tried again later.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use super::SendError;

const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest body the provider accepts (it splits it into segments itself).
const MAX_BODY_CHARS: usize = 1600;

/// `CAREBOOK_SMS_URL`, `CAREBOOK_SMS_ACCOUNT_SID`, `CAREBOOK_SMS_AUTH_TOKEN`, `CAREBOOK_SMS_FROM`.
#[derive(Clone)]
pub struct SmsConfig {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct SmsSender {
    http: reqwest::Client,
    endpoint: String,
    config: SmsConfig,
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSender")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl SmsSender {
    pub fn new(config: SmsConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.base_url.trim_end_matches('/'),
            config.account_sid
        );
        Ok(Self {
            http,
            endpoint,
            config,
        })
    }

    pub async fn send(&self, to: &str, body: &str) -> Result<(), SendError> {
        if to.trim().is_empty() {
            return Err(SendError::Permanent(
                "the recipient has no phone number".to_owned(),
            ));
        }
        let body: String = body.chars().take(MAX_BODY_CHARS).collect();
        let form = serde_urlencoded::to_string([
            ("To", to),
            ("From", self.config.from.as_str()),
            ("Body", body.as_str()),
        ])
        .map_err(|_| SendError::Permanent("the SMS could not be encoded".to_owned()))?;
        let response = self
            .http
            .post(&self.endpoint)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        match response {
            Ok(response) => outcome(response.status()),
            Err(err) if err.is_timeout() => Err(SendError::Transient(
                "the SMS provider timed out".to_owned(),
            )),
            Err(_) => Err(SendError::Transient(
                "the SMS provider is unreachable".to_owned(),
            )),
        }
    }
}

fn outcome(status: StatusCode) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        Err(SendError::Permanent(format!(
            "the SMS provider refused the message ({})",
            status.as_u16()
        )))
    } else {
        Err(SendError::Transient(format!(
            "the SMS provider answered {}",
            status.as_u16()
        )))
    }
}
