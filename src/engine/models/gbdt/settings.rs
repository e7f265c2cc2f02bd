//! The booster's settings: LightGBM's shape (31 leaves, 255 bins, 20 rows a leaf), the learning
//! rate and the early-stopping rule. Saved with each model, so a run scores as it was trained.

/// The booster's shape and stopping rule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub eta: f64,
    pub max_leaves: usize,
    /// At most this many bins per feature (and at most 256).
    pub max_bin: usize,
    /// Fewest train rows in a leaf (LightGBM's `min_data_in_leaf`).
    pub min_leaf_rows: u32,
    /// Least hessian sum in a leaf (`min_sum_hessian_in_leaf`).
    pub min_leaf_hessian: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Upper bound on rounds; early stopping usually ends far sooner.
    pub max_rounds: usize,
    /// Rounds without a lower val log-loss before stopping.
    pub patience: usize,
    /// Early stopping looks at most at this many val rows (a seeded sample).
    pub stop_rows: usize,
    /// Bin edges come from at most this many train rows (a seeded sample).
    pub bin_rows: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            eta: 0.2,
            max_leaves: 31,
            max_bin: 255,
            min_leaf_rows: 20,
            min_leaf_hessian: 1e-3,
            lambda: 1.0,
            max_rounds: 1000,
            patience: 10,
            stop_rows: 50_000,
            bin_rows: 200_000,
        }
    }
}

/// Below this many train rows the booster takes `Settings::small`.
pub const SMALL_TABLE_ROWS: usize = 50_000;

impl Settings {
    /// A small table's settings: rate 0.05, 15 leaves, 50 rounds of patience. With a few
    /// thousand rows the default rate stops after a dozen noisy rounds of deep trees; smaller
    /// steps and trees, given longer to improve, matched LightGBM's val PR-AUC there (README,
    /// "The booster on small tables"). A large table keeps the defaults, which its figures are
    /// measured with.
    pub fn small() -> Settings {
        Settings {
            eta: 0.05,
            max_leaves: 15,
            patience: 50,
            ..Settings::default()
        }
    }

    /// The settings for a table of `train_rows` rows.
    pub fn for_rows(train_rows: usize) -> Settings {
        if train_rows < SMALL_TABLE_ROWS {
            Settings::small()
        } else {
            Settings::default()
        }
    }
}
