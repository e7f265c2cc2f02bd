//! What a list costs, said the same way by every output (SPEC §5.2): the budget, spent and
//! left, K as users and as a share of those scored, and each tier's users and cost.

use super::ledger::{BudgetCut, GroupSum, Ledger};
use crate::engine::targeting::phrases::Phrases;
use crate::engine::targeting::tiers::{ADDED_LABEL, TierRule};
use crate::engine::text::thousands;

/// The ledger's groups by name: the tiers, then the label of users added from below them.
pub fn group_names(tiers: &TierRule, phrases: &Phrases) -> Vec<String> {
    tiers
        .tiers
        .iter()
        .map(|t| t.name.clone())
        .chain(std::iter::once(phrases.label(ADDED_LABEL).to_string()))
        .collect()
}

/// The money of one list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListMoney {
    /// Ranking positions taken, of `n` scored.
    pub k: usize,
    pub n: usize,
    /// Users on the list (hand edits applied).
    pub users: usize,
    pub cost: f64,
    pub budget: Option<BudgetCut>,
    /// Each group with users on the list.
    pub groups: Vec<(String, GroupSum)>,
    /// The last tier's reach, in users and as its share.
    pub reach: usize,
}

impl ListMoney {
    pub fn of(ledger: &Ledger, k: usize, budget: Option<BudgetCut>, names: &[String]) -> Self {
        // A list ranked by uplift stops at the last user with an uplift above zero.
        let k = k.min(ledger.eligible);
        let sums = ledger.groups_at(k);
        ListMoney {
            k,
            n: ledger.n,
            users: sums.iter().map(|s| s.users).sum(),
            cost: sums.iter().map(|s| s.cost).sum(),
            budget,
            groups: names
                .iter()
                .cloned()
                .zip(sums)
                .filter(|(_, s)| s.users > 0)
                .collect(),
            reach: ledger.reach,
        }
    }

    /// `1,234 users (7.72% of 16,000 scored)`.
    pub fn k_text(&self) -> String {
        format!(
            "{} users ({} of {} scored)",
            thousands(self.k as u64),
            super::super::list::share_text(self.k, self.n),
            thousands(self.n as u64)
        )
    }

    /// The lines every output prints: the budget and what it bought (or the list's cost), then
    /// one per tier.
    pub fn lines(&self, tiers: &TierRule, lang: &str) -> Vec<String> {
        let a = |x: f64| tiers.amount(x, lang);
        let mut out = Vec::new();
        match self.budget {
            Some(b) if b.over && self.k == b.k => out.push(format!(
                "budget {}: the users added by hand alone cost {}, {} over it; no ranked user \
                 is taken (K = 0 of {} scored)",
                a(b.budget),
                a(b.cost),
                a(b.cost - b.budget),
                thousands(self.n as u64)
            )),
            Some(b) if self.users == 0 && self.k == b.k => out.push(format!(
                "budget {} buys no offer{}: the list is empty",
                a(b.budget),
                b.next
                    .map_or(String::new(), |c| format!(" (the first costs {})", a(c)))
            )),
            Some(b) if b.whole && self.k == b.k => out.push(format!(
                "budget {} covers every tier: the whole list through the last tier, K = {}, \
                 costs {}, {} left",
                a(b.budget),
                self.k_text(),
                a(b.cost),
                a(b.left())
            )),
            Some(b) => {
                let left = b.budget - self.cost;
                out.push(format!(
                    "budget {}: spent {}, {} {} · K = {}",
                    a(b.budget),
                    a(self.cost),
                    a(left.abs()),
                    if left < 0.0 { "over" } else { "left" },
                    self.k_text()
                ))
            }
            None => out.push(format!(
                "cost {} for {} users · K = {}",
                a(self.cost),
                thousands(self.users as u64),
                self.k_text()
            )),
        }
        for (name, s) in &self.groups {
            out.push(format!(
                "  {}: {} users, {}",
                crate::engine::text::printable(name),
                thousands(s.users as u64),
                a(s.cost)
            ));
        }
        out
    }
}
