//! Subjects and bodies come from the template files in `templates/` (minijinja), one per kind,
//! each with a `title`, a `subject` and a `body` block that may differ by recipient type.

use std::collections::HashMap;

use contracts::notifications::{NotificationKind, RecipientType};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::Environment;
use serde::Serialize;

use crate::domain::StoredNotification;

const SOURCES: [(NotificationKind, &str, &str); 8] = [
    (
        NotificationKind::ApprovalRequest,
        "approval_request.txt",
        include_str!("../templates/approval_request.txt"),
    ),
    (
        NotificationKind::Confirmation,
        "confirmation.txt",
        include_str!("../templates/confirmation.txt"),
    ),
    (
        NotificationKind::Rejection,
        "rejection.txt",
        include_str!("../templates/rejection.txt"),
    ),
    (
        NotificationKind::Cancellation,
        "cancellation.txt",
        include_str!("../templates/cancellation.txt"),
    ),
    (
        NotificationKind::Rescheduling,
        "rescheduling.txt",
        include_str!("../templates/rescheduling.txt"),
    ),
    (
        NotificationKind::Reminder,
        "reminder.txt",
        include_str!("../templates/reminder.txt"),
    ),
    (
        NotificationKind::Message,
        "message.txt",
        include_str!("../templates/message.txt"),
    ),
    (
        NotificationKind::NewRecord,
        "new_record.txt",
        include_str!("../templates/new_record.txt"),
    ),
];

/// A rendered notification.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rendered text names people: never in logs.
        f.debug_struct("Rendered").finish_non_exhaustive()
    }
}

/// What a template may use. Names come from the owning services at delivery time.
#[derive(Debug, Default, Serialize)]
pub struct Context {
    pub recipient_type: &'static str,
    pub name: Option<String>,
    pub counterpart: Option<String>,
    pub appointment_id: Option<i64>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub previous_start: Option<String>,
    /// An administrator's message and subject (kind `MESSAGE`).
    pub text: Option<String>,
    pub subject: Option<String>,
}

impl Context {
    /// The context of `notification`, with instants shown in `zone`.
    pub fn of(notification: &StoredNotification, zone: &TimeZone) -> Self {
        let facts = &notification.facts;
        let show = |at: Option<Timestamp>| at.map(|at| format_instant(at, zone));
        Self {
            recipient_type: notification.recipient.kind.as_str(),
            appointment_id: facts.appointment_id,
            start: show(facts.start),
            end: show(facts.end),
            previous_start: show(facts.previous_start),
            text: notification.message.clone(),
            subject: notification.subject.clone(),
            ..Self::default()
        }
    }
}

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    titles: HashMap<NotificationKind, String>,
}

impl Templates {
    /// Parses every template; a broken one stops the service at start, not at delivery.
    pub fn load() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        let mut titles = HashMap::new();
        for (kind, name, source) in SOURCES {
            env.add_template(name, source)?;
            let title = render_blocks(&env, name, (), ["title"])?;
            let [title] = title;
            titles.insert(kind, title.trim().to_owned());
        }
        // Every block must render with an empty context, so a typo fails here.
        let templates = Self { env, titles };
        for (kind, _, _) in SOURCES {
            for recipient in RecipientType::ALL {
                let context = Context {
                    recipient_type: recipient.as_str(),
                    ..Context::default()
                };
                templates.render(kind, &context)?;
            }
        }
        Ok(templates)
    }

    /// The plain title of a kind, shown until a notification is rendered.
    pub fn title(&self, kind: NotificationKind) -> &str {
        self.titles
            .get(&kind)
            .map_or("Notification", String::as_str)
    }

    pub fn render(&self, kind: NotificationKind, context: &Context) -> anyhow::Result<Rendered> {
        let name = SOURCES
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, name, _)| *name)
            .ok_or_else(|| anyhow::anyhow!("no template for {}", kind.as_str()))?;
        let [subject, body] = render_blocks(&self.env, name, context, ["subject", "body"])?;
        Ok(Rendered {
            subject: one_line(&subject),
            body: body.trim().to_owned(),
        })
    }
}

/// Renders the named blocks of template `name`.
fn render_blocks<const N: usize>(
    env: &Environment<'static>,
    name: &str,
    context: impl Serialize,
    blocks: [&str; N],
) -> Result<[String; N], minijinja::Error> {
    let mut captured = env.get_template(name)?.render_captured(context)?;
    captured.with_state_mut(|state| {
        let mut rendered = [const { String::new() }; N];
        for (out, block) in rendered.iter_mut().zip(blocks) {
            *out = state.render_block(block)?;
        }
        Ok(rendered)
    })
}

/// A readable local time: `Monday 14 December 2026, 09:00 (Europe/Berlin)`.
pub fn format_instant(at: Timestamp, zone: &TimeZone) -> String {
    let local = at.to_zoned(zone.clone());
    let name = zone.iana_name().unwrap_or("UTC");
    match jiff::fmt::strtime::format("%A %-d %B %Y, %H:%M", &local) {
        Ok(text) => format!("{text} ({name})"),
        Err(_) => format!("{at}"),
    }
}

/// Subjects are header values: one line, no surrounding blanks.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Facts, Recipient};
    use contracts::notifications::{Channel, NotificationStatus};

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn notification(
        kind: NotificationKind,
        recipient: Recipient,
        facts: Facts,
    ) -> StoredNotification {
        StoredNotification {
            id: 1,
            recipient,
            channel: Channel::Email,
            kind,
            appointment_id: facts.appointment_id,
            facts,
            subject: None,
            message: None,
            status: NotificationStatus::Pending,
            attempts: 0,
            created_at: Timestamp::UNIX_EPOCH,
            sent_at: None,
            next_attempt_at: Timestamp::UNIX_EPOCH,
            last_error: None,
        }
    }

    #[test]
    fn instants_are_shown_in_the_recipients_zone_across_dst() {
        let berlin = zone("Europe/Berlin");
        // 08:00 UTC is 09:00 in Berlin in winter (CET) and 10:00 in summer (CEST).
        let winter: Timestamp = "2026-12-14T08:00:00Z".parse().unwrap();
        let summer: Timestamp = "2026-07-06T08:00:00Z".parse().unwrap();
        assert_eq!(
            format_instant(winter, &berlin),
            "Monday 14 December 2026, 09:00 (Europe/Berlin)"
        );
        assert_eq!(
            format_instant(summer, &berlin),
            "Monday 6 July 2026, 10:00 (Europe/Berlin)"
        );
        // The night the clocks go back: 00:30 UTC and 01:30 UTC are 02:30 CEST and 02:30 CET.
        let before: Timestamp = "2026-10-25T00:30:00Z".parse().unwrap();
        let after: Timestamp = "2026-10-25T01:30:00Z".parse().unwrap();
        assert_eq!(
            format_instant(before, &berlin),
            format_instant(after, &berlin)
        );
        assert_eq!(
            format_instant(winter, &TimeZone::UTC),
            "Monday 14 December 2026, 08:00 (UTC)"
        );
    }

    #[test]
    fn every_kind_renders_for_both_recipients() {
        let templates = Templates::load().unwrap();
        let facts = Facts {
            appointment_id: Some(42),
            start: Some("2026-03-30T07:00:00Z".parse().unwrap()),
            end: Some("2026-03-30T07:30:00Z".parse().unwrap()),
            previous_start: Some("2026-03-27T08:00:00Z".parse().unwrap()),
            counterpart_id: Some(2),
        };
        let berlin = zone("Europe/Berlin");
        let n = notification(
            NotificationKind::Rescheduling,
            Recipient::patient(1),
            facts.clone(),
        );
        let mut context = Context::of(&n, &berlin);
        context.name = Some("Ada".to_owned());
        context.counterpart = Some("Dr. Okafor".to_owned());
        let rendered = templates
            .render(NotificationKind::Rescheduling, &context)
            .unwrap();
        assert_eq!(
            rendered.subject,
            "Appointment #42 moved to Monday 30 March 2026, 09:00 (Europe/Berlin)"
        );
        assert!(rendered.body.starts_with("Hello Ada,\n\nThe appointment with Dr. Okafor on Friday 27 March 2026, 09:00 (Europe/Berlin) has been moved"), "{}", rendered.body);
        for kind in NotificationKind::ALL {
            for recipient in [Recipient::patient(1), Recipient::doctor(2)] {
                let n = notification(kind, recipient, facts.clone());
                let rendered = templates.render(kind, &Context::of(&n, &berlin)).unwrap();
                assert!(!rendered.subject.is_empty() && !rendered.subject.contains('\n'));
                assert!(!templates.title(kind).is_empty());
                if kind != NotificationKind::Message {
                    assert!(
                        rendered.body.starts_with("Hello,"),
                        "{kind:?}: {}",
                        rendered.body
                    );
                }
            }
        }
    }

    #[test]
    fn an_administrators_message_is_sent_as_written() {
        let templates = Templates::load().unwrap();
        let mut n = notification(
            NotificationKind::Message,
            Recipient::patient(1),
            Facts::default(),
        );
        n.message = Some("Closed on <Friday> & Saturday.".to_owned());
        let rendered = templates
            .render(NotificationKind::Message, &Context::of(&n, &TimeZone::UTC))
            .unwrap();
        assert_eq!(rendered.body, "Closed on <Friday> & Saturday.");
        assert_eq!(rendered.subject, "Message from your clinic");
    }
}
