//! A run, from training to its folder and back: what it is asked (`config`), the training itself
//! (`train`), the folder's file names (`files`) and JSON types (`format`), writing it (`save`),
//! opening it for the workbench and the commands (`open`), and scoring a new anchor with it
//! (`score`).

pub mod config;
pub mod files;
pub mod format;
pub mod open;
pub mod save;
pub mod score;
pub mod train;

pub use config::{DEFAULT_TRIALS, TrainConfig};
pub use train::{
    ModelIntervals, ModelResult, Progress, RunReport, heartbeat, train, train_dataset,
};
