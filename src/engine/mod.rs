//! The engine: the library the CLI and the TUI are faces over. It knows nothing of terminals,
//! parses no flags and prints nothing.
//!
//! The pipeline, each folder using only the ones before it (no import cycle between files):
//!
//! ```text
//! data → label → features → dataset → eval → models → run → targeting → campaign → uplift
//! ```
//!
//! - `data`: input files, scans, checks, scope, de-duplication; `synth` generates logs.
//! - `label`: anchors, splits with purge, dormancy labels.
//! - `features`: the 14 features, the table, its writers and readers, the SQL twin.
//! - `dataset`: files to feature table, in memory or out of core; its statistics.
//! - `eval`: Top-K metrics, curves, bootstrap intervals, the choice rule.
//! - `models`: the trait, the registry, the families.
//! - `run`: a training run and its folder (config, train, files, format, save, open, score).
//! - `targeting`: tiers, reasons, the ranked list, hand edits, exports, the report, money.
//! - `campaign`: holdout assignment, the store (SQLite, MySQL), the read-out.
//! - `uplift`: whom an offer keeps: the Qini and uplift metrics.
//!
//! Shared by all: `error`, `time`, `text`, and `io` (every byte written).

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
pub mod uplift;

pub use error::{Error, Result};

/// The `tracing` target of profile lines (phase times, peak memory): off unless asked for.
pub const PROFILE: &str = "churn_profile";

/// Are profile lines wanted? (Their figures are only worked out then.)
pub fn profiling() -> bool {
    tracing::enabled!(target: PROFILE, tracing::Level::INFO)
}
