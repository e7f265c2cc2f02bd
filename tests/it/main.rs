//! The integration tests, as one test binary. Each file here used to be its own binary, and each
//! linked polars and candle again (about 320 MB apiece in a debug build): thirteen of them filled
//! a CI machine's disk until the linker died with a bus error. One binary links once.

mod common;

mod campaign;
mod cli;
mod features_fixture;
mod features_import;
mod formats;
mod hardening;
mod injection;
mod leakage_prop;
mod metrics;
mod outofcore;
mod scope_dedup;
mod sql;
mod targeting;
mod train;
mod tui;
