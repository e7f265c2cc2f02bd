//! `logreg`: L2-regularised logistic regression with balanced class weights, on scaled features.
//!
//! Fit by Newton's method (IRLS) on the 15 parameters. Hand-written because linfa-logistic 0.8
//! ignores sample weights, and balanced weights are the point here; with 15 parameters a
//! Newton step is a 15×15 Cholesky solve, exact and deterministic.

// Matrix algebra on fixed 15×15 arrays reads clearer with indices.
#![allow(clippy::needless_range_loop)]

use super::scaler::Scaler;
use super::{Data, FitCtx, Model, N_FEATURES, balanced_weights, better, eval_on, sigmoid};
use crate::engine::eval::SplitEval;
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
/// depend on how many threads add them up.
const CHUNK: usize = 2048;

/// `Σ a·b` in a fixed order: sixteen running sums (independent additions that vectorise),
/// added pairwise at the end. The same bits on every thread count.
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
            let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
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

/// Newton's method is done when the parameters move less than this; either by the last step,
/// or by the next one as predicted below.
const TOL: f64 = 1e-10;

/// Newton's method from `start` for one `C`. Near the optimum each step is about `κ` times
/// the square of the one before (quadratic convergence); `kappa` carries that ratio, measured
/// on earlier steps (of this C or, warm-started, of the previous one), so that a step whose
/// successor would move the parameters less than `TOL / 100` ends the fit without paying for
/// it. Only steps already below 1e-4 trust the prediction.
fn newton(
    cols: &[Vec<f64>],
    y: &[bool],
    w: &[f64],
    c: f64,
    start: [f64; P],
    kappa: &mut Option<f64>,
) -> Result<[f64; P]> {
    let lambda = 1.0 / c;
    let mut beta = start;
    let mut last_step: Option<f64> = None;
    for _ in 0..100 {
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
        let step = solve_spd(&hess, &grad)
            .ok_or_else(|| Error::Config("logistic regression: singular Hessian".into()))?;
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
    Ok(beta)
}

/// Minimise `Σ wᵢ·logloss(i) + ‖β‖² / (2C)` (intercept unpenalised), as scikit-learn does.
pub fn fit_weighted(x: &Data, w: &[f64], c: f64) -> Result<Vec<f64>> {
    Ok(newton(&x.cols, &x.y, w, c, [0.0; P], &mut None)?.to_vec())
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
    fn score(&self, x: &Data) -> Vec<f64> {
        (0..x.n())
            .map(|i| {
                let row = x.row(i);
                sigmoid(
                    self.coef[N_FEATURES]
                        + (0..N_FEATURES).map(|j| self.coef[j] * row[j]).sum::<f64>(),
                )
            })
            .collect()
    }
}

impl Model for LogReg {
    fn name(&self) -> &'static str {
        "logreg"
    }

    /// The C path, weakest regularisation first, each fit warm-started from the previous one
    /// (a few Newton steps instead of a fit from zero); the best on val by the selection rule.
    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()> {
        let (scaler, xt) = Scaler::fit_transform(train);
        let xv = scaler.transform(val);
        let w = balanced_weights(&train.y);
        let path = c_path(ctx.trials.max(1));
        let mut beta = [0.0; P];
        let mut kappa = None;
        let mut best: Option<(LogReg, SplitEval)> = None;
        for (t, &c) in path.iter().enumerate() {
            ctx.check_cancel()?;
            beta = newton(&xt.cols, &train.y, &w, c, beta, &mut kappa)?;
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
            return Err(super::damaged(
                name,
                format!(
                    "{} coefficients, expected {P} (14 features and the intercept)",
                    self.coef.len()
                ),
            ));
        }
        if !super::finite(&self.coef) {
            return Err(super::damaged(name, "a coefficient is not finite"));
        }
        self.scaler
            .as_ref()
            .ok_or_else(|| super::damaged(name, "no scaler"))?
            .check(name)
    }
}
