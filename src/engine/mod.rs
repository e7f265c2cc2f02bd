//! The engine: data ingest, labels, features. Knows nothing of terminals.

pub mod campaign;
pub mod data;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod features;
pub mod io;
pub mod label;
pub mod models;
pub mod run;
pub mod targeting;
pub mod text;
pub mod time;

pub use error::{Error, Result};

/// The `tracing` target of profile lines (phase times, peak memory): off unless asked for.
pub const PROFILE: &str = "churn_profile";

/// Are profile lines wanted? (Their figures are only worked out then.)
pub fn profiling() -> bool {
    tracing::enabled!(target: PROFILE, tracing::Level::INFO)
}
