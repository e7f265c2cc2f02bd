//! The feature table's own column names, in one place: the table, the history columns, the
//! writers and the models' readers all name columns from here.

/// The anchor time of a row (`YYYY-MM-DDTHH:MM:SSZ` in CSV, a UTC timestamp in Parquet).
pub const ANCHOR: &str = "anchor";
/// `train`, `val` or `test`.
pub const SPLIT: &str = "split";
/// BG/NBD's visit history per row (not part of SPEC §6's table; never written).
pub const HIST_X: &str = "__hist_x";
pub const HIST_TX: &str = "__hist_t_x";
pub const HIST_AGE: &str = "__hist_age";
