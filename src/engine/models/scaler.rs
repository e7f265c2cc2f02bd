//! Standard scaling fit on train rows only (SPEC §3 leakage rules), with log1p first for counts
//! and money, whose heavy right tails otherwise dominate a linear model.

use super::{Data, N_FEATURES};
use crate::engine::features::FEATURE_NAMES;

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
        let log1p: Vec<bool> = FEATURE_NAMES.iter().map(|f| LOG1P.contains(f)).collect();
        let mut mean = vec![0.0; N_FEATURES];
        let mut std = vec![1.0; N_FEATURES];
        let n = train.n() as f64;
        for j in 0..N_FEATURES {
            if train.n() == 0 {
                break;
            }
            let vals: Vec<f64> = train.cols[j].iter().map(|&v| pre(v, log1p[j])).collect();
            let m = vals.iter().sum::<f64>() / n;
            let var = vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
            mean[j] = m;
            // A constant column scales to 0, not to NaN.
            std[j] = if var > 0.0 { var.sqrt() } else { 1.0 };
        }
        Scaler {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            log1p,
            mean,
            std,
        }
    }

    /// Does the saved scaler fit the 14 features (order, lengths, finite values)?
    pub fn check(&self, model: &str) -> crate::engine::Result<()> {
        let names = self.features.iter().map(String::as_str);
        if !names.eq(FEATURE_NAMES.iter().copied()) {
            return Err(super::damaged(
                model,
                "the scaler's features are not the 14 features in order",
            ));
        }
        if [self.log1p.len(), self.mean.len(), self.std.len()] != [N_FEATURES; 3] {
            return Err(super::damaged(
                model,
                "the scaler does not have 14 values per field",
            ));
        }
        if !super::finite(&self.mean) || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(super::damaged(
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
        Data {
            cols: (0..N_FEATURES)
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
