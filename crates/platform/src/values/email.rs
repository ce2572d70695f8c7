use std::fmt;

/// A syntactically valid e-mail address, stored lower-cased so uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // Counted as sent, white space included, as the OpenAPI document's `maxLength` does.
        if raw.chars().count() > 254 {
            return Err("must be at most 254 characters".to_owned());
        }
        // Only plain addresses: no display names, no quoted local parts.
        let address = email_address::EmailAddress::parse_with_options(
            raw.trim(),
            email_address::Options::default()
                .without_display_text()
                .with_required_tld(),
        )
        .map_err(|_| "must be a valid e-mail address".to_owned())?;
        Ok(Self(address.as_str().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_and_lowercases_plain_addresses() {
        assert_eq!(
            Email::parse(" Ann@Example.ORG ").unwrap().as_str(),
            "ann@example.org"
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        for raw in [
            "",
            "ann",
            "ann@",
            "@example.org",
            "ann@example",
            "Ann <ann@example.org>",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn the_limit_counts_the_address_as_sent() {
        let padded = format!("ann@example.org{}", " ".repeat(240));
        assert_eq!(padded.chars().count(), 255);
        assert!(Email::parse(&padded).is_err());
        assert!(Email::parse(&padded[1..]).is_ok());
    }
}
