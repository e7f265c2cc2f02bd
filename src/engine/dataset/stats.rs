//! What the Labels and Features tabs show, computed once per run on the train rows: Pearson
//! correlations, variance inflation factors, and each feature's mean and median for dormant
//! versus active users.

use crate::engine::dataset::Dataset;
use crate::engine::features::FEATURE_NAMES;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::features::table::AnchorCounts;
use crate::engine::label::Split;

/// VIF at or above this is flagged as multicollinear.
pub const VIF_FLAG: f64 = 5.0;
/// Added to the diagonal when the correlation matrix is singular.
const RIDGE: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassStats {
    pub mean: f64,
    pub median: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureStats {
    pub names: Vec<String>,
    /// Row-major `N_FEATURES × N_FEATURES`; `null` (NaN in memory) where a column is constant.
    pub corr: Vec<Vec<Option<f64>>>,
    /// `1 / (1 − R²)` of each feature regressed on the others; `null` when undefined (a constant
    /// column or an exactly collinear set).
    pub vif: Vec<Option<f64>>,
    pub dormant: Vec<ClassStats>,
    pub active: Vec<ClassStats>,
    pub rows: usize,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// The median (mean of the two middle values for an even count); NaN when empty.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    sorted_median(&s)
}

/// The median of values already sorted ascending; NaN when there are none.
pub fn sorted_median(s: &[f64]) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Pearson correlation of two equally long columns; NaN when either is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// Inverse of a small symmetric matrix by Gauss–Jordan with partial pivoting; `None` when it is
/// singular (to working precision).
fn invert(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut r = row.clone();
            r.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
            r
        })
        .collect();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        let d = a[c][c];
        a[c].iter_mut().for_each(|x| *x /= d);
        let pivot = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c && row[c] != 0.0 {
                let f = row[c];
                row.iter_mut().zip(&pivot).for_each(|(x, p)| *x -= f * p);
            }
        }
    }
    Some(a.into_iter().map(|r| r[n..].to_vec()).collect())
}

/// VIF of each column: the diagonal of the inverse correlation matrix, which equals
/// `1 / (1 − R²_j)` of the regression of column j on all the others (with intercept).
/// Constant columns get `None` and are left out of the others' regressions.
pub fn vif(corr: &[Vec<f64>]) -> Vec<Option<f64>> {
    let n = corr.len();
    let keep: Vec<usize> = (0..n).filter(|&i| corr[i][i].is_finite()).collect();
    let sub: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| keep.iter().map(|&j| corr[i][j]).collect())
        .collect();
    let mut out = vec![None; n];
    // An exactly collinear set (activity_trend = 2·activity_ratio_15d − 1 is one) makes the
    // matrix singular; a tiny ridge keeps the others finite and gives the collinear ones a huge
    // VIF, which is the truth to display precision.
    let ridged = |eps: f64| -> Vec<Vec<f64>> {
        sub.iter()
            .enumerate()
            .map(|(i, r)| {
                r.iter()
                    .enumerate()
                    .map(|(j, &x)| if i == j { x + eps } else { x })
                    .collect()
            })
            .collect()
    };
    if let Some(inv) = invert(&sub).or_else(|| invert(&ridged(RIDGE))) {
        for (a, &i) in keep.iter().enumerate() {
            // Rounding can leave a tiny negative or sub-1 value on a near-collinear set.
            out[i] = Some(inv[a][a].max(1.0));
        }
    }
    out
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl FeatureStats {
    /// The statistics of the given rows (the run uses its train split).
    pub fn of(d: &Data) -> FeatureStats {
        let corr: Vec<Vec<f64>> = (0..N_FEATURES)
            .map(|i| {
                (0..N_FEATURES)
                    .map(|j| {
                        if i == j {
                            // A constant column correlates with nothing, itself included.
                            let r = pearson(&d.cols[i], &d.cols[i]);
                            if r.is_nan() { f64::NAN } else { 1.0 }
                        } else {
                            pearson(&d.cols[i], &d.cols[j])
                        }
                    })
                    .collect()
            })
            .collect();
        let class = |want: bool| -> Vec<ClassStats> {
            d.cols
                .iter()
                .map(|c| {
                    let v: Vec<f64> = c
                        .iter()
                        .zip(&d.y)
                        .filter(|(_, y)| **y == want)
                        .map(|(x, _)| *x)
                        .collect();
                    ClassStats {
                        mean: mean(&v),
                        median: median(&v),
                    }
                })
                .collect()
        };
        FeatureStats {
            names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            vif: vif(&corr),
            corr: corr
                .iter()
                .map(|r| r.iter().map(|&x| finite(x)).collect())
                .collect(),
            dormant: class(true),
            active: class(false),
            rows: d.n(),
        }
    }
}

/// One input file as the Labels tab lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub bytes: u64,
}

/// The data summary of a run: what was read, the window and the anchors.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataInfo {
    pub files: Vec<FileInfo>,
    pub rows_read: u64,
    pub duplicates: u64,
    pub events: u64,
    pub users: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub scope: String,
    pub lookback_days: u32,
    pub horizon_days: u32,
    pub anchors: Vec<(i64, Split)>,
    pub purged: Vec<i64>,
    /// Trained from a feature table made elsewhere: no log, so no events, duplicates or time
    /// range of one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub feature_table: bool,
}

/// Everything the Labels and Features tabs show; saved as `stats.json` in the run directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    pub data: DataInfo,
    /// Label counts per anchor, in time order.
    pub labels: Vec<AnchorCounts>,
    /// Correlation, VIF and class statistics of the train rows.
    pub features: FeatureStats,
    /// Set when train and val were sampled (a large table).
    #[serde(default)]
    pub sample: Option<crate::engine::features::table::RowSample>,
}

impl RunStats {
    pub fn of(ds: &Dataset, train: &Data) -> RunStats {
        let log = &ds.log;
        let plan = &ds.table.plan;
        RunStats {
            data: DataInfo {
                files: log
                    .files
                    .iter()
                    .map(|f| FileInfo {
                        path: f.path.display().to_string(),
                        bytes: f.size,
                    })
                    .collect(),
                rows_read: log.rows_read,
                duplicates: log.duplicates,
                events: log.events,
                users: log.users,
                first_ts: log.first_ts,
                last_ts: log.last_ts,
                scope: if log.feature_table {
                    "as the feature table was made".into()
                } else {
                    log.scope.describe()
                },
                lookback_days: plan.window.lookback_days,
                horizon_days: plan.window.horizon_days,
                anchors: plan.anchors.clone(),
                purged: plan.purged.clone(),
                feature_table: log.feature_table,
            },
            labels: ds.table.per_anchor.clone(),
            features: FeatureStats::of(train),
            sample: ds.table.sample,
        }
    }
}

/// |r| at or above this: two features carry the same information (one is, up to rounding, a
/// linear function of the other), as `activity_trend = 2·activity_ratio_15d − 1` does.
pub const SAME_INFORMATION: f64 = 0.9999;

impl FeatureStats {
    /// Pairs of features (i < j) that carry the same information, with their r.
    pub fn same_information(&self) -> Vec<(usize, usize, f64)> {
        let mut out = Vec::new();
        for (i, row) in self.corr.iter().enumerate() {
            for (j, r) in row.iter().enumerate().skip(i + 1) {
                if let Some(r) = r
                    && r.abs() >= SAME_INFORMATION
                {
                    out.push((i, j, *r));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feature that is a linear function of another is named with it; near ones are not.
    #[test]
    fn a_pair_carrying_the_same_information_is_found() {
        use crate::engine::features::matrix::N_FEATURES;
        let n = 200;
        // Distinct, unrelated columns (a different stride modulo a prime for each)...
        let mut cols: Vec<Vec<f64>> = (0..N_FEATURES)
            .map(|j| (0..n).map(|i| ((i * (2 * j + 3)) % 199) as f64).collect())
            .collect();
        // ... then activity_trend = 2·activity_ratio_15d − 1 (SPEC order 13 and 12), and
        // feature 3 close to feature 0 but not a function of it (r ≈ 0.99).
        cols[12] = (0..n).map(|i| (i % 17) as f64 / 16.0).collect();
        cols[13] = cols[12].iter().map(|v| 2.0 * v - 1.0).collect();
        cols[3] = cols[0]
            .iter()
            .enumerate()
            .map(|(i, v)| v + ((i * 7) % 11) as f64 * 3.0)
            .collect();
        let d = Data {
            cols,
            y: (0..n).map(|i| i % 4 == 0).collect(),
            users: (0..n as i64).collect(),
            anchors: vec![0; n],
            hist: vec![],
        };
        let s = FeatureStats::of(&d);
        let r03 = s.corr[0][3].unwrap();
        assert!(r03 > 0.9 && r03 < SAME_INFORMATION, "{r03}");
        let pairs = s.same_information();
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        assert_eq!((pairs[0].0, pairs[0].1), (12, 13));
        assert!((pairs[0].2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn pearson_by_hand() {
        // x = 1,2,3,4; y = 2,4,5,9: means 2.5 and 5; Σdxdy = 1.5·3 + .5·1 + .5·0 + 1.5·4 = 11,
        // Σdx² = 5, Σdy² = 9+1+0+16 = 26 → r = 11/√130.
        let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 5.0, 9.0]);
        assert!((r - 11.0 / 130f64.sqrt()).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
    }

    #[test]
    fn vif_of_two_columns_is_one_over_one_minus_r_squared() {
        let r = 0.6;
        let v = vif(&[vec![1.0, r], vec![r, 1.0]]);
        let want = 1.0 / (1.0 - r * r);
        assert!((v[0].unwrap() - want).abs() < 1e-12);
        assert!((v[1].unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn vif_of_three_columns_by_regression() {
        // x3 = x1 + x2 + noise-free offset pattern: R² of x3 on (x1, x2) is 1 − SSE/SST with a
        // hand-fit regression. Use columns where x3 is not exactly collinear:
        // x1 = 1,2,3,4,5; x2 = 2,1,4,3,5; x3 = 1,3,2,5,4.
        let x1 = [1.0, 2.0, 3.0, 4.0, 5.0];
        let x2 = [2.0, 1.0, 4.0, 3.0, 5.0];
        let x3 = [1.0, 3.0, 2.0, 5.0, 4.0];
        let cols = [&x1[..], &x2[..], &x3[..]];
        let corr: Vec<Vec<f64>> = (0..3)
            .map(|i| (0..3).map(|j| pearson(cols[i], cols[j])).collect())
            .collect();
        let v = vif(&corr);
        // Regression of x1 on x2 and x3 solved by the normal equations on centred data:
        // centred x2 = -1,-2,1,0,2; x3 = -2,0,-1,2,1; x1 = -2,-1,0,1,2.
        // S22 = 10, S33 = 10, S23 = 2+0-1+0+2 = 3, S21 = 2+2+0+0+4 = 8, S31 = 4+0+0+2+2 = 8.
        // b = [[10,3],[3,10]]⁻¹ [8,8] = [8/13, 8/13]; SSR = b·[8,8] = 128/13; SST = 10.
        // R² = 12.8/13 → VIF = 1/(1 − 128/130) = 130/2 = 65.
        assert!((v[0].unwrap() - 65.0).abs() < 1e-9, "{v:?}");
    }

    #[test]
    fn exactly_collinear_columns_get_a_huge_vif_and_the_rest_stay_right() {
        // c = 2a − 1 exactly; b independent-ish of both with r(a, b) = 0.5.
        let r = 0.5;
        let corr = vec![vec![1.0, r, 1.0], vec![r, 1.0, r], vec![1.0, r, 1.0]];
        let v = vif(&corr);
        assert!(v[0].unwrap() > 1e6 && v[2].unwrap() > 1e6, "{v:?}");
        // b regressed on a (c adds nothing): R² = r² → VIF = 1/(1 − r²).
        assert!((v[1].unwrap() - 1.0 / 0.75).abs() < 1e-3, "{v:?}");
    }

    #[test]
    fn constant_column_has_no_vif_and_does_not_poison_others() {
        let r = 0.5;
        let corr = vec![
            vec![1.0, r, f64::NAN],
            vec![r, 1.0, f64::NAN],
            vec![f64::NAN, f64::NAN, f64::NAN],
        ];
        let v = vif(&corr);
        assert!(v[2].is_none());
        assert!((v[0].unwrap() - 1.0 / 0.75).abs() < 1e-12);
    }

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
