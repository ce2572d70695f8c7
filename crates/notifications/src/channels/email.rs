//! E-mail through SMTP (lettre). Each message carries a Message-ID derived from the
//! notification id, so a resend after a crash is recognisable as the same message.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::SendError;
use crate::templates::Rendered;

pub const DEFAULT_FROM: &str = "carebook <no-reply@carebook.invalid>";
const TIMEOUT: Duration = Duration::from_secs(15);

/// `CAREBOOK_SMTP_URL` and `CAREBOOK_SMTP_FROM`.
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtp://user:pass@host:port`, `?tls=required|opportunistic`, or `smtps://…`.
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry credentials.
        f.debug_struct("SmtpConfig")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|_| anyhow::anyhow!("CAREBOOK_SMTP_URL is not a usable SMTP URL"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = config
            .from
            .parse()
            .map_err(|_| anyhow::anyhow!("CAREBOOK_SMTP_FROM is not a valid mailbox"))?;
        Ok(Self { transport, from })
    }

    pub async fn send(
        &self,
        notification_id: i64,
        to: &str,
        rendered: &Rendered,
    ) -> Result<(), SendError> {
        let to: Mailbox = to.parse().map_err(|_| {
            SendError::Permanent("the recipient has no valid e-mail address".to_owned())
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject.as_str())
            .message_id(Some(message_id(notification_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(rendered.body.clone())
            .map_err(|_| SendError::Permanent("the e-mail could not be built".to_owned()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // Only the reply code: the server's text may quote the address.
            Err(err) if err.is_permanent() => Err(SendError::Permanent(format!(
                "the SMTP server refused the message ({})",
                code(&err)
            ))),
            Err(err) if err.is_timeout() => {
                Err(SendError::Transient("the SMTP server timed out".to_owned()))
            }
            Err(err) => Err(SendError::Transient(format!(
                "the SMTP server could not take the message ({})",
                code(&err)
            ))),
        }
    }
}

/// `<notification-{id}@carebook>`: the same for every attempt at one notification.
pub fn message_id(notification_id: i64) -> String {
    format!("<notification-{notification_id}@carebook>")
}

fn code(err: &lettre::transport::smtp::Error) -> String {
    err.status()
        .map_or_else(|| "no reply code".to_owned(), |code| code.to_string())
}
