//! What the report says about a list and its model, in both formats: the list's facts (users,
//! dormant caught against random, tiers), why this model, a note when models tie, and three
//! representative users.

use crate::engine::eval::SplitEval;
use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::list::{ListSpec, TargetList, TargetRow};
use crate::engine::targeting::order::{first_k_ties, score_text};
use crate::engine::text::thousands;

/// The numbers of a target list that both report formats show.
pub struct ListFacts {
    /// Users scored at the test anchor.
    pub n: usize,
    /// The top K% of them, before hand edits.
    pub k: usize,
    /// Dormant users among the top k on the test anchor.
    pub caught: u32,
    pub precision: Option<f64>,
    pub lift: Option<f64>,
    /// Every dormant user scored.
    pub dormant: u32,
    /// Dormant users a random pick of k would catch, on average.
    pub random: f64,
    pub recall: Option<f64>,
    pub excluded: usize,
    pub added: usize,
    /// Users on the list after hand edits.
    pub contact: usize,
    /// Users of the list in each tier of the spec, in tier order (added beyond them aside).
    pub per_tier: Vec<usize>,
    /// Users added by hand from below every tier (the last tier's offer, tier `added`).
    pub beyond: usize,
}

impl ListFacts {
    pub fn of(spec: &ListSpec, list: &TargetList) -> ListFacts {
        let order = &list.order;
        let rows = &list.rows;
        let n = order.n();
        // The list's own users: with a cut tie, those the second key took (SPEC §5).
        let (k, caught, precision, lift) = order.at(list.k);
        let dormant = order.caught.last().copied().unwrap_or(0);
        ListFacts {
            n,
            k,
            caught,
            precision,
            lift,
            dormant,
            random: if n > 0 {
                dormant as f64 * k as f64 / n as f64
            } else {
                0.0
            },
            recall: (dormant > 0).then(|| caught as f64 / dormant as f64),
            excluded: spec.edits.excluded.len(),
            added: rows.iter().filter(|r| r.edited).count(),
            contact: rows.len(),
            per_tier: spec
                .tiers
                .tiers
                .iter()
                .map(|t| {
                    rows.iter()
                        .filter(|r| !r.beyond_tiers && r.tier == t.name)
                        .count()
                })
                .collect(),
            beyond: rows.iter().filter(|r| r.beyond_tiers).count(),
        }
    }
}

/// The models whose first-K cut on the test anchor splits a tie group, in words ("tree: 1,483
/// of 6,876 users tied at the 5% cut"), or None when no model's does.
pub fn tied_models_note(run: &LoadedRun) -> Option<String> {
    let ties = first_k_ties(run);
    if ties.is_empty() {
        return None;
    }
    let first_k = run.ks.first().map_or("5".to_string(), |k| k.to_string());
    let each: Vec<String> = ties
        .iter()
        .map(|(m, t)| {
            format!(
                "{m}: {} of {} users tied at score {}",
                th(t.taken),
                th(t.tied),
                score_text(t.score)
            )
        })
        .collect();
    Some(format!(
        "At the {first_k}% cut on the test anchor, {}. Among tied users such a model's list is \
         arbitrary: the choice (SPEC §4) does not look at ties, and targeting takes the tied \
         users by a second key (SPEC §5).",
        each.join("; ")
    ))
}

/// Why the report's model is the one: a sentence after its name (model names through
/// `quote`), and a caution when the choice is closer than it looks.
pub fn why_this_model(
    run: &LoadedRun,
    model: &str,
    quote: impl Fn(&str) -> String,
) -> (String, Option<String>) {
    let first_k = run.ks.first().map_or("5".to_string(), |k| k.to_string());
    if model != run.chosen {
        let chosen = run.model(&run.chosen);
        let why = format!(
            "picked by hand; the rule (Lift@{first_k}% on val, then PR-AUC) chose {}{}",
            quote(&run.chosen),
            chosen.map_or(String::new(), |c| format!(
                " (val Lift@{first_k}% {})",
                num(c.val.at_k.first().and_then(|a| a.lift))
            ))
        );
        return (why, None);
    }
    let Some(c) = &run.choice else {
        return (
            format!(
                "chosen among {} models on the val anchor by Lift@{first_k}% (then PR-AUC), before the test anchor was scored",
                run.models.len()
            ),
            None,
        );
    };
    let models: Vec<(&str, &SplitEval)> = run
        .models
        .iter()
        .map(|m| (m.name.as_str(), &m.val))
        .collect();
    (
        format!(
            "chosen among {} models on the val anchor, before the test anchor was scored: {}",
            run.models.len(),
            c.why
        ),
        crate::engine::eval::choice::caution(c, &models, &format!("{first_k}%")).map(|note| {
            format!(
                "{note}. The order of the models here is within the noise of one val anchor: \
                 see the 90% intervals in the leaderboard, and prefer the simpler model \
                 (recency alone, where the rule is among the tied) until another anchor says \
                 otherwise."
            )
        }),
    )
}

/// Three representative users: the top, middle and last of the users the model put on the
/// list. A user added by hand represents the analyst's pick, not the model's, so none is taken.
pub fn representatives(rows: &[TargetRow]) -> Vec<(&'static str, &TargetRow)> {
    let model: Vec<&TargetRow> = rows.iter().filter(|r| !r.edited).collect();
    match (model.first(), model.get(model.len() / 2), model.last()) {
        (Some(a), Some(b), Some(c)) => vec![("top", *a), ("middle", *b), ("last", *c)],
        _ => Vec::new(),
    }
}

/// A count as an analyst reads it (`1,234`).
pub(super) fn th(n: impl TryInto<u64>) -> String {
    thousands(n.try_into().unwrap_or(u64::MAX))
}

pub(super) fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

pub(super) fn num(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// With a list ranked by uplift (SPEC §7a.3), what it is ranked by and how well that model did
/// on its campaign's evaluation fold; None for a list ranked by risk.
pub fn ranking_note(spec: &ListSpec, list: &TargetList) -> Option<String> {
    let u = spec.rank.uplift()?;
    let r = &u.model.report;
    let chosen = u.model.method().name();
    let qini = r
        .eval
        .iter()
        .find(|j| j.name == chosen)
        .map(|j| &j.eval.qini)
        .map_or(String::new(), |q| match (q.low, q.high) {
            (Some(a), Some(b)) => format!(
                "; its Qini coefficient on the campaign's evaluation fold was {:.4} [{a:.4}, \
                 {b:.4}]",
                q.value
            ),
            _ => format!(
                "; its Qini coefficient on the campaign's evaluation fold was {:.4}",
                q.value
            ),
        });
    Some(format!(
        "the list is ranked by predicted uplift, not by risk: {} ({} of {} scored users have \
         an uplift above zero, and only they are targeted; ties by {}){qini}. Each user's \
         reasons name what raises their uplift; the risk figures below judge the model's risk \
         ranking",
        u.model.label(),
        thousands(u.positive as u64),
        thousands(list.order.n() as u64),
        list.order.tie_break(),
    ))
}
