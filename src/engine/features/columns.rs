//! The feature table's own column names, in one place: the table, the history columns, the
//! writers and the models' readers all name columns from here, with the 14 feature names in
//! SPEC order and the keys that pack (anchor, user, brand) into one integer.

/// The anchor time of a row (`YYYY-MM-DDTHH:MM:SSZ` in CSV, a UTC timestamp in Parquet).
pub const ANCHOR: &str = "anchor";
/// `train`, `val` or `test`.
pub const SPLIT: &str = "split";
/// BG/NBD's visit history per row (not part of SPEC §6's table; never written).
pub const HIST_X: &str = "__hist_x";
pub const HIST_TX: &str = "__hist_t_x";
pub const HIST_AGE: &str = "__hist_age";

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

/// The anchor column's type: a UTC timestamp.
pub fn anchor_dtype() -> polars::prelude::DataType {
    use polars::prelude::{DataType, TimeUnit, TimeZone};
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}
