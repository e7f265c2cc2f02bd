//! The campaign report (Markdown): data and anchor, the model and why, val/test metrics with
//! ceilings, tiers and offers, dormant users caught versus random targeting, the most frequent
//! reasons, and three representative users.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::list::{ListSpec, TargetRow, target_rows};
use crate::engine::Result;
use crate::engine::atomic::write_atomic;
use crate::engine::eval::SplitEval;
use crate::engine::features::FEATURE_NAMES;
use crate::engine::loaded_run::LoadedRun;
use crate::engine::time::fmt_anchor;

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

fn metrics_table(s: &mut String, wb: &LoadedRun, e: &SplitEval, split: &str) {
    let _ = writeln!(
        s,
        "| {split} | PR-AUC {} | n = {}, dormant {} |",
        num(e.pr_auc),
        e.n,
        pct(e.prevalence)
    );
    let _ = writeln!(s, "|---|---|---|");
    for (a, k) in e.at_k.iter().zip(&wb.ks) {
        let _ = writeln!(
            s,
            "| K = {k}% (k = {}) | Lift {} (ceiling {}) | Precision {} · Recall {} |",
            a.k,
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
        "- **{what}: user {}** — rank {}, score {:.4}, {}{}",
        r.user_id,
        r.rank,
        r.score,
        if r.tier.is_empty() {
            "no tier"
        } else {
            &r.tier
        },
        if r.edited { " (added by hand)" } else { "" }
    );
    for reason in &r.reasons {
        let _ = writeln!(s, "  - {reason}");
    }
}

/// The report as Markdown.
pub fn report(wb: &LoadedRun, spec: &ListSpec) -> Result<String> {
    let rows = target_rows(wb, spec)?;
    let m = wb.model(spec.model).ok_or_else(|| {
        crate::engine::Error::Config(format!("the run has no model {}", spec.model))
    })?;
    let n = m.n();
    let k = spec.k.k_of(n);
    let d = &wb.stats.data;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Campaign report — top {}% at {}\n",
        spec.k,
        wb.test_anchor().map_or("–".into(), fmt_anchor)
    );
    let _ = writeln!(s, "## Data\n");
    let _ = writeln!(
        s,
        "- Run `{}`; {} input file(s): {}",
        wb.run_id,
        d.files.len(),
        d.files
            .iter()
            .map(|f| format!("`{}`", f.path))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "- {} events in scope ({}), {} users, {} – {}",
        d.events,
        d.scope,
        d.users,
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
        "- Scored population: {n} users active in the {} days before the test anchor\n",
        d.lookback_days
    );

    let _ = writeln!(s, "## Model\n");
    let first_k = wb.ks.first().map_or("5".to_string(), |k| k.to_string());
    let chosen = wb.model(&wb.chosen);
    if let (true, Some(c)) = (spec.model == wb.chosen, &wb.choice) {
        let _ = writeln!(
            s,
            "`{}` — chosen among {} models on the val anchor, before the test anchor was scored: {}.\n",
            spec.model,
            wb.models.len(),
            c.why
        );
        let models: Vec<(&str, &crate::engine::eval::SplitEval)> = wb
            .models
            .iter()
            .map(|m| (m.name.as_str(), &m.val))
            .collect();
        if let Some(note) = crate::engine::eval::choice::caution(c, &models, &format!("{first_k}%"))
        {
            let _ = writeln!(
                s,
                "**Read with care:** {note}. The order of the models here is within the noise \
                 of one val anchor: see the 90% intervals in the leaderboard, and prefer the \
                 simpler model (recency alone, where the rule is among the tied) until another \
                 anchor says otherwise.\n"
            );
        }
    } else if spec.model == wb.chosen {
        let _ = writeln!(
            s,
            "`{}` — chosen among {} models on the val anchor by Lift@{first_k}% (then PR-AUC), before the test anchor was scored.\n",
            spec.model,
            wb.models.len()
        );
    } else {
        let _ = writeln!(
            s,
            "`{}` — picked by hand; the rule (Lift@{first_k}% on val, then PR-AUC) chose `{}`{}.\n",
            spec.model,
            wb.chosen,
            chosen.map_or(String::new(), |c| format!(
                " (val Lift@{first_k}% {})",
                num(c.val.at_k.first().and_then(|a| a.lift))
            ))
        );
    }
    let mut others: Vec<(&str, Option<f64>)> = wb
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
    metrics_table(&mut s, wb, &m.val, "val");
    metrics_table(&mut s, wb, &m.test, "test (scored once)");

    let _ = writeln!(s, "## Target list\n");
    let (_, caught, precision, lift) = m.at(k);
    let p = m.caught().last().copied().unwrap_or(0);
    let random = if n > 0 {
        p as f64 * k as f64 / n as f64
    } else {
        0.0
    };
    let _ = writeln!(
        s,
        "Top {}% = k = {k} of {n} users. On the test anchor, **{caught} of them went dormant** (precision {}, lift {}); random targeting of {k} users would catch {random:.0}. All {p} dormant users: recall {}.\n",
        spec.k,
        pct(precision),
        num(lift),
        pct((p > 0).then(|| caught as f64 / p as f64))
    );
    let excluded = spec.edits.excluded.len();
    let added = rows.iter().filter(|r| r.edited).count();
    let _ = writeln!(
        s,
        "Hand edits: {excluded} excluded, {added} added → **{} users to contact**.\n",
        rows.len()
    );
    let _ = writeln!(
        s,
        "| tier | reach | users in the list | offer |\n|---|---|---|---|"
    );
    for t in &spec.tiers.tiers {
        let count = rows.iter().filter(|r| r.tier == t.name).count();
        let _ = writeln!(
            s,
            "| {} | top {}% | {count} | {} |",
            t.name,
            crate::engine::eval::KPct { bp: t.top_bp },
            t.offer
        );
    }
    s.push('\n');

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
            counts[*j],
            pct(Some(counts[*j] as f64 / rows.len().max(1) as f64)),
            first[*j]
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Three representative users (top, middle and last of the list):\n"
    );
    if let (Some(a), Some(b), Some(c)) = (rows.first(), rows.get(rows.len() / 2), rows.last()) {
        user_block(&mut s, "top", a);
        user_block(&mut s, "middle", b);
        user_block(&mut s, "last", c);
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Write the report, whole or not at all.
pub fn write_report(text: &str, path: &Path) -> Result<()> {
    crate::engine::artifacts::guard_output(path, &[])?;
    write_atomic(path, |w| w.write_all(text.as_bytes()))
}
