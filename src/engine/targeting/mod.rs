//! Targeting: tiers by rank and risk reasons for ranked users.

pub mod edits;
pub mod export;
pub mod list;
pub mod money;
pub mod order;
pub mod phrases;
pub mod ranking;
pub mod reasons;
pub mod report;
pub mod tiers;

pub use reasons::{Reason, reasons_for};
pub use tiers::{Tier, TierRule};
