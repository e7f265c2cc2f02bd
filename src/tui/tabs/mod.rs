//! One file per tab; each draws from `&App` into its area.

pub mod curves;
pub mod features;
pub mod help;
pub mod labels;
pub mod leaderboard;
pub mod targets;
