//! Intervals of every figure of a split, and the choice of the model on val by SPEC §4's rule:
//! the best val Lift@(first K); every model whose paired difference to it has a 90% interval
//! containing 0 is tied with it; among the tied, the highest val PR-AUC; remaining ties to the
//! earlier model in the leaderboard's order.

use super::bootstrap::{Resampled, Values, differences, interval, series};
use super::metrics::SplitEval;

/// 90% intervals of one model's figures on one split (`None` where the figure is undefined).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Intervals {
    pub pr_auc: Option<(f64, f64)>,
    /// Per K, in the run's K order.
    pub precision: Vec<Option<(f64, f64)>>,
    pub recall: Vec<Option<(f64, f64)>>,
    pub lift: Vec<Option<(f64, f64)>>,
}

impl Intervals {
    fn of(get: impl Fn(&dyn Fn(&Values) -> f64) -> Vec<f64>, ks: usize) -> Intervals {
        let per_k = |f: fn(&Values, usize) -> f64| -> Vec<Option<(f64, f64)>> {
            (0..ks)
                .map(|j| interval(&get(&|v: &Values| f(v, j))))
                .collect()
        };
        Intervals {
            pr_auc: interval(&get(&|v: &Values| v.pr_auc)),
            precision: per_k(|v, j| v.precision[j]),
            recall: per_k(|v, j| v.recall[j]),
            lift: per_k(|v, j| v.lift[j]),
        }
    }

    /// A model's own intervals.
    pub fn own(r: &Resampled, ks: usize) -> Intervals {
        Intervals::of(|pick| series(r, pick), ks)
    }

    /// Intervals of the paired differences `a − b`.
    pub fn difference(a: &Resampled, b: &Resampled, ks: usize) -> Intervals {
        Intervals::of(|pick| differences(a, b, pick), ks)
    }
}

/// A 90% interval, `(low, high)`.
pub type Range = (f64, f64);

/// Why the model was chosen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    pub chosen: String,
    /// The best model by val Lift@(first K), point estimate.
    pub best_by_lift: String,
    /// The models tied with it (itself included), in leaderboard order.
    pub tied: Vec<String>,
    /// Each model's val Lift@(first K) minus the best's: the point difference and its 90%
    /// interval, in leaderboard order.
    pub lift_difference: Vec<(String, f64, Option<Range>)>,
    /// One sentence that says why.
    pub why: String,
}

fn lift_of(e: &SplitEval) -> f64 {
    e.at_k
        .first()
        .and_then(|a| a.lift)
        .unwrap_or(f64::NEG_INFINITY)
}

fn pr_auc_of(e: &SplitEval) -> f64 {
    e.pr_auc.unwrap_or(f64::NEG_INFINITY)
}

fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{x:.2}")
    } else {
        format!("−{:.2}", -x)
    }
}

/// Choose among `names` (leaderboard order) from their val figures and val resamples.
/// `k_label` names the first K ("5%").
pub fn choose(
    names: &[String],
    val: &[&SplitEval],
    resampled: &[Resampled],
    k_label: &str,
) -> Option<Choice> {
    if names.is_empty() {
        return None;
    }
    // The first model with the highest point lift.
    let mut best = 0;
    for (i, e) in val.iter().enumerate() {
        if lift_of(e) > lift_of(val[best]) {
            best = i;
        }
    }
    let lift = |v: &Values| v.lift.first().copied().unwrap_or(f64::NAN);
    let mut lift_difference = Vec::new();
    let mut tied = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let iv = interval(&differences(&resampled[i], &resampled[best], lift));
        let point = lift_of(val[i]) - lift_of(val[best]);
        let is_tied = i == best || iv.is_some_and(|(lo, hi)| lo <= 0.0 && 0.0 <= hi);
        if is_tied {
            tied.push(i);
        }
        lift_difference.push((
            name.clone(),
            if point.is_finite() { point } else { f64::NAN },
            iv,
        ));
    }
    let mut chosen = tied[0];
    for &i in &tied {
        if pr_auc_of(val[i]) > pr_auc_of(val[chosen]) {
            chosen = i;
        }
    }
    let why = if tied.len() == 1 {
        format!(
            "{} has the best val Lift@{k_label} ({:.2}), and no other model's 90% interval of \
             the difference reaches it",
            names[best],
            lift_of(val[best])
        )
    } else {
        let others: Vec<String> = tied
            .iter()
            .filter(|&&i| i != chosen)
            .map(|&i| names[i].clone())
            .collect();
        // The difference that makes the tie: the chosen model's to the best, or (when the
        // chosen is the best) the closest rival's.
        let shown = if chosen != best {
            chosen
        } else {
            *tied
                .iter()
                .filter(|&&i| i != best)
                .max_by(|&&a, &&b| lift_of(val[a]).total_cmp(&lift_of(val[b])))
                .unwrap_or(&best)
        };
        let (_, d, iv) = &lift_difference[shown];
        let range = iv.map_or("no interval".to_string(), |(lo, hi)| {
            format!("90% interval {} … {}", signed(lo), signed(hi))
        });
        let list = match others.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        format!(
            "tied with {list} on val Lift@{k_label} ({} vs {}: difference {}, {range}); {} has \
             the highest val PR-AUC among them",
            names[shown],
            names[best],
            signed(*d),
            names[chosen]
        )
    };
    Some(Choice {
        chosen: names[chosen].clone(),
        best_by_lift: names[best].clone(),
        tied: tied.iter().map(|&i| names[i].clone()).collect(),
        lift_difference,
        why,
    })
}

/// Plain words for a choice that is not what it seems (SPEC §4): the rule wins, or is tied
/// with the chosen model, or the chosen model leads the next one by a couple of users in its
/// val top K. `models` are (name, val metrics) in leaderboard order. `None` when the choice is
/// clear. Short enough for an 80-column line; the report adds what to do.
pub fn caution(choice: &Choice, models: &[(&str, &SplitEval)], k_label: &str) -> Option<String> {
    let is_rule = |name: &str| name.starts_with("rule_");
    if is_rule(&choice.chosen) {
        return Some(format!(
            "the rule wins: no model beats recency on val Lift@{k_label} beyond the noise"
        ));
    }
    if let Some(rule) = choice.tied.iter().find(|m| is_rule(m)) {
        return Some(format!(
            "{rule} is tied with {}: the models' gain over recency is unproven",
            choice.chosen
        ));
    }
    let caught = |e: &SplitEval| e.at_k.first().map(|a| a.tp);
    let (_, chosen) = models.iter().find(|(n, _)| *n == choice.chosen)?;
    let runner_up = models
        .iter()
        .filter(|(n, _)| *n != choice.chosen)
        .max_by(|a, b| lift_of(a.1).total_cmp(&lift_of(b.1)))?;
    let (a, b) = (caught(chosen)?, caught(runner_up.1)?);
    let positives = chosen
        .prevalence
        .map(|p| (p * chosen.n as f64).round() as usize)?;
    // Two users either way is what one or two users' noise moves.
    (a.abs_diff(b) <= 2).then(|| {
        format!(
            "{} and {} differ by {} user{} in the val top {k_label} ({a} vs {b} of {positives})",
            choice.chosen,
            runner_up.0,
            a.abs_diff(b),
            if a.abs_diff(b) == 1 { "" } else { "s" },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::eval::metrics::AtK;

    fn eval(lift: f64, pr_auc: f64) -> SplitEval {
        SplitEval {
            n: 100,
            prevalence: Some(0.5),
            pr_auc: Some(pr_auc),
            at_k: vec![AtK {
                k_pct: 5.0,
                k: 5,
                precision: Some(lift * 0.5),
                recall: None,
                lift: Some(lift),
                lift_ceiling: None,
                tp: 0,
                fp: 0,
                fn_: 0,
                tn: 0,
            }],
        }
    }

    /// Resampled lifts: `center + spread · u` for a fixed pattern u in [−1, 1].
    fn resampled(center: f64, spread: f64) -> Resampled {
        Resampled {
            values: (0..200)
                .map(|b| {
                    let u = ((b * 37) % 201) as f64 / 100.0 - 1.0;
                    Values {
                        pr_auc: 0.5,
                        precision: vec![0.5],
                        recall: vec![0.5],
                        lift: vec![center + spread * u],
                    }
                })
                .collect(),
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_clear_winner() {
        let n = names(&["a", "b"]);
        let (ea, eb) = (eval(1.5, 0.6), eval(1.1, 0.9));
        // b's resampled lift is always 0.4 below a's: the difference never reaches 0.
        let c = choose(
            &n,
            &[&ea, &eb],
            &[resampled(1.5, 0.1), resampled(1.1, 0.1)],
            "5%",
        )
        .unwrap();
        assert_eq!(c.chosen, "a");
        assert_eq!(c.tied, vec!["a"]);
        assert!(c.why.contains("best val Lift@5%"), "{}", c.why);
    }

    #[test]
    fn a_tie_is_broken_by_pr_auc() {
        let n = names(&["a", "b"]);
        let (ea, eb) = (eval(1.5, 0.6), eval(1.45, 0.9));
        // b's lift moves against a's by ±0.3 around −0.05: the interval holds 0.
        let ra = resampled(1.5, 0.0);
        let rb = resampled(1.45, 0.3);
        let c = choose(&n, &[&ea, &eb], &[ra, rb], "5%").unwrap();
        assert_eq!(c.best_by_lift, "a");
        assert_eq!(c.tied, vec!["a", "b"]);
        assert_eq!(c.chosen, "b", "the higher val PR-AUC among the tied");
        assert!(
            c.why.contains("tied with a") && c.why.contains("PR-AUC"),
            "{}",
            c.why
        );
        // The difference shown is b's to a: −0.05.
        assert!(c.why.contains("difference −0.05"), "{}", c.why);
    }

    #[test]
    fn a_three_way_tie_and_an_outsider() {
        let n = names(&["a", "b", "c", "d"]);
        let e = [
            eval(1.5, 0.7),
            eval(1.48, 0.8),
            eval(1.49, 0.8),
            eval(0.9, 0.99),
        ];
        let r = [
            resampled(1.5, 0.0),
            resampled(1.48, 0.2),
            resampled(1.49, 0.2),
            resampled(0.9, 0.1),
        ];
        let c = choose(&n, &[&e[0], &e[1], &e[2], &e[3]], &r, "5%").unwrap();
        assert_eq!(c.tied, vec!["a", "b", "c"], "d is far below");
        // b and c share the highest PR-AUC among the tied: the earlier one, b.
        assert_eq!(c.chosen, "b");
    }

    fn choice(chosen: &str, tied: &[&str]) -> Choice {
        Choice {
            chosen: chosen.into(),
            best_by_lift: chosen.into(),
            tied: tied.iter().map(|t| t.to_string()).collect(),
            lift_difference: vec![],
            why: String::new(),
        }
    }

    /// Val top K of 10 users out of 100 with 40 dormant: `caught` of them dormant.
    fn caught(caught: usize, pr_auc: f64) -> SplitEval {
        let mut e = eval(caught as f64 / 10.0 / 0.4, pr_auc);
        e.prevalence = Some(0.4);
        e.at_k[0].k = 10;
        e.at_k[0].tp = caught;
        e
    }

    #[test]
    fn a_fragile_choice_is_said_plainly() {
        let (a, b, r) = (caught(9, 0.9), caught(8, 0.8), caught(5, 0.7));
        let models = [("logreg", &a), ("gbdt", &b), ("rule_recency", &r)];
        // The rule chosen, or tied with the chosen model.
        let c = caution(&choice("rule_recency", &["rule_recency"]), &models, "5%").unwrap();
        assert!(c.starts_with("the rule wins"), "{c}");
        let c = caution(
            &choice("logreg", &["logreg", "rule_recency"]),
            &models,
            "5%",
        )
        .unwrap();
        assert!(c.starts_with("rule_recency is tied with logreg"), "{c}");
        // One user apart in the top K.
        let c = caution(&choice("logreg", &["logreg"]), &models, "5%").unwrap();
        assert_eq!(
            c,
            "logreg and gbdt differ by 1 user in the val top 5% (9 vs 8 of 40)"
        );
        // Five users apart: clear.
        let far = caught(4, 0.8);
        let models = [("logreg", &a), ("gbdt", &far), ("rule_recency", &r)];
        assert_eq!(caution(&choice("logreg", &["logreg"]), &models, "5%"), None);
    }
}
