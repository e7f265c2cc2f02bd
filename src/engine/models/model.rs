//! What every model is: the `Model` trait, what a fit sees (`FitCtx`), and the helpers the
//! families share (the selection objective, class weights, the logistic function, the checks of
//! a loaded model).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::eval::{KPct, SplitEval, evaluate};
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::{Error, Result};

/// What a model sees while fitting: the seed, the K list for selection, a cancel flag and a
/// progress sink.
pub struct FitCtx<'a> {
    pub seed: u64,
    /// Points on logreg's C path.
    pub trials: usize,
    pub ks: &'a [KPct],
    pub cancel: &'a AtomicBool,
    pub progress: &'a (dyn Fn(usize, usize) + Sync),
}

impl FitCtx<'_> {
    pub fn check_cancel(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

pub trait Model: Send + Sync {
    fn name(&self) -> &'static str;
    /// Fit on `train`, choosing hyperparameters on `val`.
    fn fit(&mut self, train: &Data, val: &Data, ctx: &FitCtx) -> Result<()>;
    /// Probability of `m2` for each row; a model that cannot score is an error, never NaN.
    fn predict(&self, x: &Data) -> Result<Vec<f64>>;
    /// The chosen hyperparameters.
    fn params(&self) -> serde_json::Value;
    /// Everything needed to score new rows, as JSON.
    fn save(&self) -> serde_json::Value;
    /// Is a loaded model whole: the shapes the 14 features need, finite values? A model file
    /// damaged or edited by hand must fail here, with the reason, not panic or score NaN later.
    fn check(&self) -> Result<()>;
    /// The model's own per-feature attribution of each row's log-odds (positive raises the
    /// risk), where it has one; the risk reasons fall back to occlusion otherwise.
    fn contributions(&self, _x: &Data) -> Option<Vec<[f64; N_FEATURES]>> {
        None
    }
    /// Does the model read each user's whole visit history before the anchor (not only the
    /// 14 features of the lookback)? Rows for it are then built from the whole log before it.
    fn reads_history(&self) -> bool {
        false
    }
}

/// The error of a saved model that is not whole.
pub fn damaged(name: &str, what: impl std::fmt::Display) -> Error {
    Error::Config(format!("saved model `{name}` is damaged: {what}"))
}

/// All finite?
pub fn finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// The selection objective on val: Lift at the first K, then PR-AUC (SPEC §4).
pub fn selection_key(e: &SplitEval) -> (f64, f64) {
    let lift = e.at_k.first().and_then(|a| a.lift).unwrap_or(0.0);
    (lift, e.pr_auc.unwrap_or(0.0))
}

/// Is `a` strictly better than `b` by the selection objective?
pub fn better(a: &SplitEval, b: &SplitEval) -> bool {
    selection_key(a).partial_cmp(&selection_key(b)) == Some(std::cmp::Ordering::Greater)
}

pub fn eval_on(scores: &[f64], d: &Data, ks: &[KPct]) -> SplitEval {
    evaluate(scores, &d.y, &d.users, &d.anchors, ks)
}

/// The logistic function, without overflow for large |z|.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Balanced class weights: n / (2 · n_class), so both classes weigh the same in total.
pub fn balanced_weights(y: &[bool]) -> Vec<f64> {
    let n = y.len() as f64;
    let pos = y.iter().filter(|&&v| v).count() as f64;
    let neg = n - pos;
    let (wp, wn) = (
        if pos > 0.0 { n / (2.0 * pos) } else { 1.0 },
        if neg > 0.0 { n / (2.0 * neg) } else { 1.0 },
    );
    y.iter().map(|&v| if v { wp } else { wn }).collect()
}
