//! The 14 features of SPEC §3 and the feature table of SPEC §6.
//!
//! The rows are computed by one pass over the event log (`pass`), which is sorted by user and
//! time: each user's window at an anchor is a slice, and every feature a walk over it.

pub mod columns;
pub mod import;
pub mod matrix;
pub mod pass;
#[cfg(test)]
mod reference;
pub mod row_sample;
pub mod sql;
pub mod table;
pub mod write;

pub use columns::FEATURE_NAMES;
pub use table::{FeatureTable, build};
