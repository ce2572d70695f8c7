//! The patterns the document states agree with the parsers the services run.

use jiff::tz::TimeZone;
use regex::Regex;
use utoipa::PartialSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use super::*;
use crate::time::parse_instant;
use crate::values::NonBlank;

/// The `pattern` of a string component, or of the `index`th branch of an `anyOf` one.
fn pattern_of(schema: RefOr<Schema>, index: usize) -> Regex {
    let json = serde_json::to_value(schema).unwrap();
    let string = match json.get("anyOf") {
        Some(branches) => branches[index].clone(),
        None => json,
    };
    Regex::new(string["pattern"].as_str().expect("a pattern")).unwrap()
}

#[test]
fn visible_text_is_what_non_blank_accepts() {
    let pattern = pattern_of(PersonName::schema(), 0);
    for raw in [
        "Ada",
        "Zoë Ann",
        "李",
        "a\tb",
        "line\nbreak",
        "",
        "   ",
        "\t\n",
        "a\u{0}b",
        "\u{200B}\u{200B}",
        "\u{200B}A",
        "\u{3164}",
        "Zo\u{eb}\u{200D}Ann",
        "a\rb",
        "\u{7F}",
        "x\u{85}",
        "\r Ada\u{3000}",
        "\u{A0}",
    ] {
        assert_eq!(
            pattern.is_match(raw),
            NonBlank::parse(raw, 200).is_ok(),
            "{raw:?}"
        );
    }
}

#[test]
fn blank_or_visible_text_is_what_an_optional_reason_accepts() {
    let pattern = pattern_of(OptionalReason::schema(), 0);
    for (raw, accepted) in [("", true), ("  ", true), ("Away", true), ("a\u{1}b", false)] {
        assert_eq!(pattern.is_match(raw), accepted, "{raw:?}");
    }
}

#[test]
fn local_instants_are_what_parse_instant_reads_without_an_offset() {
    let local = pattern_of(Instant::schema(), 1);
    for raw in [
        "2026-12-01T09:00:00",
        "2026-12-01t09:00:00.5",
        "2026-02-28T23:59:59",
        "2026-11-31T09:00:00",
        "2026-02-30T09:00:00",
        "2026-13-01T09:00:00",
        "2026-12-01T24:00:00",
    ] {
        assert_eq!(
            local.is_match(raw),
            parse_instant(raw, &TimeZone::UTC).is_ok(),
            "{raw:?}"
        );
    }
}

#[test]
fn idempotency_keys_are_visible_ascii() {
    let pattern = pattern_of(IdempotencyKey::schema(), 0);
    assert!(pattern.is_match("order-17 retry"));
    assert!(!pattern.is_match("   "));
    assert!(!pattern.is_match("clé"));
}

#[test]
fn decisions_echo_their_own_verdict_in_any_case() {
    let json = serde_json::to_value(RejectionRequest::schema()).unwrap();
    let status = Regex::new(json["properties"]["status"]["pattern"].as_str().unwrap()).unwrap();
    assert!(status.is_match(" rejected "));
    assert!(status.is_match("REJECTED"));
    assert!(!status.is_match("APPROVED"));
    assert_eq!(json["required"], serde_json::json!(["appointmentId"]));
}
