use std::fmt;

/// Trimmed text that is neither empty nor longer than its field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank(String);

impl NonBlank {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be blank".to_owned());
        }
        if trimmed.chars().count() > max_chars {
            return Err(format!("must be at most {max_chars} characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for NonBlank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::NonBlank;

    #[test]
    fn trims_and_refuses_blank_or_long_text() {
        assert_eq!(NonBlank::parse("  Ada ", 10).unwrap().as_str(), "Ada");
        assert!(NonBlank::parse("   ", 10).is_err());
        assert!(NonBlank::parse("abcdefghijk", 10).is_err());
        assert!(NonBlank::parse("a\u{0}b", 10).is_err());
    }
}
