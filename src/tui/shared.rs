//! What a tab reads of the app's global state when it draws, lent by `App::shared`. Tabs draw
//! from this and their own state, so they need not import the app that holds them.

use crate::engine::run::open::{LoadedRun, ModelView};
use crate::engine::targeting::TierRule;
use crate::engine::targeting::list::Cut;
use crate::engine::targeting::phrases::Phrases;

use super::theme::Theme;

pub struct Shared<'a> {
    pub theme: &'a Theme,
    pub run: Option<&'a LoadedRun>,
    /// The data summary and feature statistics: the training run's as soon as it has them,
    /// else the shown run's (the Labels and Features tabs draw from these alone).
    pub stats: Option<&'a crate::engine::dataset::stats::RunStats>,
    /// A training run is going: placeholders say a run is on its way.
    pub training: bool,
    pub tiers: &'a TierRule,
    pub phrases: &'a Phrases,
    /// The model the Targets list ranks by, and its K: the Curves and the Leaderboard mark them.
    pub target: Option<&'a ModelView>,
    pub k: Cut,
}

impl Shared<'_> {
    /// Rows in the current Top-K of the targeting model.
    pub fn k_rows(&self) -> usize {
        self.target.map_or(0, |m| self.k.k_of(m.n()))
    }

    /// The current K as the charts' titles say it: `5%`, or a budget's `7.72%`.
    pub fn k_label(&self) -> String {
        match self.k {
            Cut::Share(k) => format!("{k}%"),
            Cut::Users(_) => format!("{:.2}%", self.k_pct()),
        }
    }

    /// The current K in percent of the targeting model's ranking.
    pub fn k_pct(&self) -> f64 {
        match self.k {
            Cut::Share(k) => k.as_f64(),
            Cut::Users(u) => self
                .target
                .filter(|m| m.n() > 0)
                .map_or(0.0, |m| 100.0 * u as f64 / m.n() as f64),
        }
    }
}
