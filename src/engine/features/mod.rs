//! The 14 features of SPEC §3 as polars expressions, and the feature table of SPEC §6.
//!
//! Rows of every anchor's lookback window are stacked, keyed by (anchor index, user) and kept in
//! the event log's order (user, time, brand). Sequence features (active days, gaps, brand
//! switches) are computed row-wise against the previous row of the same key, so the one
//! `group_by` needs only plain sums, maxima and standard deviations.

pub mod brands;
pub mod columns;
pub mod exprs;
pub mod history;
pub mod import;
pub mod matrix;
pub mod row_sample;
pub mod sql;
pub mod table;
pub mod write;

pub use columns::FEATURE_NAMES;
pub use table::{FeatureTable, build};
