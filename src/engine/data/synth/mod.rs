//! A synthetic REES46-schema event log with the structure of the real dump: heavy-tailed
//! activity, multi-event sessions, view ≫ cart ≫ purchase, brand loyalty with switching, prices
//! per brand, null brands and codes, other categories and brands, duplicate cart rows and the
//! December-2019 category re-key. Dormancy follows a fading, then stopping, visit rate, so it is
//! predictable from past behaviour but noisy. Same seed, same bytes.
//!
//! `behaviour` holds what is asked and the model's rates, `catalog` the products, `users` each
//! user's events, `write` the rows and files, `chunks` the bounded-memory driver and `merge` its
//! sorted runs.

pub mod behaviour;
pub mod campaign;
pub mod catalog;
pub mod chunks;
pub mod merge;
pub mod users;
pub mod write;

pub use behaviour::{Behaviour, GenConfig};
pub use campaign::{CampaignSim, Effect, TruthRow};
pub use chunks::{
    CHUNK_USERS, GEN_TMP_PREFIX, GenProgress, GenReport, generate_campaign_to, generate_to,
    generate_to_with,
};
pub use users::generate;
pub use write::{Event, to_frame, write_csv, write_file};
