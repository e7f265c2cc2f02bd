//! churn-tui: predict which e-commerce customers go dormant, and whom to target.
//!
//! `engine` is the library (no terminal code); `cli` is the command-line face over it.

pub mod cli;
pub mod engine;
pub mod logging;
pub mod tui;
