//! `mlp_base`, `mlp_enhance`, `mlp_advanced`: feed-forward networks on candle (CPU, autograd),
//! AdamW, class-balanced logistic loss, the best epoch chosen by val Recall@first K (ties:
//! PR-AUC).
//!
//! candle's CPU random generator cannot be seeded, so nothing here uses it: weights are drawn
//! from our ChaCha RNG (Kaiming-uniform) and dropout masks too, which makes a seed reproducible.
//! BatchNorm is written out (batch statistics in training, running statistics after).

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::scaler::Scaler;
use super::{Data, FitCtx, Model, N_FEATURES, balanced_weights, eval_on};
use crate::engine::eval::SplitEval;
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
const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f32 = 0.1;

fn ce(e: candle_core::Error) -> Error {
    Error::Config(format!("neural network: {e}"))
}

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

/// Ones for a batch of `n` rows, to broadcast a row over the batch and to average its
/// columns as matrix products. candle's CPU backend sums over the row axis (what BatchNorm's
/// statistics and every broadcast's gradient need) with two integer divisions per element,
/// which took most of a fit; as products with ones both ways are matrix multiplies. A product
/// with an inner size of 1 multiplies by 1.0, so a broadcast row keeps its exact values.
struct Ones {
    col: Tensor,
    row: Tensor,
    n: usize,
}

impl Ones {
    fn new(n: usize, dev: &Device) -> Result<Ones> {
        Ok(Ones {
            col: Tensor::ones((n, 1), DType::F32, dev).map_err(ce)?,
            row: Tensor::ones((1, n), DType::F32, dev).map_err(ce)?,
            n,
        })
    }

    /// A vector or (1, d) row, repeated on each of the n rows.
    fn expand(&self, v: &Tensor) -> Result<Tensor> {
        let d = v.elem_count();
        v.reshape((1, d))
            .and_then(|r| self.col.matmul(&r))
            .map_err(ce)
    }

    /// The mean of each column of an (n, d) tensor, as a (1, d) row.
    fn col_mean(&self, x: &Tensor) -> Result<Tensor> {
        self.row
            .matmul(x)
            .and_then(|s| s.affine(1.0 / self.n as f64, 0.0))
            .map_err(ce)
    }
}

/// A dense layer, y = x·W + b, W of shape (fan in, fan out).
struct Linear {
    w: Var,
    b: Var,
}

/// BatchNorm: batch statistics in training (folded into running ones), running statistics
/// at prediction; a learnt scale and shift.
struct BatchNorm {
    name: &'static str,
    gamma: Var,
    beta: Var,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

/// One residual block of `mlp_advanced`: relu(h + b(relu(bn(a(h))))).
struct Block {
    a: Linear,
    bn: BatchNorm,
    b: Linear,
}

/// Each kind's layers, typed: the wiring in `Net::forward` names fields, so a layer that is
/// not there is a compile error, not a failed lookup at run time.
enum Layers {
    /// (64, 32), ReLU.
    Base { l1: Linear, l2: Linear, out: Linear },
    /// (128, 64), each BatchNorm → ReLU → Dropout.
    Enhance {
        l1: Linear,
        bn1: BatchNorm,
        l2: Linear,
        bn2: BatchNorm,
        out: Linear,
    },
    /// An input layer with BatchNorm, then two residual blocks, all `width` wide.
    Advanced {
        input: Linear,
        bn_in: BatchNorm,
        blocks: [Block; 2],
        out: Linear,
    },
    /// The (64, 32) MLP's logit plus a linear part on the features and `CROSSES`.
    WideDeep {
        l1: Linear,
        l2: Linear,
        out: Linear,
        wide: Linear,
    },
}

/// Where a network's tensors come from: drawn fresh from the seeded generator, or read from
/// a saved model (each one checked: there, the right shape, finite).
enum Source<'a> {
    Init(&'a mut ChaCha8Rng),
    Saved(&'a Weights),
}

/// Makes the layers of one network, and keeps every trainable variable by its saved name.
struct Builder<'a> {
    source: Source<'a>,
    dev: &'a Device,
    vars: BTreeMap<String, Var>,
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

    fn var(
        &mut self,
        name: String,
        shape: &[usize],
        fresh: impl FnOnce() -> Vec<f32>,
    ) -> Result<Var> {
        let data = match self.source {
            Source::Init(_) => fresh(),
            Source::Saved(_) => self.saved(&name, shape)?,
        };
        let v = Tensor::from_vec(data, shape, self.dev)
            .and_then(|t| Var::from_tensor(&t))
            .map_err(ce)?;
        self.vars.insert(name, v.clone());
        Ok(v)
    }

    /// Kaiming-uniform weights (bound √(6 / fan in)) from the seeded generator, zero bias.
    fn linear(&mut self, name: &str, fan_in: usize, fan_out: usize) -> Result<Linear> {
        let bound = (6.0 / fan_in as f64).sqrt() as f32;
        let w: Vec<f32> = match &mut self.source {
            Source::Init(rng) => (0..fan_in * fan_out)
                .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound)
                .collect(),
            Source::Saved(_) => Vec::new(),
        };
        Ok(Linear {
            w: self.var(format!("{name}.w"), &[fan_in, fan_out], || w)?,
            b: self.var(format!("{name}.b"), &[fan_out], || vec![0.0; fan_out])?,
        })
    }

    fn batch_norm(&mut self, name: &'static str, width: usize) -> Result<BatchNorm> {
        let gamma = self.var(format!("{name}.gamma"), &[width], || vec![1.0; width])?;
        let beta = self.var(format!("{name}.beta"), &[width], || vec![0.0; width])?;
        let (running_mean, running_var) = match self.source {
            Source::Init(_) => (vec![0.0; width], vec![1.0; width]),
            Source::Saved(_) => (
                self.saved(&format!("{name}.mean"), &[width])?,
                self.saved(&format!("{name}.var"), &[width])?,
            ),
        };
        Ok(BatchNorm {
            name,
            gamma,
            beta,
            running_mean,
            running_var,
        })
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

/// The network: its layers, and every trainable variable by its saved name (for the
/// optimiser and snapshots).
struct Net {
    layers: Layers,
    vars: BTreeMap<String, Var>,
}

impl Linear {
    fn forward(&self, x: &Tensor, ones: &Ones) -> Result<Tensor> {
        let y = x.matmul(self.w.as_tensor()).map_err(ce)?;
        (y + ones.expand(self.b.as_tensor())?).map_err(ce)
    }
}

impl BatchNorm {
    fn forward(&mut self, x: &Tensor, train: bool, ones: &Ones) -> Result<Tensor> {
        let dev = x.device().clone();
        let (mean, var) = if train {
            let mean = ones.col_mean(x)?;
            let var = ones.col_mean(
                &(x - ones.expand(&mean)?)
                    .and_then(|d| d.sqr())
                    .map_err(ce)?,
            )?;
            // Running statistics are bookkeeping, outside the graph.
            let values = |t: &Tensor| {
                t.detach()
                    .flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .map_err(ce)
            };
            for (r, new) in [
                (&mut self.running_mean, values(&mean)?),
                (&mut self.running_var, values(&var)?),
            ] {
                for (a, b) in r.iter_mut().zip(new) {
                    *a = (1.0 - BN_MOMENTUM) * *a + BN_MOMENTUM * b;
                }
            }
            (mean, var)
        } else {
            let row = |v: &Vec<f32>| Tensor::from_vec(v.clone(), (1, v.len()), &dev).map_err(ce);
            (row(&self.running_mean)?, row(&self.running_var)?)
        };
        let sd = var.affine(1.0, BN_EPS).and_then(|v| v.sqrt()).map_err(ce)?;
        let (mean, sd) = (ones.expand(&mean)?, ones.expand(&sd)?);
        let xhat = (x - mean).and_then(|d| d / sd).map_err(ce)?;
        let (gamma, beta) = (
            ones.expand(self.gamma.as_tensor())?,
            ones.expand(self.beta.as_tensor())?,
        );
        (xhat * gamma).and_then(|y| y + beta).map_err(ce)
    }
}

impl Net {
    fn build(kind: Kind, width: usize, source: Source<'_>, dev: &Device) -> Result<Net> {
        let mut b = Builder {
            source,
            dev,
            vars: BTreeMap::new(),
        };
        let layers = b.layers(kind, width)?;
        Ok(Net {
            layers,
            vars: b.vars,
        })
    }

    fn init(kind: Kind, width: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Net> {
        Net::build(kind, width, Source::Init(rng), dev)
    }

    /// A saved network; a tensor missing, misshapen or not finite is an error naming it.
    fn restore(kind: Kind, width: usize, w: &Weights, dev: &Device) -> Result<Net> {
        let net = Net::build(kind, width, Source::Saved(w), dev)?;
        let used = net.vars.len() + 2 * net.batch_norms().len();
        if used != w.tensors.len() {
            let known: std::collections::BTreeSet<String> = net.snapshot_names();
            let extra = w.tensors.keys().find(|k| !known.contains(*k));
            return Err(Error::Config(format!(
                "unexpected tensor {}",
                extra.map_or("", |s| s.as_str())
            )));
        }
        Ok(net)
    }

    fn batch_norms(&self) -> Vec<&BatchNorm> {
        match &self.layers {
            Layers::Enhance { bn1, bn2, .. } => vec![bn1, bn2],
            Layers::Advanced { bn_in, blocks, .. } => {
                vec![bn_in, &blocks[0].bn, &blocks[1].bn]
            }
            Layers::Base { .. } | Layers::WideDeep { .. } => vec![],
        }
    }

    fn snapshot_names(&self) -> std::collections::BTreeSet<String> {
        let mut names: std::collections::BTreeSet<String> = self.vars.keys().cloned().collect();
        for bn in self.batch_norms() {
            names.insert(format!("{}.mean", bn.name));
            names.insert(format!("{}.var", bn.name));
        }
        names
    }

    fn dropout(x: &Tensor, rng: &mut ChaCha8Rng, train: bool) -> Result<Tensor> {
        if !train {
            return Ok(x.clone());
        }
        let keep = 1.0 - DROPOUT;
        let n = x.elem_count();
        let mask: Vec<f32> = (0..n)
            .map(|_| {
                if rng.random::<f64>() < keep {
                    (1.0 / keep) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let m = Tensor::from_vec(mask, x.shape(), x.device()).map_err(ce)?;
        x.mul(&m).map_err(ce)
    }

    /// Logits, shape (n,).
    fn forward(&mut self, x: &Tensor, rng: &mut ChaCha8Rng, train: bool) -> Result<Tensor> {
        let relu = |t: Tensor| t.relu().map_err(ce);
        let ones = &Ones::new(x.dim(0).map_err(ce)?, x.device())?;
        let logit = match &mut self.layers {
            Layers::Base { l1, l2, out } => {
                let h = relu(l1.forward(x, ones)?)?;
                out.forward(&relu(l2.forward(&h, ones)?)?, ones)?
            }
            Layers::Enhance {
                l1,
                bn1,
                l2,
                bn2,
                out,
            } => {
                let h = bn1.forward(&l1.forward(x, ones)?, train, ones)?;
                let h = Net::dropout(&relu(h)?, rng, train)?;
                let h = bn2.forward(&l2.forward(&h, ones)?, train, ones)?;
                out.forward(&Net::dropout(&relu(h)?, rng, train)?, ones)?
            }
            Layers::Advanced {
                input,
                bn_in,
                blocks,
                out,
            } => {
                let mut h = relu(bn_in.forward(&input.forward(x, ones)?, train, ones)?)?;
                for Block { a, bn, b } in blocks.iter_mut() {
                    let inner = bn.forward(&a.forward(&h, ones)?, train, ones)?;
                    let inner = b.forward(&relu(inner)?, ones)?;
                    h = relu((h + inner).map_err(ce)?)?;
                }
                out.forward(&h, ones)?
            }
            Layers::WideDeep { l1, l2, out, wide } => {
                let h = relu(l1.forward(x, ones)?)?;
                let deep = out.forward(&relu(l2.forward(&h, ones)?)?, ones)?;
                let mut parts = vec![x.clone()];
                for (i, j) in CROSSES {
                    parts.push(
                        x.narrow(1, i, 1)
                            .and_then(|a| a * x.narrow(1, j, 1)?)
                            .map_err(ce)?,
                    );
                }
                let wide_in = Tensor::cat(&parts, 1).map_err(ce)?;
                (deep + wide.forward(&wide_in, ones)?).map_err(ce)?
            }
        };
        logit.squeeze(D::Minus1).map_err(ce)
    }

    fn snapshot(&self) -> Result<Weights> {
        let mut tensors = BTreeMap::new();
        for (k, v) in &self.vars {
            let t = v.as_tensor();
            tensors.insert(
                k.clone(),
                (
                    t.dims().to_vec(),
                    t.flatten_all()
                        .and_then(|t| t.to_vec1::<f32>())
                        .map_err(ce)?,
                ),
            );
        }
        for bn in self.batch_norms() {
            for (part, v) in [("mean", &bn.running_mean), ("var", &bn.running_var)] {
                tensors.insert(format!("{}.{part}", bn.name), (vec![v.len()], v.clone()));
            }
        }
        Ok(Weights { tensors })
    }
}

fn matrix(x: &Data, dev: &Device) -> Result<Tensor> {
    let n = x.n();
    let mut v = Vec::with_capacity(n * N_FEATURES);
    for i in 0..n {
        v.extend(x.row(i).iter().map(|&f| f as f32));
    }
    Tensor::from_vec(v, (n, N_FEATURES), dev).map_err(ce)
}

fn sigmoid(z: f32) -> f64 {
    1.0 / (1.0 + (-(z as f64)).exp())
}

/// Rows per forward pass at prediction: every layer's output is a fresh tensor, so one pass
/// over 120k rows of width 256 held gigabytes at once.
const PREDICT_CHUNK: usize = 8192;

fn predict_net(net: &mut Net, x: &Tensor, rng: &mut ChaCha8Rng) -> Result<Vec<f64>> {
    let n = x.dim(0).map_err(ce)?;
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let len = PREDICT_CHUNK.min(n - start);
        let part = x.narrow(0, start, len).map_err(ce)?;
        let logits = net.forward(&part, rng, false)?;
        out.extend(
            logits
                .to_vec1::<f32>()
                .map_err(ce)?
                .into_iter()
                .map(sigmoid),
        );
        start += len;
    }
    Ok(out)
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
        let dev = Device::Cpu;
        let (scaler, xt) = Scaler::fit_transform(train);
        let salt = match self.kind {
            Kind::Base => 11,
            Kind::Enhance => 12,
            Kind::Advanced => 13,
            Kind::WideDeep => 14,
        };
        let check = val.sample(CHECK_ROWS, ctx.seed ^ salt ^ 0x5a17);
        let xv = scaler.transform(&check);
        let (mt, mv) = (matrix(&xt, &dev)?, matrix(&xv, &dev)?);
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed ^ salt);
        let mut net = Net::init(self.kind, self.width, &mut rng, &dev)?;
        let mut opt = AdamW::new(
            net.vars.values().cloned().collect(),
            ParamsAdamW {
                lr: LR,
                weight_decay: if self.kind == Kind::Base {
                    0.0
                } else {
                    WEIGHT_DECAY
                },
                ..Default::default()
            },
        )
        .map_err(ce)?;
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
                let idx = Tensor::from_vec(chunk.to_vec(), chunk.len(), &dev).map_err(ce)?;
                let xb = mt.index_select(&idx, 0).map_err(ce)?;
                let yb: Vec<f32> = chunk
                    .iter()
                    .map(|&i| train.y[i as usize] as u8 as f32)
                    .collect();
                let wb: Vec<f32> = chunk.iter().map(|&i| w[i as usize] as f32).collect();
                let yb = Tensor::from_vec(yb, chunk.len(), &dev).map_err(ce)?;
                let wb = Tensor::from_vec(wb, chunk.len(), &dev).map_err(ce)?;
                let z = net.forward(&xb, &mut rng, true)?;
                // Weighted logistic loss, stable form: max(z,0) − z·y + ln(1 + e^−|z|).
                let loss = (z.relu().map_err(ce)? - (&z * &yb).map_err(ce)?)
                    .and_then(|a| a + z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)
                    .and_then(|l| l * &wb)
                    .and_then(|l| l.mean_all())
                    .map_err(ce)?;
                opt.backward_step(&loss).map_err(ce)?;
            }
            let scores = predict_net(&mut net, &mv, &mut rng)?;
            let e = eval_on(&scores, &check, ctx.ks);
            let key = epoch_key(&e);
            if best
                .as_ref()
                .is_none_or(|(bk, _, _)| key.partial_cmp(bk) == Some(std::cmp::Ordering::Greater))
            {
                best = Some((key, epoch, net.snapshot()?));
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
        let dev = Device::Cpu;
        let scaler = self
            .scaler
            .as_ref()
            .ok_or_else(|| Error::Config(format!("{}: not fitted", self.name())))?;
        let mut net = Net::restore(self.kind, self.width, &self.weights, &dev)?;
        let m = matrix(&scaler.transform(x), &dev)?;
        // Dropout is off at prediction, so this generator is never drawn from.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        predict_net(&mut net, &m, &mut rng)
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
            return Err(super::damaged(
                name,
                format!("width {} outside 1 to {MAX_WIDTH}", self.width),
            ));
        }
        Net::restore(self.kind, self.width, &self.weights, &Device::Cpu)
            .map_err(|e| super::damaged(name, e))?;
        self.scaler
            .as_ref()
            .ok_or_else(|| super::damaged(name, "no scaler"))?
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

    /// An mlp_advanced saved before the width was stored (256 wide, no `width` field) loads
    /// as 256 wide and scores; a width past the bound is refused, not sized.
    #[test]
    fn an_advanced_model_saved_at_the_old_width_still_scores() {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let net = Net::init(Kind::Advanced, 256, &mut rng, &dev).unwrap();
        let n = 50;
        let data = toy(n, |i, j| ((i * (j + 3)) % 7) as f64, |i| i % 2 == 0);
        let saved = Mlp {
            kind: Kind::Advanced,
            width: 256,
            best_epoch: 1,
            scaler: Some(Scaler::fit(&data)),
            weights: net.snapshot().unwrap(),
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
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let net = Net::init(Kind::Enhance, ADVANCED_WIDTH, &mut rng, &dev).unwrap();
        let n = 20;
        let data = toy(n, |i, j| ((i + j) % 5) as f64, |i| i % 3 == 0);
        let good = Mlp {
            kind: Kind::Enhance,
            width: ADVANCED_WIDTH,
            best_epoch: 1,
            scaler: Some(Scaler::fit(&data)),
            weights: net.snapshot().unwrap(),
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

        let mut unfitted = good;
        unfitted.scaler = None;
        assert!(unfitted.predict(&data).is_err());
    }
}
