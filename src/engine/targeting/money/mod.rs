//! Money (SPEC §5.1–5.3): what each tier's offer costs, the K a budget buys, and what a list is
//! expected to return with the uplifts of a read-out campaign.

pub mod costs;
pub mod currency;
pub mod ledger;
pub mod plan;
pub mod summary;
pub mod table;

pub use costs::{Cost, MAX_AMOUNT, Value};
pub use currency::Currency;
pub use ledger::{BudgetCut, Ledger};
pub use summary::{ListMoney, group_names};
pub use table::PlanTable;

use crate::engine::{Error, Result};

/// A list's money for its outputs: the ledger of its ranking, what the list costs (and what the
/// budget bought), the plan's table; or why there is none (a config without costs).
#[derive(Debug, Clone, Default)]
pub struct Money {
    pub ledger: Option<Ledger>,
    pub list: Option<ListMoney>,
    pub plan: Option<PlanTable>,
    pub why_not: Option<String>,
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
