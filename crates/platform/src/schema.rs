//! Schema components for the OpenAPI document: each rule the services enforce on a kind of
//! value, stated once and referenced by every field and parameter of that kind. A DTO field
//! names one of these with `#[schema(value_type = …)]`; the types are never instantiated.
//!
//! Rules JSON Schema cannot state (a date in the past, a phone number a numbering plan
//! accepts, a known time zone) are listed in `.ci/schemathesis-allowlist.toml`.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AnyOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The longest each kind of free text may be, in characters.
mod limits {
    pub const NAME: usize = 200;
    pub const ADDRESS: usize = 500;
    pub const LABEL: usize = 100;
    pub const REASON: usize = 500;
    pub const DESCRIPTION: usize = 2000;
    pub const MEDICAL_HISTORY: usize = 10_000;
    pub const MESSAGE: usize = 2000;
    pub const SUBJECT: usize = 200;
}

/// Characters Rust's `char::is_control` finds (C0, DEL, C1), less tab and line feed, which
/// free text may contain.
const CONTROL: &str = r"\u0000-\u0008\u000B-\u001F\u007F-\u009F";
/// Characters that show nothing: white space, every control character, and Unicode's
/// default-ignorable code points of the Basic Multilingual Plane (zero-width spaces and
/// joiners, direction marks, fillers, variation selectors), as `platform::values::is_visible`
/// has them.
const INVISIBLE: &str = r"\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u2800\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8";

/// Text with a visible character and no control characters other than tab and line feed.
fn visible_text_pattern() -> String {
    format!("^[^{CONTROL}]*[^{INVISIBLE}][^{CONTROL}]*$")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Free text of at most `max` characters with something visible in it.
fn visible_text(description: &str, max: usize) -> Schema {
    string()
        .description(Some(format!(
            "{description} 1 to {max} characters, with a visible one; no control characters \
             other than tab and line feed. Surrounding white space is dropped."
        )))
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(visible_text_pattern()))
        .into()
}

/// Declares a schema component named after the type; `uses` names the components its schema
/// refers to, so a document that includes it includes them too.
macro_rules! component {
    ($(#[$doc:meta])* $name:ident $(uses [$($used:ident),*])? => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T($schema)
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn schemas(_schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $($(
                    _schemas.push(($used::name().into_owned(), $used::schema()));
                )*)?
            }
        }
    };
}

component!(
    /// A 64-bit id; ids start at 1.
    Id => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .into()
);

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
    /// An appointment's description: blank means none.
    Description => string()
        .description(Some(format!(
            "What the visit is about; optional. Text without a visible character counts as \
             none; otherwise at most {} characters and no control characters other than tab \
             and line feed.",
            limits::DESCRIPTION
        )))
        .pattern(Some(format!(
            "^(?:[{INVISIBLE}]*|[^{CONTROL}]{{0,{}}})$",
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
    /// A calendar date, e.g. a date of birth.
    Date => string()
        .description(Some("A calendar date, `YYYY-MM-DD`.".to_owned()))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .into()
);

/// `YYYY-MM-DDTHH:MM:SS[.fraction]` naming a day that exists. February 29th is left out, as
/// a pattern cannot tell leap years; the server accepts it in a leap year.
const LOCAL_DATE_TIME: &str = concat!(
    r"^\s*\d{4}-",
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))",
    r"[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?\s*$",
);

component!(
    /// An instant in a request.
    Instant => AnyOfBuilder::new()
        .description(Some(
            "An RFC 3339 date-time with an offset within ±23:59 (`2026-12-01T09:00:00+01:00`, \
             `…Z`), or the same without an offset, read as local time in the clinic's time \
             zone."
                .to_owned(),
        ))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .item(string().pattern(Some(LOCAL_DATE_TIME)))
        .into()
);

component!(
    /// A time of day in a weekly schedule.
    ClockTime => string()
        .description(Some("A time of day, `HH:MM`, from `00:00` to `24:00`.".to_owned()))
        .pattern(Some(r"^\s*(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)\s*$"))
        .examples(["09:00"])
        .into()
);

component!(
    /// A slot length.
    SlotMinutes => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .description(Some("Minutes per slot.".to_owned()))
        .minimum(Some(5))
        .maximum(Some(240))
        .into()
);

component!(
    /// A visit length.
    VisitMinutes => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .description(Some("Length of a visit in minutes.".to_owned()))
        .minimum(Some(5))
        .maximum(Some(480))
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
        .description(Some(
            "Case-insensitive search; blank searches nothing. At most 200 characters.".to_owned(),
        ))
        .max_length(Some(200))
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
            "^(?:\\s*|[^{CONTROL}]*[^{INVISIBLE}][^{CONTROL}]*)$"
        )))
        .into()
}

component!(
    /// A reason that may be left blank.
    OptionalReason => optional_text("A reason.", limits::REASON)
);

/// `APPROVED` or `REJECTED` in any case, as a decision's optional echo of its endpoint.
fn verdict(word: &str) -> ObjectBuilder {
    let letters: String = word
        .chars()
        .map(|c| format!("[{c}{}]", c.to_ascii_lowercase()))
        .collect();
    nullable_string()
        .description(Some(format!(
            "`{word}` when given (case and surrounding white space do not matter)."
        )))
        .pattern(Some(format!(r"^\s*{letters}\s*$")))
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// A reference to a component, or `null`.
fn nullable_ref<T: ToSchema>() -> RefOr<Schema> {
    let reference = RefOr::Ref(Ref::from_schema_name(T::name()));
    OneOfBuilder::new()
        .item(reference)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A decision's body: the appointment, the verdict's echo, and what the reason must be.
fn decision(word: &str, reason: RefOr<Schema>) -> Schema {
    ObjectBuilder::new()
        .property("appointmentId", Ref::from_schema_name(Id::name()))
        .required("appointmentId")
        .property("status", verdict(word))
        .property("reason", reason)
        .into()
}

component!(
    /// `POST /api/doctors/appointments/approve`.
    ApprovalRequest uses [Id] => decision(
        "APPROVED",
        nullable_string()
            .description(Some("Ignored for an approval.".to_owned()))
            .into(),
    )
);

component!(
    /// `POST /api/doctors/appointments/reject`.
    RejectionRequest uses [Id, Reason] => decision("REJECTED", nullable_ref::<Reason>())
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
