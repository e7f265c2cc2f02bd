//! What each network is: the four kinds, the feature crosses of `wide_deep`, the saved weights,
//! the widths a saved model may claim, and the training constants (epochs, batch, rates).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// Two hidden layers (64, 32), ReLU, no regularisation.
    Base,
    /// Two hidden layers (128, 64), BatchNorm, ReLU, Dropout.
    Enhance,
    /// Two residual blocks with BatchNorm, width `ADVANCED_WIDTH` (256 in runs saved before
    /// it was narrowed).
    Advanced,
    /// Wide & Deep: a linear part on the features and their crosses, plus a (64, 32) MLP,
    /// trained jointly (their logits add up).
    WideDeep,
}

/// Feature pairs crossed in the wide part (SPEC order indices): recency × trend, volume ×
/// purchase ratio, active days × regularity, brand concentration × switches, days since
/// purchase × purchases.
pub const CROSSES: [(usize, usize); 5] = [(4, 13), (0, 3), (1, 12), (6, 7), (5, 2)];

pub(super) const EPOCHS: usize = 25;
/// Stop after this many epochs without a better val objective.
pub(super) const PATIENCE: usize = 5;
pub(super) const BATCH: usize = 1024;
/// Rows drawn (without replacement) per epoch, so an epoch costs the same on any log size.
pub(super) const EPOCH_ROWS: usize = 32_768;
/// Val rows the per-epoch early-stopping check scores (a fixed seeded sample).
pub(super) const CHECK_ROWS: usize = 20_000;
pub(super) const LR: f64 = 1e-3;
pub(super) const WEIGHT_DECAY: f64 = 1e-4;
pub(super) const DROPOUT: f64 = 0.2;

/// Parameters and BatchNorm running statistics, by name.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Weights {
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

/// `mlp_advanced`'s width. It was 256: four times the arithmetic of 128, the larger part of a
/// nine-model run, for no better ranking (4M-event bench log: test PR-AUC 0.9079 at 256,
/// 0.9116 at 128).
pub const ADVANCED_WIDTH: usize = 128;

/// The width of an `mlp_advanced` saved before its width was stored.
pub(super) fn width_before_stored() -> usize {
    256
}

/// The widest a saved model may claim (a damaged or hostile file must not size anything).
pub(super) const MAX_WIDTH: usize = 4096;
