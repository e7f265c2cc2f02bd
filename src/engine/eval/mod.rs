//! Evaluation (SPEC §4): deterministic ranking, Top-K metrics with exact integer k, average
//! precision, PR curves, the top-K confusion matrix and a decile gain/lift table.

pub mod bootstrap;
pub mod choice;
pub mod metrics;

pub use metrics::{
    AtK, Decile, KPct, SplitEval, at_k, average_precision, deciles, evaluate, pr_curve, rank,
};
