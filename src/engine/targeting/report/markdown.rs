//! The campaign report (Markdown): data and anchor, the model and why, val/test metrics with
//! ceilings, tiers and offers, dormant users caught versus random targeting, the most frequent
//! reasons, and three representative users.

use std::fmt::Write as _;

use super::facts::{
    ListFacts, num, pct, ranking_note, representatives, th, tied_models_note, why_this_model,
};
use crate::engine::Result;
use crate::engine::eval::SplitEval;
use crate::engine::features::FEATURE_NAMES;
use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::list::{ListSpec, TargetRow, target_list};
use crate::engine::targeting::money::Money;
use crate::engine::time::fmt_anchor;

/// What the list costs (and what the budget bought), and the plan's table (SPEC §5.2–5.3).
fn money_section(s: &mut String, spec: &ListSpec, money: &Money) {
    let lang = &spec.phrases.lang;
    let _ = writeln!(s, "## Money\n");
    match (&money.list, &money.why_not) {
        (Some(m), _) => {
            for line in m.lines(spec.tiers, lang) {
                let _ = writeln!(s, "- {}", line.trim_start());
            }
            s.push('\n');
        }
        (None, Some(why)) => {
            let _ = writeln!(s, "No cost: {why}.\n");
            return;
        }
        (None, None) => {
            let _ = writeln!(
                s,
                "The tier config gives no costs (SPEC §5.1): no cost, budget or return.\n"
            );
            return;
        }
    }
    if let Some(plan) = &money.plan {
        let _ = writeln!(s, "### Plan: cost and expected return by K\n");
        s.push_str(&plan.text(spec.tiers, lang, true));
        s.push('\n');
        for note in plan.notes(spec.tiers, lang) {
            let _ = writeln!(s, "{}.\n", capital(&note));
        }
    }
}

/// `text` with its first letter upper-case.
fn capital(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn metrics_table(s: &mut String, run: &LoadedRun, e: &SplitEval, split: &str) {
    let _ = writeln!(
        s,
        "| {split} | PR-AUC {} | n = {}, dormant {} |",
        num(e.pr_auc),
        th(e.n),
        pct(e.prevalence)
    );
    let _ = writeln!(s, "|---|---|---|");
    for (a, k) in e.at_k.iter().zip(&run.ks) {
        let _ = writeln!(
            s,
            "| K = {k}% (k = {}) | Lift {} (ceiling {}) | Precision {} · Recall {} |",
            th(a.k),
            num(a.lift),
            num(a.lift_ceiling),
            pct(a.precision),
            pct(a.recall)
        );
    }
    s.push('\n');
}

fn user_block(s: &mut String, what: &str, r: &TargetRow) {
    let _ = writeln!(
        s,
        "- **{what}: user {}** — rank {}, score {:.4}, {}",
        r.user_id,
        r.rank,
        r.score,
        if r.tier.is_empty() {
            "no tier"
        } else {
            &r.tier
        }
    );
    for reason in &r.reasons {
        let _ = writeln!(s, "  - {reason}");
    }
}

/// The report as Markdown.
pub fn report(run: &LoadedRun, spec: &ListSpec, money: &Money) -> Result<String> {
    let list = target_list(run, spec)?;
    let rows = &list.rows;
    let m = run.model(spec.model).ok_or_else(|| {
        crate::engine::Error::Config(format!("the run has no model {}", spec.model))
    })?;
    let f = ListFacts::of(spec, &list);
    let (n, k) = (f.n, f.k);
    let d = &run.stats.data;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Campaign report — {} at {}\n",
        spec.cut.text(n),
        run.test_anchor().map_or("–".into(), fmt_anchor)
    );
    let _ = writeln!(s, "## Data\n");
    let _ = writeln!(
        s,
        "- Run `{}`; {} input file(s): {}",
        run.run_id,
        th(d.files.len()),
        d.files
            .iter()
            .map(|f| format!("`{}`", f.path))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "- Events: {}; scope: {}; {} users, {} – {}",
        crate::engine::dataset::events_counts(d.rows_read, d.duplicates, d.events),
        d.scope,
        th(d.users),
        &fmt_anchor(d.first_ts)[..10],
        &fmt_anchor(d.last_ts)[..10]
    );
    let _ = writeln!(
        s,
        "- Features over the {} days before each anchor; dormant = no visit, cart or purchase in the {} days after it",
        d.lookback_days, d.horizon_days
    );
    let _ = writeln!(
        s,
        "- Scored population: {} users active in the {} days before the test anchor\n",
        th(n),
        d.lookback_days
    );

    let _ = writeln!(s, "## Model\n");
    let first_k = run.ks.first().map_or("5".to_string(), |k| k.to_string());
    let (why, caution) = why_this_model(run, spec.model, |x| format!("`{x}`"));
    let _ = writeln!(s, "`{}` — {why}.\n", spec.model);
    if let Some(note) = ranking_note(spec, &list) {
        let _ = writeln!(s, "**Ranked by uplift:** {note}.\n");
    }
    if let Some(note) = caution {
        let _ = writeln!(s, "**Read with care:** {note}\n");
    }
    if let Some(note) = tied_models_note(run) {
        let _ = writeln!(s, "**Ties at the cut:** {note}\n");
    }
    let mut others: Vec<(&str, Option<f64>)> = run
        .models
        .iter()
        .map(|x| (x.name.as_str(), x.val.at_k.first().and_then(|a| a.lift)))
        .collect();
    others.sort_by(|a, b| b.1.unwrap_or(0.0).total_cmp(&a.1.unwrap_or(0.0)));
    let _ = writeln!(
        s,
        "Val Lift@{first_k}% of every model: {}.\n",
        others
            .iter()
            .map(|(n, l)| format!("{n} {}", num(*l)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    metrics_table(&mut s, run, &m.val, "val");
    metrics_table(&mut s, run, &m.test, "test (scored once)");

    let _ = writeln!(s, "## Target list\n");
    let _ = writeln!(
        s,
        "{} = k = {} of {} users. On the test anchor, **{} of them went dormant** (precision {}, lift {}); random targeting of {} users would catch {}. All {} dormant users: recall {}.\n",
        capital(&spec.cut.text(n)),
        th(k),
        th(n),
        th(f.caught),
        pct(f.precision),
        num(f.lift),
        th(k),
        th(f.random.round() as u64),
        th(f.dormant),
        pct(f.recall)
    );
    if let Some(note) = list.tie_note(spec.cut) {
        let _ = writeln!(s, "{} (SPEC §5).\n", capital(&note));
    }
    let _ = writeln!(
        s,
        "Hand edits: {} excluded, {} added → **{} users to contact**.\n",
        th(f.excluded),
        th(f.added),
        th(f.contact)
    );
    let _ = writeln!(
        s,
        "| tier | reach | users in the list | offer |\n|---|---|---|---|"
    );
    for (t, count) in spec.tiers.tiers.iter().zip(&f.per_tier) {
        let _ = writeln!(
            s,
            "| {} | top {}% | {} | {} |",
            t.name,
            crate::engine::eval::KPct { bp: t.top_bp },
            th(*count),
            t.offer
        );
    }
    if let (true, Some(last)) = (f.beyond > 0, spec.tiers.tiers.last()) {
        let _ = writeln!(
            s,
            "| {} | below every tier, added by hand | {} | {} |",
            spec.phrases
                .label(crate::engine::targeting::tiers::ADDED_LABEL),
            th(f.beyond),
            last.offer
        );
    }
    s.push('\n');
    money_section(&mut s, spec, money);

    let _ = writeln!(s, "## Why these users\n");
    let mut counts = [0usize; 14];
    let mut first = [0usize; 14];
    for feats in rows.iter().map(|r| &r.reason_features) {
        for (i, &f) in feats.iter().enumerate() {
            counts[f] += 1;
            if i == 0 {
                first[f] += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..14).filter(|&j| counts[j] > 0).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let _ = writeln!(
        s,
        "| feature | among a user's reasons | as the first reason |\n|---|---|---|"
    );
    for j in order.iter().take(6) {
        let _ = writeln!(
            s,
            "| {} | {} ({}) | {} |",
            FEATURE_NAMES[*j],
            th(counts[*j]),
            pct(Some(counts[*j] as f64 / rows.len().max(1) as f64)),
            th(first[*j])
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Three representative users (top, middle and last of the model's list; none added by hand):\n"
    );
    for (what, r) in representatives(rows) {
        user_block(&mut s, what, r);
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}
