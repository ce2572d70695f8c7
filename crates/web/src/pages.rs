//! What every page shares: the layout's context, the API's list pages, status words.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::session::Session;

/// A list answer of the API (`{"items": [...], ...}`).
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match in all (more than `items` when the list goes on).
    #[serde(default)]
    pub total: i64,
}

/// The layout's part of a page's context: the CSRF token for its forms, the highlighted section
/// and the reader's role (which decides the navigation).
pub fn layout(session: &Session, section: &str) -> Value {
    json!({
        "csrf": session.csrf_token,
        "section": section,
        "user": {"role": session.role},
    })
}

/// `base` with `extra`'s fields added.
pub fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// A query string of the non-empty pairs.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let present: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    serde_urlencoded::to_string(present).unwrap_or_default()
}

/// An appointment's status in words.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "REQUESTED" => "Requested — waiting for the doctor",
        "APPROVED" => "Approved",
        "REJECTED" => "Declined by the doctor",
        "CANCELLED" => "Cancelled",
        "COMPLETED" => "Completed",
        "NO_SHOW" => "Missed",
        _ => "Unknown",
    }
}

/// A refusal in words, for a page without a field to show each message beside: each field's
/// message after the words for that field (`fields` names them), else the API's own message.
pub fn refusal_text(err: &ApiError, fields: &[(&str, &str)]) -> String {
    let messages = err.field_messages();
    if messages.is_empty() {
        return err.message();
    }
    let sentences: Vec<String> = messages
        .iter()
        .map(|(field, message)| {
            let subject = fields
                .iter()
                .find(|(name, _)| name == field)
                .map_or("This", |(_, words)| words);
            format!("{subject} {message}.")
        })
        .collect();
    sentences.join(" ")
}
