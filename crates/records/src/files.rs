//! What an uploaded file is, told from its bytes (never from its declared type or name).

use std::fmt;

/// The kinds of file a record may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Text,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Text => "text/plain",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.content_type())
    }
}

/// Bytes needed from the start of a file to tell its kind.
pub const SNIFF_BYTES: usize = 512;

/// The kind the first bytes of a file show; `None` for anything else. Text is only a
/// candidate here: [`TextCheck`] must accept the whole file.
pub fn sniff(head: &[u8]) -> Option<FileKind> {
    match infer::get(head).map(|t| t.mime_type()) {
        Some("application/pdf") => Some(FileKind::Pdf),
        Some("image/png") => Some(FileKind::Png),
        Some("image/jpeg") => Some(FileKind::Jpeg),
        Some(_) => None,
        None => {
            let mut check = TextCheck::default();
            (check.push(head) && !looks_like_markup(head)).then_some(FileKind::Text)
        }
    }
}

/// HTML or SVG dressed as text would render as a page in a browser that sniffs.
fn looks_like_markup(head: &[u8]) -> bool {
    let start = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    [
        "<!doctype",
        "<html",
        "<svg",
        "<?xml",
        "<script",
        "<head",
        "<body",
    ]
    .iter()
    .any(|tag| start.starts_with(tag))
}

/// Checks, piece by piece, that a file is plain text: UTF-8 with no control characters other
/// than tab, line feed, carriage return and form feed.
#[derive(Debug, Default)]
pub struct TextCheck {
    /// The start of a character split across pieces.
    carry: Vec<u8>,
}

impl TextCheck {
    /// `false` as soon as the bytes cannot be plain text.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let mut joined;
        let bytes = if self.carry.is_empty() {
            bytes
        } else {
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(bytes);
            &joined[..]
        };
        let (valid, rest) = match std::str::from_utf8(bytes) {
            Ok(text) => (text, &[][..]),
            Err(err) if err.error_len().is_none() => {
                let (ok, rest) = bytes.split_at(err.valid_up_to());
                (std::str::from_utf8(ok).unwrap_or_default(), rest)
            }
            Err(_) => return false,
        };
        if valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
        {
            return false;
        }
        self.carry = rest.to_vec();
        true
    }

    /// `false` when the file ended inside a character.
    pub fn finish(self) -> bool {
        self.carry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn tells_the_kinds_from_their_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), Some(FileKind::Pdf));
        assert_eq!(sniff(PNG), Some(FileKind::Png));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some(FileKind::Jpeg));
        assert_eq!(
            sniff("Hémoglobine 13.5 g/dL\r\n".as_bytes()),
            Some(FileKind::Text)
        );
    }

    #[test]
    fn refuses_markup_binaries_and_control_characters() {
        assert_eq!(sniff(b"<!DOCTYPE html><html><script>"), None);
        assert_eq!(sniff(b"  <svg xmlns='http://www.w3.org/2000/svg'>"), None);
        assert_eq!(sniff(b"PK\x03\x04zip"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
        assert_eq!(sniff(b"text\0with nul"), None);
        assert_eq!(sniff(b"\x1b[31mred"), None);
    }

    #[test]
    fn text_check_follows_characters_split_across_pieces() {
        let text = "naïve café".as_bytes();
        let mut check = TextCheck::default();
        assert!(check.push(&text[..3]));
        assert!(check.push(&text[3..]));
        assert!(check.finish());
        let mut cut = TextCheck::default();
        assert!(cut.push(&text[..3]));
        assert!(!cut.finish());
        assert!(!TextCheck::default().push(b"\xff\xfe"));
    }
}
