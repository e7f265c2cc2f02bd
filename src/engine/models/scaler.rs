//! Standard scaling fit on train rows only (SPEC §3 leakage rules), with log1p first for counts
//! and money, whose heavy right tails otherwise dominate a linear model.

use crate::engine::features::FEATURE_NAMES;
use crate::engine::features::matrix::{Data, N_FEATURES};

/// Features that are non-negative counts or amounts.
pub const LOG1P: [&str; 7] = [
    "n_events_30d",
    "active_days_30d",
    "n_purchase_30d",
    "brand_switch_count_30d",
    "total_spend_30d",
    "price_volatility",
    "n_events_7d",
];

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaler {
    pub features: Vec<String>,
    pub log1p: Vec<bool>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Scaler {
    pub fn fit(train: &Data) -> Scaler {
        Scaler::fitted(train, false).0
    }

    /// The scaler fit on `train`, and `train` scaled by it (each log1p taken once).
    pub fn fit_transform(train: &Data) -> (Scaler, Data) {
        let (scaler, cols) = Scaler::fitted(train, true);
        let data = Data {
            cols,
            y: train.y.clone(),
            users: train.users.clone(),
            anchors: train.anchors.clone(),
            hist: train.hist.clone(),
        };
        (scaler, data)
    }

    /// The scaler, and with `scale` the train columns scaled (else the pre-transformed values,
    /// which only `fit` discards). Columns side by side; each column's sums run in row order,
    /// so the values do not depend on the thread count.
    fn fitted(train: &Data, scale: bool) -> (Scaler, Vec<Vec<f64>>) {
        use rayon::prelude::*;
        let log1p: Vec<bool> = FEATURE_NAMES.iter().map(|f| LOG1P.contains(f)).collect();
        let n = train.n() as f64;
        let fitted: Vec<(f64, f64, Vec<f64>)> = (0..N_FEATURES)
            .into_par_iter()
            .map(|j| {
                let mut vals: Vec<f64> = train.cols[j].iter().map(|&v| pre(v, log1p[j])).collect();
                if vals.is_empty() {
                    return (0.0, 1.0, vals);
                }
                let m = vals.iter().sum::<f64>() / n;
                let var = vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
                // A constant column scales to 0, not to NaN.
                let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
                if scale {
                    for v in &mut vals {
                        *v = (*v - m) / sd;
                    }
                }
                (m, sd, vals)
            })
            .collect();
        let mut mean = Vec::with_capacity(N_FEATURES);
        let mut std = Vec::with_capacity(N_FEATURES);
        let mut cols = Vec::with_capacity(N_FEATURES);
        for (m, sd, c) in fitted {
            mean.push(m);
            std.push(sd);
            cols.push(c);
        }
        let scaler = Scaler {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            log1p,
            mean,
            std,
        };
        (scaler, cols)
    }

    /// Does the saved scaler fit the 14 features (order, lengths, finite values)?
    pub fn check(&self, model: &str) -> crate::engine::Result<()> {
        let names = self.features.iter().map(String::as_str);
        if !names.eq(FEATURE_NAMES.iter().copied()) {
            return Err(super::model::damaged(
                model,
                "the scaler's features are not the 14 features in order",
            ));
        }
        if [self.log1p.len(), self.mean.len(), self.std.len()] != [N_FEATURES; 3] {
            return Err(super::model::damaged(
                model,
                "the scaler does not have 14 values per field",
            ));
        }
        if !super::model::finite(&self.mean)
            || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(super::model::damaged(
                model,
                "the scaler has a non-finite mean or a non-positive std",
            ));
        }
        Ok(())
    }

    pub fn value(&self, j: usize, v: f64) -> f64 {
        (pre(v, self.log1p[j]) - self.mean[j]) / self.std[j]
    }

    pub fn transform(&self, d: &Data) -> Data {
        use rayon::prelude::*;
        Data {
            cols: (0..N_FEATURES)
                .into_par_iter()
                .map(|j| d.cols[j].iter().map(|&v| self.value(j, v)).collect())
                .collect(),
            y: d.y.clone(),
            users: d.users.clone(),
            anchors: d.anchors.clone(),
            hist: d.hist.clone(),
        }
    }
}

fn pre(v: f64, log1p: bool) -> f64 {
    if log1p { v.max(0.0).ln_1p() } else { v }
}
