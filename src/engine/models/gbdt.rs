//! `gbdt`: gradient-boosted trees from perpetual (pure Rust), its fitting budget chosen on val.
//! Class weights are off so the output stays a calibrated churn probability.

use perpetual::booster::config::ContributionsMethod;
use perpetual::objective::Objective;
use perpetual::{Matrix, PerpetualBooster};

use super::tune::{Param, search};
use super::{Data, FitCtx, Model, N_FEATURES, eval_on};
use crate::engine::{Error, Result};

/// Range of perpetual's fitting budget searched on val (more budget, more and deeper trees).
pub const BUDGET: (f64, f64) = (0.2, 0.8);

/// perpetual's memory budget per fit, GB. Unset, it sizes its histogram arena from the machine's
/// free memory (10,000 nodes, about 1 GB, even on a few thousand rows); this caps the arena.
const MEMORY_GB: f32 = 0.35;

/// Tuning trials fit on at most this many train rows.
const TUNE_ROWS: usize = 100_000;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Gbdt {
    pub budget: f32,
    pub booster: Option<PerpetualBooster>,
}

fn column_major(x: &Data) -> Vec<f64> {
    x.cols.concat()
}

fn fit_budget(train: &Data, budget: f32, seed: u64) -> Result<PerpetualBooster> {
    let flat = column_major(train);
    let m = Matrix::new(&flat, train.n(), N_FEATURES);
    let y: Vec<f64> = train.y.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    let mut b = PerpetualBooster::default()
        .set_objective(Objective::LogLoss)
        .set_budget(budget)
        .set_seed(seed)
        // Both cores; tests/train.rs checks that a seed still gives byte-identical scores.
        .set_num_threads(Some(2))
        .set_memory_limit(Some(MEMORY_GB));
    b.cfg.auto_class_weights = false;
    b.fit(&m, &y, None, None)
        .map_err(|e| Error::Config(format!("gbdt: {e}")))?;
    Ok(b)
}

fn proba(b: &PerpetualBooster, x: &Data) -> Vec<f64> {
    let flat = column_major(x);
    let m = Matrix::new(&flat, x.n(), N_FEATURES);
    b.predict_proba(&m, false, false)
}

impl Model for Gbdt {
    fn name(&self) -> &'static str {
        "gbdt"
    }

    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        // A boosted fit costs ~50 logistic fits: half the trials of the other models, each on
        // a seeded sample of the train rows; the chosen budget is then refit on all of them.
        let ctx = FitCtx {
            trials: ctx.trials.div_ceil(2),
            ..*ctx
        };
        let ctx = &ctx;
        let tune_rows = train.sample(TUNE_ROWS, ctx.seed ^ 0x6bd7);
        let (chosen, _) = search(&[Param::Uniform(BUDGET.0, BUDGET.1)], ctx, 3, |v| {
            let budget = v[0] as f32;
            let b = fit_budget(&tune_rows, budget, ctx.seed)?;
            let e = eval_on(&proba(&b, val), val, ctx.ks);
            Ok((
                Gbdt {
                    budget,
                    booster: Some(b),
                },
                e,
            ))
        })?;
        let budget = chosen.budget;
        let booster = if tune_rows.n() == train.n() {
            chosen.booster
        } else {
            ctx.check_cancel()?;
            Some(fit_budget(train, budget, ctx.seed)?)
        };
        *self = Gbdt { budget, booster };
        Ok(())
    }

    fn predict(&self, x: &Data) -> Vec<f64> {
        match &self.booster {
            Some(b) => proba(b, x),
            None => vec![f64::NAN; x.n()],
        }
    }

    /// Exact tree-SHAP values of the log-odds (perpetual's Shapley contributions).
    fn contributions(&self, x: &Data) -> Option<Vec<[f64; N_FEATURES]>> {
        let b = self.booster.as_ref()?;
        let flat = column_major(x);
        let m = Matrix::new(&flat, x.n(), N_FEATURES);
        let c = b.predict_contributions(&m, ContributionsMethod::Shapley, false);
        // One row of N_FEATURES values plus the bias per input row.
        if c.len() != x.n() * (N_FEATURES + 1) {
            return None;
        }
        Some(
            c.chunks(N_FEATURES + 1)
                .map(|r| std::array::from_fn(|j| r[j]))
                .collect(),
        )
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({"budget": self.budget, "objective": "LogLoss", "auto_class_weights": false})
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// perpetual indexes the input by each node's feature and follows child numbers without
    /// checks: both are checked here, with the leaf values.
    fn check(&self) -> Result<()> {
        let bad = |what: String| super::damaged(self.name(), what);
        let b = self
            .booster
            .as_ref()
            .ok_or_else(|| bad("no booster".into()))?;
        if !b.base_score.is_finite() {
            return Err(bad("the base score is not finite".into()));
        }
        for (t, tree) in b.trees.iter().enumerate() {
            if !tree.nodes.contains_key(&0) {
                return Err(bad(format!("tree {t} has no root")));
            }
            for node in tree.nodes.values() {
                if !node.weight_value.is_finite() {
                    return Err(bad(format!("tree {t}: a node value is not finite")));
                }
                if node.is_leaf {
                    continue;
                }
                if node.split_feature >= N_FEATURES {
                    return Err(bad(format!(
                        "tree {t}: a split on feature {}; there are {N_FEATURES}",
                        node.split_feature
                    )));
                }
                for child in [node.left_child, node.right_child, node.missing_node] {
                    if !tree.nodes.contains_key(&child) {
                        return Err(bad(format!("tree {t}: node {child} is missing")));
                    }
                }
            }
        }
        Ok(())
    }
}
