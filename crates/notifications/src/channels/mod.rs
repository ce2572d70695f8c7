//! The ways out besides IN_APP: e-mail over SMTP and SMS through an HTTP provider. Each is on
//! only when configured.

pub mod email;
pub mod sms;

use contracts::notifications::Channel;

pub use email::{Mailer, SmtpConfig};
pub use sms::{SmsConfig, SmsSender};

/// Why a send did not go through. The text is short and never names the recipient: it is
/// stored as the notification's `last_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Trying again will not help (no address, the provider refused the request).
    Permanent(String),
    /// Worth another attempt later (timeouts, 5xx, a dependency down).
    Transient(String),
}

/// The configured channels.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    pub email: Option<Mailer>,
    pub sms: Option<SmsSender>,
}

impl Channels {
    /// Every channel a notification goes out on: IN_APP always, the others when configured.
    pub fn enabled(&self) -> Vec<Channel> {
        let mut channels = vec![Channel::InApp];
        if self.email.is_some() {
            channels.push(Channel::Email);
        }
        if self.sms.is_some() {
            channels.push(Channel::Sms);
        }
        channels
    }

    pub fn is_enabled(&self, channel: Channel) -> bool {
        self.enabled().contains(&channel)
    }
}
