//! The uplift learners (SPEC §7a.2), each on the project's own booster. Uplift is the predicted
//! fall in the chance of going dormant when treated: `P(dormant | control) − P(dormant | treated)`.
//! The propensity `e` (the chance of being treated) is the campaign's known share in the user's
//! tier, never estimated.
//!
//! * `t_learner`: one classifier of dormancy per group; uplift `μ0(x) − μ1(x)`.
//! * `x_learner` (Künzel et al. 2019): the two classifiers, then each group's imputed effects
//!   (treated: `μ0(x) − y`, control: `y − μ1(x)`) learnt by a regression each, combined as
//!   `e · τ0(x) + (1 − e) · τ1(x)` (causalml's weighting).
//! * `transformed_outcome`, the direct method: one regression on `z = r · (t/e − (1−t)/(1−e))`,
//!   `r` = 1 when the user stayed; `E[z | x]` is the uplift itself (Athey and Imbens' transformed
//!   outcome, the class transformation generalised to any known propensity). Chosen over an
//!   uplift tree because it needs no second tree grower: the same booster, its binning, early
//!   stopping and determinism serve it, and it takes a share per tier that is not 50%.

use std::sync::atomic::AtomicBool;

use crate::engine::features::matrix::Data;
use crate::engine::models::gbdt::{Gbdt, Settings};
use crate::engine::models::model::{FitCtx, Model};
use crate::engine::{Error, Result};

/// The methods, in the leaderboard's order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    TLearner,
    XLearner,
    TransformedOutcome,
}

impl Method {
    pub const ALL: [Method; 3] = [
        Method::TLearner,
        Method::XLearner,
        Method::TransformedOutcome,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::TLearner => "t_learner",
            Method::XLearner => "x_learner",
            Method::TransformedOutcome => "transformed_outcome",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// Rows of one fold: the features and dormancy (`x.y`), the group and the propensity.
pub struct Fold<'a> {
    pub x: &'a Data,
    pub treated: &'a [bool],
    pub e: &'a [f64],
}

impl Fold<'_> {
    fn group(&self, treated: bool) -> (Data, Vec<usize>) {
        let idx: Vec<usize> = (0..self.x.n())
            .filter(|&i| self.treated[i] == treated)
            .collect();
        (self.x.select(&idx), idx)
    }
}

/// The fitted models of every method asked for (the two outcome models are shared by the T- and
/// X-learner).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Fitted {
    pub methods: Vec<Method>,
    /// `P(dormant | x)` without and with the offer.
    pub mu0: Option<Gbdt>,
    pub mu1: Option<Gbdt>,
    /// The X-learner's effect models, learnt on the control and on the treated.
    pub tau0: Option<Gbdt>,
    pub tau1: Option<Gbdt>,
    /// The transformed outcome's regression.
    pub direct: Option<Gbdt>,
}

fn ctx<'a>(seed: u64, cancel: &'a AtomicBool) -> FitCtx<'a> {
    FitCtx {
        seed,
        trials: 0,
        ks: &[],
        cancel,
        progress: &|_, _| {},
    }
}

fn classifier(fit: &Data, val: &Data, seed: u64, cancel: &AtomicBool, what: &str) -> Result<Gbdt> {
    let mut m = Gbdt::with_settings(Settings::default());
    m.fit(fit, val, &ctx(seed, cancel)).map_err(|e| match e {
        Error::Config(m) => Error::Config(format!("{what}: {m}")),
        e => e,
    })?;
    Ok(m)
}

/// Fit `methods` on `fit`, stopping each booster early on `val` (a part of the learn fold).
pub fn fit(
    methods: &[Method],
    fit: &Fold,
    val: &Fold,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Fitted> {
    let mut out = Fitted {
        methods: methods.to_vec(),
        ..Fitted::default()
    };
    let needs_outcomes = methods
        .iter()
        .any(|m| matches!(m, Method::TLearner | Method::XLearner));
    if needs_outcomes {
        let (f0, _) = fit.group(false);
        let (f1, _) = fit.group(true);
        let (v0, _) = val.group(false);
        let (v1, _) = val.group(true);
        out.mu0 = Some(classifier(
            &f0,
            &v0,
            seed,
            cancel,
            "the control's dormancy model",
        )?);
        out.mu1 = Some(classifier(
            &f1,
            &v1,
            seed ^ 1,
            cancel,
            "the treated's dormancy model",
        )?);
    }
    if methods.contains(&Method::XLearner) {
        let (mu0, mu1) = (out.mu0.as_ref(), out.mu1.as_ref());
        let probs = |m: Option<&Gbdt>, x: &Data| -> Vec<f64> {
            m.map(|m| {
                m.margins(x)
                    .into_iter()
                    .map(crate::engine::models::model::sigmoid)
                    .collect()
            })
            .unwrap_or_default()
        };
        let y = |x: &Data, i: usize| f64::from(u8::from(x.y[i]));
        // Imputed effects: treated `μ0(x) − y`, control `y − μ1(x)`.
        let imputed = |fold: &Fold, treated: bool| -> (Data, Vec<f64>) {
            let (x, _) = fold.group(treated);
            let d = if treated {
                probs(mu0, &x)
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| p - y(&x, i))
                    .collect()
            } else {
                probs(mu1, &x)
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| y(&x, i) - p)
                    .collect()
            };
            (x, d)
        };
        let (f0, d0) = imputed(fit, false);
        let (v0, dv0) = imputed(val, false);
        let (f1, d1) = imputed(fit, true);
        let (v1, dv1) = imputed(val, true);
        let s = Settings::default();
        out.tau0 = Some(Gbdt::fit_regression(
            s,
            &f0,
            &d0,
            &v0,
            &dv0,
            &ctx(seed ^ 2, cancel),
        )?);
        out.tau1 = Some(Gbdt::fit_regression(
            s,
            &f1,
            &d1,
            &v1,
            &dv1,
            &ctx(seed ^ 3, cancel),
        )?);
    }
    if methods.contains(&Method::TransformedOutcome) {
        let z = |f: &Fold| -> Vec<f64> {
            (0..f.x.n())
                .map(|i| {
                    let r = f64::from(u8::from(!f.x.y[i]));
                    let e = f.e[i];
                    if f.treated[i] { r / e } else { -r / (1.0 - e) }
                })
                .collect()
        };
        out.direct = Some(Gbdt::fit_regression(
            Settings::default(),
            fit.x,
            &z(fit),
            val.x,
            &z(val),
            &ctx(seed ^ 4, cancel),
        )?);
    }
    Ok(out)
}

impl Fitted {
    /// Each row's predicted uplift by `method`; `e` is each row's propensity.
    pub fn predict(&self, method: Method, x: &Data, e: &[f64]) -> Result<Vec<f64>> {
        let missing = || Error::Config(format!("the {} models were not fitted", method.name()));
        let probs = |m: &Gbdt| -> Vec<f64> {
            m.margins(x)
                .into_iter()
                .map(crate::engine::models::model::sigmoid)
                .collect()
        };
        Ok(match method {
            Method::TLearner => {
                let (m0, m1) = (self.mu0.as_ref(), self.mu1.as_ref());
                let (p0, p1) = (
                    probs(m0.ok_or_else(missing)?),
                    probs(m1.ok_or_else(missing)?),
                );
                p0.iter().zip(&p1).map(|(a, b)| a - b).collect()
            }
            Method::XLearner => {
                let t0 = self.tau0.as_ref().ok_or_else(missing)?.margins(x);
                let t1 = self.tau1.as_ref().ok_or_else(missing)?.margins(x);
                (0..x.n())
                    .map(|i| e[i] * t0[i] + (1.0 - e[i]) * t1[i])
                    .collect()
            }
            Method::TransformedOutcome => self.direct.as_ref().ok_or_else(missing)?.margins(x),
        })
    }

    /// The risk without the offer, `μ0(x)`, when the outcome models were fitted.
    pub fn control_risk(&self, x: &Data) -> Option<Vec<f64>> {
        self.mu0.as_ref().map(|m| {
            m.margins(x)
                .into_iter()
                .map(crate::engine::models::model::sigmoid)
                .collect()
        })
    }
}
