//! The integration tests, as one test binary. Each file here used to be its own binary, and each
//! linked polars again (about 320 MB apiece in a debug build): thirteen of them filled
//! a CI machine's disk until the linker died with a bus error. One binary links once.
//!
//! One file per subject; `common/` holds the helpers the files share (the binary, the fixture
//! run and its copies, small logs, screens).

mod common;

mod campaign;
mod campaign_cli;
mod campaign_create;
mod campaign_readout;
mod cli;
mod features_fixture;
mod features_import;
mod flags;
mod formats;
mod injection;
mod input_edges;
mod killed_writers;
mod leakage_prop;
mod metrics;
mod money;
mod money_cli;
mod outofcore;
mod outputs;
mod run_folder;
mod scope_dedup;
mod sql;
mod targeting_edits;
mod targeting_exports;
mod targeting_lists;
mod train;
mod tui;
mod tui_keys;
mod tui_money;
mod tui_themes;
mod tui_training;
mod tui_uplift;
mod uplift_cli;
mod uplift_metrics;
