//! The own gradient-boosted trees (`gbdt`): `booster` fits and predicts, `grow` grows one tree
//! from gradient histograms, `trees` holds the fitted regression trees, `shap` their exact
//! TreeSHAP contributions, `settings` the shape and stopping rule.

pub mod booster;
pub mod grow;
pub mod settings;
pub mod shap;
pub mod trees;

pub use booster::Gbdt;
pub use settings::Settings;
