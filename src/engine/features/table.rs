//! The feature table (SPEC §6): one row per (user, anchor) with split, label, y and the 14
//! features, sorted by anchor then user_id. Purged anchors are absent.

use polars::prelude::*;

use crate::engine::data::EventLog;
use crate::engine::error::PolarsContext;
use crate::engine::label::dormancy::LABEL;
use crate::engine::label::{AnchorPlan, Split};
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

use super::columns::ANCHOR;

/// Label counts at one anchor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnchorCounts {
    pub anchor: i64,
    pub split: Split,
    pub rows: u64,
    pub m0: u64,
    pub m1: u64,
    pub m2: u64,
}

impl AnchorCounts {
    pub fn dormant_rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.m2 as f64 / self.rows as f64
        }
    }
}

#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub df: DataFrame,
    pub plan: AnchorPlan,
    /// Label counts of every row, sampled or not.
    pub per_anchor: Vec<AnchorCounts>,
    /// Set when `df` holds a sample of the train and val rows (see `features::row_sample`).
    pub sample: Option<RowSample>,
}

/// Rows of a table too large to learn from whole: how many of train and val are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowSample {
    pub seed: u64,
    /// (rows held, rows in the split)
    pub train: (u64, u64),
    pub val: (u64, u64),
}

impl FeatureTable {
    /// Label counts summed over a split's anchors.
    pub fn split_counts(&self, split: Split) -> AnchorCounts {
        let mut c = AnchorCounts {
            anchor: 0,
            split,
            rows: 0,
            m0: 0,
            m1: 0,
            m2: 0,
        };
        for a in self.per_anchor.iter().filter(|a| a.split == split) {
            c.rows += a.rows;
            c.m0 += a.m0;
            c.m1 += a.m1;
            c.m2 += a.m2;
        }
        c
    }
}

/// Build the feature table for every planned anchor.
pub fn build(log: &EventLog, plan: &AnchorPlan) -> Result<FeatureTable> {
    finish(rows(log, plan)?, plan)
}

/// The feature table's rows for the users of `log` (with the visit-history columns), sorted
/// by anchor then user; `finish` makes the table of them. The out-of-core path calls this per
/// bucket of users and finishes the merged rows once.
pub fn rows(log: &EventLog, plan: &AnchorPlan) -> Result<DataFrame> {
    let clock = std::time::Instant::now();
    let df = super::pass::rows(log, plan)?;
    if crate::engine::profiling() {
        tracing::info!(
            target: crate::engine::PROFILE,
            "feature pass {:.3}s",
            clock.elapsed().as_secs_f64()
        );
    }
    Ok(df)
}

/// The table of all rows: label counts per anchor, and no split left empty.
pub fn finish(df: DataFrame, plan: &AnchorPlan) -> Result<FeatureTable> {
    let per_anchor = count_labels(&df, plan)?;
    check_splits(plan, &per_anchor)?;
    Ok(FeatureTable {
        df,
        plan: plan.clone(),
        per_anchor,
        sample: None,
    })
}

/// Add the counts of `b` into `a` (the same plan's anchors).
pub fn add_counts(a: &mut [AnchorCounts], b: &[AnchorCounts]) {
    for (x, y) in a.iter_mut().zip(b) {
        x.rows += y.rows;
        x.m0 += y.m0;
        x.m1 += y.m1;
        x.m2 += y.m2;
    }
}

/// Add the label counts of `df`'s rows into `into` (set them when it is empty).
pub fn accumulate_counts(
    into: &mut Vec<AnchorCounts>,
    df: &DataFrame,
    plan: &AnchorPlan,
) -> Result<()> {
    let c = count_labels(df, plan)?;
    if into.is_empty() {
        *into = c;
    } else {
        add_counts(into, &c);
    }
    Ok(())
}

/// Label counts per planned anchor of some of the table's rows.
pub fn count_labels(df: &DataFrame, plan: &AnchorPlan) -> Result<Vec<AnchorCounts>> {
    let counts = df
        .clone()
        .lazy()
        .group_by([col(ANCHOR), col(LABEL)])
        .agg([len().alias("n")])
        .collect()
        .ctx(|| "counting labels".into())?;
    let anchors = counts
        .column(ANCHOR)
        .ctx(|| ANCHOR.into())?
        .cast(&DataType::Int64)
        .ctx(|| ANCHOR.into())?;
    let anchors = anchors.i64().ctx(|| ANCHOR.into())?;
    let labels = counts
        .column(LABEL)
        .and_then(|c| c.str())
        .ctx(|| LABEL.into())?;
    let ns = counts
        .column("n")
        .ctx(|| "n".into())?
        .cast(&DataType::UInt64)
        .ctx(|| "n".into())?;
    let ns = ns.u64().ctx(|| "n".into())?;
    let mut per_anchor: Vec<AnchorCounts> = plan
        .anchors
        .iter()
        .map(|(t, s)| AnchorCounts {
            anchor: *t,
            split: *s,
            rows: 0,
            m0: 0,
            m1: 0,
            m2: 0,
        })
        .collect();
    for ((a, l), n) in anchors.iter().zip(labels.iter()).zip(ns.iter()) {
        let (Some(a), Some(l), Some(n)) = (a, l, n) else {
            continue;
        };
        if let Some(c) = per_anchor.iter_mut().find(|c| c.anchor == a) {
            c.rows += n;
            match l {
                "m0" => c.m0 += n,
                "m1" => c.m1 += n,
                _ => c.m2 += n,
            }
        }
    }
    Ok(per_anchor)
}

/// A split without rows is as unusable as one without anchors (SPEC §2).
pub fn check_splits(plan: &AnchorPlan, per_anchor: &[AnchorCounts]) -> Result<()> {
    for split in Split::ALL {
        let anchors = plan.of_split(split);
        let rows: u64 = per_anchor
            .iter()
            .filter(|a| a.split == split)
            .map(|a| a.rows)
            .sum();
        if !anchors.is_empty() && rows == 0 {
            return Err(Error::EmptySplit {
                split: split.to_string(),
                why: format!(
                    ": nobody was active in the {}-day lookback before {}",
                    plan.window.lookback_days,
                    anchors
                        .iter()
                        .map(|t| fmt_anchor(*t))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    Ok(())
}
