use std::fmt;

/// A phone number that a real numbering plan accepts, kept in E.164 form (`+4930123456`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Numbers must be international (`+<country code>...`); there is no default region to guess.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || "must be a valid phone number in international form, e.g. +14155550100";
        if raw.len() > 40 {
            return Err(invalid().to_owned());
        }
        let number = phonenumber::parse(None, raw.trim()).map_err(|_| invalid().to_owned())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid().to_owned());
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    #[test]
    fn normalizes_to_e164() {
        let cases = [
            ("+1 (415) 555-2671", "+14155552671"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+49 30 901820", "+4930901820"),
        ];
        for (raw, e164) in cases {
            assert_eq!(PhoneNumber::parse(raw).unwrap().as_str(), e164, "{raw}");
        }
    }

    #[test]
    fn refuses_numbers_no_plan_accepts() {
        for raw in ["", "hello", "12345", "+1 000", "+999 1234567"] {
            assert!(
                PhoneNumber::parse(raw).is_err(),
                "{raw:?} should be refused"
            );
        }
    }
}
