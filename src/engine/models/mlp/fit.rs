//! Fitting a network: AdamW over class-balanced logistic loss in seeded batches, the best epoch
//! chosen by val Recall@first K (ties: PR-AUC) with early stopping, and the `Model` impl that
//! saves, checks and scores it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::nn::{AdamW, Mat};
use crate::engine::eval::SplitEval;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::models::model::{FitCtx, Model, balanced_weights, eval_on};
use crate::engine::models::scaler::Scaler;
use crate::engine::{Error, Result};

use super::kind::{
    ADVANCED_WIDTH, BATCH, CHECK_ROWS, DROPOUT, EPOCH_ROWS, EPOCHS, Kind, LR, MAX_WIDTH, PATIENCE,
    WEIGHT_DECAY, Weights, width_before_stored,
};
use super::net::Net;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mlp {
    pub kind: Kind,
    /// `mlp_advanced`'s width (unused by the other kinds).
    #[serde(default = "width_before_stored")]
    pub width: usize,
    pub best_epoch: usize,
    pub scaler: Option<Scaler>,
    pub weights: Weights,
}

impl Mlp {
    fn params_common(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind, "max_epochs": EPOCHS, "patience": PATIENCE, "best_epoch": self.best_epoch, "batch": BATCH, "epoch_rows": EPOCH_ROWS, "check_rows": CHECK_ROWS,
            "lr": LR, "weight_decay": if self.kind == Kind::Base { 0.0 } else { WEIGHT_DECAY },
            "dropout": if self.kind == Kind::Enhance { DROPOUT } else { 0.0 },
            "optimizer": "AdamW", "loss": "class-balanced logistic",
        })
    }

    pub fn new(kind: Kind) -> Mlp {
        Mlp {
            kind,
            width: ADVANCED_WIDTH,
            best_epoch: 0,
            scaler: None,
            weights: Weights::default(),
        }
    }
}

fn matrix(x: &Data) -> Mat {
    let n = x.n();
    let mut v = Vec::with_capacity(n * N_FEATURES);
    for i in 0..n {
        v.extend(x.row(i).iter().map(|&f| f as f32));
    }
    Mat::from_vec(n, N_FEATURES, v)
}

fn sigmoid(z: f32) -> f64 {
    1.0 / (1.0 + (-(z as f64)).exp())
}

/// Rows per forward pass at prediction, so a pass over a large split holds a few megabytes.
const PREDICT_CHUNK: usize = 8192;

fn predict_net(net: &Net, x: &Mat) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.rows);
    let mut start = 0;
    while start < x.rows {
        let len = PREDICT_CHUNK.min(x.rows - start);
        out.extend(
            net.logits(&x.slice_rows(start, len))
                .into_iter()
                .map(sigmoid),
        );
        start += len;
    }
    out
}

/// The gradient of the mean weighted logistic loss at the logits `z`:
/// `wᵢ·(σ(zᵢ) − yᵢ) / n`.
fn logistic_grad(z: &[f32], y: &[f32], w: &[f32]) -> Vec<f32> {
    let n = z.len() as f32;
    z.iter()
        .zip(y.iter().zip(w))
        .map(|(&z, (&y, &w))| w * (1.0 / (1.0 + (-z).exp()) - y) / n)
        .collect()
}

/// Recall at the first K, then PR-AUC: the epoch objective.
fn epoch_key(e: &SplitEval) -> (f64, f64) {
    (
        e.at_k.first().and_then(|a| a.recall).unwrap_or(0.0),
        e.pr_auc.unwrap_or(0.0),
    )
}

impl Model for Mlp {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Base => "mlp_base",
            Kind::Enhance => "mlp_enhance",
            Kind::Advanced => "mlp_advanced",
            Kind::WideDeep => "wide_deep",
        }
    }

    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        let (scaler, xt) = Scaler::fit_transform(train);
        let salt = match self.kind {
            Kind::Base => 11,
            Kind::Enhance => 12,
            Kind::Advanced => 13,
            Kind::WideDeep => 14,
        };
        let check = val.sample(CHECK_ROWS, ctx.seed ^ salt ^ 0x5a17);
        let xv = scaler.transform(&check);
        let (mt, mv) = (matrix(&xt), matrix(&xv));
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed ^ salt);
        let mut net = Net::init(self.kind, self.width, &mut rng)?;
        let decay = if self.kind == Kind::Base {
            0.0
        } else {
            WEIGHT_DECAY
        };
        let mut opt = AdamW::new(LR as f32, decay as f32);
        let w = balanced_weights(&train.y);
        let n = train.n();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut best: Option<((f64, f64), usize, Weights)> = None;
        for epoch in 1..=EPOCHS {
            ctx.check_cancel()?;
            // A partial Fisher–Yates with our RNG: the first `m` places get a uniform sample.
            let m = n.min(EPOCH_ROWS);
            for i in 0..m {
                order.swap(i, rng.random_range(i..n));
            }
            for chunk in order[..m].chunks(BATCH) {
                if chunk.len() < 2 {
                    continue;
                }
                let xb = mt.gather(chunk);
                let yb: Vec<f32> = chunk
                    .iter()
                    .map(|&i| train.y[i as usize] as u8 as f32)
                    .collect();
                let wb: Vec<f32> = chunk.iter().map(|&i| w[i as usize] as f32).collect();
                net.train_pass(&xb, &mut rng, |z| logistic_grad(z, &yb, &wb));
                opt.step(&mut net.params_mut());
            }
            let scores = predict_net(&net, &mv);
            if scores.iter().any(|s| !s.is_finite()) {
                return Err(Error::Config(format!(
                    "neural network: scores stopped being finite in epoch {epoch}"
                )));
            }
            let e = eval_on(&scores, &check, ctx.ks);
            let key = epoch_key(&e);
            if best
                .as_ref()
                .is_none_or(|(bk, _, _)| key.partial_cmp(bk) == Some(std::cmp::Ordering::Greater))
            {
                best = Some((key, epoch, net.snapshot()));
            }
            (ctx.progress)(epoch, EPOCHS);
            if best
                .as_ref()
                .is_some_and(|(_, at, _)| epoch - at >= PATIENCE)
            {
                break;
            }
        }
        let (_, epoch, weights) =
            best.ok_or_else(|| Error::Config("neural network: no epoch".into()))?;
        self.best_epoch = epoch;
        self.weights = weights;
        self.scaler = Some(scaler);
        Ok(())
    }

    fn predict(&self, x: &Data) -> Result<Vec<f64>> {
        let scaler = self
            .scaler
            .as_ref()
            .ok_or_else(|| Error::Config(format!("{}: not fitted", self.name())))?;
        let net = Net::restore(self.kind, self.width, &self.weights)?;
        Ok(predict_net(&net, &matrix(&scaler.transform(x))))
    }

    fn params(&self) -> serde_json::Value {
        let mut p = self.params_common();
        if self.kind == Kind::Advanced
            && let Some(o) = p.as_object_mut()
        {
            o.insert("width".into(), self.width.into());
        }
        p
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Every tensor the network needs, with its shape, finite values, and nothing else:
    /// the network is built from the saved tensors exactly as `predict` builds it.
    fn check(&self) -> Result<()> {
        let name = self.name();
        if !(1..=MAX_WIDTH).contains(&self.width) {
            return Err(crate::engine::models::model::damaged(
                name,
                format!("width {} outside 1 to {MAX_WIDTH}", self.width),
            ));
        }
        Net::restore(self.kind, self.width, &self.weights)
            .map_err(|e| crate::engine::models::model::damaged(name, e))?;
        self.scaler
            .as_ref()
            .ok_or_else(|| crate::engine::models::model::damaged(name, "no scaler"))?
            .check(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` rows: feature j of row i is `x(i, j)`, the label `y(i)`.
    fn toy(n: usize, x: impl Fn(usize, usize) -> f64, y: impl Fn(usize) -> bool) -> Data {
        Data {
            cols: (0..N_FEATURES)
                .map(|j| (0..n).map(|i| x(i, j)).collect())
                .collect(),
            y: (0..n).map(y).collect(),
            users: (0..n as i64).collect(),
            anchors: vec![0; n],
            hist: vec![],
        }
    }

    /// Every kind's written-out backward pass against central differences of its own forward
    /// pass (training mode: batch statistics, the same dropout mask each time from a
    /// generator seeded alike), for a loss linear in the logits.
    #[test]
    fn each_kind_s_gradients_match_finite_differences() {
        let rows = 12;
        let x = Mat::from_vec(
            rows,
            N_FEATURES,
            (0..rows * N_FEATURES)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
                .collect(),
        );
        let c: Vec<f32> = (0..rows).map(|i| (i as f32 - 5.5) / 6.0).collect();
        for kind in [Kind::Base, Kind::Enhance, Kind::Advanced, Kind::WideDeep] {
            let mut net = Net::init(kind, 16, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
            // The loss Σ cᵢ·zᵢ, read off the logits the pass hands to `dloss`.
            let loss = |net: &mut Net| {
                let mut l = 0.0f64;
                net.train_pass(&x, &mut ChaCha8Rng::seed_from_u64(9), |z| {
                    l = z.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum();
                    c.clone()
                });
                l
            };
            loss(&mut net);
            let analytic: Vec<Vec<f32>> = net.params_mut().iter().map(|p| p.grad.clone()).collect();
            let eps = 1e-3f32;
            let (mut checked, mut off) = (0, Vec::new());
            for (pi, grads) in analytic.iter().enumerate() {
                // A handful of entries per tensor, spread over it.
                for i in (0..grads.len()).step_by(grads.len().div_ceil(5)) {
                    let at = |delta: f32| {
                        let mut n2 =
                            Net::init(kind, 16, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
                        n2.params_mut()[pi].value[i] += delta;
                        loss(&mut n2)
                    };
                    let numeric = (at(eps) - at(-eps)) / (2.0 * eps as f64);
                    checked += 1;
                    if (grads[i] as f64 - numeric).abs() > 2e-2 * (1.0 + numeric.abs()) {
                        off.push((pi, i, grads[i], numeric));
                    }
                }
            }
            // A step across a ReLU's kink can miss the slope; one such entry is allowed.
            assert!(
                checked > 20 && off.len() <= 1,
                "{kind:?}: {off:?} of {checked}"
            );
        }
    }

    /// An mlp_advanced saved before the width was stored (256 wide, no `width` field) loads
    /// as 256 wide and scores; a width past the bound is refused, not sized.
    #[test]
    fn an_advanced_model_saved_at_the_old_width_still_scores() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let net = Net::init(Kind::Advanced, 256, &mut rng).unwrap();
        let n = 50;
        let data = toy(n, |i, j| ((i * (j + 3)) % 7) as f64, |i| i % 2 == 0);
        let saved = Mlp {
            kind: Kind::Advanced,
            width: 256,
            best_epoch: 1,
            scaler: Some(Scaler::fit(&data)),
            weights: net.snapshot(),
        };
        let mut json = serde_json::to_value(&saved).unwrap();
        json.as_object_mut().unwrap().remove("width");
        let old: Mlp = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(old.width, 256);
        old.check().unwrap();
        let p = old.predict(&data).unwrap();
        assert_eq!(p.len(), n);
        assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        // Read at today's width the same tensors would not fit: the width is what says so.
        let mut narrow = old.clone();
        narrow.width = ADVANCED_WIDTH;
        assert!(narrow.check().is_err());
        json["width"] = serde_json::json!(1u64 << 40);
        let huge: Mlp = serde_json::from_value(json).unwrap();
        assert!(huge.check().unwrap_err().to_string().contains("width"));
    }

    /// A saved network is built by the same layer definitions it was trained with: a tensor
    /// missing, misshapen or extra is named, and `predict` on such a model is an error, not
    /// NaN scores.
    #[test]
    fn a_damaged_network_is_an_error_naming_the_tensor() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let net = Net::init(Kind::Enhance, ADVANCED_WIDTH, &mut rng).unwrap();
        let n = 20;
        let data = toy(n, |i, j| ((i + j) % 5) as f64, |i| i % 3 == 0);
        let good = Mlp {
            kind: Kind::Enhance,
            width: ADVANCED_WIDTH,
            best_epoch: 1,
            scaler: Some(Scaler::fit(&data)),
            weights: net.snapshot(),
        };
        good.check().unwrap();
        assert_eq!(good.predict(&data).unwrap().len(), n);
        // The saved names are the layers' (bn running statistics included).
        let names: Vec<&str> = good.weights.tensors.keys().map(|k| k.as_str()).collect();
        assert!(
            names.contains(&"bn2.var") && names.contains(&"out.w"),
            "{names:?}"
        );

        let mut missing = good.clone();
        missing.weights.tensors.remove("l2.w");
        let e = missing.check().unwrap_err().to_string();
        assert!(
            e.contains("mlp_enhance") && e.contains("tensor l2.w is missing"),
            "{e}"
        );
        assert!(missing.predict(&data).is_err());

        let mut misshapen = good.clone();
        if let Some((dims, _)) = misshapen.weights.tensors.get_mut("bn1.mean") {
            dims[0] = 7;
        }
        let e = misshapen.check().unwrap_err().to_string();
        assert!(e.contains("tensor bn1.mean has shape [7]"), "{e}");

        let mut extra = good.clone();
        extra
            .weights
            .tensors
            .insert("l9.w".into(), (vec![1], vec![0.5]));
        let e = extra.check().unwrap_err().to_string();
        assert!(e.contains("unexpected tensor l9.w"), "{e}");

        // JSON has no infinity, but a weight past f32's range reads as one: refused by name,
        // as is an empty tensor list.
        let mut json = serde_json::to_value(&good).unwrap();
        json["weights"]["tensors"]["l1.w"][1][0] = serde_json::json!(1e39);
        let overflowing: Mlp = serde_json::from_value(json).unwrap();
        let e = overflowing.check().unwrap_err().to_string();
        assert!(e.contains("tensor l1.w has a non-finite value"), "{e}");
        assert!(overflowing.predict(&data).is_err());
        let mut empty = good.clone();
        empty.weights.tensors.clear();
        assert!(
            empty
                .check()
                .unwrap_err()
                .to_string()
                .contains("is missing")
        );

        let mut unfitted = good;
        unfitted.scaler = None;
        assert!(unfitted.predict(&data).is_err());
    }
}
