//! What a valid patient is, free of HTTP and SQL.

use contracts::patients::PatientInput;
use jiff::civil::Date;
use platform::ApiError;
use platform::validation::Violations;
use platform::values::{Email, NonBlank, PhoneNumber, limits, parse_dob};

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
        let name = v.check("name", NonBlank::name(&input.name));
        let email = v.check("email", Email::parse(&input.email));
        let phone = v.check("phone", PhoneNumber::parse(&input.phone));
        let dob = v.check("dob", parse_dob(&input.dob, today));
        let address = v.check("address", NonBlank::parse(&input.address, limits::ADDRESS));
        let medical_history = v.check_optional("medicalHistory", input.medical_history, |h| {
            NonBlank::parse(&h, limits::MEDICAL_HISTORY)
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

/// The e-mail of a patient with an account is the account's login e-mail: it changes through
/// the identity service only, never here alone (it would stop matching the login).
pub fn keep_login_email(has_account: bool, stored: &str, asked: &Email) -> platform::Result<()> {
    if has_account && stored != asked.as_str() {
        return Err(ApiError::invalid(
            "email",
            "is the login e-mail of the patient's account; it changes through identity",
        ));
    }
    Ok(())
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
    fn a_name_of_invisible_characters_is_refused() {
        let bad = PatientInput {
            name: "\u{200B}\u{200C}\u{FEFF}".into(),
            ..input()
        };
        let Err(platform::ApiError::Invalid(errors)) =
            PatientDetails::parse(bad, date(2026, 11, 21))
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].field, "name");
    }

    #[test]
    fn an_account_holders_email_stays_the_login_email() {
        let asked = Email::parse("new@example.org").unwrap();
        assert!(keep_login_email(true, "new@example.org", &asked).is_ok());
        assert!(keep_login_email(false, "old@example.org", &asked).is_ok());
        let Err(ApiError::Invalid(errors)) = keep_login_email(true, "old@example.org", &asked)
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].field, "email");
    }
}
