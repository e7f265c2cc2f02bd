//! The few pieces of a feed-forward network the MLPs need, written out: dense layers,
//! BatchNorm, ReLU, dropout, their gradients, and AdamW, on row-major `f32` matrices whose
//! products are `gemm`'s.
//!
//! Why not a tensor library: these networks are small (a 1,024-row batch through layers at
//! most 128 wide), so a general autograd engine spent more time building, allocating and
//! walking its graph than multiplying (candle: 60–150 operations per batch, each a fresh
//! tensor, and a reduction over rows with two integer divisions per element). Written out,
//! a step is its few matrix products plus loops that vectorise. Its random generator could not
//! be seeded either. Every sum here runs in a fixed order, so a seed gives the same bits on
//! any machine.

use gemm::{Parallelism, gemm};

/// A row-major matrix.
#[derive(Debug, Clone, Default)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Mat {
        Mat {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Mat {
        debug_assert_eq!(data.len(), rows * cols);
        Mat { rows, cols, data }
    }

    /// The rows `idx` of `self`, in that order.
    pub fn gather(&self, idx: &[u32]) -> Mat {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            let i = i as usize;
            data.extend_from_slice(&self.data[i * self.cols..(i + 1) * self.cols]);
        }
        Mat::from_vec(idx.len(), self.cols, data)
    }

    /// Rows `start..start + len`.
    pub fn slice_rows(&self, start: usize, len: usize) -> Mat {
        let c = self.cols;
        Mat::from_vec(len, c, self.data[start * c..(start + len) * c].to_vec())
    }
}

/// A borrowed row-major matrix: a `Mat`, or a layer's weights where they lie.
#[derive(Clone, Copy)]
struct View<'a> {
    rows: usize,
    cols: usize,
    data: &'a [f32],
}

impl Mat {
    fn view(&self) -> View<'_> {
        View {
            rows: self.rows,
            cols: self.cols,
            data: &self.data,
        }
    }
}

/// `dst (+)= op(a) · op(b)`, where `op` transposes when asked: `op(a)` is m×k, `op(b)` k×n,
/// `dst` m×n. With `add`, the product is added to what `dst` holds.
fn matmul(dst: &mut Mat, a: View<'_>, ta: bool, b: View<'_>, tb: bool, add: bool) {
    let (m, k) = if ta {
        (a.cols, a.rows)
    } else {
        (a.rows, a.cols)
    };
    let (kb, n) = if tb {
        (b.cols, b.rows)
    } else {
        (b.rows, b.cols)
    };
    // The shapes are the code's own (saved weights are checked when read), so a mismatch is a
    // bug; checked always, because the product below reads through raw pointers.
    assert!(
        k == kb && dst.rows == m && dst.cols == n,
        "matmul shapes: {m}x{k} · {kb}x{n} into {}x{}",
        dst.rows,
        dst.cols
    );
    assert!(a.data.len() == a.rows * a.cols && b.data.len() == b.rows * b.cols);
    assert!(dst.data.len() == m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !add {
            dst.data.fill(0.0);
        }
        return;
    }
    // Strides of op(x) for a row-major x: (row stride, column stride).
    let strides = |x: View<'_>, t: bool| -> (isize, isize) {
        if t {
            (1, x.cols as isize)
        } else {
            (x.cols as isize, 1)
        }
    };
    let (a_rs, a_cs) = strides(a, ta);
    let (b_rs, b_cs) = strides(b, tb);
    // SAFETY: the asserts above make every index gemm forms from these sizes and strides fall
    // inside the three buffers, and `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            1,
            n as isize,
            add,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            // One thread: at these sizes a second one cost more in hand-offs than it saved
            // (4M-event bench: mlp_advanced 5.7 s on one thread, 6.4 s on two), and a run
            // fits several models side by side instead.
            Parallelism::None,
        );
    }
}

/// A trainable tensor with its gradient and AdamW's two moments.
#[derive(Debug, Clone)]
pub struct Param {
    pub value: Vec<f32>,
    pub grad: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Param {
    pub fn new(value: Vec<f32>) -> Param {
        let n = value.len();
        Param {
            value,
            grad: vec![0.0; n],
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

/// A dense layer, y = x·W + b, W of shape (fan in, fan out).
#[derive(Debug, Clone)]
pub struct Dense {
    /// Its saved name (`l1` saves `l1.w` and `l1.b`).
    pub name: &'static str,
    pub w: Param,
    pub b: Param,
    pub fan_in: usize,
    pub fan_out: usize,
}

impl Dense {
    pub fn new(
        name: &'static str,
        fan_in: usize,
        fan_out: usize,
        w: Vec<f32>,
        b: Vec<f32>,
    ) -> Dense {
        Dense {
            name,
            w: Param::new(w),
            b: Param::new(b),
            fan_in,
            fan_out,
        }
    }

    fn weights(&self) -> View<'_> {
        View {
            rows: self.fan_in,
            cols: self.fan_out,
            data: &self.w.value,
        }
    }

    pub fn forward(&self, x: &Mat) -> Mat {
        let mut y = Mat::zeros(x.rows, self.fan_out);
        for row in y.data.chunks_exact_mut(self.fan_out) {
            row.copy_from_slice(&self.b.value);
        }
        matmul(&mut y, x.view(), false, self.weights(), false, true);
        y
    }

    /// Sets the gradients from the layer's input `x` and the loss's gradient `dy` at its
    /// output; returns the gradient at its input when `need_dx`.
    pub fn backward(&mut self, x: &Mat, dy: &Mat, need_dx: bool) -> Option<Mat> {
        let mut gw = Mat::zeros(self.fan_in, self.fan_out);
        matmul(&mut gw, x.view(), true, dy.view(), false, false);
        self.w.grad = gw.data;
        col_sums(dy, &mut self.b.grad);
        need_dx.then(|| {
            let mut dx = Mat::zeros(dy.rows, self.fan_in);
            matmul(&mut dx, dy.view(), false, self.weights(), true, false);
            dx
        })
    }
}

/// Column sums of `x` into `out` (summed in f64, row by row: a fixed order).
fn col_sums(x: &Mat, out: &mut [f32]) {
    let mut acc = vec![0.0f64; x.cols];
    for row in x.data.chunks_exact(x.cols) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v as f64;
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a as f32;
    }
}

pub const BN_EPS: f32 = 1e-5;
pub const BN_MOMENTUM: f32 = 0.1;

/// BatchNorm: batch statistics in training (folded into running ones), running statistics
/// at prediction; a learnt scale and shift.
#[derive(Debug, Clone)]
pub struct Norm {
    /// Its saved name (`bn1` saves `bn1.gamma`, `.beta`, `.mean` and `.var`).
    pub name: &'static str,
    pub gamma: Param,
    pub beta: Param,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
}

/// What a training pass through `Norm` keeps for the backward pass.
pub struct NormCache {
    xhat: Mat,
    inv_sd: Vec<f32>,
}

impl Norm {
    pub fn new(
        name: &'static str,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
    ) -> Norm {
        Norm {
            name,
            gamma: Param::new(gamma),
            beta: Param::new(beta),
            running_mean: mean,
            running_var: var,
        }
    }

    fn scale_shift(&self, x: &Mat, mean: &[f32], inv_sd: &[f32]) -> (Mat, Mat) {
        let mut xhat = x.clone();
        let mut y = Mat::zeros(x.rows, x.cols);
        for (xr, yr) in xhat
            .data
            .chunks_exact_mut(x.cols)
            .zip(y.data.chunks_exact_mut(x.cols))
        {
            for j in 0..x.cols {
                let h = (xr[j] - mean[j]) * inv_sd[j];
                xr[j] = h;
                yr[j] = h * self.gamma.value[j] + self.beta.value[j];
            }
        }
        (y, xhat)
    }

    /// Training: normalise by the batch's mean and (biased) variance, and fold them into the
    /// running statistics.
    pub fn forward_train(&mut self, x: &Mat) -> (Mat, NormCache) {
        let (n, d) = (x.rows as f64, x.cols);
        let mut mean = vec![0.0f64; d];
        for row in x.data.chunks_exact(d) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; d];
        for row in x.data.chunks_exact(d) {
            for j in 0..d {
                let e = row[j] as f64 - mean[j];
                var[j] += e * e;
            }
        }
        var.iter_mut().for_each(|v| *v /= n);
        let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let inv_sd: Vec<f32> = var
            .iter()
            .map(|&v| 1.0 / (v as f32 + BN_EPS).sqrt())
            .collect();
        for j in 0..d {
            self.running_mean[j] =
                (1.0 - BN_MOMENTUM) * self.running_mean[j] + BN_MOMENTUM * mean32[j];
            self.running_var[j] =
                (1.0 - BN_MOMENTUM) * self.running_var[j] + BN_MOMENTUM * var[j] as f32;
        }
        let (y, xhat) = self.scale_shift(x, &mean32, &inv_sd);
        (y, NormCache { xhat, inv_sd })
    }

    pub fn forward_eval(&self, x: &Mat) -> Mat {
        let inv_sd: Vec<f32> = self
            .running_var
            .iter()
            .map(|&v| 1.0 / (v + BN_EPS).sqrt())
            .collect();
        self.scale_shift(x, &self.running_mean, &inv_sd).0
    }

    /// The batch statistics' own gradients included (the standard BatchNorm backward).
    pub fn backward(&mut self, c: &NormCache, dy: &Mat) -> Mat {
        let d = dy.cols;
        let (mut sum_dy, mut sum_dy_xhat) = (vec![0.0f64; d], vec![0.0f64; d]);
        for (g, h) in dy.data.chunks_exact(d).zip(c.xhat.data.chunks_exact(d)) {
            for j in 0..d {
                sum_dy[j] += g[j] as f64;
                sum_dy_xhat[j] += (g[j] * h[j]) as f64;
            }
        }
        for j in 0..d {
            self.beta.grad[j] = sum_dy[j] as f32;
            self.gamma.grad[j] = sum_dy_xhat[j] as f32;
        }
        let n = dy.rows as f32;
        // dx = γ·σ⁻¹/n · (n·dy − Σdy − x̂·Σ(dy·x̂))
        let k: Vec<f32> = (0..d)
            .map(|j| self.gamma.value[j] * c.inv_sd[j] / n)
            .collect();
        let (s1, s2): (Vec<f32>, Vec<f32>) = (
            sum_dy.iter().map(|&v| v as f32).collect(),
            sum_dy_xhat.iter().map(|&v| v as f32).collect(),
        );
        let mut dx = Mat::zeros(dy.rows, d);
        for ((o, g), h) in dx
            .data
            .chunks_exact_mut(d)
            .zip(dy.data.chunks_exact(d))
            .zip(c.xhat.data.chunks_exact(d))
        {
            for j in 0..d {
                o[j] = k[j] * (n * g[j] - s1[j] - h[j] * s2[j]);
            }
        }
        dx
    }
}

/// ReLU in place.
pub fn relu(x: &mut Mat) {
    for v in &mut x.data {
        *v = v.max(0.0);
    }
}

/// The gradient through a ReLU whose output was `y`: zero where it was not positive.
pub fn relu_back(y: &Mat, dy: &mut Mat) {
    for (g, &v) in dy.data.iter_mut().zip(&y.data) {
        if v <= 0.0 {
            *g = 0.0;
        }
    }
}

/// Elementwise product in place (a dropout mask, forward and backward).
pub fn mul_in_place(x: &mut Mat, mask: &[f32]) {
    for (v, &m) in x.data.iter_mut().zip(mask) {
        *v *= m;
    }
}

/// `x += y`, elementwise.
pub fn add_in_place(x: &mut Mat, y: &Mat) {
    for (a, &b) in x.data.iter_mut().zip(&y.data) {
        *a += b;
    }
}

/// AdamW with decoupled weight decay, as PyTorch and candle define it (bias-corrected
/// moments; θ ← θ·(1 − lr·λ) − lr·m̂/(√v̂ + ε)).
#[derive(Debug, Clone)]
pub struct AdamW {
    pub lr: f32,
    pub weight_decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    t: i32,
}

impl AdamW {
    pub fn new(lr: f32, weight_decay: f32) -> AdamW {
        AdamW {
            lr,
            weight_decay,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
        }
    }

    pub fn step(&mut self, params: &mut [&mut Param]) {
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let scale_m = 1.0 / (1.0 - b1.powi(self.t));
        let scale_v = 1.0 / (1.0 - b2.powi(self.t));
        let decay = 1.0 - self.lr * self.weight_decay;
        for p in params.iter_mut() {
            let Param { value, grad, m, v } = &mut **p;
            for i in 0..value.len() {
                let g = grad[i];
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let step = (m[i] * scale_m) / ((v[i] * scale_v).sqrt() + self.eps);
                value[i] = value[i] * decay - self.lr * step;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &Mat, ta: bool, b: &Mat, tb: bool) -> Vec<f64> {
        let at = |i: usize, l: usize| {
            if ta {
                a.data[l * a.cols + i]
            } else {
                a.data[i * a.cols + l]
            }
        };
        let bt = |l: usize, j: usize| {
            if tb {
                b.data[j * b.cols + l]
            } else {
                b.data[l * b.cols + j]
            }
        };
        let (m, k) = if ta {
            (a.cols, a.rows)
        } else {
            (a.rows, a.cols)
        };
        let n = if tb { b.rows } else { b.cols };
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|l| at(i, l) as f64 * bt(l, j) as f64).sum();
            }
        }
        out
    }

    fn filled(rows: usize, cols: usize, seed: u32) -> Mat {
        let data = (0..rows * cols)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect();
        Mat::from_vec(rows, cols, data)
    }

    #[test]
    fn products_in_each_orientation_equal_the_schoolbook_sum() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta {
                filled(37, 19, 1)
            } else {
                filled(19, 37, 1)
            };
            let b = if tb {
                filled(23, 37, 2)
            } else {
                filled(37, 23, 2)
            };
            let mut dst = Mat::zeros(19, 23);
            matmul(&mut dst, a.view(), ta, b.view(), tb, false);
            let want = naive(&a, ta, &b, tb);
            for (g, w) in dst.data.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-4, "{ta} {tb}: {g} vs {w}");
            }
            // Accumulating adds the product to what was there.
            let mut twice = dst.clone();
            matmul(&mut twice, a.view(), ta, b.view(), tb, true);
            for (g, w) in twice.data.iter().zip(&want) {
                assert!((*g as f64 - 2.0 * w).abs() < 1e-4);
            }
        }
    }

    /// Central differences of a scalar loss against the hand-written gradients.
    #[test]
    fn dense_and_batch_norm_gradients_match_finite_differences() {
        let x = filled(8, 5, 3);
        let w0 = filled(5, 4, 4).data;
        let mut dense = Dense::new("d", 5, 4, w0, vec![0.1, -0.2, 0.3, 0.0]);
        let mut norm = Norm::new(
            "n",
            vec![1.5, 0.5, 1.0, 2.0],
            vec![0.0, 0.1, -0.1, 0.2],
            vec![0.0; 4],
            vec![1.0; 4],
        );
        // loss = Σ c_ij · relu(bn(dense(x)))_ij with fixed weights c.
        let c = filled(8, 4, 5);
        let loss = |dense: &Dense, norm: &mut Norm, x: &Mat| -> f64 {
            let (mut y, _) = norm.forward_train(&dense.forward(x));
            relu(&mut y);
            y.data
                .iter()
                .zip(&c.data)
                .map(|(a, b)| (*a * *b) as f64)
                .sum()
        };
        let h = dense.forward(&x);
        let (mut y, cache) = norm.forward_train(&h);
        relu(&mut y);
        let mut dy = c.clone();
        relu_back(&y, &mut dy);
        let dh = norm.backward(&cache, &dy);
        let dx = dense.backward(&x, &dh, true).expect("asked for dx");
        let eps = 1e-2f32;
        let check = |analytic: f32, plus: f64, minus: f64, what: &str| {
            let numeric = (plus - minus) / (2.0 * eps as f64);
            assert!(
                (analytic as f64 - numeric).abs() < 2e-2 * (1.0 + numeric.abs()),
                "{what}: analytic {analytic} numeric {numeric}"
            );
        };
        for i in 0..dense.w.value.len() {
            let mut d = dense.clone();
            d.w.value[i] += eps;
            let plus = loss(&d, &mut norm.clone(), &x);
            d.w.value[i] -= 2.0 * eps;
            let minus = loss(&d, &mut norm.clone(), &x);
            check(dense.w.grad[i], plus, minus, "w");
        }
        for j in 0..4 {
            let mut n = norm.clone();
            n.gamma.value[j] += eps;
            let plus = loss(&dense, &mut n.clone(), &x);
            n.gamma.value[j] -= 2.0 * eps;
            let minus = loss(&dense, &mut n, &x);
            check(norm.gamma.grad[j], plus, minus, "gamma");
        }
        for i in 0..x.data.len() {
            let mut xp = x.clone();
            xp.data[i] += eps;
            let plus = loss(&dense, &mut norm.clone(), &xp);
            xp.data[i] -= 2.0 * eps;
            let minus = loss(&dense, &mut norm.clone(), &xp);
            check(dx.data[i], plus, minus, "x");
        }
    }

    #[test]
    fn adamw_first_step_moves_each_weight_by_lr_against_its_gradient_sign() {
        // After one step m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g), after
        // the decay θ·(1 − lr·λ).
        let mut p = Param::new(vec![1.0, -2.0, 0.5]);
        p.grad = vec![0.3, -4.0, 0.0];
        let mut opt = AdamW::new(0.01, 0.1);
        opt.step(&mut [&mut p]);
        let decay = 1.0 - 0.01 * 0.1;
        let want = [1.0 * decay - 0.01, -2.0 * decay + 0.01, 0.5 * decay];
        for (g, w) in p.value.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
}
