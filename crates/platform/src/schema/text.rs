//! Components for text: names, free text, addresses, credentials.

use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat};

use super::{CONTROL, INVISIBLE, WHITE_SPACE, limits, string, visible_text, visible_text_body};

component!(
    /// A person's name.
    PersonName => visible_text("A person's name.", limits::NAME)
);

component!(
    /// A postal address.
    Address => visible_text("A postal address.", limits::ADDRESS)
);

component!(
    /// A doctor's speciality or an appointment's service type.
    Label => visible_text("A short label.", limits::LABEL)
);

component!(
    /// Why something was rejected, cancelled or taken off.
    Reason => visible_text("A reason.", limits::REASON)
);

component!(
    /// A patient's medical history.
    MedicalHistory => visible_text("A medical history.", limits::MEDICAL_HISTORY)
);

component!(
    /// An administrator's message.
    Message => visible_text("A message.", limits::MESSAGE)
);

component!(
    /// A message's subject.
    Subject => visible_text("A subject.", limits::SUBJECT)
);

component!(
    /// A medical record's title.
    RecordTitle => visible_text("A record's title.", limits::RECORD_TITLE)
);

component!(
    /// A medical record's content.
    RecordContent => visible_text("A record's content.", limits::RECORD_CONTENT)
);

component!(
    /// An appointment's description: blank means none.
    Description => string()
        .description(Some(format!(
            "What the visit is about; optional. Text without a visible character counts as \
             none; otherwise at most {} characters and no control characters other than tab \
             and line feed.",
            limits::DESCRIPTION
        )))
        .pattern(Some(format!(
            "^(?:[{WHITE_SPACE}{INVISIBLE}]*|[^{CONTROL}]{{0,{}}})$",
            limits::DESCRIPTION
        )))
        .into()
);

component!(
    /// An e-mail address.
    Email => string()
        .description(Some(
            "A plain e-mail address (no display name), with a top-level domain; compared \
             without regard to case."
                .to_owned(),
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .pattern(Some(r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"))
        .into()
);

component!(
    /// A phone number in international form.
    Phone => string()
        .description(Some(
            "A phone number in international form (`+` and the country code), valid in its \
             numbering plan; stored in E.164 form."
                .to_owned(),
        ))
        .max_length(Some(40))
        .pattern(Some(r"^\s*\+"))
        .examples(["+44 20 7946 0958"])
        .into()
);

component!(
    /// An IANA time zone name.
    TimeZoneName => string()
        .description(Some(
            "An IANA time zone such as `Europe/Berlin`; blank means the clinic's zone."
                .to_owned(),
        ))
        .max_length(Some(64))
        .examples(["Europe/Berlin"])
        .into()
);

component!(
    /// A search term.
    SearchTerm => string()
        .description(Some(format!(
            "Case-insensitive search; blank searches nothing. At most {} characters.",
            limits::SEARCH_TERM
        )))
        .max_length(Some(limits::SEARCH_TERM))
        .into()
);

/// Free text that may also be blank (then it means none).
fn optional_text(description: &str, max: usize) -> Schema {
    string()
        .description(Some(format!(
            "{description} Blank means none; otherwise at most {max} characters, with a \
             visible one and no control characters other than tab and line feed."
        )))
        .max_length(Some(max))
        .pattern(Some(format!(
            "^(?:[{WHITE_SPACE}]*|{})$",
            visible_text_body()
        )))
        .into()
}

component!(
    /// A reason that may be left blank.
    OptionalReason => optional_text("A reason.", limits::REASON)
);

component!(
    /// A new account's password.
    Password => string()
        .description(Some(
            "10 to 128 characters, not a well-known password, not the e-mail address.".to_owned(),
        ))
        .min_length(Some(10))
        .max_length(Some(128))
        .into()
);

component!(
    /// Where a webhook delivers.
    WebhookUrl => string()
        .description(Some(
            "An absolute `http` or `https` URL with a host and without credentials; the host \
             must resolve to public addresses unless the deployment allows private ones."
                .to_owned(),
        ))
        .format(Some(SchemaFormat::Custom("uri".to_owned())))
        .pattern(Some(r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/@\s]+"))
        .into()
);

component!(
    /// The key of a webhook's signatures.
    WebhookSecret => string()
        .description(Some(
            "At least 16 characters; the key of the HMAC-SHA256 signature.".to_owned(),
        ))
        .min_length(Some(16))
        .into()
);

component!(
    /// The `Idempotency-Key` header of a booking.
    IdempotencyKey => string()
        .description(Some(
            "1 to 255 visible ASCII characters; a retried request with the same key replays \
             the first result."
                .to_owned(),
        ))
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some(r"^[\t\x20-\x7E]*[\x21-\x7E][\t\x20-\x7E]*$"))
        .into()
);
