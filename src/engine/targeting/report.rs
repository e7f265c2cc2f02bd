//! The campaign report (Markdown): data and anchor, the model and why, val/test metrics with
//! ceilings, tiers and offers, dormant users caught versus random targeting, the most frequent
//! reasons, and three representative users.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::list::{ListSpec, TargetList, TargetRow, target_list};
use super::order::{first_k_ties, score_text};
use crate::engine::Result;
use crate::engine::eval::SplitEval;
use crate::engine::features::FEATURE_NAMES;
use crate::engine::io::atomic::write_atomic;
use crate::engine::run::open::LoadedRun;
use crate::engine::text::thousands;
use crate::engine::time::fmt_anchor;

/// A count as an analyst reads it (`1,234`).
fn th(n: impl TryInto<u64>) -> String {
    thousands(n.try_into().unwrap_or(u64::MAX))
}

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
        th(e.n),
        pct(e.prevalence)
    );
    let _ = writeln!(s, "|---|---|---|");
    for (a, k) in e.at_k.iter().zip(&wb.ks) {
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

/// The numbers of a target list that both report formats show.
pub(super) struct ListFacts {
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
    pub(super) fn of(spec: &ListSpec, list: &TargetList) -> ListFacts {
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
pub(super) fn tied_models_note(wb: &LoadedRun) -> Option<String> {
    let ties = first_k_ties(wb);
    if ties.is_empty() {
        return None;
    }
    let first_k = wb.ks.first().map_or("5".to_string(), |k| k.to_string());
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
pub(super) fn why_this_model(
    wb: &LoadedRun,
    model: &str,
    quote: impl Fn(&str) -> String,
) -> (String, Option<String>) {
    let first_k = wb.ks.first().map_or("5".to_string(), |k| k.to_string());
    if model != wb.chosen {
        let chosen = wb.model(&wb.chosen);
        let why = format!(
            "picked by hand; the rule (Lift@{first_k}% on val, then PR-AUC) chose {}{}",
            quote(&wb.chosen),
            chosen.map_or(String::new(), |c| format!(
                " (val Lift@{first_k}% {})",
                num(c.val.at_k.first().and_then(|a| a.lift))
            ))
        );
        return (why, None);
    }
    let Some(c) = &wb.choice else {
        return (
            format!(
                "chosen among {} models on the val anchor by Lift@{first_k}% (then PR-AUC), before the test anchor was scored",
                wb.models.len()
            ),
            None,
        );
    };
    let models: Vec<(&str, &SplitEval)> = wb
        .models
        .iter()
        .map(|m| (m.name.as_str(), &m.val))
        .collect();
    (
        format!(
            "chosen among {} models on the val anchor, before the test anchor was scored: {}",
            wb.models.len(),
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
pub(super) fn representatives(rows: &[TargetRow]) -> Vec<(&'static str, &TargetRow)> {
    let model: Vec<&TargetRow> = rows.iter().filter(|r| !r.edited).collect();
    match (model.first(), model.get(model.len() / 2), model.last()) {
        (Some(a), Some(b), Some(c)) => vec![("top", *a), ("middle", *b), ("last", *c)],
        _ => Vec::new(),
    }
}

/// The report as Markdown.
pub fn report(wb: &LoadedRun, spec: &ListSpec) -> Result<String> {
    let list = target_list(wb, spec)?;
    let rows = &list.rows;
    let m = wb.model(spec.model).ok_or_else(|| {
        crate::engine::Error::Config(format!("the run has no model {}", spec.model))
    })?;
    let f = ListFacts::of(spec, &list);
    let (n, k) = (f.n, f.k);
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
    let first_k = wb.ks.first().map_or("5".to_string(), |k| k.to_string());
    let (why, caution) = why_this_model(wb, spec.model, |x| format!("`{x}`"));
    let _ = writeln!(s, "`{}` — {why}.\n", spec.model);
    if let Some(note) = caution {
        let _ = writeln!(s, "**Read with care:** {note}\n");
    }
    if let Some(note) = tied_models_note(wb) {
        let _ = writeln!(s, "**Ties at the cut:** {note}\n");
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
    let _ = writeln!(
        s,
        "Top {}% = k = {} of {} users. On the test anchor, **{} of them went dormant** (precision {}, lift {}); random targeting of {} users would catch {}. All {} dormant users: recall {}.\n",
        spec.k,
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
    if let Some(note) = list.tie_note(spec.k) {
        let mut c = note.chars();
        let note: String = c
            .next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default();
        let _ = writeln!(s, "{note} (SPEC §5).\n");
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
            spec.phrases.label(super::tiers::ADDED_LABEL),
            th(f.beyond),
            last.offer
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

/// The report's file formats, chosen by the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Xlsx,
}

impl ReportFormat {
    /// The format a file name asks for; another extension is refused, naming both.
    pub fn of_path(p: &Path) -> Result<ReportFormat> {
        use crate::engine::io::file_kind::FileKind as K;
        Ok(match K::expect(p, &[K::Markdown, K::Xlsx], "report")? {
            K::Xlsx => ReportFormat::Xlsx,
            _ => ReportFormat::Markdown,
        })
    }
}

/// Build the report for `spec` and write it to `path` in the format its extension asks for.
pub fn write_report_file(wb: &LoadedRun, spec: &ListSpec, path: &Path) -> Result<()> {
    match ReportFormat::of_path(path)? {
        ReportFormat::Markdown => write_report(&report(wb, spec)?, path),
        ReportFormat::Xlsx => super::report_xlsx::write_report_xlsx(wb, spec, path),
    }
}

/// Write the report, whole or not at all.
pub fn write_report(text: &str, path: &Path) -> Result<()> {
    crate::engine::run::files::guard_output(path, &[])?;
    write_atomic(path, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_format_is_the_extensions_and_others_are_refused() {
        let of = |s: &str| ReportFormat::of_path(Path::new(s));
        assert_eq!(of("r.md").unwrap(), ReportFormat::Markdown);
        assert_eq!(of("a/R.XLSX").unwrap(), ReportFormat::Xlsx);
        for bad in ["r.txt", "r.csv", "report"] {
            let e = of(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains(".md or .xlsx"), "{e}");
        }
    }
}
