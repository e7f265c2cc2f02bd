//! Campaigns (SPEC §7): a target list split into treatment and a randomised control group,
//! stored where a CRM can read it, and read out a horizon later: what did the offer prevent?

pub mod assign;
pub mod create;
pub mod db;
pub mod import;
pub mod interval;
pub mod readout;
pub mod record;
pub mod status;
pub mod uplifts;

pub use record::{Campaign, campaigns, find, find_id};
pub use status::{Status, Summary, summaries};
