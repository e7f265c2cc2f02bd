//! What a target list ranks by (SPEC §7a.3): the model's risk, or the uplift an uplift folder
//! predicts for the same users — whom the offer is expected to keep, not who is likeliest to go.

use std::path::Path;
use std::sync::Arc;

use super::order::TargetOrder;
use crate::engine::Result;
use crate::engine::run::open::LoadedRun;
use crate::engine::uplift::UpliftModel;

/// An uplift model with its predictions for a run's test rows.
#[derive(Debug)]
pub struct UpliftRank {
    pub model: UpliftModel,
    /// Predicted uplift by test row.
    pub scores: Vec<f64>,
    /// Test rows with an uplift above zero: the most a list ranked by uplift takes.
    pub positive: usize,
}

impl UpliftRank {
    /// The uplift of `run`'s test users (the population its lists rank) by `model`.
    pub fn of(run: &LoadedRun, model: UpliftModel) -> Result<UpliftRank> {
        let scores = model.predict(&run.test)?;
        let positive = scores.iter().filter(|&&u| u > 0.0).count();
        Ok(UpliftRank {
            model,
            scores,
            positive,
        })
    }

    /// Load the folder at `dir` and score `run`'s test users.
    pub fn load(run: &LoadedRun, dir: &Path) -> Result<UpliftRank> {
        UpliftRank::of(run, UpliftModel::load(dir)?)
    }
}

/// The ranking a list is taken in.
#[derive(Debug, Clone, Default)]
pub enum Ranking {
    /// By the model's risk score (SPEC §5).
    #[default]
    Risk,
    /// By predicted uplift; users with none above zero are not targeted.
    Uplift(Arc<UpliftRank>),
}

impl Ranking {
    /// `model`'s targeting order on `run` under this ranking.
    pub fn order(&self, run: &LoadedRun, model: &str) -> Result<TargetOrder> {
        match self {
            Ranking::Risk => TargetOrder::of(run, model),
            Ranking::Uplift(u) => TargetOrder::by_uplift(run, model, &u.scores),
        }
    }

    /// `risk` or `uplift`, as the flag says it.
    pub fn name(&self) -> &'static str {
        match self {
            Ranking::Risk => "risk",
            Ranking::Uplift(_) => "uplift",
        }
    }

    pub fn uplift(&self) -> Option<&UpliftRank> {
        match self {
            Ranking::Risk => None,
            Ranking::Uplift(u) => Some(u),
        }
    }

    /// "ranked by gbdt's risk" or "ranked by uplift (x_learner of campaign 3 `spring`; 41,207
    /// of 60,112 users with uplift above zero)".
    pub fn describe(&self, model: &str) -> String {
        use crate::engine::text::{printable, thousands};
        match self {
            Ranking::Risk => format!("ranked by {}'s risk", printable(model)),
            Ranking::Uplift(u) => format!(
                "ranked by uplift ({}; {} of {} users with uplift above zero)",
                u.model.label(),
                thousands(u.positive as u64),
                thousands(u.scores.len() as u64)
            ),
        }
    }
}
