//! Hyperparameter search with TPE (the `tpe` crate), seeded. Each model names its space; the
//! objective is the val selection key (Lift at the first K, then PR-AUC); the best trial is
//! kept by the exact comparator, TPE is only told a scalar version of it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tpe::TpeOptimizer;

use super::{FitCtx, better, selection_key};
use crate::engine::eval::SplitEval;
use crate::engine::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub enum Param {
    /// A real searched on a log scale, in `[lo, hi]`.
    LogUniform(f64, f64),
    Uniform(f64, f64),
    /// An integer in `[lo, hi]`.
    Int(i64, i64),
}

impl Param {
    fn range(&self) -> (f64, f64) {
        match *self {
            Param::LogUniform(lo, hi) => (lo.ln(), hi.ln()),
            Param::Uniform(lo, hi) => (lo, hi),
            Param::Int(lo, hi) => (lo as f64, hi as f64 + 1.0),
        }
    }

    fn value(&self, raw: f64) -> f64 {
        match *self {
            Param::LogUniform(lo, hi) => raw.exp().clamp(lo, hi),
            Param::Uniform(lo, hi) => raw.clamp(lo, hi),
            Param::Int(lo, hi) => (raw.floor() as i64).clamp(lo, hi) as f64,
        }
    }
}

fn tpe_err(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("hyperparameter search: {e}"))
}

/// Run `trials` trials of `fit_eval` (which gets the parameter values and returns a fitted
/// candidate with its val metrics) and return the best candidate and its values.
pub fn search<M>(
    space: &[Param],
    ctx: &FitCtx,
    salt: u64,
    mut fit_eval: impl FnMut(&[f64]) -> Result<(M, SplitEval)>,
) -> Result<(M, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed ^ salt);
    let mut opts = space
        .iter()
        .map(|p| {
            let (lo, hi) = p.range();
            Ok(TpeOptimizer::new(
                tpe::parzen_estimator(),
                tpe::range(lo, hi).map_err(tpe_err)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let trials = ctx.trials.max(1);
    let mut best: Option<(M, SplitEval, Vec<f64>)> = None;
    for t in 0..trials {
        ctx.check_cancel()?;
        let raw = opts
            .iter_mut()
            .map(|o| o.ask(&mut rng).map_err(tpe_err))
            .collect::<Result<Vec<f64>>>()?;
        let values: Vec<f64> = space.iter().zip(&raw).map(|(p, r)| p.value(*r)).collect();
        let (cand, e) = match fit_eval(&values) {
            Ok(ok) => ok,
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            // A configuration that cannot be fit is a bad trial, not a failed run.
            Err(_) => {
                for (o, r) in opts.iter_mut().zip(&raw) {
                    o.tell(*r, f64::MAX).map_err(tpe_err)?;
                }
                (ctx.progress)(t + 1, trials);
                continue;
            }
        };
        let (lift, pr_auc) = selection_key(&e);
        // TPE minimises; lift first, PR-AUC as a tie-breaker.
        let loss = -(lift + 1e-3 * pr_auc);
        for (o, r) in opts.iter_mut().zip(&raw) {
            o.tell(*r, loss).map_err(tpe_err)?;
        }
        if best.as_ref().is_none_or(|(_, be, _)| better(&e, be)) {
            best = Some((cand, e, values));
        }
        (ctx.progress)(t + 1, trials);
    }
    best.map(|(m, _, v)| (m, v))
        .ok_or_else(|| Error::Config("hyperparameter search ran no trial".into()))
}
