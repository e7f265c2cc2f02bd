//! Models: one trait, one file per family. Each model fits on `train`, may use `val` to choose
//! its hyperparameters, and predicts the probability of `m2` (dormant). `test` never reaches a
//! model's `fit`.

pub mod bgnbd;
pub mod decision_tree;
pub mod gbdt;
pub mod logreg;
pub mod mlp;
pub mod model;
pub mod registry;
pub mod rule;
pub mod scaler;

pub use model::{FitCtx, Model};
pub use registry::{MODEL_NAMES, load, make};
