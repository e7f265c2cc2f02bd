//! Reading REES46-schema event logs: locating files, checking them, scoping and de-duplicating,
//! and a synthetic generator for the same schema.

pub mod activity;
pub mod batches;
pub mod diagnose;
pub mod log;
pub mod sample_log;
pub mod scan;
pub mod schema;
pub mod scope;
pub mod source;
pub mod synth;
pub mod text_file;

pub use log::{EventLog, LogSummary, Within, load, load_within};
pub use scope::Scope;
pub use source::{Format, InputFile, resolve};
