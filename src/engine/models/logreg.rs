//! `logreg`: L2-regularised logistic regression with balanced class weights, on scaled features.
//!
//! Fit by Newton's method (IRLS) on the 15 parameters. Hand-written because linfa-logistic 0.8
//! ignores sample weights, and balanced weights are the point here; with 15 parameters a
//! Newton step is a 15×15 Cholesky solve, exact and deterministic.

// Matrix algebra on fixed 15×15 arrays reads clearer with indices.
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

use super::model::{FitCtx, Model, balanced_weights, better, eval_on, sigmoid};
use super::scaler::Scaler;
use crate::engine::eval::SplitEval;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::{Error, Result};

/// Range of the inverse regularisation strength searched on val (scikit-learn's `C`).
pub const C_RANGE: (f64, f64) = (1e-3, 1e2);
const P: usize = N_FEATURES + 1;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LogReg {
    pub c: f64,
    /// Coefficients on scaled features, then the intercept.
    pub coef: Vec<f64>,
    pub scaler: Option<Scaler>,
}

/// Solve `a x = b` for symmetric positive definite `a` (Cholesky).
fn solve_spd(a: &[[f64; P]; P], b: &[f64; P]) -> Option<[f64; P]> {
    let mut l = [[0.0; P]; P];
    for i in 0..P {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = [0.0; P];
    for i in 0..P {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; P];
    for i in (0..P).rev() {
        x[i] = (y[i] - (i + 1..P).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// Rows per partial sum. Fixed, so the sums (and the coefficients, to the last bit) do not
/// depend on how many threads add them up. Small enough that a chunk's fifteen columns stay
/// in the first-level cache while its 120 Hessian dot products read them (2048 rows took
/// 10% longer: 0.302 s against 0.273 s for the 4M-event bench's logreg, medians of 15).
const CHUNK: usize = 512;

/// `Σ a·b` in a fixed order: sixteen running sums (independent additions that vectorise),
/// added pairwise at the end. The same bits on every thread count.
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    const L: usize = 16;
    let mut acc = [0.0f64; L];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    let mut width = L;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc[0] + tail
}

/// Gradient and lower-triangle Hessian of the weighted log-loss at `beta`, over the scaled
/// feature columns `cols` (the intercept's column is all ones), summed chunk by chunk in
/// parallel and the chunks added in order. Column-wise, each Hessian entry is one dot product
/// over a chunk, which vectorises; row by row it was 120 scattered updates per row.
fn sums(cols: &[Vec<f64>], y: &[bool], w: &[f64], beta: &[f64; P]) -> ([f64; P], [[f64; P]; P]) {
    use rayon::prelude::*;
    let n = y.len();
    let parts: Vec<([f64; P], [[f64; P]; P])> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let rows = Rows { cols, y, w };
            chunk_sums_fast(&rows, beta, c * CHUNK..((c + 1) * CHUNK).min(n))
        })
        .collect();
    let mut grad = [0.0; P];
    let mut hess = [[0.0; P]; P];
    for (g, h) in parts {
        for a in 0..P {
            grad[a] += g[a];
            for b in 0..=a {
                hess[a][b] += h[a][b];
            }
        }
    }
    (grad, hess)
}

/// [`chunk_sums`] compiled for AVX where the CPU has it. The same bits as without: each of
/// the sixteen running sums takes the same additions in the same order whatever the vector
/// width, Rust never fuses a multiply and an add on its own, and a sum over one vector is
/// left in order. Only the width changes (logreg's fit on the 4M-event bench's table: 0.40 s
/// before, 0.32 s with it).
fn chunk_sums_fast(rows: &Rows, beta: &[f64; P], range: Range<usize>) -> Sums {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: this CPU has AVX, checked just above.
        return unsafe { chunk_sums_avx(rows, beta, range) };
    }
    chunk_sums(rows, beta, range)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn chunk_sums_avx(rows: &Rows, beta: &[f64; P], range: Range<usize>) -> Sums {
    chunk_sums(rows, beta, range)
}

/// The scaled feature columns, labels and weights the sums run over.
struct Rows<'a> {
    cols: &'a [Vec<f64>],
    y: &'a [bool],
    w: &'a [f64],
}

/// A gradient and a lower-triangle Hessian.
type Sums = ([f64; P], [[f64; P]; P]);

/// Gradient and lower-triangle Hessian over rows `range`.
#[inline(always)]
fn chunk_sums(rows: &Rows, beta: &[f64; P], range: Range<usize>) -> Sums {
    let Rows { cols, y, w } = *rows;
    let (lo, hi) = (range.start, range.end);
    let x: Vec<&[f64]> = cols.iter().map(|col| &col[lo..hi]).collect();
    let mut z = vec![beta[N_FEATURES]; hi - lo];
    for (j, xj) in x.iter().enumerate() {
        for (zi, &v) in z.iter_mut().zip(*xj) {
            *zi += beta[j] * v;
        }
    }
    let (mut r, mut h) = (vec![0.0; hi - lo], vec![0.0; hi - lo]);
    for i in 0..hi - lo {
        let p = sigmoid(z[i]);
        let wi = w[lo + i];
        r[i] = wi * (p - if y[lo + i] { 1.0 } else { 0.0 });
        h[i] = wi * p * (1.0 - p);
    }
    let mut grad = [0.0; P];
    for a in 0..N_FEATURES {
        grad[a] = dot(&r, x[a]);
    }
    // The intercept's: its column is all ones.
    grad[N_FEATURES] = r.iter().sum();
    let mut hess = [[0.0; P]; P];
    let mut hx = vec![0.0; hi - lo];
    for a in 0..N_FEATURES {
        for (t, (&hi_, &v)) in hx.iter_mut().zip(h.iter().zip(x[a])) {
            *t = hi_ * v;
        }
        for b in 0..=a {
            hess[a][b] = dot(&hx, x[b]);
        }
    }
    for b in 0..N_FEATURES {
        hess[N_FEATURES][b] = dot(&h, x[b]);
    }
    hess[N_FEATURES][N_FEATURES] = h.iter().sum::<f64>();
    (grad, hess)
}

/// Newton's method is done when the parameters move less than this; either by the last step,
/// or by the next one as predicted below.
const TOL: f64 = 1e-10;

/// Newton's method from `start` for one `C`. Near the optimum each step is about `κ` times
/// the square of the one before (quadratic convergence); `kappa` carries that ratio, measured
/// on earlier steps (of this C or, warm-started, of the previous one), so that a step whose
/// successor would move the parameters less than `TOL / 100` ends the fit without paying for
/// it. Only steps already below 1e-4 trust the prediction.
///
/// Returns the parameters, the last Hessian of the penalised loss and the passes made.
fn newton(
    cols: &[Vec<f64>],
    y: &[bool],
    w: &[f64],
    c: f64,
    start: [f64; P],
    kappa: &mut Option<f64>,
) -> Result<Newton> {
    let lambda = 1.0 / c;
    let mut beta = start;
    let mut last_step: Option<f64> = None;
    let mut hess_at_end = [[0.0; P]; P];
    let mut passes = 0;
    for _ in 0..100 {
        passes += 1;
        let (mut grad, mut hess) = sums(cols, y, w, &beta);
        for a in 0..P {
            for b in 0..a {
                hess[b][a] = hess[a][b];
            }
        }
        for j in 0..N_FEATURES {
            grad[j] += lambda * beta[j];
            hess[j][j] += lambda;
        }
        // A tiny ridge on the intercept keeps the solve stable on separable data.
        hess[N_FEATURES][N_FEATURES] += 1e-12;
        let step = solve_spd(&hess, &grad).ok_or_else(singular)?;
        hess_at_end = hess;
        let mut max_step: f64 = 0.0;
        for a in 0..P {
            beta[a] -= step[a];
            max_step = max_step.max(step[a].abs());
        }
        if let Some(prev) = last_step
            && prev < 1e-2
            && max_step > 1e-14
        {
            // Worst seen, so one lucky small step does not cut a later fit short.
            let k = max_step / (prev * prev);
            *kappa = Some(kappa.map_or(k, |old: f64| old.max(k)));
        }
        if max_step < TOL
            || (max_step < 1e-4 && kappa.is_some_and(|k| k * max_step * max_step < TOL / 100.0))
        {
            break;
        }
        last_step = Some(max_step);
    }
    Ok(Newton {
        beta,
        hess: hess_at_end,
        passes,
    })
}

/// What one run of Newton's method found.
struct Newton {
    beta: [f64; P],
    /// The last Hessian of the penalised loss.
    hess: [[f64; P]; P],
    /// Passes over the data (one per step).
    passes: usize,
}

fn singular() -> Error {
    Error::Config("logistic regression: singular Hessian".into())
}

/// The fits along the C path, each started where the fit before it predicts its optimum:
/// the optimum of the quadratic model of the loss at the last optimum, under the new penalty.
/// That is the first Newton step from the last optimum, taken without a pass over the data
/// (its gradient and Hessian there are already known), so each fit converges as it would from
/// the last optimum, one pass sooner. The start only chooses where the method begins; every
/// fit still converges to `TOL`. Measured on the 4M-event bench's 325k train rows: 16 passes
/// over the data for the 8-point path, against 23 starting each fit at the last optimum.
#[derive(Default)]
struct PathFits {
    /// Where the next fit starts.
    start: [f64; P],
    /// The optimum `start` was predicted from.
    last: Option<[f64; P]>,
    /// Passes over the data so far.
    passes: usize,
    /// Newton's measured convergence ratio, carried from fit to fit.
    kappa: Option<f64>,
}

impl PathFits {
    /// The optimum at `c`; then the start for the fit at `c_next`, if any.
    fn fit(&mut self, x: &Data, w: &[f64], c: f64, c_next: Option<f64>) -> Result<[f64; P]> {
        let fit = match newton(&x.cols, &x.y, w, c, self.start, &mut self.kappa) {
            Ok(fit) => fit,
            // A predicted start that Newton's method cannot go on from (a singular Hessian
            // there): start again at the optimum it was predicted from.
            Err(e) => match self.last {
                Some(last) if last != self.start => {
                    newton(&x.cols, &x.y, w, c, last, &mut self.kappa)?
                }
                _ => return Err(e),
            },
        };
        self.passes += fit.passes;
        if let Some(c_next) = c_next {
            // Where the prediction fails, the next fit starts from this optimum.
            self.start = self
                .predict(&fit.beta, &fit.hess, c, c_next)
                .unwrap_or(fit.beta);
            self.last = Some(fit.beta);
        }
        Ok(fit.beta)
    }

    /// The start for the fit at `c_next`, from the optimum `beta` (Hessian `hess`) at `c`.
    /// `None` where the Hessian cannot be solved or the prediction is not finite.
    fn predict(
        &self,
        beta: &[f64; P],
        hess: &[[f64; P]; P],
        c: f64,
        c_next: f64,
    ) -> Option<[f64; P]> {
        // At the optimum for λ the loss's gradient is −λ·Pβ, so for λ' the gradient there is
        // Δλ·Pβ and the Hessian H + Δλ·P: one Newton step from the optimum with what is
        // already known, and no pass over the data.
        let dl = 1.0 / c_next - 1.0 / c;
        let mut h = *hess;
        let mut g = *beta;
        g[N_FEATURES] = 0.0;
        for j in 0..N_FEATURES {
            h[j][j] += dl;
            g[j] *= dl;
        }
        let step = solve_spd(&h, &g)?;
        let next: [f64; P] = std::array::from_fn(|a| beta[a] - step[a]);
        next.iter().all(|v| v.is_finite()).then_some(next)
    }
}

/// Minimise `Σ wᵢ·logloss(i) + ‖β‖² / (2C)` (intercept unpenalised), as scikit-learn does.
pub fn fit_weighted(x: &Data, w: &[f64], c: f64) -> Result<Vec<f64>> {
    Ok(newton(&x.cols, &x.y, w, c, [0.0; P], &mut None)?
        .beta
        .to_vec())
}

/// `n` values of C evenly spaced on a log scale, from the weakest regularisation down.
pub fn c_path(n: usize) -> Vec<f64> {
    let (lo, hi) = (C_RANGE.0.ln(), C_RANGE.1.ln());
    match n {
        0 | 1 => vec![C_RANGE.1],
        _ => (0..n)
            .map(|i| (hi - (hi - lo) * i as f64 / (n - 1) as f64).exp())
            .collect(),
    }
}

impl LogReg {
    /// `σ(b + Σⱼ cⱼ·xⱼ)`, the sum taken column by column (it vectorises) in feature order.
    fn score(&self, x: &Data) -> Vec<f64> {
        let mut z: Vec<f64> = x.cols[0].iter().map(|&v| self.coef[0] * v).collect();
        for (col, &c) in x.cols.iter().zip(&self.coef).take(N_FEATURES).skip(1) {
            for (zi, &v) in z.iter_mut().zip(col) {
                *zi += c * v;
            }
        }
        z.iter()
            .map(|&zi| sigmoid(self.coef[N_FEATURES] + zi))
            .collect()
    }
}

impl Model for LogReg {
    fn name(&self) -> &'static str {
        "logreg"
    }

    /// The C path, weakest regularisation first, each fit warm-started from the previous
    /// one's optimum carried along the path (a step or two instead of a fit from zero); the
    /// best on val by the selection rule.
    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        let (scaler, xt) = Scaler::fit_transform(train);
        let xv = scaler.transform(val);
        let w = balanced_weights(&train.y);
        let path = c_path(ctx.trials.max(1));
        let mut fits = PathFits::default();
        let mut best: Option<(LogReg, SplitEval)> = None;
        for (t, &c) in path.iter().enumerate() {
            ctx.check_cancel()?;
            let beta = fits.fit(&xt, &w, c, path.get(t + 1).copied())?;
            let cand = LogReg {
                c,
                coef: beta.to_vec(),
                scaler: None,
            };
            let e = eval_on(&cand.score(&xv), val, ctx.ks);
            if best.as_ref().is_none_or(|(_, be)| better(&e, be)) {
                best = Some((cand, e));
            }
            (ctx.progress)(t + 1, path.len());
        }
        let (chosen, _) =
            best.ok_or_else(|| Error::Config("logistic regression: no fit".into()))?;
        *self = LogReg {
            scaler: Some(scaler),
            ..chosen
        };
        Ok(())
    }

    fn predict(&self, x: &Data) -> Result<Vec<f64>> {
        match &self.scaler {
            Some(s) => Ok(self.score(&s.transform(x))),
            None => Err(Error::Config("logreg: not fitted".into())),
        }
    }

    /// Coefficient × standardised value: each feature's exact share of the log-odds.
    fn contributions(&self, x: &Data) -> Option<Vec<[f64; N_FEATURES]>> {
        let xt = self.scaler.as_ref()?.transform(x);
        Some(
            (0..xt.n())
                .map(|i| {
                    let row = xt.row(i);
                    std::array::from_fn(|j| self.coef[j] * row[j])
                })
                .collect(),
        )
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({"C": self.c, "class_weight": "balanced", "penalty": "l2"})
    }

    fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn check(&self) -> Result<()> {
        let name = self.name();
        if self.coef.len() != P {
            return Err(super::model::damaged(
                name,
                format!(
                    "{} coefficients, expected {P} (14 features and the intercept)",
                    self.coef.len()
                ),
            ));
        }
        if !super::model::finite(&self.coef) {
            return Err(super::model::damaged(name, "a coefficient is not finite"));
        }
        self.scaler
            .as_ref()
            .ok_or_else(|| super::model::damaged(name, "no scaler"))?
            .check(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded problem: `n` rows of 14 features, some columns correlated, labels from a
    /// linear rule plus uniform noise of width `noise` (small: nearly separable).
    fn problem(n: usize, noise: f64) -> Data {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut cols = vec![Vec::new(); N_FEATURES];
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let base = next();
            let mut z = 0.3;
            for (j, col) in cols.iter_mut().enumerate() {
                let v = if j % 3 == 0 {
                    base + 0.3 * next()
                } else {
                    2.0 * next()
                };
                z += v * (j as f64 - 6.0) / 4.0;
                col.push(v);
            }
            y.push(z + noise * next() > 0.0);
        }
        Data {
            cols,
            y,
            users: (0..n as i64).collect(),
            anchors: vec![0; n],
            hist: vec![],
        }
    }

    /// Each fit on the predicted path reaches the optimum a fit from zero at the same C
    /// reaches, on a noisy problem and on a nearly separable one (where the path bends): the
    /// prediction only moves where Newton's method starts. And it saves passes over the data
    /// against starting each fit at the last optimum: its start is that fit's first step,
    /// taken without a pass.
    #[test]
    fn the_predicted_path_reaches_each_cold_optimum_in_fewer_passes() {
        for noise in [8.0, 1.5] {
            let x = problem(3000, noise);
            let w = balanced_weights(&x.y);
            let path = c_path(8);
            let mut fits = PathFits::default();
            for (t, &c) in path.iter().enumerate() {
                let warm = fits.fit(&x, &w, c, path.get(t + 1).copied()).unwrap();
                let cold = fit_weighted(&x, &w, c).unwrap();
                for (a, (g, want)) in warm.iter().zip(&cold).enumerate() {
                    assert!(
                        (g - want).abs() < 1e-9,
                        "noise {noise}, C={c} coef {a}: {g} vs {want}"
                    );
                }
            }
            let (mut start, mut kappa, mut plain) = ([0.0; P], None, 0);
            for &c in &path {
                let fit = newton(&x.cols, &x.y, &w, c, start, &mut kappa).unwrap();
                (start, plain) = (fit.beta, plain + fit.passes);
            }
            assert!(
                fits.passes < plain,
                "noise {noise}: {} passes against {plain}",
                fits.passes
            );
        }
    }

    /// The sums compiled for AVX are the plain ones, to the bit. (Only on x86_64, where the
    /// AVX path exists; a CPU without AVX never takes it, and says so here.)
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx_sums_are_the_plain_sums_to_the_bit() {
        if !std::arch::is_x86_feature_detected!("avx") {
            eprintln!("no AVX on this CPU: the AVX sums are never taken, nothing to compare");
        } else {
            let x = problem(1500, 8.0);
            let w = balanced_weights(&x.y);
            let beta: [f64; P] = std::array::from_fn(|a| (a as f64 - 7.0) / 10.0);
            // A whole chunk and a ragged one.
            let rows = Rows {
                cols: &x.cols,
                y: &x.y,
                w: &w,
            };
            for range in [0..CHUNK, CHUNK..1500] {
                let plain = chunk_sums(&rows, &beta, range.clone());
                // SAFETY: this CPU has AVX, checked above.
                let avx = unsafe { chunk_sums_avx(&rows, &beta, range.clone()) };
                let bits = |(g, h): ([f64; P], [[f64; P]; P])| -> Vec<u64> {
                    g.iter()
                        .chain(h.iter().flatten())
                        .map(|v| v.to_bits())
                        .collect()
                };
                assert_eq!(bits(plain), bits(avx), "rows {range:?}");
            }
        }
    }
}
