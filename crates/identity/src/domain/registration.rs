//! Who may register which kind of account, and what a valid registration is.

use contracts::doctors::DoctorInput;
use contracts::identity::{AccountRole, RegisterRequest};
use contracts::patients::PatientInput;
use jiff::civil::Date;
use platform::ApiError;
use platform::auth::Principal;
use platform::validation::Violations;
use platform::values::{Email, NonBlank, PhoneNumber, limits, parse_dob};

use super::password::Password;

/// The profile another service keeps for the new account, as that service's input.
#[derive(Debug, Clone)]
pub enum Profile {
    Patient(PatientInput),
    Doctor(DoctorInput),
    /// Administrators have no profile.
    None,
}

/// A registration with every field validated.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub role: AccountRole,
    pub profile: Profile,
}

/// Anyone may create a patient account; only an administrator a doctor's or another
/// administrator's.
pub fn authorize(role: AccountRole, caller: Option<&Principal>) -> Result<(), ApiError> {
    match role {
        AccountRole::Patient => Ok(()),
        AccountRole::Doctor | AccountRole::Admin if caller.is_some_and(Principal::is_admin) => {
            Ok(())
        }
        AccountRole::Doctor | AccountRole::Admin => Err(ApiError::Forbidden),
    }
}

impl Registration {
    /// Checks the fields the requested role needs (dates against `today`) and reports every
    /// failure at once.
    pub fn parse(input: RegisterRequest, today: Date) -> platform::Result<Self> {
        let mut v = Violations::default();
        let role = input.role.unwrap_or(AccountRole::Patient);
        let email = v.check("email", Email::parse(&input.email));
        let password = v.check(
            "password",
            Password::parse(&input.password, Some(&input.email)),
        );
        let profile = match role {
            AccountRole::Patient => {
                let name = v.check("name", required(input.name, NonBlank::name));
                let phone = v.check("phone", required(input.phone, PhoneNumber::parse));
                let dob = v.check("dob", required(input.dob, |d| parse_dob(d, today)));
                let address = v.check(
                    "address",
                    required(input.address, |a| NonBlank::parse(a, limits::ADDRESS)),
                );
                match (&email, name, phone, dob, address) {
                    (Some(email), Some(name), Some(phone), Some(dob), Some(address)) => {
                        Some(Profile::Patient(PatientInput {
                            name: name.into_string(),
                            email: email.to_string(),
                            phone: phone.to_string(),
                            dob: dob.to_string(),
                            address: address.into_string(),
                            medical_history: None,
                        }))
                    }
                    _ => None,
                }
            }
            AccountRole::Doctor => {
                let name = v.check("name", required(input.name, NonBlank::name));
                let phone = v.check("phone", required(input.phone, PhoneNumber::parse));
                let speciality = v.check(
                    "speciality",
                    required(input.speciality, |s| NonBlank::parse(s, limits::LABEL)),
                );
                match (&email, name, phone, speciality) {
                    (Some(email), Some(name), Some(phone), Some(speciality)) => {
                        Some(Profile::Doctor(DoctorInput {
                            name: name.into_string(),
                            email: email.to_string(),
                            phone: phone.to_string(),
                            speciality: speciality.into_string(),
                            gender: input.gender,
                            available: None,
                            slot_minutes: None,
                            timezone: None,
                            auto_approve: None,
                        }))
                    }
                    _ => None,
                }
            }
            AccountRole::Admin => Some(Profile::None),
        };
        let registration = match (email, password, profile) {
            (Some(email), Some(password), Some(profile)) => Some(Self {
                email,
                password,
                role,
                profile,
            }),
            _ => None,
        };
        v.finish(registration)
    }
}

fn required<T>(
    raw: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    match raw {
        Some(raw) => parse(&raw),
        None => Err("is required".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use platform::auth::Role;

    fn patient() -> RegisterRequest {
        RegisterRequest {
            name: Some("Ada Lovelace".into()),
            email: "Ada@Example.org".into(),
            password: "plum-violin-harbour".into(),
            phone: Some("+44 20 7946 0958".into()),
            dob: Some("1985-12-10".into()),
            address: Some("12 St James's Square".into()),
            role: None,
            speciality: None,
            gender: None,
        }
    }

    fn fields(err: ApiError) -> Vec<String> {
        let ApiError::Invalid(errors) = err else {
            panic!("expected a validation error, got {err:?}");
        };
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_patient_registration_normalizes_the_profile() {
        let registration = Registration::parse(patient(), date(2026, 11, 21)).unwrap();
        assert_eq!(registration.role, AccountRole::Patient);
        assert_eq!(registration.email.as_str(), "ada@example.org");
        let Profile::Patient(profile) = registration.profile else {
            panic!("expected a patient profile");
        };
        assert_eq!(profile.phone, "+442079460958");
        assert_eq!(profile.email, "ada@example.org");
    }

    #[test]
    fn every_failing_field_is_reported_at_once() {
        let bad = RegisterRequest {
            name: None,
            email: "nope".into(),
            password: "password123".into(),
            phone: Some("123".into()),
            dob: Some("2030-01-01".into()),
            address: Some(" ".into()),
            ..patient()
        };
        let err = Registration::parse(bad, date(2026, 11, 21)).unwrap_err();
        assert_eq!(
            fields(err),
            ["email", "password", "name", "phone", "dob", "address"]
        );
    }

    #[test]
    fn doctors_need_a_speciality_and_admins_nothing_but_credentials() {
        let doctor = RegisterRequest {
            role: Some(AccountRole::Doctor),
            dob: None,
            address: None,
            ..patient()
        };
        let err = Registration::parse(doctor.clone(), date(2026, 11, 21)).unwrap_err();
        assert_eq!(fields(err), ["speciality"]);
        let doctor = RegisterRequest {
            speciality: Some("Cardiology".into()),
            ..doctor
        };
        let parsed = Registration::parse(doctor, date(2026, 11, 21)).unwrap();
        assert!(matches!(parsed.profile, Profile::Doctor(d) if d.speciality == "Cardiology"));

        let admin = RegisterRequest {
            role: Some(AccountRole::Admin),
            name: None,
            phone: None,
            dob: None,
            address: None,
            ..patient()
        };
        let parsed = Registration::parse(admin, date(2026, 11, 21)).unwrap();
        assert!(matches!(parsed.profile, Profile::None));
    }

    #[test]
    fn only_an_admin_creates_doctors_and_admins() {
        let principal = |role| Principal {
            user_id: 7,
            role,
            patient_id: None,
            doctor_id: None,
        };
        let admin = principal(Role::Admin);
        let patient = principal(Role::Patient);
        let service = principal(Role::Service);
        assert!(authorize(AccountRole::Patient, None).is_ok());
        assert!(authorize(AccountRole::Patient, Some(&patient)).is_ok());
        for role in [AccountRole::Doctor, AccountRole::Admin] {
            assert!(authorize(role, Some(&admin)).is_ok());
            for caller in [None, Some(&patient), Some(&service)] {
                assert!(matches!(authorize(role, caller), Err(ApiError::Forbidden)));
            }
        }
    }
}
