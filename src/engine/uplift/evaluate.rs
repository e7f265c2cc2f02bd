//! An uplift ranking judged on held-out campaign users (SPEC §7a): the Qini coefficient, AUUC and
//! uplift@K, each with a 90% bootstrap interval whose resamples draw the treated and the control
//! users apart (each group keeps its size, as the randomisation fixed it). Users are sorted once;
//! a resample is a walk over that order with each user's number of copies, so 200 resamples of
//! a million users cost 200 linear passes, not 200 sorts.

use crate::engine::Result;
use crate::engine::eval::KPct;
use crate::engine::eval::bootstrap::{counts, interval};

use super::metrics;

/// A value with its 90% bootstrap interval (none when no resample defines it).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// Uplift in the top K: the response rate of the treated there minus the control's (for
/// churn-tui, dormancy prevented per treated user).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AtK {
    pub k_pct: f64,
    /// Users in the top K (`ceil(K·N/100)`).
    pub k: usize,
    /// None when the top K holds no treated or no control user.
    pub uplift: Option<Estimate>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpliftEval {
    pub n: usize,
    pub treated: usize,
    pub qini: Estimate,
    pub auuc: Estimate,
    pub at_k: Vec<AtK>,
    pub resamples: usize,
    pub seed: u64,
    /// Each resample's values, for paired differences: two rankings of the same users judged
    /// with the same seed share their resamples.
    #[serde(skip)]
    pub draws: Draws,
}

/// The values of each resample, in resample order.
#[derive(Debug, Clone, Default)]
pub struct Draws {
    pub qini: Vec<f64>,
    /// Per K, uplift@K (NaN where undefined).
    pub at_k: Vec<Vec<f64>>,
}

/// Equal when bit for bit the same: an undefined uplift@K (NaN) equals itself, so the same seed
/// gives equal evaluations.
impl PartialEq for Draws {
    fn eq(&self, other: &Draws) -> bool {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        bits(&self.qini) == bits(&other.qini)
            && self.at_k.len() == other.at_k.len()
            && self
                .at_k
                .iter()
                .zip(&other.at_k)
                .all(|(a, b)| bits(a) == bits(b))
    }
}

impl UpliftEval {
    /// `self − other` of the Qini coefficient: the point and its 90% interval from the paired
    /// resamples (both must be of the same users with the same seed).
    pub fn qini_minus(&self, other: &UpliftEval) -> Estimate {
        paired(
            self.qini.value - other.qini.value,
            &self.draws.qini,
            &other.draws.qini,
            1.0,
        )
    }

    /// `self − other` of the users an offer keeps in the top K (uplift@K × users there), at
    /// the `j`-th K; None where either uplift@K is undefined.
    pub fn kept_minus(&self, other: &UpliftEval, j: usize) -> Option<Estimate> {
        let (a, b) = (self.at_k.get(j)?, other.at_k.get(j)?);
        let k = a.k as f64;
        let point = (a.uplift?.value - b.uplift?.value) * k;
        Some(paired(
            point,
            self.draws.at_k.get(j)?,
            other.draws.at_k.get(j)?,
            k,
        ))
    }
}

fn paired(point: f64, a: &[f64], b: &[f64], scale: f64) -> Estimate {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| (x - y) * scale).collect();
    let iv = interval(&d);
    Estimate {
        value: point,
        low: iv.map(|i| i.0),
        high: iv.map(|i| i.1),
    }
}

/// One order of the users and where its groups of equal scores end.
struct Walk {
    order: Vec<usize>,
    /// `ends[i]`: position `i` is the last of its group.
    ends: Vec<bool>,
}

impl Walk {
    fn new(score: &[f64]) -> Walk {
        let mut order: Vec<usize> = (0..score.len()).collect();
        // Best first; inside a tie by position (stable), which only uplift@K's cut reads.
        order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
        let ends = (0..order.len())
            .map(|i| {
                order
                    .get(i + 1)
                    .is_none_or(|&v| score[v] != score[order[i]])
            })
            .collect();
        Walk { order, ends }
    }

    /// The area under the Qini (`qini`) or uplift curve with `w` copies of each user, and the
    /// curve's end point.
    fn area(&self, y: &[bool], t: &[bool], w: &[u32], qini: bool) -> (f64, f64, f64) {
        let (mut n, mut nt, mut yt, mut yc) = (0.0, 0.0, 0.0, 0.0);
        let (mut px, mut py, mut area) = (0.0, 0.0, 0.0);
        for (i, &u) in self.order.iter().enumerate() {
            let c = f64::from(w[u]);
            n += c;
            if t[u] {
                nt += c;
                yt += c * f64::from(u8::from(y[u]));
            } else {
                yc += c * f64::from(u8::from(y[u]));
            }
            if self.ends[i] {
                let nc = n - nt;
                let v = if qini {
                    yt - yc * div(nt, nc)
                } else {
                    (div(yt, nt) - div(yc, nc)) * n
                };
                area += (n - px) * (py + v) / 2.0;
                (px, py) = (n, v);
            }
        }
        (area, px, py)
    }

    /// Uplift among the first `k` copies in this order: None without both groups there.
    fn at_k(&self, y: &[bool], t: &[bool], w: &[u32], k: u64) -> Option<f64> {
        let (mut left, mut nt, mut nc, mut yt, mut yc) = (k, 0u64, 0u64, 0u64, 0u64);
        for &u in &self.order {
            if left == 0 {
                break;
            }
            let c = u64::from(w[u]).min(left);
            left -= c;
            let r = c * u64::from(y[u]);
            if t[u] {
                nt += c;
                yt += r;
            } else {
                nc += c;
                yc += r;
            }
        }
        (nt > 0 && nc > 0).then(|| yt as f64 / nt as f64 - yc as f64 / nc as f64)
    }
}

fn div(a: f64, b: f64) -> f64 {
    if b != 0.0 { a / b } else { 0.0 }
}

/// The ranking by `score`, its perfect orders, and what a resample computes on them.
struct Prepared<'a> {
    y: &'a [bool],
    t: &'a [bool],
    by_score: Walk,
    qini_best: Walk,
    /// scikit-uplift's perfect uplift ordering with the summand the response or the group.
    auuc_best_by_y: Walk,
    auuc_best_by_t: Walk,
}

impl Prepared<'_> {
    /// (Qini coefficient, AUUC, uplift at each k) with `w` copies of each user.
    fn values(&self, w: &[u32], ks: &[u64]) -> (f64, f64, Vec<Option<f64>>) {
        let (y, t) = (self.y, self.t);
        let normalise = |actual: f64, best: (f64, f64, f64)| {
            let base = best.1 * best.2 / 2.0;
            let denom = best.0 - base;
            if denom == 0.0 {
                f64::NAN
            } else {
                (actual - base) / denom
            }
        };
        let qini = normalise(
            self.by_score.area(y, t, w, true).0,
            self.qini_best.area(y, t, w, true),
        );
        let (mut cr, mut tn) = (0u64, 0u64);
        for (u, &c) in w.iter().enumerate() {
            cr += u64::from(c) * u64::from(y[u] && !t[u]);
            tn += u64::from(c) * u64::from(!y[u] && t[u]);
        }
        let best = if cr > tn {
            &self.auuc_best_by_y
        } else {
            &self.auuc_best_by_t
        };
        let auuc = normalise(
            self.by_score.area(y, t, w, false).0,
            best.area(y, t, w, false),
        );
        let at = ks.iter().map(|&k| self.by_score.at_k(y, t, w, k)).collect();
        (qini, auuc, at)
    }
}

/// Judge the ranking `score` of campaign users (`response`: the good outcome, not dormant;
/// `treated`: their group) at each K, with `resamples` group-stratified bootstrap resamples
/// seeded by `seed`.
pub fn evaluate(
    response: &[bool],
    treated: &[bool],
    score: &[f64],
    ks: &[KPct],
    resamples: usize,
    seed: u64,
) -> Result<UpliftEval> {
    // The checks and the point values are the metrics' own.
    let qini = metrics::qini_coefficient(response, treated, score)?;
    let auuc = metrics::auuc(response, treated, score)?;
    let n = response.len();
    let perfect = |f: &dyn Fn(bool, bool) -> f64| -> Vec<f64> {
        response
            .iter()
            .zip(treated)
            .map(|(&y, &t)| f(y, t))
            .collect()
    };
    let qini_best = perfect(&|y, t| match (y, t) {
        (true, true) => 1.0,
        (true, false) => -1.0,
        _ => 0.0,
    });
    let agree = |y: bool, t: bool| 2.0 * f64::from(u8::from(y == t));
    let p = Prepared {
        y: response,
        t: treated,
        by_score: Walk::new(score),
        qini_best: Walk::new(&qini_best),
        auuc_best_by_y: Walk::new(&perfect(&|y, t| agree(y, t) + f64::from(u8::from(y)))),
        auuc_best_by_t: Walk::new(&perfect(&|y, t| agree(y, t) + f64::from(u8::from(t)))),
    };
    let k_users: Vec<u64> = ks.iter().map(|k| k.k_of(n) as u64).collect();
    let ones = vec![1u32; n];
    let (_, _, at_point) = p.values(&ones, &k_users);

    // Each group is drawn apart: as many treated as there are, from the treated; the same for
    // the control.
    let groups: [Vec<usize>; 2] = [
        (0..n).filter(|&i| treated[i]).collect(),
        (0..n).filter(|&i| !treated[i]).collect(),
    ];
    // Resamples are independent and seeded by their number: drawn in parallel, kept in order.
    let draws: Vec<(f64, f64, Vec<Option<f64>>)> = {
        use rayon::prelude::*;
        (0..resamples)
            .into_par_iter()
            .map(|b| {
                let mut w = vec![0u32; n];
                for (salt, members) in groups.iter().enumerate() {
                    for (j, c) in counts(members.len(), seed, 0xC0FFEE + salt as u64, b)
                        .into_iter()
                        .enumerate()
                    {
                        w[members[j]] = c;
                    }
                }
                p.values(&w, &k_users)
            })
            .collect()
    };
    let qs: Vec<f64> = draws.iter().map(|d| d.0).collect();
    let aucs: Vec<f64> = draws.iter().map(|d| d.1).collect();
    let ats: Vec<Vec<f64>> = (0..ks.len())
        .map(|i| draws.iter().map(|d| d.2[i].unwrap_or(f64::NAN)).collect())
        .collect();
    let est = |value: f64, v: &[f64]| {
        let iv = interval(v);
        Estimate {
            value,
            low: iv.map(|i| i.0),
            high: iv.map(|i| i.1),
        }
    };
    Ok(UpliftEval {
        n,
        treated: groups[0].len(),
        qini: est(qini, &qs),
        auuc: est(auuc, &aucs),
        at_k: ks
            .iter()
            .zip(&k_users)
            .zip(at_point)
            .zip(&ats)
            .map(|(((k, &ku), point), v)| AtK {
                k_pct: k.as_f64(),
                k: ku as usize,
                uplift: point.map(|u| est(u, v)),
            })
            .collect(),
        resamples,
        seed,
        draws: Draws {
            qini: qs,
            at_k: ats,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplift_at_k_by_hand_and_the_point_values_are_the_metrics() {
        // Six users by score: T yes, C no, T no, C yes, T yes, C no.
        let y = [true, false, false, true, true, false];
        let t = [true, false, true, false, true, false];
        let s = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let e = evaluate(&y, &t, &s, &[KPct { bp: 5000 }, KPct { bp: 1000 }], 50, 7).unwrap();
        // Top 50% = 3 users: treated 1 of 2 respond, control 0 of 1: uplift 0.5.
        let a = e.at_k[0];
        assert_eq!(a.k, 3);
        assert_eq!(a.uplift.map(|u| u.value), Some(0.5));
        // Top 10% = 1 user: no control there.
        assert_eq!((e.at_k[1].k, e.at_k[1].uplift), (1, None));
        assert_eq!(e.qini.value, metrics::qini_coefficient(&y, &t, &s).unwrap());
        assert_eq!(e.auuc.value, metrics::auuc(&y, &t, &s).unwrap());
        assert_eq!(e.treated, 3);
        // The same seed, the same intervals.
        let again = evaluate(&y, &t, &s, &[KPct { bp: 5000 }, KPct { bp: 1000 }], 50, 7).unwrap();
        assert_eq!(e, again);
    }

    #[test]
    fn the_walk_with_ones_is_the_curve_of_the_metrics() {
        let y = [true, false, true, true, false, false, true, false];
        let t = [true, true, false, true, false, true, false, false];
        let s = [0.9, 0.8, 0.8, 0.5, 0.4, 0.4, 0.3, 0.2];
        let w = vec![1u32; 8];
        for qini in [true, false] {
            let (area, _, _) = Walk::new(&s).area(&y, &t, &w, qini);
            let c = if qini {
                metrics::qini_curve(&y, &t, &s).unwrap()
            } else {
                metrics::uplift_curve(&y, &t, &s).unwrap()
            };
            assert!(
                (area - c.area()).abs() < 1e-12,
                "{qini}: {area} vs {}",
                c.area()
            );
        }
        // Two copies of everyone: the same curve, twice as wide and (Qini) twice as high.
        let w2 = vec![2u32; 8];
        let (a1, ..) = Walk::new(&s).area(&y, &t, &w, true);
        let (a2, ..) = Walk::new(&s).area(&y, &t, &w2, true);
        assert!((a2 - 4.0 * a1).abs() < 1e-9);
    }
}
