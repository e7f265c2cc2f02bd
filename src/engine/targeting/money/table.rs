//! The plan's table (SPEC §5.3): users, cost, customers kept and net at fixed shares of the
//! ranking, at the K a budget buys, and at the K of largest expected net; with what it took
//! its uplifts from, or why it has none. `churn-tui plan`, the report and its Plan sheet share
//! it.

use super::ledger::{BudgetCut, Ledger};
use super::plan::{Estimate, PlanRow, Returns, TABLE_PCTS, Uplifts, k_of_pct};
use crate::engine::targeting::tiers::TierRule;
use crate::engine::text::thousands;

/// Customers kept with one decimal; a value that rounds to zero prints without a sign.
pub fn kept_text(x: f64) -> String {
    let s = format!("{x:.1}");
    if s == "-0.0" { "0.0".into() } else { s }
}

/// One row of the table, with what it stands for (`5%`, `budget`, `best net`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Line {
    pub label: String,
    #[serde(flatten)]
    pub row: PlanRow,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanTable {
    /// Users scored.
    pub n: usize,
    pub currency: Option<&'static str>,
    pub rows: Vec<Line>,
    /// What the budget buys, when one was given.
    pub budget: Option<BudgetCut>,
    pub budget_row: Option<Line>,
    /// The K of largest expected net.
    pub best: Option<Line>,
    /// The read-out the uplifts come from.
    pub uplifts: Option<Uplifts>,
    /// Why some or all rows have no return (none: every row has one).
    pub why_no_return: Option<String>,
}

impl PlanTable {
    /// The table of `ledger` (groups named by `names`), with `uplifts` or why there are none.
    pub fn new(
        ledger: &Ledger,
        names: Vec<String>,
        uplifts: std::result::Result<Uplifts, String>,
        budget: Option<f64>,
        tiers: &TierRule,
    ) -> PlanTable {
        let (source, mut why) = match uplifts {
            Ok(u) => (Some(u), None),
            Err(w) => (None, Some(w)),
        };
        let returns = Returns::new(names, source.as_ref());
        let line = |label: String, k: usize| Line {
            label,
            row: returns.row_at(ledger, k),
        };
        let rows: Vec<Line> = TABLE_PCTS
            .iter()
            .map(|&p| line(format!("{p}%"), k_of_pct(p, ledger.n)))
            .collect();
        let bought = budget.map(|b| ledger.budget_k(b));
        let budget_row = bought.map(|b| line("budget".into(), b.k));
        let best = returns.best_net(ledger).map(|row| Line {
            label: "best net".into(),
            row,
        });
        if why.is_none() && source.is_some() {
            if !ledger.has_value {
                why = Some(format!(
                    "{} gives no `value` for a kept customer (an amount, or \"spend\"): \
                     customers kept are shown, no net",
                    tiers.source
                ));
            } else if let Some((i, missing)) = rows.iter().enumerate().find_map(|(i, l)| {
                returns
                    .missing_at(ledger, l.row.k)
                    .map(|m| (i, m.to_string()))
            }) {
                let upto = i
                    .checked_sub(1)
                    .map_or("no K".into(), |j| format!("up to {}", rows[j].label));
                why = Some(format!(
                    "campaign `{}`'s read-out has no uplift for `{missing}`: the return is shown \
                     {upto}, where the list holds only tiers it read out",
                    source.as_ref().map_or("", |s| s.campaign.as_str())
                ));
            }
        }
        PlanTable {
            n: ledger.n,
            currency: tiers.currency.map(|c| c.code()),
            rows,
            budget: bought,
            budget_row,
            best,
            uplifts: source,
            why_no_return: why,
        }
    }

    /// Every row, the budget's and the best's after the fixed ones.
    pub fn all_rows(&self) -> impl Iterator<Item = &Line> {
        self.rows
            .iter()
            .chain(self.budget_row.iter())
            .chain(self.best.iter())
    }

    /// The table as text for a terminal or a Markdown report (`markdown`: a pipe table).
    pub fn text(&self, tiers: &TierRule, lang: &str, markdown: bool) -> String {
        let a = |x: f64| tiers.amount(x, lang);
        let est = |e: Option<Estimate>, money: bool| {
            e.map_or("–".to_string(), |e| {
                let f = |x: f64| if money { a(x) } else { kept_text(x) };
                format!("{} [{}, {}]", f(e.mid), f(e.low), f(e.high))
            })
        };
        let head = ["K", "share", "users", "cost", "kept [90%]", "net [90%]"];
        let body: Vec<[String; 6]> = self
            .all_rows()
            .map(|l| {
                [
                    l.label.clone(),
                    format!("{:.2}%", l.row.k_pct),
                    thousands(l.row.users as u64),
                    a(l.row.cost),
                    est(l.row.retained, false),
                    est(l.row.net, true),
                ]
            })
            .collect();
        let mut out = String::new();
        if markdown {
            out.push_str(&format!("| {} |\n", head.join(" | ")));
            out.push_str("|---|---:|---:|---:|---:|---:|\n");
            for r in &body {
                out.push_str(&format!("| {} |\n", r.join(" | ")));
            }
        } else {
            let w: Vec<usize> = (0..6)
                .map(|i| {
                    body.iter()
                        .map(|r| crate::engine::text::width(&r[i]))
                        .chain([head[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let pad = |s: &str, i: usize| {
                let fill = " ".repeat(w[i] - crate::engine::text::width(s).min(w[i]));
                if i == 0 {
                    format!("{s}{fill}")
                } else {
                    format!("{fill}{s}")
                }
            };
            let row = |r: Vec<&str>| {
                r.iter()
                    .enumerate()
                    .map(|(i, s)| pad(s, i))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            out.push_str(&row(head.to_vec()));
            out.push('\n');
            for r in &body {
                out.push_str(&row(r.iter().map(String::as_str).collect()));
                out.push('\n');
            }
        }
        out
    }

    /// The sentences under the table: where the uplifts come from (or why there are none), the
    /// best K, and whether its net's interval straddles zero.
    pub fn notes(&self, tiers: &TierRule, lang: &str) -> Vec<String> {
        let a = |x: f64| tiers.amount(x, lang);
        let mut out = Vec::new();
        match &self.uplifts {
            Some(u) => out.push(format!(
                "uplift per tier from campaign `{}` (id {}), read out with logs through {}",
                crate::engine::text::printable(&u.campaign),
                u.campaign_id,
                u.data_end.get(..10).unwrap_or(&u.data_end)
            )),
            None => out.push("cost only: no uplift to compute a return from".to_string()),
        }
        if let Some(w) = &self.why_no_return {
            out.push(crate::engine::text::printable(w).to_string());
        }
        if let Some(b) = &self.best
            && let Some(net) = b.row.net
            && b.row.k == 0
        {
            out.push(format!(
                "no list pays: the expected net is below zero at every K (at no one: {})",
                a(net.mid)
            ));
        } else if let Some(b) = &self.best
            && let Some(net) = b.row.net
        {
            out.push(format!(
                "largest expected net at K = {} users ({:.2}%): {} [90%: {}, {}]{}",
                thousands(b.row.k as u64),
                b.row.k_pct,
                a(net.mid),
                a(net.low),
                a(net.high),
                if net.straddles_zero() {
                    "; its interval straddles zero: the read-out cannot tell whether it pays"
                } else {
                    ""
                }
            ));
        }
        out
    }
}
