//! What a password must be (OWASP ASVS 5, V6.2): long enough, not absurdly long, not a
//! well-known weak password and not the account's own e-mail address. No composition rules
//! (they make passwords harder to remember, not harder to guess).

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

pub const MIN_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing stays cheap to bound.
pub const MAX_CHARS: usize = 128;

static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_lowercase)
        .collect()
});

/// A password that satisfies the policy. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks `raw` for the account with e-mail `email` (when known). Not trimmed: spaces are
    /// part of a passphrase.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(format!("must be at least {MIN_CHARS} characters"));
        }
        if chars > MAX_CHARS {
            return Err(format!("must be at most {MAX_CHARS} characters"));
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(&lower) || is_one_repeated_char(&lower) {
            return Err("is too common; choose a less predictable password".to_owned());
        }
        if let Some(email) = email.map(|e| e.trim().to_lowercase()) {
            let local = email.split('@').next().unwrap_or_default();
            if lower == email || lower == local {
                return Err("must not be the e-mail address".to_owned());
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

fn is_one_repeated_char(password: &str) -> bool {
    let mut chars = password.chars();
    chars
        .next()
        .is_some_and(|first| chars.all(|other| other == first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_table() {
        let email = Some("ada.lovelace@example.org");
        let cases: &[(&str, Result<(), &str>)] = &[
            ("plum-violin-harbour", Ok(())),
            ("  spaced passphrase  ", Ok(())),
            ("ünïcödé-pässwörd", Ok(())),
            ("short", Err("must be at least 10 characters")),
            ("ninechars", Err("must be at least 10 characters")),
            ("éééééé", Err("must be at least 10 characters")),
            ("password123", Err("is too common")),
            ("PassWord123", Err("is too common")),
            ("1234567890", Err("is too common")),
            ("qwertyuiop", Err("is too common")),
            ("zzzzzzzzzzzz", Err("is too common")),
            ("ada.lovelace@example.org", Err("must not be the e-mail")),
            ("ADA.LOVELACE@EXAMPLE.ORG", Err("must not be the e-mail")),
            ("ada.lovelace", Err("must not be the e-mail")),
        ];
        for (raw, expected) in cases {
            let outcome = Password::parse(raw, email);
            match expected {
                Ok(()) => assert!(outcome.is_ok(), "{raw:?} should be accepted: {outcome:?}"),
                Err(start) => {
                    let message = outcome.expect_err(raw);
                    assert!(message.starts_with(start), "{raw:?}: {message}");
                }
            }
        }
        assert!(Password::parse(&"x1".repeat(64), None).is_ok());
        assert!(Password::parse(&"x1".repeat(64 + 1), None).is_err());
    }

    #[test]
    fn the_bundled_list_is_loaded_and_every_entry_is_long_enough_to_matter() {
        assert!(COMMON.len() >= 200, "{}", COMMON.len());
        for entry in COMMON.iter() {
            assert!(entry.chars().count() >= MIN_CHARS, "{entry}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let password = Password::parse("plum-violin-harbour", None).unwrap();
        assert!(!format!("{password:?}").contains("plum"));
    }
}
