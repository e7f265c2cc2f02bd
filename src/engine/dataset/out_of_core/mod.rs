//! The out-of-core path: the feature table of a log larger than memory, in a memory budget.
//!
//! A first streaming pass over `user_id` cuts the ids into B ranges holding about as many
//! users each. A second reads every file, checks every row, applies the scope and spills each
//! user's events into the bucket file of its range, in a locked temp directory; the data's time
//! range comes out of it, so every bucket is labelled at the same anchors. Consecutive buckets,
//! packed into units that fit the budget, then go through the very in-memory pipeline (exact
//! de-duplication, labels, features, visit history). Units hold ascending user ranges, so the
//! table is each anchor's rows of unit 1, unit 2, …: `write_features` streams it to the output
//! that way without holding it. Exact duplicates share a user, so they meet in one bucket, and
//! every feature is per user: the table is the in-memory path's, row for row.//!
//! `budget` decides (in memory or out of core), `spill` buckets the log, `units` makes the
//! table from the buckets, `rows` encodes the bucket files.

pub mod budget;
pub mod rows;
pub mod spill;
pub mod units;

pub use budget::{Exec, Mode, out_of_core, parse_size};
pub use spill::PassProgress;
pub use units::{build, build_sampled, build_within, build_within_mapped, write_features};
