//! Components for ids, instants, dates, lengths of time and decisions.

use utoipa::ToSchema;
use utoipa::openapi::schema::{
    AnyOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

use super::string;
use super::text::Reason;
use crate::values::{MAX_SLOT_MINUTES, MAX_VISIT_MINUTES, MIN_VISIT_MINUTES};

component!(
    /// A 64-bit id; ids start at 1.
    Id => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
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
        .minimum(Some(MIN_VISIT_MINUTES))
        .maximum(Some(MAX_SLOT_MINUTES))
        .into()
);

component!(
    /// A visit length.
    VisitMinutes => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .description(Some("Length of a visit in minutes.".to_owned()))
        .minimum(Some(MIN_VISIT_MINUTES))
        .maximum(Some(MAX_VISIT_MINUTES))
        .into()
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
