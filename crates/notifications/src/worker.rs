//! Background work, as plain functions a test steps with a given `now`: turning due reminders
//! into notifications, and delivering pending notifications with retries. [`Worker::run`]
//! calls both in a loop until shutdown.

use std::sync::Arc;
use std::time::Duration;

use contracts::notifications::{Channel, NotificationKind};
use futures::StreamExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use platform::ApiError;
use platform::time::Clock;
use tokio_util::sync::CancellationToken;

use crate::channels::{Channels, SendError};
use crate::directory::{Contact, Directory};
use crate::domain::StoredNotification;
use crate::policy;
use crate::store::{Claimed, NotificationStore, Outcome, ReminderPass};
use crate::templates::{Context, Rendered, Templates};

/// Attempts after which a notification is `FAILED`.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long a claimed notification is ours to send, unless `CAREBOOK_NOTIFICATION_LEASE_SECS`
/// says otherwise.
pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Longest one attempt may take (contact lookups, rendering, sending) before it counts as a
/// transient failure; at most a third of the lease. With [`DELIVERY_BATCH`] at twice
/// [`PARALLEL_SENDS`], a whole pass ends within its lease, so no other worker takes over a
/// notification still being sent.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// Sends in flight at once within a pass.
const PARALLEL_SENDS: usize = 8;
/// Notifications claimed per pass.
const DELIVERY_BATCH: i64 = 2 * PARALLEL_SENDS as i64;
/// Reminders handled per pass (database work only).
const REMINDER_BATCH: i64 = 50;

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryPass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

#[derive(Debug, Clone)]
pub struct Worker {
    pub(crate) store: NotificationStore,
    pub(crate) directory: Directory,
    pub(crate) channels: Channels,
    pub(crate) templates: Arc<Templates>,
    pub(crate) clinic_zone: TimeZone,
    pub(crate) clock: Clock,
    /// How long a claimed notification is this worker's.
    pub(crate) lease: Duration,
}

/// Wait before attempt `failures + 1`: 30 s, 1 min, 2 min, 4 min, … at most an hour.
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u64 << failures.saturating_sub(1).min(7);
    Duration::from_secs(30 * factor).min(Duration::from_secs(3600))
}

impl Worker {
    /// Stores the notifications of every reminder due at `now`; see
    /// [`NotificationStore::send_due_reminders`].
    pub async fn send_due_reminders(&self, now: Timestamp) -> platform::Result<ReminderPass> {
        self.store
            .send_due_reminders(now, &self.channels.enabled(), REMINDER_BATCH)
            .await
    }

    /// Claims due notifications, sends them outside any transaction, and records the outcomes
    /// together.
    pub async fn deliver_due(&self, now: Timestamp) -> platform::Result<DeliveryPass> {
        let lease_until = now + jiff::SignedDuration::try_from(self.lease).unwrap_or_default();
        let claimed = self
            .store
            .claim_due(policy::delivery_worker(), now, lease_until, DELIVERY_BATCH)
            .await?;
        let attempts = futures::stream::iter(claimed)
            .map(|claimed| async move {
                let outcome = self.attempt(claimed.notification(), now).await;
                (claimed, outcome)
            })
            .buffer_unordered(PARALLEL_SENDS)
            .collect::<Vec<(Claimed, Outcome)>>()
            .await;
        let mut pass = DeliveryPass::default();
        for (claimed, outcome) in &attempts {
            let n = claimed.notification();
            let (counter, status) = match outcome {
                Outcome::Sent { .. } => (&mut pass.sent, "SENT"),
                Outcome::Retry { .. } => (&mut pass.retried, "RETRY"),
                Outcome::Failed { .. } => (&mut pass.failed, "FAILED"),
            };
            *counter += 1;
            metrics::counter!("notification_deliveries_total",
                "channel" => n.channel.as_str(), "status" => status)
            .increment(1);
            tracing::info!(
                notification_id = n.id,
                channel = n.channel.as_str(),
                kind = n.kind.as_str(),
                attempt = n.attempts + 1,
                status,
                "delivery attempt"
            );
        }
        // Outcomes that cannot be recorded are attempted again after their lease (an e-mail
        // then carries the same Message-ID).
        let outcomes: Vec<(&Claimed, &Outcome)> = attempts.iter().map(|(c, o)| (c, o)).collect();
        self.store.record_all(&outcomes, now).await?;
        Ok(pass)
    }

    /// Both passes every `poll` until `shutdown`; a full batch is followed at once by the next.
    pub async fn run(self, poll: Duration, shutdown: CancellationToken) {
        loop {
            let now = self.clock.now();
            let reminders = self.send_due_reminders(now).await;
            let deliveries = self.deliver_due(now).await;
            if let Err(err) = &reminders {
                tracing::warn!(error = %err, "reminder pass failed");
            }
            if let Err(err) = &deliveries {
                tracing::warn!(error = %err, "delivery pass failed");
            }
            let busy = matches!(deliveries, Ok(p) if p.sent + p.retried + p.failed >= DELIVERY_BATCH as usize)
                || matches!(reminders, Ok(p) if p.sent + p.expired + p.cancelled >= REMINDER_BATCH as usize);
            let pause = if busy { Duration::ZERO } else { poll };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One attempt at one notification, and what to record about it.
    async fn attempt(&self, n: &StoredNotification, now: Timestamp) -> Outcome {
        let limit = ATTEMPT_TIMEOUT.min(self.lease / 3);
        let (result, rendered) = tokio::time::timeout(limit, self.send(n))
            .await
            .unwrap_or_else(|_| {
                let slow = "the attempt took too long".to_owned();
                (Err(SendError::Transient(slow)), None)
            });
        let (subject, message) = match rendered {
            Some(r) => (Some(r.subject), Some(r.body)),
            None => (None, None),
        };
        match result {
            Ok(()) => Outcome::Sent { subject, message },
            Err(SendError::Transient(error)) if n.attempts + 1 < MAX_ATTEMPTS => Outcome::Retry {
                at: now
                    + jiff::SignedDuration::try_from(backoff(n.attempts + 1)).unwrap_or_default(),
                error,
                subject,
                message,
            },
            Err(SendError::Transient(error) | SendError::Permanent(error)) => Outcome::Failed {
                error,
                subject,
                message,
            },
        }
    }

    /// Renders and sends; the rendering is returned whenever there was one, to be stored.
    async fn send(&self, n: &StoredNotification) -> (Result<(), SendError>, Option<Rendered>) {
        // IN_APP needs no address: on its last attempt it renders with what it has.
        let degrade = n.channel == Channel::InApp && n.attempts + 1 >= MAX_ATTEMPTS;
        let contact = match self.directory.contact(n.recipient).await {
            Ok(contact) => contact,
            Err(_) if degrade => None,
            Err(err) => return (Err(lookup_failed(&err)), None),
        };
        if contact.is_none() && n.channel != Channel::InApp {
            let gone = "the recipient does not exist (any more)".to_owned();
            return (Err(SendError::Permanent(gone)), None);
        }
        let counterpart = match n.facts.counterpart(n.recipient.kind) {
            Some(other) => match self.directory.contact(other).await {
                Ok(found) => found.map(|c| c.name.clone()),
                Err(_) if degrade => None,
                Err(err) => return (Err(lookup_failed(&err)), None),
            },
            None => None,
        };
        let zone = contact
            .as_ref()
            .and_then(|c| c.timezone.clone())
            .unwrap_or_else(|| self.clinic_zone.clone());
        let mut context = Context::of(n, &zone);
        context.name = contact.as_ref().map(|c| c.name.clone());
        context.counterpart = counterpart;
        let rendered = match self.templates.render(n.kind, &context) {
            Ok(rendered) => rendered,
            Err(err) => {
                // The error's kind only: its details may quote the context (names).
                let kind = err
                    .downcast_ref::<minijinja::Error>()
                    .map(|e| format!("{:?}", e.kind()));
                tracing::error!(notification_id = n.id, kind = n.kind.as_str(), error = ?kind,
                    "template failed");
                let failed = "the notification could not be rendered".to_owned();
                return (Err(SendError::Permanent(failed)), None);
            }
        };
        let result = self.deliver(n, contact.as_deref(), &rendered).await;
        (result, Some(rendered))
    }

    async fn deliver(
        &self,
        n: &StoredNotification,
        contact: Option<&Contact>,
        rendered: &Rendered,
    ) -> Result<(), SendError> {
        let off = |name: &str| SendError::Permanent(format!("{name} is not configured"));
        match (n.channel, contact) {
            // Stored, rendered, shown in the app: delivered.
            (Channel::InApp, _) => Ok(()),
            (Channel::Email, Some(contact)) => match &self.channels.email {
                Some(mailer) => mailer.send(n.id, &contact.email, rendered).await,
                None => Err(off("e-mail")),
            },
            (Channel::Sms, Some(contact)) => match &self.channels.sms {
                Some(sms) => sms.send(&contact.phone, &sms_text(n.kind, rendered)).await,
                None => Err(off("SMS")),
            },
            (_, None) => Err(SendError::Permanent("no contact data".to_owned())),
        }
    }
}

/// An SMS has no subject line; short kinds lead with it so the text stands alone.
fn sms_text(kind: NotificationKind, rendered: &Rendered) -> String {
    match kind {
        NotificationKind::Message => rendered.body.clone(),
        _ => format!("{}\n{}", rendered.subject, rendered.body),
    }
}

fn lookup_failed(err: &ApiError) -> SendError {
    match err {
        ApiError::Unavailable(_) => {
            SendError::Transient("the recipient's profile service is unavailable".to_owned())
        }
        ApiError::Forbidden | ApiError::Unauthorized(_) => {
            SendError::Transient("the service token was refused".to_owned())
        }
        _ => SendError::Transient("the recipient's profile could not be read".to_owned()),
    }
}
