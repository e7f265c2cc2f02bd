//! The target list of a run: the top-k of a model's test ranking with tiers, offers and risk
//! reasons, and its export. The TUI and `churn-tui export` share this.

use std::io::Write;
use std::path::Path;

use crate::engine::Result;
use crate::engine::atomic::write_atomic;
use crate::engine::eval::KPct;
use crate::engine::models::{Model, N_FEATURES};
use crate::engine::time::fmt_anchor;
use crate::engine::workbench::Workbench;

use super::reasons::{self, Reason, reasons_for};
use super::tiers::TierRule;

/// Risk reasons of the given test rows: occlusion on `model` where it scores from the
/// features, else the features on the dormant side of the population.
pub fn reasons_batch(
    wb: &Workbench,
    model: Option<&dyn Model>,
    rows: &[usize],
) -> Vec<Vec<Reason>> {
    let attrs = model.and_then(|m| reasons::occlusion(m, &wb.test, rows, &wb.medians));
    let f = &wb.stats.features;
    let dormant_higher: [Option<bool>; N_FEATURES] = std::array::from_fn(|j| {
        let (d, a) = (f.dormant.get(j)?.mean, f.active.get(j)?.mean);
        (d != a).then_some(d > a)
    });
    let shares = |j: usize, v: f64| wb.shares(j, v);
    rows.iter()
        .enumerate()
        .map(|(n, &r)| {
            let x = wb.test.row(r);
            let rs = attrs
                .as_ref()
                .map(|a| reasons_for(&a[n], &x, shares))
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

#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub rank: usize,
    pub user_id: i64,
    pub anchor: i64,
    pub score: f64,
    pub tier: String,
    pub offer: String,
    pub reasons: Vec<String>,
    pub edited: bool,
}

/// Rows scored per occlusion batch (each costs 15 predictions).
const BATCH: usize = 4096;

/// The top K% of `model`'s test ranking, with tiers, offers and reasons.
pub fn target_rows(
    wb: &Workbench,
    model: &str,
    k: KPct,
    tiers: &TierRule,
) -> Result<Vec<TargetRow>> {
    let m = wb
        .model(model)
        .ok_or_else(|| crate::engine::Error::Config(format!("the run has no model {model}")))?;
    let n = m.ranking.len();
    let top = &m.ranking[..k.k_of(n)];
    let loaded = wb.load_model(model).ok();
    let mut out = Vec::with_capacity(top.len());
    for (c, chunk) in top.chunks(BATCH).enumerate() {
        let rs = reasons_batch(wb, loaded.as_deref(), chunk);
        for (i, (&row, r)) in chunk.iter().zip(rs).enumerate() {
            let rank = c * BATCH + i + 1;
            let tier = tiers.tier_of(rank, n);
            out.push(TargetRow {
                rank,
                user_id: wb.test.users[row],
                anchor: wb.test.anchors[row],
                score: m.test_scores[row],
                tier: tier.map_or(String::new(), |t| t.name.clone()),
                offer: tier.map_or(String::new(), |t| t.offer.clone()),
                reasons: r.iter().map(|x| x.text()).collect(),
                edited: false,
            });
        }
    }
    Ok(out)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV with SPEC §5 columns (reasons joined by " | "), written whole or not at all.
pub fn write_csv(rows: &[TargetRow], path: &Path) -> Result<()> {
    write_atomic(path, |w| {
        writeln!(w, "rank,user_id,anchor,score,tier,offer,reasons,edited")?;
        for r in rows {
            writeln!(
                w,
                "{},{},{},{},{},{},{},{}",
                r.rank,
                r.user_id,
                fmt_anchor(r.anchor),
                r.score,
                csv_field(&r.tier),
                csv_field(&r.offer),
                csv_field(&r.reasons.join(" | ")),
                r.edited
            )?;
        }
        Ok(())
    })
}
