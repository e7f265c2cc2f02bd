//! What a training run is asked for: the data and features (`DatasetConfig`), the models, the
//! seed, the tuning trials, the K list and the row caps. Saved whole in the manifest, so a run
//! can be found again by the config that made it.

use crate::engine::dataset::DatasetConfig;
use crate::engine::eval::KPct;
use crate::engine::models::MODEL_NAMES;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub dataset: DatasetConfig,
    pub models: Vec<String>,
    pub seed: u64,
    /// Points on logreg's C path.
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// K list in basis points (5% = 500).
    pub ks_bp: Vec<u32>,
    /// At most this many train rows are learnt from (a seeded sample, see
    /// `features::row_sample`); 0: all.
    #[serde(default = "default_train_rows")]
    pub sample_train: usize,
    /// At most this many val rows fit, tune and choose the models; 0: all.
    #[serde(default = "default_val_rows")]
    pub sample_val: usize,
}

fn default_train_rows() -> usize {
    crate::engine::features::row_sample::DEFAULT_TRAIN_ROWS
}

fn default_val_rows() -> usize {
    crate::engine::features::row_sample::DEFAULT_VAL_ROWS
}

pub const DEFAULT_TRIALS: usize = 8;

fn default_trials() -> usize {
    DEFAULT_TRIALS
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            dataset: DatasetConfig::default(),
            models: MODEL_NAMES.iter().map(|s| s.to_string()).collect(),
            seed: 42,
            trials: DEFAULT_TRIALS,
            ks_bp: KPct::DEFAULTS.iter().map(|k| k.bp).collect(),
            sample_train: default_train_rows(),
            sample_val: default_val_rows(),
        }
    }
}

impl TrainConfig {
    pub fn ks(&self) -> crate::engine::Result<Vec<KPct>> {
        self.ks_bp.iter().map(|&bp| KPct::from_bp(bp)).collect()
    }
}
