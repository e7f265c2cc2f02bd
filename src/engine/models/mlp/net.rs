//! The four networks wired from the layers of `nn`: each kind's forward and backward pass written
//! out, so the wiring names fields (a layer that is not there is a compile error); dropout
//! masks from the seeded RNG.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::nn::{Dense, Mat, Norm, NormCache, Param, add_in_place, mul_in_place, relu, relu_back};
use crate::engine::features::matrix::N_FEATURES;
use crate::engine::{Error, Result};

use super::kind::{CROSSES, DROPOUT, Kind, Weights};

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
pub(super) struct Net {
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

    pub(super) fn init(kind: Kind, width: usize, rng: &mut ChaCha8Rng) -> Result<Net> {
        Net::build(kind, width, Source::Init(rng))
    }

    /// A saved network; a tensor missing, misshapen, not finite or not the network's is an
    /// error naming it.
    pub(super) fn restore(kind: Kind, width: usize, w: &Weights) -> Result<Net> {
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

    pub(super) fn params_mut(&mut self) -> Vec<&mut Param> {
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

    pub(super) fn snapshot(&self) -> Weights {
        Weights {
            tensors: self
                .tensors()
                .into_iter()
                .map(|(name, shape, v)| (name, (shape, v.clone())))
                .collect(),
        }
    }

    /// Logits at prediction (running BatchNorm statistics, no dropout), one per row.
    pub(super) fn logits(&self, x: &Mat) -> Vec<f32> {
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
    pub(super) fn train_pass(
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
