//! m0/m1/m2 labels at an anchor (SPEC §2), as polars expressions over the event log.

use polars::prelude::*;

use crate::engine::data::schema::{BRAND, TS, USER_ID};

pub const LABEL: &str = "label";
pub const Y: &str = "y";
pub const HOME_BRAND: &str = "home_brand";
pub const FUTURE_BRAND: &str = "future_brand";
pub const N_FUTURE: &str = "n_future";

/// Per user: the most frequent non-null brand in `events` (ties: the lexicographically smallest)
/// as `{name}`, its count as `{name}_count`.
pub fn brand_mode(events: LazyFrame, name: &str) -> LazyFrame {
    events
        .filter(col(BRAND).is_not_null())
        .group_by([col(USER_ID), col(BRAND)])
        .agg([len().alias("cnt")])
        .group_by([col(USER_ID)])
        .agg([
            col(BRAND)
                .sort_by(
                    [col("cnt"), col(BRAND)],
                    SortMultipleOptions::default().with_order_descending_multi([true, false]),
                )
                .first()
                .alias(name),
            col("cnt").max().alias(format!("{name}_count")),
        ])
}

/// Events in `[t, t + H)`, per user: how many, and the future brand.
pub fn future(log: LazyFrame, t: i64, horizon_us: i64) -> LazyFrame {
    let window = log.filter(col(TS).gt_eq(lit(t)).and(col(TS).lt(lit(t + horizon_us))));
    let counts = window
        .clone()
        .group_by([col(USER_ID)])
        .agg([len().alias(N_FUTURE)]);
    counts.join(
        brand_mode(window, FUTURE_BRAND).select([col(USER_ID), col(FUTURE_BRAND)]),
        [col(USER_ID)],
        [col(USER_ID)],
        JoinArgs::new(JoinType::Left),
    )
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
