//! Text a device sent, on its way to a terminal: the server's log, the admin listings, and the
//! messages of refusals ([`crate::guard::escape`]).
//!
//! A device name or a document key is the device's to choose. Printed raw, a new line in it
//! forges a log line or a row of `sync-server devices`, and escape codes repaint the
//! administrator's terminal. [`escape`] writes such characters the way Rust source would
//! (`\n`, `\u{1b}`), and the backslash as `\\`, so that what is printed is unambiguous;
//! everything printable (Chinese included) stays as it is.

use std::borrow::Cow;

/// Whether a character must not reach a terminal raw: control characters (C0, DEL, C1) and
/// the Unicode direction overrides and isolates, which reorder what follows them.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [unsafe](is_unsafe) character and the backslash escaped.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' || is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_and_overrides_are_escaped_and_chinese_is_kept() {
        assert_eq!(escape("关国栋的手机"), "关国栋的手机");
        assert_eq!(
            escape("a\nb\tc\u{1b}[2J\u{202e}d\\n"),
            "a\\nb\\tc\\u{1b}[2J\\u{202e}d\\\\n"
        );
        assert!(!escape("x\r\u{9b}y").chars().any(char::is_control));
    }
}
