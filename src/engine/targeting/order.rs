//! The order targeting takes users in (SPEC §5). The metrics rank by score and break ties by
//! user id (SPEC §4), which is fine for a count but no way to choose whom to contact: when K
//! cuts a group of equal scores, the users taken would be those with the smallest ids. So
//! targeting keeps §4's order of scores and puts the users of each tie group in order by a
//! second key that means something: the runner-up model's score, then recency, then a seeded
//! hash. It also finds the tie group a cut falls in, so every place that shows a list can say
//! how many of how many tied users it took.

use crate::engine::eval::metrics::{desc_key, same_score};
use crate::engine::models::model::better;
use crate::engine::run::open::LoadedRun;
use crate::engine::{Error, Result};

/// `days_since_last_event`'s place in the feature order (SPEC §3).
pub const RECENCY: usize = 4;

/// The model whose scores break `model`'s ties: of the run's other models, the best by the
/// choice's objective on val (Lift at the first K, then PR-AUC; SPEC §4), the earlier in the
/// run's order when equal. None when the run has no other model.
pub fn runner_up<'a>(run: &'a LoadedRun, model: &str) -> Option<&'a str> {
    let mut best: Option<&crate::engine::run::open::ModelView> = None;
    for m in run.models.iter().filter(|m| m.name != model) {
        if best.is_none_or(|b| better(&m.val, &b.val)) {
            best = Some(m);
        }
    }
    best.map(|b| b.name.as_str())
}

/// The tie group a cut at `k` falls in: `taken` of its `tied` users are inside the top k.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TieCut {
    /// The score the group shares.
    pub score: f64,
    /// Users with that score.
    pub tied: usize,
    /// Of them, those the top k takes (0 < taken < tied).
    pub taken: usize,
    /// Users ranked above the group.
    pub above: usize,
}

/// The tie group that a cut of the top `k` of `scores` splits, if one does: O(n), without
/// ranking (the Leaderboard asks it of every model of a run of millions of rows).
pub fn cut_tie(scores: &[f64], k: usize) -> Option<TieCut> {
    if k == 0 || k >= scores.len() {
        return None;
    }
    let mut keys: Vec<u64> = scores.iter().map(|&s| desc_key(s)).collect();
    let (_, &mut kth, _) = keys.select_nth_unstable(k - 1);
    let above = keys.iter().filter(|&&x| x < kth).count();
    let tied = keys.iter().filter(|&&x| x == kth).count();
    let score = scores
        .iter()
        .copied()
        .find(|&s| desc_key(s) == kth)
        .unwrap_or(f64::NAN);
    (above + tied > k).then_some(TieCut {
        score,
        tied,
        taken: k - above,
        above,
    })
}

/// Each model's tie at the run's first K on the test anchor, for the models whose cut splits
/// one: there, their list is arbitrary among the tied (SPEC §4 leaves the choice as it is, and
/// the Leaderboard and the report say so).
pub fn first_k_ties(run: &LoadedRun) -> Vec<(String, TieCut)> {
    let Some(k) = run.ks.first() else {
        return Vec::new();
    };
    run.models
        .iter()
        .filter_map(|m| cut_tie(&m.test_scores, k.k_of(m.n())).map(|t| (m.name.clone(), t)))
        .collect()
}

/// One model's test rows in targeting order, with what broke its ties.
#[derive(Debug, Clone)]
pub struct TargetOrder {
    /// The model ranked.
    pub model: String,
    /// Test row indices, best first.
    pub ranking: Vec<usize>,
    /// Dormant users within the first i rows, for i = 0..=N.
    pub caught: Vec<u32>,
    /// The runner-up model whose score is the second key, if the run has one.
    pub runner_up: Option<String>,
    /// The scores ranked by, by row (for finding tie groups): `model`'s, or the uplift.
    scores: std::sync::Arc<[f64]>,
    /// The predicted uplift by row, when the order is by uplift.
    uplift: Option<std::sync::Arc<[f64]>>,
    /// Positions a list may take: all for risk, those with uplift above zero for uplift.
    pub eligible: usize,
}

impl TargetOrder {
    /// `model`'s targeting order on `run`'s test rows: score descending (SPEC §4), then, among
    /// equal scores, the runner-up's score descending, `days_since_last_event` descending (the
    /// longer a user has been away, the likelier dormant), then `xxh3_64(user_id)` seeded with
    /// the run's seed, ascending; anchor and row last, so the order is total.
    pub fn of(run: &LoadedRun, model: &str) -> Result<TargetOrder> {
        let m = run
            .model(model)
            .ok_or_else(|| Error::Config(format!("the run has no model {model}")))?;
        let runner_up = runner_up(run, model).map(str::to_string);
        let second = runner_up
            .as_deref()
            .and_then(|r| run.model(r))
            .map(|r| r.test_scores.as_slice());
        let ranking = m.ranking().to_vec();
        let n = ranking.len();
        Ok(Self::settle(
            run,
            model,
            &m.test_scores,
            ranking,
            second,
            runner_up,
            None,
            n,
        ))
    }

    /// `model`'s list ranked by predicted uplift instead (SPEC §7a.3): uplift descending, then,
    /// among equal uplifts, `model`'s risk score descending, recency and the seeded hash as in
    /// `of`. Only the users with an uplift above zero are eligible: an offer is not expected
    /// to keep the others.
    pub fn by_uplift(run: &LoadedRun, model: &str, uplift: &[f64]) -> Result<TargetOrder> {
        let m = run
            .model(model)
            .ok_or_else(|| Error::Config(format!("the run has no model {model}")))?;
        let test = &run.test;
        if uplift.len() != test.n() {
            return Err(Error::Config(format!(
                "{} uplift scores for {} test rows",
                uplift.len(),
                test.n()
            )));
        }
        let ranking = crate::engine::eval::metrics::rank(uplift, &test.users, &test.anchors);
        let eligible = uplift.iter().filter(|&&u| u > 0.0).count();
        Ok(Self::settle(
            run,
            model,
            uplift,
            ranking,
            Some(&m.test_scores),
            Some(model.to_string()),
            Some(uplift.into()),
            eligible,
        ))
    }

    /// The order from `ranking` (primary scores descending, ties by user id): each tie group put
    /// in order by the second keys, and the dormant users caught counted.
    #[allow(clippy::too_many_arguments)]
    fn settle(
        run: &LoadedRun,
        model: &str,
        scores: &[f64],
        mut ranking: Vec<usize>,
        second: Option<&[f64]>,
        runner_up: Option<String>,
        uplift: Option<std::sync::Arc<[f64]>>,
        eligible: usize,
    ) -> TargetOrder {
        let test = &run.test;
        let recency = test.cols.get(RECENCY).map(Vec::as_slice);
        let seed = run.config.seed;
        // A row's second keys, each as an integer whose ascending order is the one wanted.
        let key = |i: usize| {
            (
                second.and_then(|s| s.get(i)).map_or(0, |&s| desc_key(s)),
                recency.and_then(|r| r.get(i)).map_or(0, |&d| desc_key(d)),
                xxhash_rust::xxh3::xxh3_64_with_seed(&test.users[i].to_le_bytes(), seed),
                test.anchors[i],
                i,
            )
        };
        let mut start = 0;
        while start < ranking.len() {
            let s = scores[ranking[start]];
            let len = ranking[start..]
                .iter()
                .take_while(|&&i| same_score(scores[i], s))
                .count()
                .max(1);
            if len > 1 {
                ranking[start..start + len].sort_unstable_by_key(|&i| key(i));
            }
            start += len;
        }
        let mut caught = Vec::with_capacity(ranking.len() + 1);
        caught.push(0u32);
        for &i in &ranking {
            let last = caught.last().copied().unwrap_or(0);
            caught.push(last + u32::from(test.y[i]));
        }
        TargetOrder {
            model: model.to_string(),
            ranking,
            caught,
            runner_up,
            scores: scores.into(),
            uplift,
            eligible,
        }
    }

    /// Whether the order is by predicted uplift.
    pub fn uplift(&self) -> Option<&[f64]> {
        self.uplift.as_deref()
    }

    /// Ranking positions a cut of `k` takes: never past the last eligible user (by uplift:
    /// the last with an uplift above zero).
    pub fn k_for(&self, k: usize) -> usize {
        k.min(self.eligible)
    }

    /// Rows ranked.
    pub fn n(&self) -> usize {
        self.ranking.len()
    }

    /// Targeted count, dormant users caught, precision and lift of the first `k` rows.
    pub fn at(&self, k: usize) -> (usize, u32, Option<f64>, Option<f64>) {
        let n = self.n();
        let k = k.min(n);
        let tp = self.caught.get(k).copied().unwrap_or(0);
        let p = self.caught.last().copied().unwrap_or(0);
        let precision = (k > 0).then(|| tp as f64 / k as f64);
        let lift = match precision {
            Some(pr) if p > 0 => Some(pr / (p as f64 / n as f64)),
            _ => None,
        };
        (k, tp, precision, lift)
    }

    /// The tie group a cut of the first `k` rows splits, if one does.
    pub fn tie_at(&self, k: usize) -> Option<TieCut> {
        if k == 0 || k >= self.n() {
            return None;
        }
        let s = self.scores[self.ranking[k - 1]];
        let same = |p: &usize| same_score(self.scores[self.ranking[*p]], s);
        if !same(&k) {
            return None;
        }
        let above = (0..k).rev().find(|p| !same(p)).map_or(0, |p| p + 1);
        let end = (k..self.n()).find(|p| !same(p)).unwrap_or(self.n());
        Some(TieCut {
            score: s,
            tied: end - above,
            taken: k - above,
            above,
        })
    }

    /// The second key in words: "logreg's score, then recency, then a seeded hash".
    pub fn tie_break(&self) -> String {
        match &self.runner_up {
            Some(r) if self.uplift.is_some() => {
                format!("{r}'s risk score, then recency, then a seeded hash")
            }
            Some(r) => format!("{r}'s score, then recency, then a seeded hash"),
            None => "recency, then a seeded hash".to_string(),
        }
    }
}

/// What a cut tie means, in one sentence: "the top 5% cut a tie: 1,483 of the 6,876 users
/// with score 0.9414 are taken, by logreg's score, then recency, then a seeded hash".
pub fn tie_sentence(what: &str, t: &TieCut, order: &TargetOrder) -> String {
    use crate::engine::text::thousands;
    format!(
        "{what} cut a tie: {} of the {} users with {} {} are taken, by {}",
        thousands(t.taken as u64),
        thousands(t.tied as u64),
        if order.uplift.is_some() {
            "uplift"
        } else {
            "score"
        },
        score_text(t.score),
        order.tie_break()
    )
}

/// A score as shown beside a tie: enough digits to tell it from its neighbours.
pub fn score_text(s: f64) -> String {
    format!("{s:.4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_tie_counts_the_group_a_cut_splits() {
        // Sorted: 0.9, 0.8 ×4, 0.5, 0.1 ×2. k = 3 takes 2 of the four 0.8s.
        let s = [0.8, 0.1, 0.9, 0.8, 0.5, 0.8, 0.1, 0.8];
        let t = cut_tie(&s, 3).unwrap();
        assert_eq!((t.tied, t.taken, t.above, t.score), (4, 2, 1, 0.8));
        assert!(cut_tie(&s, 5).is_none(), "k = 5 ends with the group");
        assert!(cut_tie(&s, 1).is_none());
        assert!(cut_tie(&s, 6).is_none(), "0.5 stands alone");
        let t = cut_tie(&s, 7).unwrap();
        assert_eq!((t.tied, t.taken, t.above), (2, 1, 6));
        assert!(cut_tie(&s, 0).is_none() && cut_tie(&s, 8).is_none());
    }
}
