//! An uplift ranking judged on held-out campaign users (SPEC §7a): the Qini coefficient, AUUC and
//! uplift@K, each with a 90% bootstrap interval whose resamples draw the treated and the control
//! users apart (each group keeps its size, as the randomisation fixed it). Users are sorted once;
//! a resample is a walk over that order with each user's number of copies, so 200 resamples of
//! a million users cost 200 linear passes, not 200 sorts. Rankings of the same users are judged
//! together: a resample's copies and its perfect curves are made once for all of them, and
//! each ranking's curves and uplift@K come from one pass.

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

    /// `area` of both curves and `at_k` at each of `ks` in one pass: the same sums in the same
    /// order, so the same bits.
    fn fused(&self, y: &[bool], t: &[bool], w: &[u32], ks: &[u64]) -> (f64, f64, Vec<Option<f64>>) {
        let (mut n, mut nt, mut yt, mut yc) = (0.0, 0.0, 0.0, 0.0);
        let (mut qx, mut qy, mut qa) = (0.0, 0.0, 0.0);
        let (mut ux, mut uy, mut ua) = (0.0, 0.0, 0.0);
        // uplift@K in integers: the copies taken so far, per group, and their responders.
        let (mut taken, mut cnt, mut cnc, mut cyt, mut cyc) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut by_k: Vec<usize> = (0..ks.len()).collect();
        by_k.sort_by_key(|&j| ks[j]);
        let mut at: Vec<Option<Option<f64>>> = vec![None; ks.len()];
        let mut next = 0;
        let rate = |nt: u64, nc: u64, yt: u64, yc: u64| {
            (nt > 0 && nc > 0).then(|| yt as f64 / nt as f64 - yc as f64 / nc as f64)
        };
        while next < by_k.len() && ks[by_k[next]] == 0 {
            at[by_k[next]] = Some(None);
            next += 1;
        }
        for (i, &u) in self.order.iter().enumerate() {
            let wu = w[u];
            let c = f64::from(wu);
            let yu = y[u];
            n += c;
            if t[u] {
                nt += c;
                yt += c * f64::from(u8::from(yu));
            } else {
                yc += c * f64::from(u8::from(yu));
            }
            if self.ends[i] {
                let nc = n - nt;
                let q = yt - yc * div(nt, nc);
                qa += (n - qx) * (qy + q) / 2.0;
                (qx, qy) = (n, q);
                let v = (div(yt, nt) - div(yc, nc)) * n;
                ua += (n - ux) * (uy + v) / 2.0;
                (ux, uy) = (n, v);
            }
            if next < by_k.len() && wu > 0 {
                let before = taken;
                taken += u64::from(wu);
                // Each K reached by this user's copies takes only the copies it needs.
                while next < by_k.len() && ks[by_k[next]] <= taken {
                    let part = ks[by_k[next]] - before;
                    let r = part * u64::from(yu);
                    at[by_k[next]] = Some(if t[u] {
                        rate(cnt + part, cnc, cyt + r, cyc)
                    } else {
                        rate(cnt, cnc + part, cyt, cyc + r)
                    });
                    next += 1;
                }
                let r = u64::from(wu) * u64::from(yu);
                if t[u] {
                    cnt += u64::from(wu);
                    cyt += r;
                } else {
                    cnc += u64::from(wu);
                    cyc += r;
                }
            }
        }
        let at = at
            .into_iter()
            .map(|a| a.unwrap_or_else(|| rate(cnt, cnc, cyt, cyc)))
            .collect();
        (qa, ua, at)
    }

    /// Uplift among the first `k` copies in this order: None without both groups there (the
    /// plain form `fused` is checked against).
    #[cfg(test)]
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

/// The users' perfect orders, the same for every ranking of them.
struct Perfect<'a> {
    y: &'a [bool],
    t: &'a [bool],
    qini_best: Walk,
    /// scikit-uplift's perfect uplift ordering with the summand the response or the group.
    auuc_best_by_y: Walk,
    auuc_best_by_t: Walk,
}

/// (Qini coefficient, AUUC, uplift at each k) of one ranking in one resample.
type Values = (f64, f64, Vec<Option<f64>>);

impl Perfect<'_> {
    /// Each of `rankings`' values with `w` copies of each user.
    fn values(&self, rankings: &[Walk], w: &[u32], ks: &[u64]) -> Vec<Values> {
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
        let qini_best = self.qini_best.area(y, t, w, true);
        let (mut cr, mut tn) = (0u64, 0u64);
        for (u, &c) in w.iter().enumerate() {
            cr += u64::from(c) * u64::from(y[u] && !t[u]);
            tn += u64::from(c) * u64::from(!y[u] && t[u]);
        }
        let auuc_best = if cr > tn {
            &self.auuc_best_by_y
        } else {
            &self.auuc_best_by_t
        }
        .area(y, t, w, false);
        rankings
            .iter()
            .map(|r| {
                let (qini, auuc, at) = r.fused(y, t, w, ks);
                (normalise(qini, qini_best), normalise(auuc, auuc_best), at)
            })
            .collect()
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
    let mut all = evaluate_all(response, treated, &[score], ks, resamples, seed)?;
    all.pop()
        .ok_or_else(|| crate::engine::Error::Config("no ranking judged".into()))
}

/// `evaluate` of each of `scores`, rankings of the same users: the same as judging each alone
/// with the same seed (so their resamples pair), at the cost of one.
pub fn evaluate_all(
    response: &[bool],
    treated: &[bool],
    scores: &[&[f64]],
    ks: &[KPct],
    resamples: usize,
    seed: u64,
) -> Result<Vec<UpliftEval>> {
    // The checks and the point values are the metrics' own.
    let points: Vec<(f64, f64)> = scores
        .iter()
        .map(|s| {
            Ok((
                metrics::qini_coefficient(response, treated, s)?,
                metrics::auuc(response, treated, s)?,
            ))
        })
        .collect::<Result<_>>()?;
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
    let p = Perfect {
        y: response,
        t: treated,
        qini_best: Walk::new(&qini_best),
        auuc_best_by_y: Walk::new(&perfect(&|y, t| agree(y, t) + f64::from(u8::from(y)))),
        auuc_best_by_t: Walk::new(&perfect(&|y, t| agree(y, t) + f64::from(u8::from(t)))),
    };
    let walks: Vec<Walk> = scores.iter().map(|s| Walk::new(s)).collect();
    let k_users: Vec<u64> = ks.iter().map(|k| k.k_of(n) as u64).collect();
    let ones = vec![1u32; n];
    let at_points: Vec<Vec<Option<f64>>> = p
        .values(&walks, &ones, &k_users)
        .into_iter()
        .map(|v| v.2)
        .collect();

    // Each group is drawn apart: as many treated as there are, from the treated; the same for
    // the control.
    let groups: [Vec<usize>; 2] = [
        (0..n).filter(|&i| treated[i]).collect(),
        (0..n).filter(|&i| !treated[i]).collect(),
    ];
    // Resamples are independent and seeded by their number: drawn in parallel, kept in order.
    let draws: Vec<Vec<Values>> = {
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
                p.values(&walks, &w, &k_users)
            })
            .collect()
    };
    let est = |value: f64, v: &[f64]| {
        let iv = interval(v);
        Estimate {
            value,
            low: iv.map(|i| i.0),
            high: iv.map(|i| i.1),
        }
    };
    Ok(points
        .into_iter()
        .zip(at_points)
        .enumerate()
        .map(|(r, ((qini, auuc), at_point))| {
            let qs: Vec<f64> = draws.iter().map(|d| d[r].0).collect();
            let aucs: Vec<f64> = draws.iter().map(|d| d[r].1).collect();
            let ats: Vec<Vec<f64>> = (0..ks.len())
                .map(|i| {
                    draws
                        .iter()
                        .map(|d| d[r].2[i].unwrap_or(f64::NAN))
                        .collect()
                })
                .collect();
            UpliftEval {
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
            }
        })
        .collect())
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

    /// The one-pass walk gives the bits of the separate curves and cuts, for any copies (ties,
    /// zero copies, a K inside a user's copies, a K past everyone).
    #[test]
    fn the_fused_walk_is_the_separate_walks() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for n in [1usize, 2, 7, 50, 300] {
            let y: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.4).collect();
            let t: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.5).collect();
            let s: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(0..8u8)))
                .collect();
            let w: Vec<u32> = (0..n).map(|_| rng.random_range(0..4u32)).collect();
            let total: u64 = w.iter().map(|&c| u64::from(c)).sum();
            let ks = [total / 3, 0, total + 5, 1, total / 2 + 1, total];
            let walk = Walk::new(&s);
            let (q, u, at) = walk.fused(&y, &t, &w, &ks);
            assert_eq!(
                q.to_bits(),
                walk.area(&y, &t, &w, true).0.to_bits(),
                "n {n}"
            );
            assert_eq!(
                u.to_bits(),
                walk.area(&y, &t, &w, false).0.to_bits(),
                "n {n}"
            );
            for (j, &k) in ks.iter().enumerate() {
                assert_eq!(at[j], walk.at_k(&y, &t, &w, k), "n {n}, k {k}");
            }
        }
    }

    /// Judged together or alone, each ranking gets the same values and draws.
    #[test]
    fn rankings_judged_together_are_judged_as_alone() {
        let y = [
            true, false, false, true, true, false, true, false, false, true,
        ];
        let t = [
            true, false, true, false, true, false, true, true, false, false,
        ];
        let a = [0.9, 0.8, 0.8, 0.5, 0.4, 0.4, 0.3, 0.2, 0.1, 0.0];
        let b = [0.1, 0.3, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8, 0.5, 0.7];
        let ks = [KPct { bp: 3000 }, KPct { bp: 5000 }];
        let both = evaluate_all(&y, &t, &[&a, &b], &ks, 40, 3).unwrap();
        assert_eq!(both[0], evaluate(&y, &t, &a, &ks, 40, 3).unwrap());
        assert_eq!(both[1], evaluate(&y, &t, &b, &ks, 40, 3).unwrap());
        assert_ne!(both[0].draws, both[1].draws);
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
