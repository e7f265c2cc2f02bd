//! `gbdt`: histogram gradient-boosted trees on the log-loss, grown leaf-wise as LightGBM grows
//! them (31 leaves, 255 bins, at least 20 rows a leaf), learning rate 0.2, stopped early on a
//! seeded val sample: one fit, no search. Tables under 50,000 train rows get smaller steps and
//! trees (`Settings::small`). (Rate 0.1 gave the same test PR-AUC on the bench log
//! in twice the rounds; `examples/gbdt_engines.rs` compares the settings.) Per-row
//! contributions are exact TreeSHAP (`shap.rs`).
//!
//! Written here rather than taken from a crate, after measuring them on the 4M-event bench log
//! (the table is in the README): perpetual took 15–32 s a fit and needed a budget search on top
//! to be competitive; lightgbm3 needs CMake ≥ 3.28 and libclang, which a fresh machine lacks;
//! hessboost (a 100k-line port of XGBoost) was as fast and as accurate at the same settings, but
//! works in f32 (contributions add up to the margin only to about 1e-4), pulls in a C library
//! (zstd), and its README warns of possible subtle numerical errors. Here every sum is f64, the
//! TreeSHAP values are tested against the Shapley formula itself, and with 14 dense features
//! and one loss the booster is a few hundred lines.
//!
//! Deterministic by construction: histograms are summed over fixed row chunks in a fixed order,
//! whatever the number of threads, and ties between splits go to the first feature and bin.
use rayon::prelude::*;

use super::grow::{MAX_DEPTH, bin_edges, bin_rows, grow};
use super::settings::Settings;
use super::shap;
use super::trees::RegressionTree;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::models::model::{FitCtx, Model, sigmoid};
use crate::engine::{Error, Result};

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Gbdt {
    pub settings: Option<Settings>,
    /// The starting log-odds: train prevalence.
    pub base: f64,
    pub trees: Vec<RegressionTree>,
}

fn logloss(margins: &[f64], y: &[bool]) -> f64 {
    // ln(1 + e^z) − y·z, stable.
    let sum: f64 = margins
        .iter()
        .zip(y)
        .map(|(&z, &y)| z.max(0.0) + (-z.abs()).exp().ln_1p() - if y { z } else { 0.0 })
        .sum();
    sum / margins.len().max(1) as f64
}

impl Gbdt {
    pub fn with_settings(settings: Settings) -> Gbdt {
        Gbdt {
            settings: Some(settings),
            ..Gbdt::default()
        }
    }

    /// Each row's log-odds.
    pub fn margins(&self, x: &Data) -> Vec<f64> {
        (0..x.n())
            .into_par_iter()
            .with_min_len(4096)
            .map(|i| {
                let row = x.row(i);
                self.base + self.trees.iter().map(|t| t.predict(&row)).sum::<f64>()
            })
            .collect()
    }

    /// Exact TreeSHAP values of each row's log-odds, and the bias (the margin expected over
    /// the train rows): the 14 values and the bias sum to the row's margin.
    pub fn attributions(&self, x: &Data) -> Vec<([f64; N_FEATURES], f64)> {
        let bias = self.base + self.trees.iter().map(shap::expected).sum::<f64>();
        (0..x.n())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| {
                let row = x.row(i);
                let mut phi = [0.0; N_FEATURES];
                for t in &self.trees {
                    shap::add(t, &row, &mut phi);
                }
                (phi, bias)
            })
            .collect()
    }
}

/// Gradient boosting from `base` with the per-row gradient and hessian `grad(margin, row)`,
/// stopped early by `loss` on a seeded sample of `val` (as it chooses every other model's
/// hyperparameters; test never reaches here).
fn boost(
    train: &Data,
    val: &Data,
    s: &Settings,
    base: f64,
    grad: &(dyn Fn(f64, usize) -> (f64, f64) + Sync),
    loss: &dyn Fn(&[f64], &Data) -> f64,
    ctx: &FitCtx,
) -> Result<Gbdt> {
    let n = train.n();
    let edges = bin_edges(train, s, ctx.seed);
    let binned = bin_rows(train, &edges);
    // A seeded sample bounds the cost of a stopping check per round.
    let stop = val.sample(s.stop_rows, ctx.seed ^ 0x6bd7);
    let stop_rows: Vec<[f64; N_FEATURES]> = (0..stop.n()).map(|i| stop.row(i)).collect();
    let mut margin = vec![base; n];
    let mut stop_margin = vec![base; stop.n()];
    let mut best = (loss(&stop_margin, &stop), 0usize);
    let mut trees = Vec::new();
    let max_rounds = s.max_rounds.max(1);
    for round in 1..=max_rounds {
        ctx.check_cancel()?;
        let gh: Vec<(f64, f64)> = margin
            .par_iter()
            .with_min_len(4096)
            .enumerate()
            .map(|(i, &z)| grad(z, i))
            .collect();
        let tree = grow(&binned, &edges, &gh, s, &mut margin);
        if tree.nodes.len() == 1 {
            break; // No split gains any more: that tree is dropped, and training ends.
        }
        stop_margin
            .par_iter_mut()
            .zip(&stop_rows)
            .for_each(|(m, row)| *m += tree.predict(row));
        trees.push(tree);
        let l = loss(&stop_margin, &stop);
        if l < best.0 {
            best = (l, round);
        }
        (ctx.progress)(round, max_rounds);
        if round - best.1 >= s.patience.max(1) {
            break;
        }
    }
    trees.truncate(best.1);
    Ok(Gbdt {
        settings: Some(*s),
        base,
        trees,
    })
}

impl Gbdt {
    /// A regression on the squared error: `target[i]` for train row `i`, early stopping on
    /// the mean squared error of `val_target` (`margins` are then the predictions). For the
    /// uplift learners' effect models (SPEC §7a).
    pub fn fit_regression(
        settings: Settings,
        train: &Data,
        target: &[f64],
        val: &Data,
        val_target: &[f64],
        ctx: &FitCtx,
    ) -> Result<Gbdt> {
        let n = train.n();
        if n == 0 || target.len() != n || val_target.len() != val.n() {
            return Err(Error::Config(
                "gbdt regression: no rows, or targets of another length".into(),
            ));
        }
        if let Some(v) = target.iter().chain(val_target).find(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "gbdt regression: a target is not finite ({v})"
            )));
        }
        let base = target.iter().sum::<f64>() / n as f64;
        // The val rows are tagged with their place so the loss can find their targets: the
        // stopping sample keeps the rows' order, and `users` carries the index.
        let mut tagged = val.clone();
        tagged.users = (0..val.n() as i64).collect();
        let mse = |m: &[f64], v: &Data| {
            let sum: f64 = m
                .iter()
                .zip(&v.users)
                .map(|(&z, &i)| (z - val_target[i as usize]).powi(2))
                .sum();
            sum / m.len().max(1) as f64
        };
        boost(
            train,
            &tagged,
            &settings,
            base,
            &|z, i| (z - target[i], 1.0),
            &mse,
            ctx,
        )
    }
}

impl Model for Gbdt {
    fn name(&self) -> &'static str {
        "gbdt"
    }

    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        let n = train.n();
        let s = self.settings.unwrap_or_else(|| Settings::for_rows(n));
        let pos = train.y.iter().filter(|&&y| y).count() as f64;
        if n == 0 || pos == 0.0 || pos == n as f64 {
            return Err(Error::Config("gbdt: train needs both classes".into()));
        }
        let base = (pos / (n as f64 - pos)).ln();
        let grad = |z: f64, i: usize| {
            let p = sigmoid(z);
            let y = if train.y[i] { 1.0 } else { 0.0 };
            (p - y, (p * (1.0 - p)).max(1e-16))
        };
        *self = boost(train, val, &s, base, &grad, &|m, v| logloss(m, &v.y), ctx)?;
        Ok(())
    }

    fn predict(&self, x: &Data) -> Result<Vec<f64>> {
        Ok(self.margins(x).into_iter().map(sigmoid).collect())
    }

    fn contributions(&self, x: &Data) -> Option<Vec<[f64; N_FEATURES]>> {
        Some(self.attributions(x).into_iter().map(|(c, _)| c).collect())
    }

    fn params(&self) -> serde_json::Value {
        let s = self.settings.unwrap_or_default();
        serde_json::json!({
            "rounds": self.trees.len(),
            "eta": s.eta,
            "max_leaves": s.max_leaves,
            "max_bin": s.max_bin,
            "min_leaf_rows": s.min_leaf_rows,
            "lambda": s.lambda,
            "early_stopping": "val log-loss",
        })
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A tree read from a file is walked without bounds checks in mind: every index, feature
    /// and value is checked here, and children must come after their parent (no cycles).
    fn check(&self) -> Result<()> {
        let bad = |what: String| crate::engine::models::model::damaged(self.name(), what);
        if !self.base.is_finite() {
            return Err(bad("the base score is not finite".into()));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(bad(format!("tree {t} has no nodes")));
            }
            // TreeSHAP recurses once per level: a hand-made chain must not overflow the stack.
            let mut depth = vec![0usize; tree.nodes.len()];
            for (i, node) in tree.nodes.iter().enumerate() {
                if node.feature.is_none() {
                    continue;
                }
                let below = depth[i] + 1;
                for child in [node.left, node.right] {
                    if let Some(d) = depth.get_mut(child) {
                        *d = (*d).max(below);
                    }
                }
            }
            if depth.iter().any(|&d| d > MAX_DEPTH) {
                return Err(bad(format!("tree {t} is deeper than {MAX_DEPTH} levels")));
            }
            for (i, node) in tree.nodes.iter().enumerate() {
                if !(node.value.is_finite() && node.cover.is_finite() && node.cover > 0.0) {
                    return Err(bad(format!("tree {t}, node {i}: a value is not finite")));
                }
                let Some(f) = node.feature else { continue };
                if f >= N_FEATURES {
                    return Err(bad(format!(
                        "tree {t}, node {i}: a split on feature {f}; there are {N_FEATURES}"
                    )));
                }
                if node.threshold.is_nan() {
                    return Err(bad(format!("tree {t}, node {i}: the threshold is NaN")));
                }
                for child in [node.left, node.right] {
                    if child <= i || child >= tree.nodes.len() {
                        return Err(bad(format!(
                            "tree {t}, node {i}: child {child} is out of order or missing"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::engine::eval::KPct;
    use crate::engine::models::gbdt::settings::SMALL_TABLE_ROWS;
    use crate::engine::models::gbdt::trees::Node;

    /// Rows whose label depends on two features through a known logit; seeded.
    pub fn data(n: usize, seed: u64) -> Data {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut cols: Vec<Vec<f64>> = (0..N_FEATURES).map(|_| Vec::with_capacity(n)).collect();
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: [f64; N_FEATURES] = std::array::from_fn(|_| rng.random::<f64>());
            let z = 4.0 * row[0] - 3.0 * row[4] + 0.5;
            y.push(rng.random::<f64>() < 1.0 / (1.0 + (-z).exp()));
            for (c, v) in cols.iter_mut().zip(row) {
                c.push(v);
            }
        }
        Data {
            cols,
            y,
            users: (0..n as i64).collect(),
            anchors: vec![0; n],
            hist: vec![],
        }
    }

    fn fitted() -> (Gbdt, Data) {
        let (train, val) = (data(4000, 1), data(2000, 2));
        let cancel = AtomicBool::new(false);
        let ks = [KPct::DEFAULTS[0]];
        let ctx = FitCtx {
            seed: 3,
            trials: 1,
            ks: &ks,
            cancel: &cancel,
            progress: &|_, _| {},
        };
        let mut m = Gbdt::default();
        m.fit(&train, &val, &ctx).unwrap();
        (m, val)
    }

    /// A 4,000-row table is small: the fit takes (and saves) the small-table settings; a
    /// model given settings keeps them.
    #[test]
    fn a_small_table_gets_the_small_settings() {
        let (m, _) = fitted();
        let s = m.settings.unwrap();
        assert_eq!((s.eta, s.max_leaves, s.patience), (0.05, 15, 50));
        assert_eq!(Settings::for_rows(SMALL_TABLE_ROWS), Settings::default());
        assert_eq!(Settings::for_rows(SMALL_TABLE_ROWS - 1), Settings::small());
    }

    #[test]
    fn contributions_and_bias_sum_to_the_margin() {
        let (m, x) = fitted();
        assert!(
            m.trees.len() > 1,
            "early stopping kept {} rounds",
            m.trees.len()
        );
        let margins = m.margins(&x);
        let attr = m.attributions(&x);
        for (i, ((c, b), z)) in attr.iter().zip(&margins).enumerate() {
            let sum: f64 = c.iter().sum::<f64>() + b;
            assert!((sum - z).abs() < 1e-9, "row {i}: {sum} vs {z}");
        }
        // Features 0 and 4 drive the label; noise features may only get small shares.
        let mean_abs = |j: usize| attr.iter().map(|(c, _)| c[j].abs()).sum::<f64>() / x.n() as f64;
        for noise in [1, 2, 3, 5, 13] {
            assert!(mean_abs(0) > 3.0 * mean_abs(noise), "feature {noise}");
            assert!(mean_abs(4) > 3.0 * mean_abs(noise), "feature {noise}");
        }
        // The bias is the mean margin over the train rows, which the covers count.
        let train = data(4000, 1);
        let mean = m.margins(&train).iter().sum::<f64>() / train.n() as f64;
        assert!((attr[0].1 - mean).abs() < 1e-9, "{} vs {mean}", attr[0].1);
    }

    #[test]
    fn it_learns_the_logit_and_saved_models_score_alike() {
        let (m, x) = fitted();
        let p = m.predict(&x).unwrap();
        // Against the true probabilities, the fitted ones are close on average.
        let err: f64 = (0..x.n())
            .map(|i| {
                let z = 4.0 * x.cols[0][i] - 3.0 * x.cols[4][i] + 0.5;
                (p[i] - 1.0 / (1.0 + (-z).exp())).abs()
            })
            .sum::<f64>()
            / x.n() as f64;
        assert!(err < 0.06, "mean absolute error {err}");
        let back: Gbdt = serde_json::from_value(m.save()).unwrap();
        back.check().unwrap();
        assert_eq!(back.predict(&x).unwrap(), p);
    }

    #[test]
    fn a_damaged_tree_is_refused() {
        let (m, _) = fitted();
        let mut cyc = m.clone();
        cyc.trees[0].nodes[0].left = 0;
        assert!(
            cyc.check()
                .unwrap_err()
                .to_string()
                .contains("out of order")
        );
        let mut feat = m.clone();
        feat.trees[0].nodes[0].feature = Some(14);
        assert!(feat.check().unwrap_err().to_string().contains("feature 14"));
        // A chain 300 levels deep: each node's right child is the next split.
        let mut deep = m.clone();
        let n = 300;
        deep.trees[0].nodes = (0..n)
            .flat_map(|i| {
                let split = Node {
                    feature: Some(0),
                    threshold: 0.5,
                    left: 2 * i + 1,
                    right: 2 * i + 2,
                    value: 0.0,
                    cover: 1.0,
                };
                let leaf = Node {
                    feature: None,
                    ..split.clone()
                };
                [split, leaf]
            })
            .chain([Node {
                feature: None,
                threshold: 0.0,
                left: 0,
                right: 0,
                value: 0.0,
                cover: 1.0,
            }])
            .collect();
        // Node 2i is the split at level i, 2i+1 its left leaf; the last node closes the chain.
        assert!(
            deep.check()
                .unwrap_err()
                .to_string()
                .contains("deeper than")
        );
    }

    #[test]
    fn a_perpetual_model_from_an_earlier_run_is_named_as_such() {
        let old = serde_json::json!({"budget": 0.5, "booster": {"trees": []}});
        let err = crate::engine::models::load("gbdt", &old)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("earlier churn-tui"), "{err}");
    }

    #[test]
    fn bins_split_between_distinct_values_and_by_quantile() {
        let mut d = data(1000, 4);
        // Three distinct values on feature 1: two thresholds, halfway.
        d.cols[1] = (0..1000).map(|i| (i % 3) as f64).collect();
        let e = bin_edges(&d, &Settings::default(), 1);
        assert_eq!(e[1], vec![0.5, 1.5]);
        // Feature 0 is continuous: 254 quantile edges at most, increasing.
        assert!(e[0].len() <= 254 && e[0].len() > 200, "{}", e[0].len());
        assert!(e[0].windows(2).all(|w| w[0] < w[1]));
        let b = bin_rows(&d, &e);
        for (i, row) in b.iter().enumerate() {
            let v = d.cols[1][i];
            assert_eq!(row[1] as f64, v, "value {v} in bin {}", row[1]);
        }
    }
}
