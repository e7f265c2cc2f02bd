//! The target list of a run: the top-k of a model's test rows in targeting order (SPEC §5) with
//! hand edits applied, tiers, offers and risk reasons. The TUI, `export` and `report` share it.

use crate::engine::eval::KPct;
use crate::engine::features::matrix::N_FEATURES;
use crate::engine::models::Model;
use crate::engine::run::open::LoadedRun;
use crate::engine::{Error, Result};

use super::edits::Edits;
use super::order::{TargetOrder, TieCut, tie_sentence};
use super::phrases::Phrases;
use super::ranking::{Ranking, UpliftRank};
use super::reasons::{self, Reason, reasons_for};
use super::tiers::TierRule;

/// Risk reasons of the given test rows: occlusion on `model` where it scores from the
/// features, else the features on the dormant side of the population.
pub fn reasons_batch(
    run: &LoadedRun,
    model: Option<&dyn Model>,
    rows: &[usize],
) -> Vec<Vec<Reason>> {
    // The model's own attributions where it has them (logreg, gbdt), else occlusion.
    let attrs = model.and_then(|m| {
        let sub = run.test.select(rows);
        m.contributions(&sub)
            .filter(|c| c.len() == rows.len())
            .or_else(|| reasons::occlusion(m, &run.test, rows, run.medians()))
    });
    let f = &run.stats.features;
    let dormant_higher: [Option<bool>; N_FEATURES] = std::array::from_fn(|j| {
        let (d, a) = (f.dormant.get(j)?.mean, f.active.get(j)?.mean);
        (d != a).then_some(d > a)
    });
    let shares = |j: usize, v: f64| run.shares(j, v);
    rows.iter()
        .enumerate()
        .map(|(n, &r)| {
            let x = run.test.row(r);
            let rs = attrs
                .as_ref()
                .map(|a| {
                    let kept = reasons::toward_dormancy(&a[n], &x, &dormant_higher, shares);
                    reasons_for(&kept, &x, shares)
                })
                .unwrap_or_default();
            if rs.is_empty() {
                reasons_for(
                    &reasons::dormant_side(&x, &dormant_higher, shares),
                    &x,
                    shares,
                )
            } else {
                rs
            }
        })
        .collect()
}

/// Uplift reasons of the given test rows: the features that raise each user's predicted uplift
/// most (occlusion at the population's medians), whichever side of the population they lie on;
/// none when the uplift cannot be taken apart.
pub fn uplift_reasons(run: &LoadedRun, u: &UpliftRank, rows: &[usize]) -> Vec<Vec<Reason>> {
    let attrs = u.model.drivers(&run.test, rows, run.medians());
    let shares = |j: usize, v: f64| run.shares(j, v);
    rows.iter()
        .enumerate()
        .map(|(n, &r)| {
            let x = run.test.row(r);
            attrs
                .as_ref()
                .and_then(|a| a.get(n))
                .map(|a| reasons_for(a, &x, shares))
                .unwrap_or_default()
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetRow {
    pub rank: usize,
    pub user_id: i64,
    /// The anchor in µs since the epoch (written as `YYYY-MM-DDTHH:MM:SSZ`).
    pub anchor: i64,
    pub score: f64,
    pub tier: String,
    pub offer: String,
    pub reasons: Vec<String>,
    /// Added by hand (excluded rows are left out of the list).
    pub edited: bool,
    /// The predicted uplift, when the list is ranked by it (exported after `edited`).
    pub uplift: Option<f64>,
    /// The features behind `reasons` (SPEC order indices), for summaries; not exported.
    #[serde(skip)]
    pub reason_features: Vec<usize>,
    /// Added by hand from below every tier: `tier` says `added`, `offer` is the last tier's.
    #[serde(skip)]
    pub beyond_tiers: bool,
}

/// Where a list is cut: at a share of the ranking (`--k`), or at a number of users (the K a
/// budget buys, SPEC §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Share(KPct),
    Users(usize),
}

impl From<KPct> for Cut {
    fn from(k: KPct) -> Cut {
        Cut::Share(k)
    }
}

impl Cut {
    /// Ranking positions taken of `n`.
    pub fn k_of(self, n: usize) -> usize {
        match self {
            Cut::Share(k) => k.k_of(n),
            Cut::Users(k) => k.min(n),
        }
    }

    /// `top 5%`, or `top 1,234 users (7.72%)` of `n`.
    pub fn text(self, n: usize) -> String {
        match self {
            Cut::Share(k) => format!("top {k}%"),
            Cut::Users(k) => format!(
                "top {} users ({})",
                crate::engine::text::thousands(k as u64),
                share_text(k, n)
            ),
        }
    }

    /// The cut in a file name: `5`, `7.5`, `1234users`.
    pub fn slug(self) -> String {
        match self {
            Cut::Share(k) => k.to_string(),
            Cut::Users(k) => format!("{k}users"),
        }
    }
}

/// `k` of `n` in percent with two decimals (`7.72%`); `0%` of none.
pub fn share_text(k: usize, n: usize) -> String {
    if n == 0 {
        return "0%".into();
    }
    format!("{:.2}%", 100.0 * k as f64 / n as f64)
}

/// What a target list is made of.
pub struct ListSpec<'a> {
    pub model: &'a str,
    pub cut: Cut,
    pub tiers: &'a TierRule,
    pub edits: &'a Edits,
    pub phrases: &'a Phrases,
    /// Risk (SPEC §5) or uplift (§7a.3).
    pub rank: &'a Ranking,
}

/// Rows scored per attribution batch.
const BATCH: usize = 4096;

/// The ranking positions the users added by hand bring onto a list of the top `k`: those ranked
/// below it (the others are on it already), in rank order, each once. `position_of` gives a
/// user's position in the ranking of the `n` users scored; a user it does not know is an error.
/// The lookup is the caller's, so the TUI can keep its own user → position map.
pub fn added_positions(
    k: usize,
    n: usize,
    edits: &Edits,
    position_of: impl Fn(i64) -> Option<usize>,
) -> Result<Vec<usize>> {
    let mut added = Vec::with_capacity(edits.added.len());
    for &u in &edits.added {
        let p = position_of(u).ok_or_else(|| {
            Error::Config(format!(
                "user {u} is not among the {n} users scored at the test anchor"
            ))
        })?;
        if p >= k {
            added.push(p);
        }
    }
    added.sort_unstable();
    added.dedup();
    Ok(added)
}

/// A target list and how it was cut.
#[derive(Debug, Clone)]
pub struct TargetList {
    pub rows: Vec<TargetRow>,
    /// The model's targeting order (SPEC §5: ties broken by a second key).
    pub order: TargetOrder,
    /// The top k of the order, before hand edits.
    pub k: usize,
    /// The tie group the cut at k splits, if it does.
    pub tie: Option<TieCut>,
}

impl TargetList {
    /// The sentence saying how a cut tie was settled, if the cut split one: "the top 5% cut a
    /// tie: 1,483 of the 6,876 users with score 0.9414 are taken, by …".
    pub fn tie_note(&self, cut: Cut) -> Option<String> {
        self.tie
            .as_ref()
            .map(|t| tie_sentence(&format!("the {}", cut.text(self.order.n())), t, &self.order))
    }
}

/// The top K% of `model`'s test rows in targeting order (SPEC §5) minus the excluded users,
/// then the added users in that order, with tiers, offers and reasons. An added user below
/// every tier gets the last tier's offer and the tier `added`: marketing put them on the list
/// to receive one, but the model did not rank them there.
pub fn target_rows(run: &LoadedRun, spec: &ListSpec) -> Result<Vec<TargetRow>> {
    target_list(run, spec).map(|l| l.rows)
}

/// The list of `target_rows`, with the order it was taken from and the tie its cut splits.
pub fn target_list(run: &LoadedRun, spec: &ListSpec) -> Result<TargetList> {
    let order = spec.rank.order(run, spec.model)?;
    let m = run
        .model(spec.model)
        .ok_or_else(|| Error::Config(format!("the run has no model {}", spec.model)))?;
    let n = order.n();
    let k = order.k_for(spec.cut.k_of(order.n()));
    let ranking = &order.ranking;
    let mut picked: Vec<(usize, bool)> = ranking[..k]
        .iter()
        .enumerate()
        .filter(|(_, r)| !spec.edits.excluded.contains(&run.test.users[**r]))
        .map(|(p, _)| (p, false))
        .collect();
    let added = if spec.edits.added.is_empty() {
        Vec::new()
    } else {
        let pos: std::collections::HashMap<i64, usize> = ranking
            .iter()
            .enumerate()
            .map(|(p, &r)| (run.test.users[r], p))
            .collect();
        added_positions(k, n, spec.edits, |u| pos.get(&u).copied())?
    };
    picked.extend(added.into_iter().map(|p| (p, true)));

    let mut out = Vec::with_capacity(picked.len());
    for chunk in picked.chunks(BATCH) {
        let rows: Vec<usize> = chunk.iter().map(|(p, _)| ranking[*p]).collect();
        let rs = match spec.rank.uplift() {
            Some(u) => uplift_reasons(run, u, &rows),
            None => reasons_batch(run, run.fitted(spec.model), &rows),
        };
        for ((&(p, edited), &row), r) in chunk.iter().zip(&rows).zip(rs.iter()) {
            let place = spec.tiers.place(p + 1, n, edited);
            out.push(TargetRow {
                rank: p + 1,
                user_id: run.test.users[row],
                anchor: run.test.anchors[row],
                score: m.test_scores[row],
                tier: place.map_or(String::new(), |t| t.name(spec.phrases).to_string()),
                offer: place.map_or(String::new(), |t| t.tier.offer.clone()),
                reasons: r.iter().map(|x| x.text_in(spec.phrases)).collect(),
                reason_features: r.iter().map(|x| x.feature).collect(),
                edited,
                uplift: spec.rank.uplift().map(|u| u.scores[row]),
                beyond_tiers: place.is_some_and(|t| t.beyond),
            });
        }
    }
    let tie = order.tie_at(k);
    Ok(TargetList {
        rows: out,
        order,
        k,
        tie,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_positions_are_those_below_k_in_rank_order_once() {
        // Users 10..20 ranked in order: user 10 + p sits at position p.
        let pos = |u: i64| (10..20).contains(&u).then(|| (u - 10) as usize);
        let edits = Edits {
            excluded: Default::default(),
            added: vec![18, 12, 15, 18, 11],
            ..Default::default()
        };
        // 11 and 12 are inside the top 3 already; 18 was added twice.
        assert_eq!(added_positions(3, 10, &edits, pos).unwrap(), vec![5, 8]);
        let edits = Edits {
            excluded: Default::default(),
            added: vec![15, 99],
            ..Default::default()
        };
        let e = added_positions(3, 10, &edits, pos).unwrap_err().to_string();
        assert!(e.contains("user 99") && e.contains("10 users"), "{e}");
    }
}
