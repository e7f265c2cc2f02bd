//! Models: one trait, one file per family. Each model fits on `train`, may use `val` to choose
//! its hyperparameters, and predicts the probability of `m2` (dormant). `test` never reaches a
//! model's `fit`.

pub mod bgnbd;
pub mod gbdt;
pub mod logreg;
pub mod mlp;
pub mod nn;
pub mod rule;
pub mod scaler;
pub mod tree;
pub mod treeshap;

use std::sync::atomic::{AtomicBool, Ordering};

use polars::prelude::*;

use crate::engine::error::PolarsContext;
use crate::engine::eval::{KPct, SplitEval, evaluate};
use crate::engine::features::FEATURE_NAMES;
use crate::engine::features::columns::{ANCHOR, SPLIT};
use crate::engine::features::columns::{HIST_AGE, HIST_TX, HIST_X};
use crate::engine::label::Split;
use crate::engine::label::dormancy::Y;
use crate::engine::{Error, Result};

pub const N_FEATURES: usize = FEATURE_NAMES.len();

/// The rows of one split: features column-major (SPEC order), labels and row identity.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub cols: Vec<Vec<f64>>,
    pub y: Vec<bool>,
    pub users: Vec<i64>,
    pub anchors: Vec<i64>,
    /// Visit history before the anchor (x, t_x, T) for BG/NBD; empty if the table lacks it.
    pub hist: Vec<[f64; 3]>,
}

impl Data {
    pub fn n(&self) -> usize {
        self.y.len()
    }

    pub fn row(&self, i: usize) -> [f64; N_FEATURES] {
        std::array::from_fn(|j| self.cols[j][i])
    }

    /// The given rows, in the given order.
    pub fn select(&self, idx: &[usize]) -> Data {
        let pick = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<_>>();
        Data {
            cols: self.cols.iter().map(|c| pick(c)).collect(),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            users: idx.iter().map(|&i| self.users[i]).collect(),
            anchors: idx.iter().map(|&i| self.anchors[i]).collect(),
            hist: if self.hist.is_empty() {
                Vec::new()
            } else {
                idx.iter().map(|&i| self.hist[i]).collect()
            },
        }
    }

    /// At most `max` rows drawn without replacement by a seeded generator, in their original
    /// order; all rows when there are no more than `max`. Used to bound the cost of tuning
    /// trials and early-stopping checks on large logs.
    pub fn sample(&self, max: usize, seed: u64) -> Data {
        use rand::SeedableRng;
        let n = self.n();
        if n <= max {
            return self.clone();
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut idx = rand::seq::index::sample(&mut rng, n, max).into_vec();
        idx.sort_unstable();
        self.select(&idx)
    }

    /// The train, val and test rows of the feature table.
    pub fn splits(df: &DataFrame) -> Result<(Data, Data, Data)> {
        Ok((
            Data::from_table(df, Split::Train)?,
            Data::from_table(df, Split::Val)?,
            Data::from_table(df, Split::Test)?,
        ))
    }

    /// The rows of `split` in the feature table (sorted by anchor, then user).
    pub fn from_table(df: &DataFrame, split: Split) -> Result<Data> {
        let part = df
            .clone()
            .lazy()
            .filter(col(SPLIT).eq(lit(split.as_str())))
            .collect()
            .ctx(|| format!("selecting the {split} rows"))?;
        let f64s = |name: &str| -> Result<Vec<f64>> {
            let c = part.column(name).ctx(|| name.to_string())?;
            let c = c.cast(&DataType::Float64).ctx(|| name.to_string())?;
            Ok(values(c.f64().ctx(|| name.to_string())?, f64::NAN))
        };
        let i64s = |name: &str| -> Result<Vec<i64>> {
            let c = part.column(name).ctx(|| name.to_string())?;
            let c = c.cast(&DataType::Int64).ctx(|| name.to_string())?;
            Ok(values(c.i64().ctx(|| name.to_string())?, 0))
        };
        let cols = FEATURE_NAMES
            .iter()
            .map(|f| f64s(f))
            .collect::<Result<Vec<_>>>()?;
        let users = i64s("user_id")?;
        let anchors = i64s(ANCHOR)?;
        // No model may see a NaN: it would spread silently into scores, stats and the run.
        for (j, c) in cols.iter().enumerate() {
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::Config(format!(
                    "feature `{}` is {} for user {} at {} ({split} split)",
                    FEATURE_NAMES[j],
                    if c[i].is_nan() {
                        "missing or NaN"
                    } else {
                        "infinite"
                    },
                    users[i],
                    crate::engine::time::fmt_anchor(anchors[i])
                )));
            }
        }
        let hist = if part.column(HIST_X).is_ok() {
            let (x, tx, age) = (f64s(HIST_X)?, f64s(HIST_TX)?, f64s(HIST_AGE)?);
            (0..x.len()).map(|i| [x[i], tx[i], age[i]]).collect()
        } else {
            Vec::new()
        };
        Ok(Data {
            cols,
            hist,
            y: i64s(Y)?.into_iter().map(|v| v == 1).collect(),
            users,
            anchors,
        })
    }
}

/// A column's values, `null` for a missing one. Chunk by chunk: a run's millions of test rows
/// load several times faster than value by value.
pub fn values<T>(c: &ChunkedArray<T>, null: T::Native) -> Vec<T::Native>
where
    T: PolarsNumericType,
{
    let mut out = Vec::with_capacity(c.len());
    for chunk in c.downcast_iter() {
        if chunk.validity().is_none() {
            out.extend_from_slice(chunk.values());
        } else {
            out.extend(chunk.iter().map(|v| v.copied().unwrap_or(null)));
        }
    }
    out
}

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
}

/// Model families by name, in leaderboard order.
pub const MODEL_NAMES: [&str; 9] = [
    "rule_recency",
    "bgnbd",
    "logreg",
    "tree",
    "gbdt",
    "mlp_base",
    "mlp_enhance",
    "mlp_advanced",
    "wide_deep",
];

pub fn make(name: &str) -> Result<Box<dyn Model>> {
    Ok(match name {
        "rule_recency" => Box::new(rule::RuleRecency::default()),
        "bgnbd" => Box::new(bgnbd::BgNbd::default()),
        "logreg" => Box::new(logreg::LogReg::default()),
        "tree" => Box::new(tree::Tree::default()),
        "gbdt" => Box::new(gbdt::Gbdt::default()),
        "mlp_base" => Box::new(mlp::Mlp::new(mlp::Kind::Base)),
        "mlp_enhance" => Box::new(mlp::Mlp::new(mlp::Kind::Enhance)),
        "mlp_advanced" => Box::new(mlp::Mlp::new(mlp::Kind::Advanced)),
        "wide_deep" => Box::new(mlp::Mlp::new(mlp::Kind::WideDeep)),
        other => {
            return Err(Error::Config(format!("unknown model `{other}`"))
                .hint(format!("the models are {}", MODEL_NAMES.join(", "))));
        }
    })
}

/// A model saved by `Model::save`, ready to predict.
pub fn load(name: &str, saved: &serde_json::Value) -> Result<Box<dyn Model>> {
    fn de<M: Model + serde::de::DeserializeOwned + 'static>(
        name: &str,
        saved: &serde_json::Value,
    ) -> Result<Box<dyn Model>> {
        let m: M = serde_json::from_value(saved.clone())
            .map_err(|e| Error::Config(format!("saved model `{name}` is unreadable: {e}")))?;
        Ok(Box::new(m))
    }
    match name {
        "rule_recency" => de::<rule::RuleRecency>(name, saved),
        "bgnbd" => de::<bgnbd::BgNbd>(name, saved),
        "logreg" => de::<logreg::LogReg>(name, saved),
        "tree" => de::<tree::Tree>(name, saved),
        // Runs from before the own booster hold a perpetual model: say so, not "missing field".
        "gbdt" if saved.get("budget").is_some() && saved.get("trees").is_none() => {
            Err(Error::Config(
                "saved model `gbdt` was made by an earlier churn-tui (the perpetual booster), \
                 which this version no longer reads: train the run again"
                    .into(),
            ))
        }
        "gbdt" => de::<gbdt::Gbdt>(name, saved),
        "mlp_base" | "mlp_enhance" | "mlp_advanced" | "wide_deep" => de::<mlp::Mlp>(name, saved),
        other => Err(Error::Config(format!("unknown model `{other}` in the run"))),
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
