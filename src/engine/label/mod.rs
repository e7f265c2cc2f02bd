//! Anchors, population, labels and splits (SPEC §2).

pub mod anchors;
pub mod dormancy;
pub mod splits;

pub use anchors::{AnchorChoice, Window};
pub use splits::{AnchorPlan, Split};
