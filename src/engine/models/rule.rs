//! `rule_recency`: the rule marketing uses today — the longer since the last visit, the riskier.

use super::model::{FitCtx, Model};
use crate::engine::Result;
use crate::engine::features::matrix::Data;

const DAYS_SINCE: usize = 4; // days_since_last_event in SPEC order

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RuleRecency {
    lookback: f64,
}

impl Model for RuleRecency {
    fn name(&self) -> &'static str {
        "rule_recency"
    }

    fn fit(&mut self, train: &Data, _val: &Data, _ctx: &FitCtx) -> Result<()> {
        // Scale into [0, 1] by the largest value seen in train (the lookback, in practice).
        self.lookback = train.cols[DAYS_SINCE]
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(1.0);
        Ok(())
    }

    fn predict(&self, x: &Data) -> Result<Vec<f64>> {
        Ok(x.cols[DAYS_SINCE]
            .iter()
            .map(|d| (d / self.lookback).clamp(0.0, 1.0))
            .collect())
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({"score": "days_since_last_event / max over train", "max": self.lookback})
    }

    fn save(&self) -> serde_json::Value {
        serde_json::json!({"lookback": self.lookback})
    }

    fn check(&self) -> Result<()> {
        if self.lookback.is_finite() && self.lookback > 0.0 {
            Ok(())
        } else {
            Err(super::model::damaged(
                self.name(),
                "lookback is not a positive number",
            ))
        }
    }
}
