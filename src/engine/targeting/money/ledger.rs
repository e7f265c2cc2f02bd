//! The money of a ranking (SPEC §5.2): what each ranked user's offer is expected to cost and
//! what keeping them is worth, summed so the cost of any cut, the cut a budget buys, and each
//! tier's users, cost and value at a cut come in O(tiers · log added), whatever the size of the
//! ranking. Hand edits apply: an excluded user costs nothing, an added user costs their offer.

use crate::engine::features::FEATURE_NAMES;
use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::edits::Edits;
use crate::engine::targeting::order::TargetOrder;
use crate::engine::targeting::tiers::TierRule;
use crate::engine::{Error, Result};

use super::costs::{Cost, Value};

/// A feature's place in §3's order.
fn feature(name: &str) -> Result<usize> {
    FEATURE_NAMES
        .iter()
        .position(|n| *n == name)
        .ok_or_else(|| Error::Config(format!("no feature {name}")))
}

/// Users added by hand in one group, by ranking position, with suffix sums: those at or below a
/// cut are listed after it, with their offer.
#[derive(Debug, Clone, Default)]
struct Tail {
    pos: Vec<usize>,
    /// `cost[i]`: the summed cost of entries `i..`; one longer than `pos`.
    cost: Vec<f64>,
    value: Vec<f64>,
}

impl Tail {
    fn new(mut entries: Vec<(usize, f64, f64)>) -> Tail {
        entries.sort_by_key(|e| e.0);
        let mut cost = vec![0.0; entries.len() + 1];
        let mut value = vec![0.0; entries.len() + 1];
        for (i, e) in entries.iter().enumerate().rev() {
            cost[i] = cost[i + 1] + e.1;
            value[i] = value[i + 1] + e.2;
        }
        Tail {
            pos: entries.iter().map(|e| e.0).collect(),
            cost,
            value,
        }
    }

    /// (users, cost, value) of the entries at positions ≥ k.
    fn from(&self, k: usize) -> (usize, f64, f64) {
        let i = self.pos.partition_point(|&p| p < k);
        (self.pos.len() - i, self.cost[i], self.value[i])
    }
}

/// One group's part of a list: a tier's, or that of the users added from below every tier.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GroupSum {
    pub users: usize,
    pub cost: f64,
    pub value: f64,
}

/// What a budget buys (SPEC §5.2).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BudgetCut {
    pub budget: f64,
    /// Ranking positions taken: the longest prefix whose list fits the budget.
    pub k: usize,
    /// The list's expected cost (spent).
    pub cost: f64,
    /// Every tier fits: the list runs through the last tier.
    pub whole: bool,
    /// The users added by hand alone cost more than the budget.
    pub over: bool,
    /// What the next user's offer would cost, when the list stops short of the last tier.
    pub next: Option<f64>,
}

impl BudgetCut {
    pub fn left(&self) -> f64 {
        self.budget - self.cost
    }
}

/// The costs and values of one model's ranking, hand edits applied.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// Users scored.
    pub n: usize,
    /// Positions with an offer: the last tier's reach.
    pub reach: usize,
    /// Positions a list may take at all (by uplift: those with uplift above zero; else n).
    pub eligible: usize,
    /// The end position of each tier (cumulative), best tier first.
    pub bounds: Vec<usize>,
    /// Prefix sums over positions `< reach`, excluded users counting nothing.
    pre_cost: Vec<f64>,
    pre_value: Vec<f64>,
    pre_users: Vec<u32>,
    /// Positions of excluded users, ascending.
    excluded: Vec<usize>,
    /// Added users by group: one per tier, then those added from below every tier.
    tails: Vec<Tail>,
    /// Whether the config gives a value for a kept customer.
    pub has_value: bool,
    /// The expected order value given to users without a purchase, when a discount needs it.
    pub median_order_value: Option<f64>,
}

/// Slack on a budget's comparison: sums of many amounts differ from the sum by hand in the last
/// bits, which must not cost a user.
fn fits(cost: f64, budget: f64) -> bool {
    cost <= budget + 1e-9 * budget.abs().max(1.0)
}

impl Ledger {
    /// The ledger of `order` on `run`'s test rows under `tiers`' costs and `edits`. Every tier
    /// needs a cost; a tier without one is named.
    pub fn build(
        run: &LoadedRun,
        order: &TargetOrder,
        tiers: &TierRule,
        edits: &Edits,
    ) -> Result<Ledger> {
        let costs: Vec<Cost> = tiers
            .tiers
            .iter()
            .map(|t| {
                t.cost.ok_or_else(|| {
                    Error::Config(format!(
                        "{}: tier `{}` has no cost: give it `cost` (per user) or `discount` \
                         with `redeem_rate`",
                        tiers.source,
                        crate::engine::text::clip(&t.name, 60)
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let n = order.n();
        let test = &run.test;
        let spend = &test.cols[feature("total_spend_30d")?];
        let purchases = &test.cols[feature("n_purchase_30d")?];
        let order_value = |r: usize| (purchases[r] > 0.0).then(|| spend[r] / purchases[r]);
        let median_order_value = if costs.iter().any(Cost::needs_order_value) {
            let mut v: Vec<f64> = (0..test.n()).filter_map(order_value).collect();
            if v.is_empty() {
                return Err(Error::Config(format!(
                    "none of the {n} scored users made a purchase in the lookback window, so a \
                     discount's expected order value is unknown: give the tiers a fixed `cost`"
                )));
            }
            v.sort_unstable_by(f64::total_cmp);
            let m = v.len() / 2;
            Some(if v.len() % 2 == 1 {
                v[m]
            } else {
                (v[m - 1] + v[m]) / 2.0
            })
        } else {
            None
        };
        let has_value = tiers.value.is_some();
        let value_of = |r: usize| match tiers.value {
            Some(Value::Fixed(v)) => v,
            Some(Value::Spend) => spend[r],
            None => 0.0,
        };
        let cost_of = |g: usize, r: usize| {
            costs[g].expected(order_value(r).or(median_order_value).unwrap_or(0.0))
        };
        let bounds: Vec<usize> = tiers
            .tiers
            .iter()
            .map(|t| crate::engine::eval::KPct { bp: t.top_bp }.k_of(n))
            .collect();
        // Ranked by uplift, no offer goes past the last user with an uplift above zero.
        let reach = bounds.last().copied().unwrap_or(0).min(order.eligible);
        let group_of = |p: usize| bounds.iter().position(|&b| p < b);

        let pos: std::collections::HashMap<i64, usize> =
            if edits.excluded.is_empty() && edits.added.is_empty() {
                Default::default()
            } else {
                order
                    .ranking
                    .iter()
                    .enumerate()
                    .map(|(p, &r)| (test.users[r], p))
                    .collect()
            };
        let mut excluded: Vec<usize> = edits
            .excluded
            .iter()
            .filter_map(|u| pos.get(u).copied())
            .collect();
        excluded.sort_unstable();
        let mut skip = vec![false; reach];
        for &p in excluded.iter().filter(|&&p| p < reach) {
            skip[p] = true;
        }
        let mut pre_cost = Vec::with_capacity(reach + 1);
        let mut pre_value = Vec::with_capacity(reach + 1);
        let mut pre_users = Vec::with_capacity(reach + 1);
        let (mut c, mut v, mut u) = (0.0, 0.0, 0u32);
        pre_cost.push(c);
        pre_value.push(v);
        pre_users.push(u);
        let mut g = 0;
        for (p, &r) in order.ranking[..reach].iter().enumerate() {
            while p >= bounds[g] {
                g += 1;
            }
            if !skip[p] {
                c += cost_of(g, r);
                v += value_of(r);
                u += 1;
            }
            pre_cost.push(c);
            pre_value.push(v);
            pre_users.push(u);
        }
        let groups = tiers.tiers.len() + 1;
        let mut entries: Vec<Vec<(usize, f64, f64)>> = vec![Vec::new(); groups];
        let mut seen = std::collections::HashSet::new();
        for u in &edits.added {
            // A user the ranking lacks is the list's error to report (`added_positions`).
            let Some(&p) = pos.get(u) else { continue };
            if !seen.insert(p) {
                continue;
            }
            let r = order.ranking[p];
            // From below every tier: the last tier's offer (SPEC §5).
            let (group, tier) = match group_of(p) {
                Some(g) => (g, g),
                None => (groups - 1, groups - 2),
            };
            entries[group].push((p, cost_of(tier, r), value_of(r)));
        }
        Ok(Ledger {
            n,
            reach,
            eligible: order.eligible,
            bounds,
            pre_cost,
            pre_value,
            pre_users,
            excluded,
            tails: entries.into_iter().map(Tail::new).collect(),
            has_value,
            median_order_value,
        })
    }

    /// The ledger of `model`'s list, when it can be had: `Ok(None)` for tiers without costs
    /// when no budget asks for one; `Ok(Some(Err(why)))` when a tier lacks a cost and none
    /// does; an error when a budget needs the costs and they are not all there.
    pub fn of_list(
        run: &LoadedRun,
        model: &str,
        rank: &crate::engine::targeting::ranking::Ranking,
        tiers: &TierRule,
        edits: &Edits,
        budget: bool,
    ) -> Result<Option<std::result::Result<Ledger, String>>> {
        if !budget && !tiers.has_costs() {
            return Ok(None);
        }
        let order = rank.order(run, model)?;
        match Ledger::build(run, &order, tiers, edits) {
            Ok(l) => Ok(Some(Ok(l))),
            Err(e) if !budget => Ok(Some(Err(e.to_string()))),
            Err(e) => Err(e),
        }
    }

    /// The groups a list is summed by: one per tier, then the users added from below them.
    pub fn groups(&self) -> usize {
        self.tails.len()
    }

    /// Each group's users, cost and value on the list cut at `k` ranking positions.
    pub fn groups_at(&self, k: usize) -> Vec<GroupSum> {
        (0..self.groups()).map(|g| self.group_at(g, k)).collect()
    }

    /// Group `g`'s users, cost and value on the list cut at `k`: its ranked users above the
    /// cut, and its users added by hand from below it.
    pub fn group_at(&self, g: usize, k: usize) -> GroupSum {
        let Some(tail) = self.tails.get(g) else {
            return GroupSum::default();
        };
        let (users, cost, value) = tail.from(k);
        let mut s = GroupSum { users, cost, value };
        if let Some(&end) = self.bounds.get(g) {
            let kk = k.min(self.reach);
            let start = if g == 0 { 0 } else { self.bounds[g - 1] };
            let (a, b) = (start.min(kk), end.min(kk));
            s.users += (self.pre_users[b] - self.pre_users[a]) as usize;
            s.cost += self.pre_cost[b] - self.pre_cost[a];
            s.value += self.pre_value[b] - self.pre_value[a];
        }
        s
    }

    /// The expected cost of the list cut at `k`: the offers of its users ranked above the cut,
    /// and of those added by hand from below it.
    pub fn cost_at(&self, k: usize) -> f64 {
        self.pre_cost[k.min(self.reach)] + self.tails.iter().map(|t| t.from(k).1).sum::<f64>()
    }

    /// Users on the list cut at `k` (with or without an offer).
    pub fn users_at(&self, k: usize) -> usize {
        let k = k.min(self.n);
        let out = self.excluded.partition_point(|&p| p < k);
        k - out + self.tails.iter().map(|t| t.from(k).0).sum::<usize>()
    }

    /// The cut a budget buys: the longest prefix of the ranking, through the last tier at most,
    /// whose list costs no more than `budget`.
    pub fn budget_k(&self, budget: f64) -> BudgetCut {
        // The cost grows with the cut (an added user costs the same above it as below).
        let (mut lo, mut hi) = (0, self.reach);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(self.cost_at(mid), budget) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let k = lo;
        BudgetCut {
            budget,
            k,
            cost: self.cost_at(k),
            whole: k == self.reach,
            over: !fits(self.cost_at(0), budget),
            next: (k < self.reach).then(|| self.cost_at(k + 1) - self.cost_at(k)),
        }
    }
}
