//! The feature table (SPEC §6): one row per (user, anchor) with split, label, y and the 14
//! features, sorted by anchor then user_id. Purged anchors are absent.

use polars::prelude::*;
use polars_plan::plans::AExprSorted;

use super::columns::{BRAND_SHIFT, FEATURE_NAMES, KEY, KEY_SHIFT, MAX_ANCHORS};
use super::exprs::{T, aggregations, feature_exprs, row_columns};
use crate::engine::data::EventLog;
use crate::engine::data::schema::{TS, UIDX, USER_ID};
use crate::engine::error::PolarsContext;
use crate::engine::label::dormancy::{LABEL, Y, label_expr};
use crate::engine::label::{AnchorPlan, Split};
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

use super::columns::{ANCHOR, SPLIT};

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

/// The anchor column's type: a UTC timestamp.
pub fn anchor_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// Every anchor's rows of the log in `[t + from, t + to)`, stacked in anchor order and tagged
/// with the anchor index and time. Each part keeps the log's (user, time, brand) order.
fn windows(log: &LazyFrame, plan: &AnchorPlan, from: i64, to: i64) -> Result<LazyFrame> {
    let parts: Vec<LazyFrame> = plan
        .anchors
        .iter()
        .enumerate()
        .map(|(i, (t, _))| {
            log.clone()
                .filter(col(TS).gt_eq(lit(t + from)).and(col(TS).lt(lit(t + to))))
                .with_columns([
                    (lit(i as i64 * KEY_SHIFT) + col(UIDX).cast(DataType::Int64)).alias(KEY),
                    // A literal 0 (an anchor at the epoch) would be an Int32 column otherwise.
                    lit(*t).cast(DataType::Int64).alias(T),
                ])
        })
        .collect();
    let stacked = concat(
        parts,
        UnionArgs {
            parallel: true,
            rechunk: false,
            ..Default::default()
        },
    )
    .ctx(|| "stacking anchor windows".into())?;
    // Keys ascend: anchors are stacked in order and users ascend within each. Telling polars
    // lets every group_by on the key take its sorted fast path.
    let sorted = AExprSorted {
        descending: Some(false),
        nulls_last: Some(true),
    };
    Ok(stacked.with_column(col(KEY).set_sorted_flag(sorted)))
}

/// Build the feature table for every planned anchor.
pub fn build(log: &EventLog, plan: &AnchorPlan) -> Result<FeatureTable> {
    finish(rows(log, plan)?, plan)
}

/// The feature table's rows for the users of `log` (with the visit-history columns), sorted
/// by anchor then user; `finish` makes the table of them. The out-of-core path calls this per
/// bucket of users and finishes the merged rows once.
pub fn rows(log: &EventLog, plan: &AnchorPlan) -> Result<DataFrame> {
    if plan.anchors.len() >= MAX_ANCHORS || log.brands.len() as i64 >= BRAND_SHIFT {
        return Err(Error::Config(format!(
            "{} anchors and {} distinct brands: at most {} anchors and {} brands are supported",
            plan.anchors.len(),
            log.brands.len(),
            MAX_ANCHORS - 1,
            BRAND_SHIFT - 1
        )));
    }
    let w = &plan.window;
    let lf = log.df.clone().lazy();
    let key = || [col(KEY)];
    let left = || JoinArgs::new(JoinType::Left);

    let [first, second] = row_columns(w);
    let past = windows(&lf, plan, -w.lookback_us(), 0)?
        .with_columns(first)
        .with_columns(second);
    let aggs = past.group_by(key()).agg(aggregations());
    let brands = super::brands::brand_tables(log, plan)?;

    let anchors = DataFrame::new_infer_height(vec![
        Column::new(
            T.into(),
            plan.anchors.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        ),
        Column::new(
            SPLIT.into(),
            plan.anchors
                .iter()
                .map(|(_, s)| s.as_str())
                .collect::<Vec<_>>(),
        ),
    ])
    .ctx(|| "anchor table".into())?;

    let mut out = vec![
        col(USER_ID),
        col(T).cast(anchor_dtype()).alias(ANCHOR),
        col(SPLIT),
        col(LABEL),
        col(LABEL).eq(lit("m2")).cast(DataType::Int32).alias(Y),
    ];
    out.extend(FEATURE_NAMES.iter().map(|f| col(*f)));
    let q = aggs
        .join(anchors.lazy(), [col(T)], [col(T)], left())
        .join(brands.sequence.lazy(), key(), key(), left())
        .join(brands.home.lazy(), key(), key(), left())
        .join(brands.active.lazy(), key(), key(), left())
        .join(brands.future.lazy(), key(), key(), left())
        .with_column(label_expr().alias(LABEL))
        .with_columns(feature_exprs(w))
        .select(out)
        .sort([ANCHOR, USER_ID], SortMultipleOptions::default());
    let profile = crate::engine::profiling();
    let clock = std::time::Instant::now();
    // polars' per-node profile is of the one run whose rows are kept: profiling must not run
    // the query twice (it did, and doubled the times it was meant to explain).
    let mut df = if std::env::var_os("CHURN_PROFILE_POLARS").is_some() {
        let (df, prof) = q.profile().ctx(|| "computing features".into())?;
        tracing::info!(target: crate::engine::PROFILE, "{prof}");
        df
    } else {
        q.collect().ctx(|| "computing features".into())?
    };
    let after_query = clock.elapsed().as_secs_f64();
    let hist = super::history::history_columns(log, &df)?;
    df.hstack_mut(&hist).ctx(|| "visit history".into())?;
    if profile {
        tracing::info!(
            target: crate::engine::PROFILE,
            "feature query {after_query:.3}s, visit history {:.3}s",
            clock.elapsed().as_secs_f64() - after_query
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data::schema::BRAND_RANK;
    use crate::engine::features::exprs::same_key_as_previous;
    use crate::engine::features::exprs::{BRANDED, SWITCH, TOP_BRAND_COUNT};
    use crate::engine::label::dormancy::{FUTURE_BRAND, HOME_BRAND, N_FUTURE};

    // The brand figures as grouped polars queries (how they were computed before the pass in
    // `brands.rs`): the reference the pass must equal.

    /// Per key: the most frequent non-null brand in `events` (ties: the lexicographically smallest,
    /// i.e. the smallest rank) as `{name}`, and its count as `{name}_count`.
    fn brand_mode(events: LazyFrame, name: &str) -> LazyFrame {
        let base = KEY_SHIFT - 1;
        events
            .filter(col(BRAND_RANK).is_not_null())
            // (key, brand) packed into one integer: a single-key group_by is much cheaper.
            .with_column(
                (col(KEY) * lit(BRAND_SHIFT) + col(BRAND_RANK).cast(DataType::Int64)).alias("__kb"),
            )
            .group_by([col("__kb")])
            .agg([len().cast(DataType::Int64).alias("cnt")])
            .with_columns([
                col("__kb").floor_div(lit(BRAND_SHIFT)).alias(KEY),
                (col("__kb") % lit(BRAND_SHIFT)).alias(BRAND_RANK),
            ])
            // One number that orders by count, then by smaller rank: its maximum is the mode.
            .with_column(
                (col("cnt") * lit(KEY_SHIFT) + (lit(base) - col(BRAND_RANK).cast(DataType::Int64)))
                    .alias("score"),
            )
            .group_by([col(KEY)])
            .agg([col("score").max()])
            .select([
                col(KEY),
                (lit(base) - col("score") % lit(KEY_SHIFT)).alias(name),
                col("score")
                    .floor_div(lit(KEY_SHIFT))
                    .alias(format!("{name}_count")),
            ])
    }

    /// Brand switches and branded-event counts per key, from the rows with a non-null brand
    /// (in time-then-brand order).
    fn brand_sequence(rows: LazyFrame) -> LazyFrame {
        rows.filter(col(BRAND_RANK).is_not_null())
            .with_column(
                same_key_as_previous()
                    .and(col(BRAND_RANK).neq(col(BRAND_RANK).shift(lit(1))))
                    .alias(SWITCH),
            )
            .group_by([col(KEY)])
            .agg([
                col(SWITCH).sum().cast(DataType::Float64).alias(SWITCH),
                len().cast(DataType::Float64).alias(BRANDED),
            ])
    }

    /// `df` sorted by key, as plain rows for comparing.
    fn sorted(df: DataFrame) -> DataFrame {
        df.sort([KEY], SortMultipleOptions::default()).unwrap()
    }

    /// On a generated log (thousands of users, ties and null brands included) at five
    /// anchors, the pass's brand tables are the grouped queries' tables, value for value.
    #[test]
    fn the_brand_pass_equals_the_grouped_queries() {
        use crate::engine::data::synth::{GenConfig, generate, write_file};
        use crate::engine::data::{Scope, load, resolve};
        use crate::engine::label::Window;
        use crate::engine::time::parse_anchor;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.parquet");
        let cfg = GenConfig {
            users: 3_000,
            start: parse_anchor("2019-10-01").unwrap(),
            months: 6,
            seed: 11,
        };
        write_file(&generate(&cfg), &path).unwrap();
        let files = resolve(&[path.to_string_lossy().to_string()]).unwrap();
        let log = load(&files, &Scope::default()).unwrap();
        assert!(
            log.df.column(BRAND_RANK).unwrap().null_count() > 0,
            "the log has events without a brand"
        );
        let month = |m: &str| parse_anchor(m).unwrap();
        let plan = AnchorPlan {
            anchors: [
                "2019-11-01",
                "2019-12-01",
                "2020-01-01",
                "2020-02-01",
                "2020-03-01",
            ]
            .iter()
            .map(|m| (month(m), Split::Train))
            .collect(),
            purged: vec![],
            window: Window {
                lookback_days: 30,
                horizon_days: 30,
            },
        };
        let lf = log.df.clone().lazy();
        let past = windows(&lf, &plan, -plan.window.lookback_us(), 0).unwrap();
        let future = windows(&lf, &plan, 0, plan.window.horizon_us()).unwrap();
        let home = brand_mode(past.clone(), HOME_BRAND)
            .select([col(KEY), col(HOME_BRAND), col(TOP_BRAND_COUNT)])
            .collect()
            .unwrap();
        let sequence = brand_sequence(past).collect().unwrap();
        let active = future
            .clone()
            .group_by([col(KEY)])
            .agg([len().alias(N_FUTURE)])
            .collect()
            .unwrap();
        let future = brand_mode(future, FUTURE_BRAND)
            .select([col(KEY), col(FUTURE_BRAND)])
            .collect()
            .unwrap();
        let got = super::super::brands::brand_tables(&log, &plan).unwrap();
        assert!(home.height() > 1000, "a real test: {} keys", home.height());
        assert!(
            home.column(TOP_BRAND_COUNT)
                .unwrap()
                .i64()
                .unwrap()
                .into_no_null_iter()
                .any(|c| c > 1),
            "some mode counts more than one event"
        );
        assert_eq!(sorted(got.home), sorted(home));
        assert_eq!(sorted(got.sequence), sorted(sequence));
        assert_eq!(sorted(got.future), sorted(future));
        assert_eq!(sorted(got.active), sorted(active));
    }
}
