//! How amounts print: the tier config's ISO 4217 `currency` gives the symbol and the minor units
//! (₩5,000,000; $5,000.00), digits grouped by three as both shipped languages group them; in
//! Korean the won is written after the number (5,000,000원), as Korean prices are.

use crate::engine::{Error, Result};

/// A currency of the tier config (SPEC §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The currency of an ISO 4217 code (`KRW`, `usd`); `None` for a code ISO 4217 lacks.
    pub fn of_code(code: &str) -> Option<Currency> {
        iso_currency::Currency::from_code(&code.trim().to_ascii_uppercase()).map(Currency)
    }

    /// Parse a config's `currency`, naming where it came from when it is no ISO code.
    pub fn parse(code: &str, source: &str) -> Result<Currency> {
        Currency::of_code(code).ok_or_else(|| {
            Error::Config(format!(
                "{source}: currency: `{}` is not an ISO 4217 currency code (e.g. KRW, USD, EUR)",
                crate::engine::text::clip(code, 20)
            ))
        })
    }

    /// The ISO code (`KRW`).
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point: the currency's minor units (0 for the won and the yen,
    /// 2 for most; 2 when ISO gives none, as for gold).
    pub fn decimals(&self) -> usize {
        self.0.exponent().map_or(2, usize::from)
    }

    /// The amount as `--lang` expects it: `₩5,000,000`, `$5,000.00`, `CHF 5,000.00`; in Korean
    /// `5,000,000원` for the won. A negative amount starts with `-`.
    pub fn format(&self, amount: f64, lang: &str) -> String {
        let number = group(amount.abs(), self.decimals());
        let sign = if amount < 0.0 && number.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            "-"
        } else {
            ""
        };
        if lang == "ko" && self.code() == "KRW" {
            return format!("{sign}{number}원");
        }
        let symbol = self.symbol();
        if symbol
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '.')
        {
            // A symbol that is a word or an abbreviation (`Fr.`, `Bs`) reads apart from the digits.
            format!("{sign}{symbol} {number}")
        } else {
            format!("{sign}{symbol}{number}")
        }
    }

    /// The currency's symbol (its code when ISO's table gives none).
    fn symbol(&self) -> String {
        let s = self.0.symbol().symbol;
        if s.trim().is_empty() {
            self.code().to_string()
        } else {
            s
        }
    }

    /// An Excel number format for the currency (`"₩"#,##0`, `"$"#,##0.00`).
    pub fn excel_format(&self) -> String {
        let symbol = self.symbol().replace('"', "");
        let digits = match self.decimals() {
            0 => "#,##0".to_string(),
            d => format!("#,##0.{}", "0".repeat(d)),
        };
        format!("\"{symbol}\"{digits};-\"{symbol}\"{digits}")
    }
}

/// An amount when the config names no currency: grouped, two decimals.
pub fn plain(amount: f64) -> String {
    let number = group(amount.abs(), 2);
    if amount < 0.0 && number.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        format!("-{number}")
    } else {
        number
    }
}

/// `x ≥ 0` with `decimals` digits after the point (rounded half away from zero by the float's
/// decimal form), the whole part grouped by three with commas.
fn group(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "∞".into();
    }
    let s = format!("{x:.decimals$}");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_english_and_korean() {
        let krw = Currency::parse("KRW", "t.toml").unwrap();
        let usd = Currency::parse("usd", "t.toml").unwrap();
        assert_eq!(krw.format(5_000_000.0, "en"), "₩5,000,000");
        assert_eq!(krw.format(5_000_000.0, "ko"), "5,000,000원");
        assert_eq!(usd.format(5_000.0, "en"), "$5,000.00");
        assert_eq!(usd.format(5_000.0, "ko"), "$5,000.00");
        // Rounded to the minor unit: the won has none.
        assert_eq!(krw.format(1_234.6, "en"), "₩1,235");
        assert_eq!(usd.format(0.125, "en"), "$0.12");
        assert_eq!(usd.format(-1_234_567.891, "en"), "-$1,234,567.89");
        // A negative that rounds to zero prints without a sign.
        assert_eq!(krw.format(-0.2, "ko"), "0원");
        assert_eq!(usd.format(999.999, "en"), "$1,000.00");
        let chf = Currency::parse("CHF", "t.toml").unwrap();
        assert!(chf.format(10.0, "en").ends_with("10.00"));
        assert_eq!(plain(1234.5), "1,234.50");
        let jpy = Currency::parse("JPY", "t.toml").unwrap();
        assert_eq!(jpy.decimals(), 0);
        assert_eq!(usd.excel_format(), "\"$\"#,##0.00;-\"$\"#,##0.00");
        assert_eq!(krw.excel_format(), "\"₩\"#,##0;-\"₩\"#,##0");
    }

    #[test]
    fn unknown_codes_are_refused_naming_the_file() {
        for bad in ["WON", "", "US", "USDX", "₩"] {
            let e = Currency::parse(bad, "t.toml").unwrap_err().to_string();
            assert!(
                e.contains("t.toml") && e.contains("currency") && e.contains("ISO 4217"),
                "{bad:?}: {e}"
            );
        }
    }
}
