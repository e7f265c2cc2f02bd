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

/// The rows as Newton's sums read them: the 14 features, then 1 for the intercept.
fn design(x: &Data) -> Vec<[f64; P]> {
    (0..x.n())
        .map(|i| std::array::from_fn(|j| if j < N_FEATURES { x.cols[j][i] } else { 1.0 }))
        .collect()
}

/// Rows per partial sum. Fixed, so the sums (and the coefficients, to the last bit) do not
/// depend on how many threads add them up.
const CHUNK: usize = 8192;

/// Gradient and lower-triangle Hessian of the weighted log-loss at `beta`, summed chunk by
/// chunk in parallel and the chunks added in order.
fn sums(xs: &[[f64; P]], y: &[bool], w: &[f64], beta: &[f64; P]) -> ([f64; P], [[f64; P]; P]) {
    use rayon::prelude::*;
    let parts: Vec<([f64; P], [[f64; P]; P])> = xs
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, rows)| {
            let mut grad = [0.0; P];
            let mut hess = [[0.0; P]; P];
            for (k, xi) in rows.iter().enumerate() {
                let i = c * CHUNK + k;
                let z: f64 = (0..P).map(|j| beta[j] * xi[j]).sum();
                let p = sigmoid(z);
                let r = w[i] * (p - if y[i] { 1.0 } else { 0.0 });
                let h = w[i] * p * (1.0 - p);
                for a in 0..P {
                    grad[a] += r * xi[a];
                    let hx = h * xi[a];
                    for b in 0..=a {
                        hess[a][b] += hx * xi[b];
                    }
                }
            }
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

/// Newton's method from `start` for one `C`.
fn newton(xs: &[[f64; P]], y: &[bool], w: &[f64], c: f64, start: [f64; P]) -> Result<[f64; P]> {
    let lambda = 1.0 / c;
    let mut beta = start;
    for _ in 0..100 {
        let (mut grad, mut hess) = sums(xs, y, w, &beta);
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
        if max_step < 1e-10 {
            break;
        }
    }
    Ok(beta)
}

/// Minimise `Σ wᵢ·logloss(i) + ‖β‖² / (2C)` (intercept unpenalised), as scikit-learn does.
pub fn fit_weighted(x: &Data, w: &[f64], c: f64) -> Result<Vec<f64>> {
    Ok(newton(&design(x), &x.y, w, c, [0.0; P])?.to_vec())
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
        let scaler = Scaler::fit(train);
        let (xt, xv) = (scaler.transform(train), scaler.transform(val));
        let xs = design(&xt);
        let w = balanced_weights(&train.y);
        let path = c_path(ctx.trials.max(1));
        let mut beta = [0.0; P];
        let mut best: Option<(LogReg, SplitEval)> = None;
        for (t, &c) in path.iter().enumerate() {
            ctx.check_cancel()?;
            beta = newton(&xs, &train.y, &w, c, beta)?;
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

    fn predict(&self, x: &Data) -> Vec<f64> {
        match &self.scaler {
            Some(s) => self.score(&s.transform(x)),
            None => vec![f64::NAN; x.n()],
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
