//! Wire types only: what crosses a service boundary, over HTTP or as an event.

pub mod analytics;
pub mod appointments;
pub mod billing;
pub mod clients;
pub mod doctors;
pub mod events;
pub mod identity;
pub mod notifications;
pub mod patients;
pub mod privacy;
pub mod records;
pub mod webhooks;

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    fn required<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        serde_json::from_value(schema["required"].clone()).unwrap_or_default()
    }

    /// API.md: `{from,to,reason?}` and `{recipientId,...,message,subject?,...}`; the code
    /// accepts both without the optional field, so the document must not require it.
    #[test]
    fn optional_fields_are_not_required_in_the_document() {
        assert_eq!(required::<crate::doctors::TimeOffInput>(), ["from", "to"]);
        assert_eq!(
            required::<crate::notifications::NewNotification>(),
            ["recipientId", "message"]
        );
    }
}
