//! `mlp_base`, `mlp_enhance`, `mlp_advanced`, `wide_deep`: feed-forward networks (the layers
//! and their gradients in `nn`), AdamW, class-balanced logistic loss, the best epoch chosen by
//! val Recall@first K (ties: PR-AUC).
//!
//! Weights are drawn from our ChaCha RNG (Kaiming-uniform) and dropout masks too, which makes a
//! seed reproducible. Each kind's forward and backward pass is written out below, so the
//! wiring names fields: a layer that is not there is a compile error.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{FitCtx, Model, balanced_weights, eval_on};
use super::nn::{
    AdamW, Dense, Mat, Norm, NormCache, Param, add_in_place, mul_in_place, relu, relu_back,
};
use super::scaler::Scaler;
use crate::engine::eval::SplitEval;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// Two hidden layers (64, 32), ReLU, no regularisation.
    Base,
    /// Two hidden layers (128, 64), BatchNorm, ReLU, Dropout.
    Enhance,
    /// Two residual blocks with BatchNorm, width `ADVANCED_WIDTH` (256 in runs saved before
    /// it was narrowed).
    Advanced,
    /// Wide & Deep: a linear part on the features and their crosses, plus a (64, 32) MLP,
    /// trained jointly (their logits add up).
    WideDeep,
}

/// Feature pairs crossed in the wide part (SPEC order indices): recency × trend, volume ×
/// purchase ratio, active days × regularity, brand concentration × switches, days since
/// purchase × purchases.
pub const CROSSES: [(usize, usize); 5] = [(4, 13), (0, 3), (1, 12), (6, 7), (5, 2)];

const EPOCHS: usize = 25;
/// Stop after this many epochs without a better val objective.
const PATIENCE: usize = 5;
const BATCH: usize = 1024;
/// Rows drawn (without replacement) per epoch, so an epoch costs the same on any log size.
const EPOCH_ROWS: usize = 32_768;
/// Val rows the per-epoch early-stopping check scores (a fixed seeded sample).
const CHECK_ROWS: usize = 20_000;
const LR: f64 = 1e-3;
const WEIGHT_DECAY: f64 = 1e-4;
const DROPOUT: f64 = 0.2;

/// Parameters and BatchNorm running statistics, by name.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Weights {
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

/// `mlp_advanced`'s width. It was 256: four times the arithmetic of 128, the larger part of a
/// nine-model run, for no better ranking (4M-event bench log: test PR-AUC 0.9079 at 256,
/// 0.9116 at 128).
pub const ADVANCED_WIDTH: usize = 128;

/// The width of an `mlp_advanced` saved before its width was stored.
fn width_before_stored() -> usize {
    256
}

/// The widest a saved model may claim (a damaged or hostile file must not size anything).
const MAX_WIDTH: usize = 4096;

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

/// One residual block of `mlp_advanced`: relu(h + b(relu(bn(a(h))))).
struct Block {
    a: Dense,
    bn: Norm,
    b: Dense,
}

// One network per fit, built once and never moved in a loop: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
/// Each kind's layers, typed: the passes below name fields, so a layer that is not there is a
/// compile error, not a failed lookup at run time.
enum Layers {
    /// (64, 32), ReLU.
    Base { l1: Dense, l2: Dense, out: Dense },
    /// (128, 64), each BatchNorm → ReLU → Dropout.
    Enhance {
        l1: Dense,
        bn1: Norm,
        l2: Dense,
        bn2: Norm,
        out: Dense,
    },
    /// An input layer with BatchNorm, then two residual blocks, all `width` wide.
    Advanced {
        input: Dense,
        bn_in: Norm,
        blocks: [Block; 2],
        out: Dense,
    },
    /// The (64, 32) MLP's logit plus a linear part on the features and `CROSSES`.
    WideDeep {
        l1: Dense,
        l2: Dense,
        out: Dense,
        wide: Dense,
    },
}

/// Where a network's tensors come from: drawn fresh from the seeded generator, or read from
/// a saved model (each one checked: there, the right shape, finite).
enum Source<'a> {
    Init(&'a mut ChaCha8Rng),
    Saved(&'a Weights),
}

/// Makes the layers of one network.
struct Builder<'a> {
    source: Source<'a>,
}

impl Builder<'_> {
    fn saved(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let Source::Saved(w) = &self.source else {
            return Err(Error::Config("neural network: not a saved model".into()));
        };
        let (dims, data) = w
            .tensors
            .get(name)
            .ok_or_else(|| Error::Config(format!("tensor {name} is missing")))?;
        if dims != shape || data.len() != shape.iter().product::<usize>() {
            return Err(Error::Config(format!(
                "tensor {name} has shape {dims:?} and {} values, expected {shape:?}",
                data.len()
            )));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "tensor {name} has a non-finite value"
            )));
        }
        Ok(data.clone())
    }

    fn tensor(
        &mut self,
        name: &str,
        part: &str,
        shape: &[usize],
        fresh: impl FnOnce() -> Vec<f32>,
    ) -> Result<Vec<f32>> {
        match self.source {
            Source::Init(_) => Ok(fresh()),
            Source::Saved(_) => self.saved(&format!("{name}.{part}"), shape),
        }
    }

    /// Kaiming-uniform weights (bound √(6 / fan in)) from the seeded generator, zero bias.
    fn linear(&mut self, name: &'static str, fan_in: usize, fan_out: usize) -> Result<Dense> {
        let bound = (6.0 / fan_in as f64).sqrt() as f32;
        let fresh: Vec<f32> = match &mut self.source {
            Source::Init(rng) => (0..fan_in * fan_out)
                .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound)
                .collect(),
            Source::Saved(_) => Vec::new(),
        };
        let w = self.tensor(name, "w", &[fan_in, fan_out], || fresh)?;
        let b = self.tensor(name, "b", &[fan_out], || vec![0.0; fan_out])?;
        Ok(Dense::new(name, fan_in, fan_out, w, b))
    }

    fn batch_norm(&mut self, name: &'static str, width: usize) -> Result<Norm> {
        let shape = [width];
        Ok(Norm::new(
            name,
            self.tensor(name, "gamma", &shape, || vec![1.0; width])?,
            self.tensor(name, "beta", &shape, || vec![0.0; width])?,
            self.tensor(name, "mean", &shape, || vec![0.0; width])?,
            self.tensor(name, "var", &shape, || vec![1.0; width])?,
        ))
    }

    /// The layers of `kind`; linear layers are drawn in this order (a seed's weights).
    fn layers(&mut self, kind: Kind, w: usize) -> Result<Layers> {
        Ok(match kind {
            Kind::Base => Layers::Base {
                l1: self.linear("l1", N_FEATURES, 64)?,
                l2: self.linear("l2", 64, 32)?,
                out: self.linear("out", 32, 1)?,
            },
            Kind::Enhance => Layers::Enhance {
                l1: self.linear("l1", N_FEATURES, 128)?,
                l2: self.linear("l2", 128, 64)?,
                out: self.linear("out", 64, 1)?,
                bn1: self.batch_norm("bn1", 128)?,
                bn2: self.batch_norm("bn2", 64)?,
            },
            Kind::WideDeep => Layers::WideDeep {
                l1: self.linear("l1", N_FEATURES, 64)?,
                l2: self.linear("l2", 64, 32)?,
                out: self.linear("out", 32, 1)?,
                wide: self.linear("wide", N_FEATURES + CROSSES.len(), 1)?,
            },
            Kind::Advanced => {
                let input = self.linear("in", N_FEATURES, w)?;
                let (a1, b1) = (self.linear("r1a", w, w)?, self.linear("r1b", w, w)?);
                let (a2, b2) = (self.linear("r2a", w, w)?, self.linear("r2b", w, w)?);
                let out = self.linear("out", w, 1)?;
                Layers::Advanced {
                    input,
                    bn_in: self.batch_norm("bn_in", w)?,
                    blocks: [
                        Block {
                            a: a1,
                            bn: self.batch_norm("bn1", w)?,
                            b: b1,
                        },
                        Block {
                            a: a2,
                            bn: self.batch_norm("bn2", w)?,
                            b: b2,
                        },
                    ],
                    out,
                }
            }
        })
    }
}

/// The network's layers, and a dropout generator's draws during training.
struct Net {
    layers: Layers,
}

/// A dropout mask: kept units scaled by 1/keep, drawn from our generator.
fn dropout_mask(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let keep = 1.0 - DROPOUT;
    (0..len)
        .map(|_| {
            if rng.random::<f64>() < keep {
                (1.0 / keep) as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// The wide part's input: the features, then the products named in `CROSSES`.
fn wide_input(x: &Mat) -> Mat {
    let cols = N_FEATURES + CROSSES.len();
    let mut data = Vec::with_capacity(x.rows * cols);
    for row in x.data.chunks_exact(x.cols) {
        data.extend_from_slice(row);
        data.extend(CROSSES.iter().map(|&(i, j)| row[i] * row[j]));
    }
    Mat::from_vec(x.rows, cols, data)
}

/// Every layer of a `Layers`, dense and BatchNorm, borrowed as the `Layers` is (shared or
/// mutable): one list of each kind's layers for reading and for training.
macro_rules! layer_parts {
    ($layers:expr) => {
        match $layers {
            Layers::Base { l1, l2, out } => (vec![l1, l2, out], vec![]),
            Layers::Enhance {
                l1,
                bn1,
                l2,
                bn2,
                out,
            } => (vec![l1, l2, out], vec![bn1, bn2]),
            Layers::Advanced {
                input,
                bn_in,
                blocks:
                    [
                        Block {
                            a: a1,
                            bn: n1,
                            b: c1,
                        },
                        Block {
                            a: a2,
                            bn: n2,
                            b: c2,
                        },
                    ],
                out,
            } => (vec![input, a1, c1, a2, c2, out], vec![bn_in, n1, n2]),
            Layers::WideDeep { l1, l2, out, wide } => (vec![l1, l2, out, wide], vec![]),
        }
    };
}

impl Net {
    fn build(kind: Kind, width: usize, source: Source<'_>) -> Result<Net> {
        let layers = Builder { source }.layers(kind, width)?;
        Ok(Net { layers })
    }

    fn init(kind: Kind, width: usize, rng: &mut ChaCha8Rng) -> Result<Net> {
        Net::build(kind, width, Source::Init(rng))
    }

    /// A saved network; a tensor missing, misshapen, not finite or not the network's is an
    /// error naming it.
    fn restore(kind: Kind, width: usize, w: &Weights) -> Result<Net> {
        let net = Net::build(kind, width, Source::Saved(w))?;
        let known = net.snapshot_names();
        if let Some(extra) = w.tensors.keys().find(|k| !known.contains(*k)) {
            return Err(Error::Config(format!("unexpected tensor {extra}")));
        }
        Ok(net)
    }

    /// Every layer, dense and BatchNorm.
    fn parts(&self) -> (Vec<&Dense>, Vec<&Norm>) {
        layer_parts!(&self.layers)
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        let (dense, norms): (Vec<&mut Dense>, Vec<&mut Norm>) = layer_parts!(&mut self.layers);
        let mut params = Vec::new();
        for d in dense {
            params.push(&mut d.w);
            params.push(&mut d.b);
        }
        for n in norms {
            params.push(&mut n.gamma);
            params.push(&mut n.beta);
        }
        params
    }

    /// Every tensor by its saved name, with its shape.
    fn tensors(&self) -> Vec<(String, Vec<usize>, &Vec<f32>)> {
        let (dense, norms) = self.parts();
        let mut out = Vec::new();
        for d in dense {
            out.push((
                format!("{}.w", d.name),
                vec![d.fan_in, d.fan_out],
                &d.w.value,
            ));
            out.push((format!("{}.b", d.name), vec![d.fan_out], &d.b.value));
        }
        for n in norms {
            let shape = vec![n.gamma.value.len()];
            out.push((format!("{}.gamma", n.name), shape.clone(), &n.gamma.value));
            out.push((format!("{}.beta", n.name), shape.clone(), &n.beta.value));
            out.push((format!("{}.mean", n.name), shape.clone(), &n.running_mean));
            out.push((format!("{}.var", n.name), shape, &n.running_var));
        }
        out
    }

    fn snapshot_names(&self) -> std::collections::BTreeSet<String> {
        self.tensors().into_iter().map(|(n, _, _)| n).collect()
    }

    fn snapshot(&self) -> Weights {
        Weights {
            tensors: self
                .tensors()
                .into_iter()
                .map(|(name, shape, v)| (name, (shape, v.clone())))
                .collect(),
        }
    }

    /// Logits at prediction (running BatchNorm statistics, no dropout), one per row.
    fn logits(&self, x: &Mat) -> Vec<f32> {
        let z = match &self.layers {
            Layers::Base { l1, l2, out } => stack_forward(l1, l2, out, x).2,
            Layers::Enhance {
                l1,
                bn1,
                l2,
                bn2,
                out,
            } => {
                let mut h = bn1.forward_eval(&l1.forward(x));
                relu(&mut h);
                let mut h = bn2.forward_eval(&l2.forward(&h));
                relu(&mut h);
                out.forward(&h)
            }
            Layers::Advanced {
                input,
                bn_in,
                blocks,
                out,
            } => {
                let mut h = bn_in.forward_eval(&input.forward(x));
                relu(&mut h);
                for Block { a, bn, b } in blocks.iter() {
                    let mut inner = bn.forward_eval(&a.forward(&h));
                    relu(&mut inner);
                    add_in_place(&mut h, &b.forward(&inner));
                    relu(&mut h);
                }
                out.forward(&h)
            }
            Layers::WideDeep { l1, l2, out, wide } => {
                let mut z = stack_forward(l1, l2, out, x).2;
                add_in_place(&mut z, &wide.forward(&wide_input(x)));
                z
            }
        };
        z.data
    }

    /// One training pass over a batch: forward with batch statistics and dropout, then every
    /// gradient, from `dloss`, the loss's gradient at the logits.
    fn train_pass(
        &mut self,
        x: &Mat,
        rng: &mut ChaCha8Rng,
        dloss: impl FnOnce(&[f32]) -> Vec<f32>,
    ) {
        let n = x.rows;
        let grad_at = |z: &Mat| Mat::from_vec(n, 1, dloss(&z.data));
        match &mut self.layers {
            Layers::Base { l1, l2, out } => {
                let (h1, h2, z) = stack_forward(l1, l2, out, x);
                stack_backward([l1, l2, out], x, &h1, &h2, &grad_at(&z));
            }
            Layers::WideDeep { l1, l2, out, wide } => {
                let (h1, h2, mut z) = stack_forward(l1, l2, out, x);
                let wide_in = wide_input(x);
                add_in_place(&mut z, &wide.forward(&wide_in));
                let dz = grad_at(&z);
                wide.backward(&wide_in, &dz, false);
                stack_backward([l1, l2, out], x, &h1, &h2, &dz);
            }
            Layers::Enhance {
                l1,
                bn1,
                l2,
                bn2,
                out,
            } => {
                // BatchNorm → ReLU → dropout, twice. After the mask the output is positive
                // exactly where the ReLU passed and the unit was kept, so it serves as the
                // ReLU's mask on the way back (a dropped unit's gradient is zeroed by the mask
                // anyway).
                let mut layer = |l: &Dense, bn: &mut Norm, input: &Mat| {
                    let (mut h, cache) = bn.forward_train(&l.forward(input));
                    relu(&mut h);
                    let mask = dropout_mask(h.data.len(), rng);
                    mul_in_place(&mut h, &mask);
                    (h, cache, mask)
                };
                let (h1, c1, m1) = layer(l1, bn1, x);
                let (h2, c2, m2) = layer(l2, bn2, &h1);
                let dz = grad_at(&out.forward(&h2));
                let back = |bn: &mut Norm, c: &NormCache, h: &Mat, m: &[f32], mut dh: Mat| {
                    mul_in_place(&mut dh, m);
                    relu_back(h, &mut dh);
                    bn.backward(c, &dh)
                };
                let dh2 = out.backward(&h2, &dz, true).unwrap_or_default();
                let da2 = back(bn2, &c2, &h2, &m2, dh2);
                let dh1 = l2.backward(&h1, &da2, true).unwrap_or_default();
                let da1 = back(bn1, &c1, &h1, &m1, dh1);
                l1.backward(x, &da1, false);
            }
            Layers::Advanced {
                input,
                bn_in,
                blocks,
                out,
            } => {
                let (mut h, c0) = bn_in.forward_train(&input.forward(x));
                relu(&mut h);
                // Per block: its input, its inner ReLU's output, its BatchNorm's cache.
                let mut saved: Vec<(Mat, Mat, NormCache)> = Vec::with_capacity(blocks.len());
                for Block { a, bn, b } in blocks.iter_mut() {
                    let (mut inner, c) = bn.forward_train(&a.forward(&h));
                    relu(&mut inner);
                    let mut next = b.forward(&inner);
                    add_in_place(&mut next, &h);
                    relu(&mut next);
                    saved.push((std::mem::replace(&mut h, next), inner, c));
                }
                let dz = grad_at(&out.forward(&h));
                let mut dh = out.backward(&h, &dz, true).unwrap_or_default();
                // `output` is the block's output on the way back; the residual path carries
                // the gradient past each block and adds to what came through it.
                let mut output = h;
                for (Block { a, bn, b }, (block_in, inner, c)) in blocks.iter_mut().zip(saved).rev()
                {
                    relu_back(&output, &mut dh);
                    let mut dr = b.backward(&inner, &dh, true).unwrap_or_default();
                    relu_back(&inner, &mut dr);
                    let da = bn.backward(&c, &dr);
                    if let Some(through) = a.backward(&block_in, &da, true) {
                        add_in_place(&mut dh, &through);
                    }
                    output = block_in;
                }
                relu_back(&output, &mut dh);
                let da0 = bn_in.backward(&c0, &dh);
                input.backward(x, &da0, false);
            }
        }
    }
}

/// The (64, 32) ReLU stack of `mlp_base` and `wide_deep`: both hidden outputs and the logits.
fn stack_forward(l1: &Dense, l2: &Dense, out: &Dense, x: &Mat) -> (Mat, Mat, Mat) {
    let mut h1 = l1.forward(x);
    relu(&mut h1);
    let mut h2 = l2.forward(&h1);
    relu(&mut h2);
    let z = out.forward(&h2);
    (h1, h2, z)
}

/// Its gradients, from the logits' gradient `dz`.
fn stack_backward([l1, l2, out]: [&mut Dense; 3], x: &Mat, h1: &Mat, h2: &Mat, dz: &Mat) {
    let mut dh2 = out.backward(h2, dz, true).unwrap_or_default();
    relu_back(h2, &mut dh2);
    let mut dh1 = l2.backward(h1, &dh2, true).unwrap_or_default();
    relu_back(h1, &mut dh1);
    l1.backward(x, &dh1, false);
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
            return Err(super::model::damaged(
                name,
                format!("width {} outside 1 to {MAX_WIDTH}", self.width),
            ));
        }
        Net::restore(self.kind, self.width, &self.weights)
            .map_err(|e| super::model::damaged(name, e))?;
        self.scaler
            .as_ref()
            .ok_or_else(|| super::model::damaged(name, "no scaler"))?
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
