//! Numbers and text as an analyst reads them and a terminal may safely show, shared by the
//! workbench, reports and the command line.

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text that came from data, a file name or a config, made safe to print on a terminal: control
/// characters (ESC, BEL, CR, C1 codes, …) are shown as `\u{1b}`-style escapes, so a hostile log
/// cannot clear the screen, set the title or write the clipboard (OSC 52). Newlines and tabs are
/// escaped too: a value is one line. Printable text, any script, is unchanged.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// At most `max` characters of `s` for a message, with how much was left out: a 20 MB bad value
/// must not be echoed whole. Control characters are escaped as by [`printable`].
pub fn clip(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return printable(s).into_owned();
    }
    let head: String = s.chars().take(max).collect();
    format!("{}… ({} more characters)", printable(&head), n - max)
}

/// Terminal cells `s` takes (a Hangul syllable two, `₩` one): for aligning columns of text.
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped_by_three() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
        ] {
            assert_eq!(super::thousands(n), s);
        }
    }

    #[test]
    fn control_characters_are_escaped_and_text_is_kept() {
        use super::printable;
        assert_eq!(printable("Samsung 삼성"), "Samsung 삼성");
        assert_eq!(
            printable("a\u{1b}]52;c;SGVsbG8=\u{7}b"),
            "a\\u{1b}]52;c;SGVsbG8=\\u{7}b"
        );
        assert_eq!(printable("x\r\ny\t\u{9b}"), "x\\r\\ny\\t\\u{9b}");
    }

    #[test]
    fn long_values_are_clipped_with_the_count_left_out() {
        use super::clip;
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcdef", 2), "ab… (4 more characters)");
        assert_eq!(clip("\u{1b}bc", 1), "\\u{1b}… (2 more characters)");
    }
}
