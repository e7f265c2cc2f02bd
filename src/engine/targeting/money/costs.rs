//! What an offer costs and what a kept customer is worth (SPEC §5.1): the tier config's `cost`,
//! `discount` × order value × `redeem_rate`, and `value`, each checked as it is read so a bad
//! amount is refused naming the file, the tier and the key.

use crate::engine::{Error, Result};

/// The expected cost of one tier's offer to one targeted user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cost {
    /// The same amount for every user (a voucher, a message).
    Fixed(f64),
    /// A share off the user's expected order, paid only when redeemed.
    Discount { discount: f64, redeem_rate: f64 },
}

impl Cost {
    /// The expected cost for a user whose expected order value is `order_value`.
    pub fn expected(&self, order_value: f64) -> f64 {
        match *self {
            Cost::Fixed(c) => c,
            Cost::Discount {
                discount,
                redeem_rate,
            } => discount * order_value * redeem_rate,
        }
    }

    /// Whether the cost depends on the user's expected order value.
    pub fn needs_order_value(&self) -> bool {
        matches!(self, Cost::Discount { .. })
    }
}

/// What keeping one customer for a horizon is worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// The same amount for every customer.
    Fixed(f64),
    /// The customer's own `total_spend_30d`.
    Spend,
}

/// Where a key sits, for messages: `c.toml: tier 2 (Warning)`.
pub struct Place<'a> {
    pub source: &'a str,
    pub tier: Option<(usize, &'a str)>,
}

impl Place<'_> {
    fn bad(&self, key: &str, why: String) -> Error {
        let at = match self.tier {
            Some((i, name)) => format!(
                "{}: tier {i} ({}): {key}",
                self.source,
                crate::engine::text::clip(name, 60)
            ),
            None => format!("{}: {key}", self.source),
        };
        Error::Config(format!("{at}: {why}"))
    }

    /// A finite number ≥ 0 (an integer or a float in the TOML).
    fn amount(&self, key: &str, v: &toml::Value) -> Result<f64> {
        let x = match v {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            other => {
                return Err(self.bad(key, format!("{} is not a number", shown(other))));
            }
        };
        if x.is_nan() {
            return Err(self.bad(key, "nan is not an amount".into()));
        }
        if x.is_infinite() {
            return Err(self.bad(key, "an amount must be finite".into()));
        }
        if x < 0.0 {
            return Err(self.bad(key, format!("{x} is negative: an amount is 0 or more")));
        }
        if x > MAX_AMOUNT {
            return Err(self.bad(
                key,
                format!("{x} is more than {MAX_AMOUNT:e}, past what the tool adds up exactly"),
            ));
        }
        Ok(x)
    }

    /// A rate in [0, 1].
    fn rate(&self, key: &str, v: &toml::Value) -> Result<f64> {
        let x = self.amount(key, v).map_err(|e| {
            // The same checks, said as a rate.
            Error::Config(e.to_string().replace("an amount", "a rate"))
        })?;
        if x > 1.0 {
            return Err(self.bad(key, format!("{x} is outside [0, 1]: a rate of 30% is 0.30")));
        }
        Ok(x)
    }
}

/// A TOML value as a message names it: a string quoted, else its type.
pub fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("`{}`", crate::engine::text::clip(s, 40)),
        other => format!("a {}", other.type_str()),
    }
}

/// The largest amount a config or a budget may hold: sums of millions of such amounts stay exact
/// to the cent in a double.
pub const MAX_AMOUNT: f64 = 1e12;

/// A tier's cost from its keys: `cost`, or `discount` with `redeem_rate`; none, or both forms at
/// once, or half of the second, are told apart.
pub fn parse_cost(
    cost: Option<&toml::Value>,
    discount: Option<&toml::Value>,
    redeem_rate: Option<&toml::Value>,
    at: &Place,
) -> Result<Option<Cost>> {
    match (cost, discount, redeem_rate) {
        (None, None, None) => Ok(None),
        (Some(c), None, None) => Ok(Some(Cost::Fixed(at.amount("cost", c)?))),
        (None, Some(d), Some(r)) => Ok(Some(Cost::Discount {
            discount: at.rate("discount", d)?,
            redeem_rate: at.rate("redeem_rate", r)?,
        })),
        (Some(_), _, _) => Err(at.bad(
            "cost",
            "a tier's cost is either `cost` (per user) or `discount` with `redeem_rate`, not both"
                .into(),
        )),
        (None, Some(_), None) => Err(at.bad(
            "redeem_rate",
            "missing: `discount` needs `redeem_rate` (the share of offers redeemed)".into(),
        )),
        (None, None, Some(_)) => Err(at.bad(
            "discount",
            "missing: `redeem_rate` needs `discount` (the share off the order)".into(),
        )),
    }
}

/// The config's `value`: an amount, or `"spend"`.
pub fn parse_value(v: Option<&toml::Value>, source: &str) -> Result<Option<Value>> {
    let at = Place { source, tier: None };
    match v {
        None => Ok(None),
        Some(toml::Value::String(s)) if s.trim() == "spend" => Ok(Some(Value::Spend)),
        Some(toml::Value::String(s)) => Err(at.bad(
            "value",
            format!(
                "`{}`: expected an amount or \"spend\" (the user's own total_spend_30d)",
                crate::engine::text::clip(s, 40)
            ),
        )),
        Some(v) => Ok(Some(Value::Fixed(at.amount("value", v)?))),
    }
}

/// A budget as typed (`5000000`, `5,000,000`, `1e6`, `12.50`): a finite amount from 0 to
/// `MAX_AMOUNT`, digits grouped by commas or underscores allowed.
pub fn parse_budget(text: &str) -> Result<f64> {
    let t = text.trim();
    let bad = |why: &str| {
        Error::Config(format!(
            "budget `{}`: {why}",
            crate::engine::text::clip(&crate::engine::text::printable(t), 40)
        ))
    };
    if t.is_empty() {
        return Err(bad("empty: expected an amount, e.g. 5000000 or 5,000,000"));
    }
    let plain: String = t.chars().filter(|c| !matches!(c, ',' | '_')).collect();
    // Only digits, one point, an exponent: `inf`, `nan` and `0x10` are no amounts, though Rust
    // parses the first two.
    let numeric = plain
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && plain.chars().any(|c| c.is_ascii_digit());
    let x: f64 = match plain.parse() {
        Ok(x) if numeric => x,
        _ => {
            return Err(bad(
                "not a number: expected an amount, e.g. 5000000 or 5,000,000",
            ));
        }
    };
    if !x.is_finite() || x > MAX_AMOUNT {
        return Err(bad(&format!("more than {MAX_AMOUNT:e}")));
    }
    if x < 0.0 {
        return Err(bad("negative: a budget is 0 or more"));
    }
    Ok(if x == 0.0 { 0.0 } else { x })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(x: f64) -> toml::Value {
        toml::Value::Float(x)
    }

    #[test]
    fn both_forms_and_their_expected_cost() {
        let at = Place {
            source: "t.toml",
            tier: Some((1, "Hot")),
        };
        let fixed = parse_cost(Some(&toml::Value::Integer(3000)), None, None, &at).unwrap();
        assert_eq!(fixed, Some(Cost::Fixed(3000.0)));
        assert_eq!(fixed.unwrap().expected(123.0), 3000.0);
        let d = parse_cost(None, Some(&num(0.3)), Some(&num(0.25)), &at)
            .unwrap()
            .unwrap();
        // 0.30 × 40,000 × 0.25 = 3,000.
        assert!((d.expected(40_000.0) - 3000.0).abs() < 1e-9);
        assert_eq!(parse_cost(None, None, None, &at).unwrap(), None);
    }

    #[test]
    fn bad_amounts_name_file_tier_and_key() {
        let at = Place {
            source: "t.toml",
            tier: Some((2, "Warm")),
        };
        type Case = (
            Option<toml::Value>,
            Option<toml::Value>,
            Option<toml::Value>,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (Some(num(-1.0)), None, None, "cost"),
            (Some(num(f64::NAN)), None, None, "cost"),
            (Some(num(f64::INFINITY)), None, None, "cost"),
            (Some(toml::Value::String("abc".into())), None, None, "cost"),
            (Some(num(1.0)), Some(num(0.1)), Some(num(0.1)), "cost"),
            (None, Some(num(1.5)), Some(num(0.2)), "discount"),
            (None, Some(num(0.1)), Some(num(-0.2)), "redeem_rate"),
            (None, Some(num(0.1)), None, "redeem_rate"),
            (None, None, Some(num(0.1)), "discount"),
        ];
        for (c, d, r, key) in cases {
            let e = parse_cost(c.as_ref(), d.as_ref(), r.as_ref(), &at)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("t.toml") && e.contains("tier 2 (Warm)") && e.contains(key),
                "{key}: {e}"
            );
        }
        assert_eq!(
            parse_value(Some(&toml::Value::String("spend".into())), "t.toml").unwrap(),
            Some(Value::Spend)
        );
        let e = parse_value(Some(&toml::Value::String("lots".into())), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml: value"), "{e}");
        assert!(parse_value(Some(&num(-5.0)), "t.toml").is_err());
    }

    #[test]
    fn budgets_as_typed() {
        use super::parse_budget;
        assert_eq!(parse_budget("5000000").unwrap(), 5e6);
        assert_eq!(parse_budget(" 5,000,000 ").unwrap(), 5e6);
        assert_eq!(parse_budget("1_000.5").unwrap(), 1000.5);
        assert_eq!(parse_budget("1e6").unwrap(), 1e6);
        assert_eq!(parse_budget("0").unwrap(), 0.0);
        assert_eq!(parse_budget("-0").unwrap(), 0.0);
        for bad in [
            "-1", "nan", "NaN", "inf", "-inf", "infinity", "1e400", "abc", "", "  ", "0x10",
            "1e13", "$5",
        ] {
            let e = parse_budget(bad).unwrap_err().to_string();
            assert!(e.starts_with("budget"), "{bad:?}: {e}");
        }
    }
}
