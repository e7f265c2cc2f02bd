//! m0/m1/m2 labels (SPEC §2) as a polars expression over the future window's event count and
//! the home and future brands (found per (anchor, user) key in `features::brands`).

use polars::prelude::*;

pub const LABEL: &str = "label";
pub const Y: &str = "y";
/// Rank of the home brand (see `BRAND_RANK`): equal ranks are equal brands.
pub const HOME_BRAND: &str = "home_brand";
pub const FUTURE_BRAND: &str = "future_brand";
pub const N_FUTURE: &str = "n_future";
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
