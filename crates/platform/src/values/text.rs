use std::fmt;

use super::limits;

/// Trimmed text with at least one visible character, no control characters (other than line
/// breaks and tabs), and no longer than its field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank(String);

impl NonBlank {
    /// `max_chars` counts the text as sent, white space included, as the OpenAPI document's
    /// `maxLength` does.
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, String> {
        let trimmed = raw.trim();
        if raw.chars().count() > max_chars {
            return Err(format!("must be at most {max_chars} characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("must not contain control characters".to_owned());
        }
        if !trimmed.chars().any(is_visible) {
            return Err("must contain a visible character".to_owned());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A person's name.
    pub fn name(raw: &str) -> Result<Self, String> {
        Self::parse(raw, limits::NAME)
    }

    /// A rejection, cancellation or time-off reason.
    pub fn reason(raw: &str) -> Result<Self, String> {
        Self::parse(raw, limits::REASON)
    }

    /// What an appointment is about.
    pub fn description(raw: &str) -> Result<Self, String> {
        Self::parse(raw, limits::DESCRIPTION)
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

/// A list's search term: a blank one filters nothing, a long one (counted as sent, as the
/// OpenAPI document's `maxLength` does) is refused.
pub fn search_term(raw: Option<&str>) -> Result<Option<&str>, String> {
    if raw.is_some_and(|raw| raw.chars().count() > limits::SEARCH_TERM) {
        return Err(format!(
            "must be at most {} characters",
            limits::SEARCH_TERM
        ));
    }
    Ok(raw.map(str::trim).filter(|term| !term.is_empty()))
}

/// Whether a character shows something: not white space, not a control character, and not one
/// of the characters Unicode says to render as nothing (`Default_Ignorable_Code_Point`: zero-width
/// spaces and joiners, direction marks, variation selectors, fillers, tags). A text of only
/// such characters looks empty while passing a plain emptiness check.
pub fn is_visible(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || is_default_ignorable(c) || c == '\u{2800}')
}

/// Unicode 15's `Default_Ignorable_Code_Point` property (DerivedCoreProperties.txt).
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::{NonBlank, search_term};

    #[test]
    fn blank_terms_filter_nothing_and_long_ones_are_refused() {
        assert_eq!(search_term(None), Ok(None));
        assert_eq!(search_term(Some("  ")), Ok(None));
        assert_eq!(search_term(Some(" Cardiology ")), Ok(Some("Cardiology")));
        assert!(search_term(Some(&"é".repeat(200))).is_ok());
        assert!(search_term(Some(&"x".repeat(201))).is_err());
        assert!(search_term(Some(&format!("x{}", " ".repeat(200)))).is_err());
    }

    #[test]
    fn trims_and_refuses_blank_or_long_text() {
        assert_eq!(NonBlank::parse("  Ada ", 10).unwrap().as_str(), "Ada");
        assert!(NonBlank::parse("   ", 10).is_err());
        assert!(NonBlank::parse("abcdefghijk", 10).is_err());
        assert!(NonBlank::parse("a\u{0}b", 10).is_err());
    }

    #[test]
    fn the_limit_counts_the_text_as_sent() {
        assert!(NonBlank::parse("abc  ", 5).is_ok());
        assert!(NonBlank::parse(" abc  ", 5).is_err());
    }

    #[test]
    fn text_of_only_invisible_characters_is_blank() {
        for raw in [
            "\u{200B}\u{200B}",
            "\u{200C}\u{200D}\u{2060}",
            "\u{FEFF}",
            " \u{00A0}\u{3000} ",
            "\u{3164}\u{115F}",
            "\u{200E}\u{202E}",
            "\u{E0041}\u{FE0F}",
            "\u{2800}",
        ] {
            assert_eq!(
                NonBlank::name(raw),
                Err("must contain a visible character".to_owned()),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn visible_text_keeps_its_invisible_characters() {
        let joined = "Zoë\u{200D}Ann";
        assert_eq!(NonBlank::name(joined).unwrap().as_str(), joined);
        assert!(NonBlank::name("李").is_ok());
        assert!(NonBlank::name("\u{200B}A").is_ok());
    }

    #[test]
    fn each_kind_has_its_shared_limit() {
        assert!(NonBlank::name(&"a".repeat(200)).is_ok());
        assert!(NonBlank::name(&"a".repeat(201)).is_err());
        assert!(NonBlank::reason(&"a".repeat(500)).is_ok());
        assert!(NonBlank::reason(&"a".repeat(501)).is_err());
        assert!(NonBlank::description(&"a".repeat(2001)).is_err());
    }
}
