//! Every CSV this crate writes goes through the `csv` crate's writer (quoting, separators and
//! line ends in one place); floats are written in Rust's shortest round-trip form (`{}`), so
//! values and ties read back exactly (SPEC §6).

use std::fmt::Write as _;
use std::io::Write;

/// A CSV writer over `w`: comma-separated, `\n` line ends, fields quoted only when they must be.
pub fn writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(w)
}

/// A CSV writer for files people open in a spreadsheet (exports and the coupon file of
/// `campaign create`): text cells quoted, numbers bare (as OWASP advises against CSV
/// injection, with [`text_cell`] on every text cell).
pub fn sheet_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::NonNumeric)
        .from_writer(w)
}

/// A text cell a spreadsheet shows and never runs: one starting with `=`, `+`, `-`, `@`, TAB or
/// CR (a formula to Excel, LibreOffice and Sheets) gets a leading `'` (OWASP's CSV injection
/// advice). Tier and offer names come from a config and brands from a log, so any may start
/// so. Numbers are written as numbers and never pass through here: a negative score stays one.
pub fn text_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Formats numbers into one reused buffer, so a row of floats costs no allocation.
#[derive(Default)]
pub struct Fields {
    buf: String,
}

impl Fields {
    /// `v` as `{}` writes it (shortest round-trip for floats).
    pub fn show(&mut self, v: impl std::fmt::Display) -> &str {
        self.buf.clear();
        let _ = write!(self.buf, "{v}");
        &self.buf
    }
}

/// Passes writes through and ignores flushes: the csv writer flushes what it wraps when done,
/// and a gzip stream flushed before its end gets a sync marker (other bytes for the same data).
pub struct NoFlush<W>(pub W);

impl<W: Write> Write for NoFlush<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A csv error as the I/O error the atomic writers expect.
pub fn io(e: csv::Error) -> std::io::Error {
    e.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it_and_floats_round_trip() {
        let mut out = Vec::new();
        {
            let mut w = writer(&mut out);
            let mut f = Fields::default();
            w.write_field("plain").unwrap();
            w.write_field("a, \"b\"").unwrap();
            w.write_field(f.show(0.1 + 0.2)).unwrap();
            w.write_field(f.show(1e21_f64)).unwrap();
            w.write_field("").unwrap();
            w.write_record(None::<&[u8]>).unwrap();
            w.flush().unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,\"a, \"\"b\"\"\",0.30000000000000004,1000000000000000000000,\n"
        );
    }

    #[test]
    fn text_cells_that_a_spreadsheet_would_run_are_neutralised_and_quoted() {
        for (v, want) in [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Emergency", "Emergency"),
            ("30% coupon", "30% coupon"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(text_cell(v), want, "{v:?}");
        }
        let mut out = Vec::new();
        {
            let mut w = sheet_writer(&mut out);
            let mut f = Fields::default();
            w.write_field(f.show(-0.25_f64)).unwrap();
            w.write_field(f.show(-3_i64)).unwrap();
            w.write_field(text_cell("=HYPERLINK(\"http://x\")").as_ref())
                .unwrap();
            w.write_field(text_cell("-x").as_ref()).unwrap();
            w.write_field(text_cell("plain").as_ref()).unwrap();
            w.write_record(None::<&[u8]>).unwrap();
            w.flush().unwrap();
        }
        // Numbers bare (a negative one too), text quoted, formulas behind a quote mark.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-0.25,-3,\"'=HYPERLINK(\"\"http://x\"\")\",\"'-x\",\"plain\"\n"
        );
    }
}
