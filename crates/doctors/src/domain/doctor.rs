//! What a valid doctor profile is.

use contracts::doctors::{DoctorInput, Gender};
use platform::time::parse_zone;
use platform::validation::Violations;
use platform::values::{Email, NonBlank, PhoneNumber, limits};

use crate::domain::schedule::{DEFAULT_SLOT_MINUTES, parse_slot_minutes};

/// A doctor's editable fields, every one validated and defaults filled in.
#[derive(Debug, Clone)]
pub struct DoctorDetails {
    pub name: NonBlank,
    pub email: Email,
    pub phone: PhoneNumber,
    pub speciality: NonBlank,
    pub gender: Option<Gender>,
    pub available: bool,
    pub slot_minutes: u32,
    /// The canonical IANA name; `None` means the clinic's zone.
    pub timezone: Option<String>,
    pub auto_approve: bool,
}

impl DoctorDetails {
    /// Checks every field and reports all failures at once. Absent optional fields take their
    /// defaults, also on a full update.
    pub fn parse(input: DoctorInput) -> platform::Result<Self> {
        let mut v = Violations::default();
        let name = v.check("name", NonBlank::name(&input.name));
        let email = v.check("email", Email::parse(&input.email));
        let phone = v.check("phone", PhoneNumber::parse(&input.phone));
        let speciality = v.check(
            "speciality",
            NonBlank::parse(&input.speciality, limits::LABEL),
        );
        let slot_minutes = v.check(
            "slotMinutes",
            parse_slot_minutes(input.slot_minutes.unwrap_or(DEFAULT_SLOT_MINUTES)),
        );
        let timezone = v.check("timezone", parse_timezone(input.timezone.as_deref()));
        let details = match (name, email, phone, speciality, slot_minutes, timezone) {
            (
                Some(name),
                Some(email),
                Some(phone),
                Some(speciality),
                Some(slot),
                Some(timezone),
            ) => Some(Self {
                name,
                email,
                phone,
                speciality,
                gender: input.gender,
                available: input.available.unwrap_or(true),
                slot_minutes: slot,
                timezone,
                auto_approve: input.auto_approve.unwrap_or(false),
            }),
            _ => None,
        };
        v.finish(details)
    }
}

/// An optional IANA zone name, returned in its canonical spelling; blank counts as absent.
fn parse_timezone(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > 64 {
        return Err("must be an IANA time zone such as Europe/Berlin".to_owned());
    }
    let zone = parse_zone(raw)?;
    Ok(Some(zone.iana_name().unwrap_or(raw).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DoctorInput {
        DoctorInput {
            name: "Dr. Gregory House".into(),
            email: "House@Example.org".into(),
            phone: "+1 609 555 0142".into(),
            speciality: "Diagnostics".into(),
            gender: Some(Gender::Male),
            available: None,
            slot_minutes: None,
            timezone: None,
            auto_approve: None,
        }
    }

    #[test]
    fn accepts_a_valid_doctor_and_fills_in_defaults() {
        let details = DoctorDetails::parse(input()).unwrap();
        assert_eq!(details.email.as_str(), "house@example.org");
        assert!(details.available);
        assert!(!details.auto_approve);
        assert_eq!(details.slot_minutes, 30);
        assert_eq!(details.timezone, None);
    }

    #[test]
    fn keeps_given_options_and_canonicalizes_the_zone() {
        let details = DoctorDetails::parse(DoctorInput {
            available: Some(false),
            slot_minutes: Some(15),
            timezone: Some(" America/New_York ".into()),
            auto_approve: Some(true),
            ..input()
        })
        .unwrap();
        assert!(!details.available);
        assert!(details.auto_approve);
        assert_eq!(details.slot_minutes, 15);
        assert_eq!(details.timezone.as_deref(), Some("America/New_York"));
    }

    #[test]
    fn reports_every_failing_field_at_once() {
        let bad = DoctorInput {
            name: "".into(),
            email: "house".into(),
            phone: "555".into(),
            speciality: "  ".into(),
            gender: None,
            available: None,
            slot_minutes: Some(300),
            timezone: Some("Mars/Olympus_Mons".into()),
            auto_approve: None,
        };
        let Err(platform::ApiError::Invalid(errors)) = DoctorDetails::parse(bad) else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "email",
                "phone",
                "speciality",
                "slotMinutes",
                "timezone"
            ]
        );
    }

    #[test]
    fn a_blank_zone_means_the_clinics() {
        assert_eq!(parse_timezone(Some("  ")), Ok(None));
        assert_eq!(parse_timezone(None), Ok(None));
        assert!(parse_timezone(Some("Berlin")).is_err());
    }
}
