//! The rows of one split as the models see them: the 14 features column-major in SPEC order,
//! the labels and each row's identity (user, anchor), and BG/NBD's visit history. Read from the
//! feature table here, so every model, the scorer and the workbench read it the same way.

use polars::prelude::*;

use crate::engine::error::PolarsContext;
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
