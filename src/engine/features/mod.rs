//! The 14 features of SPEC §3 as polars expressions, and the feature table of SPEC §6.

pub mod table;
pub mod write;

use polars::prelude::*;
use polars::series::ops::NullBehavior;

use crate::engine::data::schema::{BRAND, IS_PURCHASE, PRICE, TS};
use crate::engine::label::Window;
use crate::engine::time::US_PER_DAY;

pub use table::{FeatureTable, build};

/// Feature names in SPEC order; the order of every matrix the models see.
pub const FEATURE_NAMES: [&str; 14] = [
    "n_events_30d",
    "active_days_30d",
    "n_purchase_30d",
    "purchase_ratio",
    "days_since_last_event",
    "days_since_last_purchase",
    "brand_concentration_ratio",
    "brand_switch_count_30d",
    "total_spend_30d",
    "activity_ratio_15d",
    "price_volatility",
    "n_events_7d",
    "visit_regularity",
    "activity_trend",
];

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
const N7: &str = "__n_7d";
const GAP_STD: &str = "__gap_std";
/// Count of the user's most frequent non-null brand, joined in from the brand mode.
pub const TOP_BRAND_COUNT: &str = "home_brand_count";

fn day() -> Expr {
    col(TS).floor_div(lit(US_PER_DAY))
}

/// Per-user aggregations over the events in `[t − W, t)`, which must be sorted by time then
/// brand within each user (the event log's order).
pub fn aggregations(t: i64, w: &Window) -> Vec<Expr> {
    let branded = col(BRAND).drop_nulls();
    vec![
        len().cast(DataType::Float64).alias(N),
        day().n_unique().cast(DataType::Float64).alias(DAYS),
        col(IS_PURCHASE).sum().cast(DataType::Float64).alias(NP),
        col(TS).max().alias(LAST),
        col(TS).filter(col(IS_PURCHASE)).max().alias(LAST_P),
        col(BRAND).count().cast(DataType::Float64).alias(BRANDED),
        branded
            .clone()
            .neq(branded.shift(lit(1)))
            .sum()
            .cast(DataType::Float64)
            .alias(SWITCH),
        col(PRICE).filter(col(IS_PURCHASE)).sum().alias(SPEND),
        col(TS)
            .gt_eq(lit(t - w.half_lookback_us()))
            .sum()
            .cast(DataType::Float64)
            .alias(HALF),
        col(PRICE).std(0).alias(PSTD),
        col(TS)
            .gt_eq(lit(t - 7 * US_PER_DAY))
            .sum()
            .cast(DataType::Float64)
            .alias(N7),
        day()
            .unique()
            .sort(SortOptions::default())
            .diff(lit(1), NullBehavior::Ignore)
            .cast(DataType::Float64)
            .std(0)
            .alias(GAP_STD),
    ]
}

fn days_before(t: i64, ts: Expr) -> Expr {
    // µs / (86400·10⁶) is the same correctly rounded double as seconds / 86400.
    (lit(t) - ts).cast(DataType::Float64) / lit((US_PER_DAY) as f64)
}

/// The 14 features from the aggregations (and `home_brand_count`), in SPEC order.
pub fn feature_exprs(t: i64, w: &Window) -> Vec<Expr> {
    let n = col(N);
    let n_first_half = n.clone() - col(HALF);
    vec![
        col(N).alias(FEATURE_NAMES[0]),
        col(DAYS).alias(FEATURE_NAMES[1]),
        col(NP).alias(FEATURE_NAMES[2]),
        (col(NP) / n.clone()).alias(FEATURE_NAMES[3]),
        days_before(t, col(LAST)).alias(FEATURE_NAMES[4]),
        when(col(LAST_P).is_null())
            .then(lit(w.lookback_days as f64))
            .otherwise(days_before(t, col(LAST_P)))
            .alias(FEATURE_NAMES[5]),
        when(col(BRANDED).gt(lit(0.0)))
            .then(col(TOP_BRAND_COUNT).cast(DataType::Float64) / col(BRANDED))
            .otherwise(lit(0.0))
            .alias(FEATURE_NAMES[6]),
        col(SWITCH).fill_null(lit(0.0)).alias(FEATURE_NAMES[7]),
        col(SPEND).fill_null(lit(0.0)).alias(FEATURE_NAMES[8]),
        (col(HALF) / n.clone()).alias(FEATURE_NAMES[9]),
        when(n.clone().lt(lit(2.0)))
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
