//! m0/m1/m2 labels (SPEC §2) as polars expressions over windowed events keyed by
//! (anchor, user).

use polars::prelude::*;

use crate::engine::data::schema::BRAND_RANK;

pub const LABEL: &str = "label";
pub const Y: &str = "y";
/// Rank of the home brand (see `BRAND_RANK`): equal ranks are equal brands.
pub const HOME_BRAND: &str = "home_brand";
pub const FUTURE_BRAND: &str = "future_brand";
pub const N_FUTURE: &str = "n_future";
/// (anchor index << 32) | user index: one integer key per (anchor, user).
pub const KEY: &str = "__key";
pub const KEY_SHIFT: i64 = 1 << 32;
/// Packing (key, brand rank) into an i64 needs key < 2^43 (so at most 2^11 anchors) and fewer
/// than 2^20 distinct brands; `features::build` checks both.
pub const BRAND_SHIFT: i64 = 1 << 20;
pub const MAX_ANCHORS: usize = 1 << 11;

/// Per key: the most frequent non-null brand in `events` (ties: the lexicographically smallest,
/// i.e. the smallest rank) as `{name}`, and its count as `{name}_count`.
pub fn brand_mode(events: LazyFrame, name: &str) -> LazyFrame {
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

/// m2 when the user has no event in the horizon; m1 when active and both brands are defined and
/// differ; else m0. Needs `n_future`, `home_brand`, `future_brand`.
pub fn label_expr() -> Expr {
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
