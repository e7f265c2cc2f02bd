//! The feature table's rows as they were computed before the pass in `pass.rs`: a polars
//! query that stacks every anchor's window, computes row-wise columns against the previous row
//! of the same (anchor, user) key, groups once, joins grouped brand queries and the labels, and
//! a separate walk for the visit history. Kept, in tests only, as the independent reference the
//! pass must equal on a generated log.

use polars::prelude::*;
use polars_plan::plans::AExprSorted;

use super::columns::anchor_dtype;
use super::columns::{ANCHOR, FEATURE_NAMES, HIST_AGE, HIST_TX, HIST_X, SPLIT};
use crate::engine::Result;
use crate::engine::data::EventLog;
use crate::engine::data::schema::{BRAND_RANK, IS_PURCHASE, PRICE, TS, UIDX, USER_ID};
use crate::engine::error::PolarsContext;
use crate::engine::label::dormancy::{LABEL, Y};
use crate::engine::label::{AnchorPlan, Window};
use crate::engine::time::US_PER_DAY;

/// (anchor index << 32) | user index: one integer key per (anchor, user).
const KEY_SHIFT: i64 = 1 << 32;
const KEY: &str = "__key";
/// Packing (key, brand rank) into an i64: fewer than 2^20 distinct brands.
const BRAND_SHIFT: i64 = 1 << 20;
const HOME_BRAND: &str = "home_brand";
const FUTURE_BRAND: &str = "future_brand";
const N_FUTURE: &str = "n_future";

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

/// The table's rows, computed by the polars query.
pub fn rows(log: &EventLog, plan: &AnchorPlan) -> Result<DataFrame> {
    let w = &plan.window;
    let lf = log.df.clone().lazy();
    let key = || [col(KEY)];
    let left = || JoinArgs::new(JoinType::Left);

    let [first, second] = row_columns(w);
    let past = windows(&lf, plan, -w.lookback_us(), 0)?
        .with_columns(first)
        .with_columns(second);
    let aggs = past.clone().group_by(key()).agg(aggregations());
    let future = windows(&lf, plan, 0, w.horizon_us())?;
    let home = brand_mode(past.clone(), HOME_BRAND).select([
        col(KEY),
        col(HOME_BRAND),
        col(format!("{HOME_BRAND}_count")).alias(TOP_BRAND_COUNT),
    ]);
    let sequence = brand_sequence(past);
    let active = future.clone().group_by(key()).agg([len().alias(N_FUTURE)]);
    let future = brand_mode(future, FUTURE_BRAND).select([col(KEY), col(FUTURE_BRAND)]);

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
        .join(sequence, key(), key(), left())
        .join(home, key(), key(), left())
        .join(active, key(), key(), left())
        .join(future, key(), key(), left())
        .with_column(label_expr().alias(LABEL))
        .with_columns(feature_exprs(w))
        .select(out)
        .sort([ANCHOR, USER_ID], SortMultipleOptions::default());
    let mut df = q.collect().ctx(|| "computing features".into())?;
    let hist = history_columns(log, &df)?;
    df.hstack_mut(&hist).ctx(|| "visit history".into())?;
    Ok(df)
}

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

/// The anchor time (µs) of a windowed row.
const T: &str = "__t";
const N: &str = "__n";
const DAYS: &str = "__active_days";
const NP: &str = "__n_purchase";
const LAST: &str = "__last";
const LAST_P: &str = "__last_purchase";
const BRANDED: &str = "__n_branded";
const SWITCH: &str = "__switches";
const SPEND: &str = "__spend";
const HALF: &str = "__n_half";
const PSTD: &str = "__price_std";
const PMIN: &str = "__price_min";
const PMAX: &str = "__price_max";
const N7: &str = "__n_7d";
const GAP_STD: &str = "__gap_std";
const DAY: &str = "__day";
const SAME: &str = "__same_key";
const FIRST_DAY: &str = "__first_of_day";
const GAP: &str = "__gap";
const P_TS: &str = "__p_ts";
const P_PRICE: &str = "__p_price";
const IN_HALF: &str = "__in_half";
const IN_7: &str = "__in_7d";
/// Count of the user's most frequent non-null brand, joined in from the brand mode.
const TOP_BRAND_COUNT: &str = "home_brand_count";

/// True where the row has the same (anchor, user) as the row before it.
fn same_key_as_previous() -> Expr {
    col(KEY).eq(col(KEY).shift(lit(1))).fill_null(lit(false))
}

/// Row-wise inputs of the aggregations. Rows must be in (anchor, user, time, brand) order.
fn row_columns(w: &Window) -> [Vec<Expr>; 2] {
    let day = col(TS).floor_div(lit(US_PER_DAY));
    let first = [
        day.alias(DAY),
        same_key_as_previous().alias(SAME),
        when(col(IS_PURCHASE))
            .then(col(TS))
            .otherwise(lit(NULL).cast(DataType::Int64))
            .alias(P_TS),
        when(col(IS_PURCHASE))
            .then(col(PRICE))
            .otherwise(lit(0.0))
            .alias(P_PRICE),
        col(TS)
            .gt_eq(col(T) - lit(w.half_lookback_us()))
            .alias(IN_HALF),
        col(TS).gt_eq(col(T) - lit(7 * US_PER_DAY)).alias(IN_7),
    ];
    // Times ascend within a key, so a new distinct date is one that differs from the row before.
    let new_day = col(SAME).not().or(col(DAY).neq(col(DAY).shift(lit(1))));
    let second = [
        new_day.clone().alias(FIRST_DAY),
        when(col(SAME).and(new_day))
            .then((col(DAY) - col(DAY).shift(lit(1))).cast(DataType::Float64))
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias(GAP),
    ];
    [first.to_vec(), second.to_vec()]
}

/// Per-key aggregations: plain sums, maxima and standard deviations of the row columns.
fn aggregations() -> Vec<Expr> {
    vec![
        col(USER_ID).first(),
        col(T).first(),
        len().cast(DataType::Float64).alias(N),
        col(FIRST_DAY).sum().cast(DataType::Float64).alias(DAYS),
        col(IS_PURCHASE).sum().cast(DataType::Float64).alias(NP),
        col(TS).max().alias(LAST),
        col(P_TS).max().alias(LAST_P),
        col(P_PRICE).sum().alias(SPEND),
        col(IN_HALF).sum().cast(DataType::Float64).alias(HALF),
        col(PRICE).std(0).alias(PSTD),
        col(PRICE).min().alias(PMIN),
        col(PRICE).max().alias(PMAX),
        col(IN_7).sum().cast(DataType::Float64).alias(N7),
        // Nulls (the first date of each key, and repeated dates) are skipped.
        col(GAP).std(0).alias(GAP_STD),
    ]
}

fn days_before(ts: Expr) -> Expr {
    // µs / (86400·10⁶) is the same correctly rounded double as seconds / 86400.
    (col(T) - ts).cast(DataType::Float64) / lit(US_PER_DAY as f64)
}

/// The 14 features from the aggregations (plus `__n_branded`, `__switches` and
/// `home_brand_count`), in SPEC order.
fn feature_exprs(w: &Window) -> Vec<Expr> {
    let n = col(N);
    let n_first_half = n.clone() - col(HALF);
    vec![
        col(N).alias(FEATURE_NAMES[0]),
        col(DAYS).alias(FEATURE_NAMES[1]),
        col(NP).alias(FEATURE_NAMES[2]),
        (col(NP) / n.clone()).alias(FEATURE_NAMES[3]),
        days_before(col(LAST)).alias(FEATURE_NAMES[4]),
        when(col(LAST_P).is_null())
            .then(lit(w.lookback_days as f64))
            .otherwise(days_before(col(LAST_P)))
            .alias(FEATURE_NAMES[5]),
        when(col(BRANDED).fill_null(lit(0.0)).gt(lit(0.0)))
            .then(col(TOP_BRAND_COUNT).cast(DataType::Float64) / col(BRANDED))
            .otherwise(lit(0.0))
            .alias(FEATURE_NAMES[6]),
        col(SWITCH).fill_null(lit(0.0)).alias(FEATURE_NAMES[7]),
        col(SPEND).alias(FEATURE_NAMES[8]),
        (col(HALF) / n.clone()).alias(FEATURE_NAMES[9]),
        // Equal prices have no spread: exactly 0, not the last-bit residue polars' std leaves
        // (SQL engines' Welford updates give exactly 0 there too).
        when(n.clone().lt(lit(2.0)).or(col(PMIN).eq(col(PMAX))))
            .then(lit(0.0))
            .otherwise(col(PSTD).fill_null(lit(0.0)))
            .alias(FEATURE_NAMES[10]),
        col(N7).alias(FEATURE_NAMES[11]),
        when(col(DAYS).lt(lit(3.0)))
            .then(lit(0.0))
            .otherwise(lit(1.0) / (lit(1.0) + col(GAP_STD)))
            .alias(FEATURE_NAMES[12]),
        ((col(HALF) - n_first_half) / n).alias(FEATURE_NAMES[13]),
    ]
}

/// m2 when the user has no event in the horizon; m1 when active and both brands are defined and
/// differ; else m0. Needs `n_future`, `home_brand`, `future_brand`.
fn label_expr() -> Expr {
    when(col(N_FUTURE).is_null())
        .then(lit("m2"))
        .when(
            col(HOME_BRAND)
                .is_not_null()
                .and(col(FUTURE_BRAND).is_not_null())
                .and(col(HOME_BRAND).neq(col(FUTURE_BRAND))),
        )
        .then(lit("m1"))
        .otherwise(lit("m0"))
}

/// (x, t_x, T) for every row of `df` (which holds `user_id` and `anchor`).
///
/// One pass over the log, which is sorted by user then time and carries a dense user index
/// (assigned in user_id order): per user, the slice of its distinct visit days.
fn history_columns(log: &EventLog, df: &DataFrame) -> Result<[Column; 3]> {
    let col_i64 = |name: &str| -> Result<Vec<i64>> {
        let c = log
            .df
            .column(name)
            .and_then(|c| c.i64())
            .ctx(|| name.into())?;
        Ok(match c.rechunk().cont_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => c.iter().map(|v| v.unwrap_or(0)).collect(),
        })
    };
    let users = col_i64(USER_ID)?;
    let ts = col_i64(TS)?;
    let uidx_col = log
        .df
        .column(UIDX)
        .and_then(|c| c.u32())
        .ctx(|| UIDX.into())?;
    let uidx: Vec<u32> = uidx_col.iter().map(|v| v.unwrap_or(0)).collect();
    let n_users = uidx.last().map_or(0, |&u| u as usize + 1);
    // Distinct visit days with the first event time on each; `ranges[u]` slices a user's days.
    let mut days: Vec<(i64, i64)> = Vec::with_capacity(ts.len() / 2);
    let mut ranges: Vec<(usize, usize)> = vec![(0, 0); n_users];
    let mut user_ids: Vec<i64> = vec![0; n_users];
    let mut prev: Option<(u32, i64)> = None;
    for i in 0..ts.len() {
        let (u, t) = (uidx[i], ts[i]);
        let day = t.div_euclid(US_PER_DAY);
        if prev != Some((u, day)) {
            if prev.map(|p| p.0) != Some(u) {
                ranges[u as usize].0 = days.len();
                user_ids[u as usize] = users[i];
            }
            days.push((day, t));
            ranges[u as usize].1 = days.len();
            prev = Some((u, day));
        }
    }
    let row_users = df
        .column(USER_ID)
        .and_then(|c| c.i64())
        .ctx(|| "user_id".into())?;
    let anchors = df
        .column(ANCHOR)
        .ctx(|| "anchor".into())?
        .cast(&DataType::Int64)
        .ctx(|| "anchor".into())?;
    let anchors = anchors.i64().ctx(|| "anchor".into())?;
    let n = df.height();
    let (mut x, mut tx, mut age) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (u, t) in row_users.iter().zip(anchors.iter()) {
        let hist = match (u, t) {
            (Some(u), Some(t)) => user_ids
                .binary_search(&u)
                .ok()
                .map(|i| (&days[ranges[i].0..ranges[i].1], t)),
            _ => None,
        };
        let (vx, vtx, vage) = match hist {
            Some((d, t)) => {
                let k = d.partition_point(|&(_, first_ts)| first_ts < t);
                if k == 0 {
                    (0.0, 0.0, 0.0)
                } else {
                    let first = d[0].0;
                    (
                        (k - 1) as f64,
                        (d[k - 1].0 - first) as f64,
                        (t - first * US_PER_DAY) as f64 / US_PER_DAY as f64,
                    )
                }
            }
            None => (0.0, 0.0, 0.0),
        };
        x.push(vx);
        tx.push(vtx);
        age.push(vage);
    }
    Ok([
        Column::new(HIST_X.into(), x),
        Column::new(HIST_TX.into(), tx),
        Column::new(HIST_AGE.into(), age),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data::synth::{GenConfig, generate, write_file};
    use crate::engine::data::{Scope, load, resolve};
    use crate::engine::label::Split;
    use crate::engine::time::parse_anchor;

    /// On a generated log (thousands of users; ties, null brands and repeated days included)
    /// at five anchors, one of them out of order, the pass's rows are the query's: the same
    /// keys, labels and splits, counts to the bit, and every other figure to 1e-12.
    #[test]
    fn the_pass_equals_the_polars_query() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.parquet");
        let cfg = GenConfig {
            users: 6_000,
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
        for (lookback, order) in [
            (
                30,
                [
                    "2019-11-01",
                    "2019-12-01",
                    "2020-01-01",
                    "2020-02-01",
                    "2020-03-01",
                ],
            ),
            // An odd lookback (a half of 15.5 days) and anchors out of order.
            (
                31,
                [
                    "2020-01-01",
                    "2019-11-15",
                    "2020-03-01",
                    "2019-12-10",
                    "2020-02-01",
                ],
            ),
        ] {
            let plan = AnchorPlan {
                anchors: order.iter().map(|m| (month(m), Split::Train)).collect(),
                purged: vec![],
                window: Window {
                    lookback_days: lookback,
                    horizon_days: 30,
                },
            };
            let want = rows(&log, &plan).unwrap();
            let got = super::super::pass::rows(&log, &plan).unwrap();
            assert!(want.height() > 4000, "a real test: {} rows", want.height());
            assert_eq!(got.schema(), want.schema());
            assert_eq!(got.height(), want.height());
            for name in [USER_ID, ANCHOR, SPLIT, LABEL, Y] {
                assert_eq!(
                    got.column(name).unwrap(),
                    want.column(name).unwrap(),
                    "{name}"
                );
            }
            let labels = want.column(LABEL).unwrap().str().unwrap().clone();
            for l in ["m0", "m1", "m2"] {
                assert!(labels.equal(l).any(), "some row is {l}");
            }
            for name in FEATURE_NAMES.iter().chain(&[HIST_X, HIST_TX, HIST_AGE]) {
                let g = got.column(name).unwrap().f64().unwrap().clone();
                let w = want.column(name).unwrap().f64().unwrap().clone();
                assert_eq!(g.null_count(), 0, "{name}");
                assert_eq!(w.null_count(), 0, "{name}");
                for (i, (a, b)) in g.into_no_null_iter().zip(w.into_no_null_iter()).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                        "{name} row {i}: pass {a}, query {b}"
                    );
                }
            }
        }
    }
}
