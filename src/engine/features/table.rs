//! The feature table (SPEC §6): one row per (user, anchor) with split, label, y and the 14
//! features, sorted by anchor then user_id. Purged anchors are absent.

use polars::prelude::*;

use super::{FEATURE_NAMES, TOP_BRAND_COUNT, aggregations, feature_exprs};
use crate::engine::Result;
use crate::engine::data::EventLog;
use crate::engine::data::schema::{TS, USER_ID};
use crate::engine::error::PolarsContext;
use crate::engine::label::labels::{HOME_BRAND, LABEL, Y, brand_mode, future, label_expr};
use crate::engine::label::{AnchorPlan, Split};

pub const ANCHOR: &str = "anchor";
pub const SPLIT: &str = "split";

/// Label counts at one anchor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    pub per_anchor: Vec<AnchorCounts>,
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

/// The anchor column's type: a UTC timestamp.
pub fn anchor_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// The rows of one anchor, lazily.
fn anchor_rows(log: &LazyFrame, t: i64, split: Split, plan: &AnchorPlan) -> LazyFrame {
    let w = &plan.window;
    let past = log.clone().filter(
        col(TS)
            .gt_eq(lit(t - w.lookback_us()))
            .and(col(TS).lt(lit(t))),
    );
    let aggs = past
        .clone()
        .group_by([col(USER_ID)])
        .agg(aggregations(t, w));
    let home =
        brand_mode(past, HOME_BRAND).select([col(USER_ID), col(HOME_BRAND), col(TOP_BRAND_COUNT)]);
    let fut = future(log.clone(), t, w.horizon_us());
    let left = || JoinArgs::new(JoinType::Left);
    let mut out = vec![
        col(USER_ID),
        lit(t).cast(anchor_dtype()).alias(ANCHOR),
        lit(split.as_str()).alias(SPLIT),
        col(LABEL),
        col(LABEL).eq(lit("m2")).cast(DataType::Int32).alias(Y),
    ];
    out.extend(FEATURE_NAMES.iter().map(|f| col(*f)));
    aggs.join(home, [col(USER_ID)], [col(USER_ID)], left())
        .join(fut, [col(USER_ID)], [col(USER_ID)], left())
        .with_column(label_expr().alias(LABEL))
        .with_columns(feature_exprs(t, w))
        .select(out)
}

/// Build the feature table for every planned anchor.
pub fn build(log: &EventLog, plan: &AnchorPlan) -> Result<FeatureTable> {
    let lf = log.df.clone().lazy();
    let parts: Vec<LazyFrame> = plan
        .anchors
        .iter()
        .map(|(t, split)| anchor_rows(&lf, *t, *split, plan))
        .collect();
    let df = concat(parts, UnionArgs::default())
        .ctx(|| "combining anchors".into())?
        .sort([ANCHOR, USER_ID], SortMultipleOptions::default())
        .collect()
        .ctx(|| "computing features".into())?;

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
    Ok(FeatureTable {
        df,
        plan: plan.clone(),
        per_anchor,
    })
}
