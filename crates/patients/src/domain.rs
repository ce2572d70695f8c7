//! What a valid patient is, free of HTTP and SQL.

use contracts::patients::PatientInput;
use jiff::civil::Date;
use platform::validation::Violations;
use platform::values::{Email, NonBlank, PhoneNumber};

/// A patient's editable fields, every one validated.
#[derive(Debug, Clone)]
pub struct PatientDetails {
    pub name: NonBlank,
    pub email: Email,
    pub phone: PhoneNumber,
    pub dob: Date,
    pub address: NonBlank,
    pub medical_history: Option<NonBlank>,
}

impl PatientDetails {
    /// Checks every field against `today` and reports all failures at once.
    pub fn parse(input: PatientInput, today: Date) -> platform::Result<Self> {
        let mut v = Violations::default();
        let name = v.check("name", NonBlank::parse(&input.name, 200));
        let email = v.check("email", Email::parse(&input.email));
        let phone = v.check("phone", PhoneNumber::parse(&input.phone));
        let dob = v.check("dob", parse_dob(&input.dob, today));
        let address = v.check("address", NonBlank::parse(&input.address, 500));
        let medical_history = v.check_optional("medicalHistory", input.medical_history, |h| {
            NonBlank::parse(&h, 10_000)
        });
        let details = match (name, email, phone, dob, address) {
            (Some(name), Some(email), Some(phone), Some(dob), Some(address)) => Some(Self {
                name,
                email,
                phone,
                dob,
                address,
                medical_history,
            }),
            _ => None,
        };
        v.finish(details)
    }
}

/// A date of birth: `YYYY-MM-DD`, in the past, and not absurdly long ago.
pub fn parse_dob(raw: &str, today: Date) -> Result<Date, String> {
    let dob: Date = raw
        .trim()
        .parse()
        .map_err(|_| "must be a date in the form YYYY-MM-DD".to_owned())?;
    if dob >= today {
        return Err("must be in the past".to_owned());
    }
    if dob.year() < today.year() - 150 {
        return Err("must be within the last 150 years".to_owned());
    }
    Ok(dob)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn input() -> PatientInput {
        PatientInput {
            name: "Ada Lovelace".into(),
            email: "ada@example.org".into(),
            phone: "+44 20 7946 0958".into(),
            dob: "1985-12-10".into(),
            address: "12 St James's Square".into(),
            medical_history: None,
        }
    }

    #[test]
    fn accepts_a_valid_patient_and_normalizes_the_phone() {
        let details = PatientDetails::parse(input(), date(2026, 11, 21)).unwrap();
        assert_eq!(details.phone.as_str(), "+442079460958");
    }

    #[test]
    fn reports_every_failing_field_at_once() {
        let bad = PatientInput {
            name: " ".into(),
            email: "nope".into(),
            phone: "123".into(),
            dob: "2030-01-01".into(),
            address: "".into(),
            medical_history: None,
        };
        let Err(platform::ApiError::Invalid(errors)) =
            PatientDetails::parse(bad, date(2026, 11, 21))
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "phone", "dob", "address"]);
    }

    #[test]
    fn dob_must_be_a_past_date() {
        let today = date(2026, 11, 21);
        assert!(parse_dob("2026-11-21", today).is_err());
        assert!(parse_dob("21/11/1990", today).is_err());
        assert!(parse_dob("1850-01-01", today).is_err());
        assert_eq!(parse_dob("2026-11-20", today), Ok(date(2026, 11, 20)));
    }
}
