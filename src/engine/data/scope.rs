//! Scope filters (SPEC §1): a category prefix, tested against each product's resolved code, and
//! a brand list, pushed into the scan.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::batches::each_batch;
use super::schema::*;
use super::source::InputFile;
use crate::engine::error::PolarsContext;
use crate::engine::text::{clip, printable};
use crate::engine::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// Plain starts-with prefix of the product's resolved `category_code`.
    pub category: Option<String>,
    /// Exact, case-sensitive brand names; a null brand never matches.
    pub brands: Option<Vec<String>>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.category.is_none() && self.brands.is_none()
    }

    /// Refuse a scope no scan or query should run with: an empty value, or one holding a
    /// control character. A newline in a brand ended the `-- scope:` comment of the printed SQL
    /// and ran the rest as a statement; an ESC reached the terminal in messages. Brands and
    /// category codes are one line of printable text, so nothing real is refused. The engine
    /// checks here wherever a scope is used (scan, out-of-core pass, SQL), so every face gets it.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str, v: &str| -> Error {
            Error::Config(format!(
                "the {what} `{}` {}: scope values are one line of plain text",
                clip(v, 80),
                if v.is_empty() {
                    "is empty".to_string()
                } else {
                    let c = v.chars().find(|c| c.is_control()).unwrap_or('?');
                    format!("holds a control character ({})", printable(&c.to_string()))
                }
            ))
        };
        let refused = |v: &str| v.is_empty() || v.chars().any(char::is_control);
        if let Some(c) = &self.category
            && refused(c)
        {
            return Err(bad("category prefix", c));
        }
        if let Some(brands) = &self.brands {
            if brands.is_empty() {
                return Err(Error::Config("the brand list is empty".into()));
            }
            if let Some(b) = brands.iter().find(|b| refused(b)) {
                return Err(bad("brand", b));
            }
        }
        Ok(())
    }

    /// The scope in words, safe to print and to put in a comment: values are shown with
    /// control characters escaped, so even an unchecked scope cannot end a line.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.category {
            parts.push(format!("category prefix `{}`", printable(c)));
        }
        if let Some(b) = &self.brands {
            parts.push(format!("brands {}", printable(&b.join(","))));
        }
        if parts.is_empty() {
            "no scope filter".into()
        } else {
            parts.join(" and ")
        }
    }
}

/// Resolve each product's category as the code of its earliest event with a non-null code (ties:
/// the smallest code), over the whole unscoped log, and return the products whose resolved code
/// starts with `prefix`. One pass, batch by batch, down to a code per product: small, whatever
/// the log's size.
pub fn products_in_category(files: &[InputFile], prefix: &str) -> Result<Vec<i64>> {
    let mut best: HashMap<i64, (i64, String)> = HashMap::new();
    each_batch(files, &[TS, PRODUCT_ID, CATEGORY_CODE], |_, df| {
        let products = df
            .column(PRODUCT_ID)
            .and_then(|c| c.i64())
            .ctx(|| PRODUCT_ID.into())?;
        let codes = df
            .column(CATEGORY_CODE)
            .and_then(|c| c.str())
            .ctx(|| CATEGORY_CODE.into())?;
        let times = df.column(TS).and_then(|c| c.i64()).ctx(|| TS.into())?;
        for ((p, c), t) in products.iter().zip(codes.iter()).zip(times.iter()) {
            let (Some(p), Some(c), Some(t)) = (p, c, t) else {
                continue;
            };
            match best.entry(p) {
                Entry::Occupied(mut e) => {
                    let cur = e.get_mut();
                    if (t, c) < (cur.0, cur.1.as_str()) {
                        *cur = (t, c.to_string());
                    }
                }
                Entry::Vacant(e) => {
                    e.insert((t, c.to_string()));
                }
            }
        }
        Ok(false)
    })?;
    let mut ids: Vec<i64> = best
        .into_iter()
        .filter(|(_, (_, code))| code.starts_with(prefix))
        .map(|(p, _)| p)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::Scope;

    fn brands(b: &[&str]) -> Scope {
        Scope {
            category: None,
            brands: Some(b.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn control_characters_and_empty_values_are_refused() {
        for s in [
            brands(&["apple", "x\nDROP TABLE events;--"]),
            brands(&["a\rb"]),
            brands(&["\u{1b}]52;c;SGk=\u{7}"]),
            brands(&["nel\u{85}"]),
            brands(&[""]),
            brands(&[]),
            Scope {
                category: Some("electronics\n".into()),
                brands: None,
            },
            Scope {
                category: Some(String::new()),
                brands: None,
            },
        ] {
            let e = s.check().expect_err("refused").to_string();
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
        for ok in [
            Scope::default(),
            brands(&["apple", "삼성", "a b", "it's", "--x"]),
            Scope {
                category: Some("electronics.audio".into()),
                brands: None,
            },
        ] {
            ok.check().expect("accepted");
        }
    }

    #[test]
    fn the_description_is_one_line_whatever_the_values() {
        let s = Scope {
            category: Some("a\r\nb".into()),
            brands: Some(vec!["x\nDROP TABLE events;--".into(), "\u{1b}[2J".into()]),
        };
        let d = s.describe();
        assert!(!d.chars().any(char::is_control), "{d:?}");
        assert!(d.contains("x\\nDROP TABLE events;--"), "{d}");
    }
}
