//! The 14 features of SPEC §3 as polars expressions: per-row columns computed against the
//! previous row of the same (anchor, user) key, then plain sums, maxima and standard deviations
//! in one `group_by`, then the features from those.

use polars::prelude::*;

use super::columns::{FEATURE_NAMES, KEY};
use crate::engine::data::schema::{IS_PURCHASE, PRICE, TS, USER_ID};
use crate::engine::label::Window;
use crate::engine::time::US_PER_DAY;

/// The anchor time (µs) of a windowed row.
pub const T: &str = "__t";
const N: &str = "__n";
const DAYS: &str = "__active_days";
const NP: &str = "__n_purchase";
const LAST: &str = "__last";
const LAST_P: &str = "__last_purchase";
pub const BRANDED: &str = "__n_branded";
pub const SWITCH: &str = "__switches";
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
pub const TOP_BRAND_COUNT: &str = "home_brand_count";

/// True where the row has the same (anchor, user) as the row before it.
pub fn same_key_as_previous() -> Expr {
    col(KEY).eq(col(KEY).shift(lit(1))).fill_null(lit(false))
}

/// Row-wise inputs of the aggregations. Rows must be in (anchor, user, time, brand) order.
pub fn row_columns(w: &Window) -> [Vec<Expr>; 2] {
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
pub fn aggregations() -> Vec<Expr> {
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
pub fn feature_exprs(w: &Window) -> Vec<Expr> {
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
