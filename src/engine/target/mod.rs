//! Targeting: tiers by rank and risk reasons for ranked users.

pub mod list;
pub mod reasons;
pub mod tiers;

pub use reasons::{Reason, reasons_for};
pub use tiers::{Tier, TierRule};
