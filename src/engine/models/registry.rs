//! The model families by name: the leaderboard's order, a fresh model to fit, and a saved one
//! read back. The only file that knows every family.

use super::model::Model;
use super::{bgnbd, decision_tree, gbdt, logreg, mlp, rule};
use crate::engine::{Error, Result};

/// Model families by name, in leaderboard order.
pub const MODEL_NAMES: [&str; 9] = [
    "rule_recency",
    "bgnbd",
    "logreg",
    "tree",
    "gbdt",
    "mlp_base",
    "mlp_enhance",
    "mlp_advanced",
    "wide_deep",
];

pub fn make(name: &str) -> Result<Box<dyn Model>> {
    Ok(match name {
        "rule_recency" => Box::new(rule::RuleRecency::default()),
        "bgnbd" => Box::new(bgnbd::BgNbd::default()),
        "logreg" => Box::new(logreg::LogReg::default()),
        "tree" => Box::new(decision_tree::DecisionTree::default()),
        "gbdt" => Box::new(gbdt::booster::Gbdt::default()),
        "mlp_base" => Box::new(mlp::Mlp::new(mlp::Kind::Base)),
        "mlp_enhance" => Box::new(mlp::Mlp::new(mlp::Kind::Enhance)),
        "mlp_advanced" => Box::new(mlp::Mlp::new(mlp::Kind::Advanced)),
        "wide_deep" => Box::new(mlp::Mlp::new(mlp::Kind::WideDeep)),
        other => {
            return Err(Error::Config(format!("unknown model `{other}`"))
                .hint(format!("the models are {}", MODEL_NAMES.join(", "))));
        }
    })
}

/// A model saved by `Model::save`, ready to predict.
pub fn load(name: &str, saved: &serde_json::Value) -> Result<Box<dyn Model>> {
    fn de<M: Model + serde::de::DeserializeOwned + 'static>(
        name: &str,
        saved: &serde_json::Value,
    ) -> Result<Box<dyn Model>> {
        let m: M = serde_json::from_value(saved.clone())
            .map_err(|e| Error::Config(format!("saved model `{name}` is unreadable: {e}")))?;
        Ok(Box::new(m))
    }
    match name {
        "rule_recency" => de::<rule::RuleRecency>(name, saved),
        "bgnbd" => de::<bgnbd::BgNbd>(name, saved),
        "logreg" => de::<logreg::LogReg>(name, saved),
        "tree" => de::<decision_tree::DecisionTree>(name, saved),
        // Runs from before the own booster hold a perpetual model: say so, not "missing field".
        "gbdt" if saved.get("budget").is_some() && saved.get("trees").is_none() => {
            Err(Error::Config(
                "saved model `gbdt` was made by an earlier churn-tui (the perpetual booster), \
                 which this version no longer reads: train the run again"
                    .into(),
            ))
        }
        "gbdt" => de::<gbdt::booster::Gbdt>(name, saved),
        "mlp_base" | "mlp_enhance" | "mlp_advanced" | "wide_deep" => de::<mlp::Mlp>(name, saved),
        other => Err(Error::Config(format!("unknown model `{other}` in the run"))),
    }
}
