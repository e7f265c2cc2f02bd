//! Intervals (SPEC §4): a paired, seeded bootstrap over a split's rows. Each resample draws N
//! rows with replacement; every model is measured on the same resamples, its rows keeping their
//! original ranking order (copies of a row sit together), `k` recomputed from N. The interval is
//! the 5th and 95th percentile of the resampled values (nearest rank). Paired: the difference of
//! two models is taken resample by resample, so its interval says whether one really beats the
//! other.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::metrics::{KPct, rank, same_score};

/// Resamples per split (SPEC §4 default).
pub const RESAMPLES: usize = 200;
/// The interval's lower and upper percentiles.
pub const PERCENTILES: (f64, f64) = (5.0, 95.0);

/// One model's values on one resample: PR-AUC, then precision, recall and lift at each K
/// (`NaN` where undefined: no positives, or k = 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    pub pr_auc: f64,
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub lift: Vec<f64>,
}

/// A model's values on every resample of a split, in resample order.
#[derive(Debug, Clone, PartialEq)]
pub struct Resampled {
    pub values: Vec<Values>,
}

/// The `p`-th percentile of `v` by nearest rank (`v` need not be sorted; `NaN`s are left out).
/// `None` when no value is defined.
pub fn percentile(v: &[f64], p: f64) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    Some(s[rank.clamp(1, s.len()) - 1])
}

/// The 90% interval of `v`.
pub fn interval(v: &[f64]) -> Option<(f64, f64)> {
    Some((percentile(v, PERCENTILES.0)?, percentile(v, PERCENTILES.1)?))
}

/// Row counts of resample `b` of a split of `n` rows: `n` draws with replacement from a stream
/// seeded by (seed, split, b), so a resample is the same whatever the thread count.
pub fn counts(n: usize, seed: u64, split_salt: u64, b: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ split_salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (b as u64).wrapping_mul(0xA24B_AED4_963E_E407),
    );
    let mut c = vec![0u32; n];
    if n == 0 {
        return c;
    }
    for _ in 0..n {
        c[rng.random_range(0..n)] += 1;
    }
    c
}

/// One resample of a split, as every model's walk reads it: the copies of each row, and the
/// resample's row and positive counts (the same for every model, so found once).
pub struct Resample {
    count: Counts,
    n: u64,
    p: u64,
}

/// Copies per row. A byte each whenever no row is drawn more than 255 times (always, in
/// practice: the most copies of any row among millions is about a dozen), so the array a walk
/// reads at random stays in cache.
enum Counts {
    Small(Vec<u8>),
    Wide(Vec<u32>),
}

impl Resample {
    /// `count[i]`: the copies of row i; `y[i]`: its label.
    pub fn new(count: &[u32], y: &[bool]) -> Resample {
        let n = count.iter().map(|&c| c as u64).sum();
        let p = count
            .iter()
            .zip(y)
            .map(|(&c, &y)| c as u64 * y as u64)
            .sum();
        let count = if count.iter().all(|&c| c <= u8::MAX as u32) {
            Counts::Small(count.iter().map(|&c| c as u8).collect())
        } else {
            Counts::Wide(count.to_vec())
        };
        Resample { count, n, p }
    }
}

/// A model's ranking of a split, laid out for walking it once per resample: per row, best
/// first, its index, label and whether a group of tied scores ends there, packed in one word
/// (index << 2 | label << 1 | closes) so the walk reads one stream.
pub struct Ranked {
    rows: Packed,
}

enum Packed {
    Narrow(Vec<u32>),
    /// Splits of 2^30 rows or more.
    Wide(Vec<u64>),
}

impl Ranked {
    pub fn new(order: &[usize], scores: &[f64], y: &[bool]) -> Ranked {
        let word = |j: usize| -> u64 {
            let i = order[j];
            let closes = order
                .get(j + 1)
                .is_none_or(|&nx| !same_score(scores[nx], scores[i]));
            ((i as u64) << 2) | ((y[i] as u64) << 1) | closes as u64
        };
        let rows = if order.len() < 1 << 30 {
            Packed::Narrow((0..order.len()).map(|j| word(j) as u32).collect())
        } else {
            Packed::Wide((0..order.len()).map(word).collect())
        };
        Ranked { rows }
    }
}

/// One model's values on one resample, by one walk down its ranking.
pub fn values_on(r: &Ranked, s: &Resample, ks: &[KPct]) -> Values {
    let walked = match (&r.rows, &s.count) {
        (Packed::Narrow(w), Counts::Small(c)) => walk(w, c, s.n, ks),
        (Packed::Narrow(w), Counts::Wide(c)) => walk(w, c, s.n, ks),
        (Packed::Wide(w), Counts::Small(c)) => walk(w, c, s.n, ks),
        (Packed::Wide(w), Counts::Wide(c)) => walk(w, c, s.n, ks),
    };
    values(walked, s.n, s.p)
}

/// What a walk finds: true positives at each K's cut-off, and PR-AUC times P.
struct Walked {
    tp_at: Vec<u64>,
    ap_times_p: f64,
    kk: Vec<u64>,
}

fn walk<W: Copy + Into<u64>, C: Copy + Into<u64>>(
    rows: &[W],
    count: &[C],
    n: u64,
    ks: &[KPct],
) -> Walked {
    // The K cut-offs in ascending order, each crossed once on the walk.
    let kk: Vec<u64> = ks.iter().map(|k| k.k_of(n as usize) as u64).collect();
    let mut by_k: Vec<usize> = (0..ks.len()).collect();
    by_k.sort_by_key(|&j| kk[j]);
    let mut tp_at = vec![0u64; ks.len()];
    let mut next = 0;
    while next < by_k.len() && kk[by_k[next]] == 0 {
        next += 1;
    }
    // The next cut-off, u64::MAX once all are crossed: one compare per row.
    let mut cut = by_k.get(next).map_or(u64::MAX, |&j| kk[j]);
    let (mut taken, mut tp, mut tp_closed) = (0u64, 0u64, 0u64);
    // Σ over PR steps of (tp − tp at the last step) · precision; divided by P at the end.
    let mut ap = 0.0f64;
    for &w in rows {
        let w: u64 = w.into();
        let c: u64 = count[(w >> 2) as usize].into();
        let pos = (w >> 1) & 1;
        if taken + c >= cut {
            // A cut-off inside this row's copies takes the copies before it.
            while next < by_k.len() && taken + c >= kk[by_k[next]] {
                tp_at[by_k[next]] = tp + pos * (kk[by_k[next]] - taken);
                next += 1;
            }
            cut = by_k.get(next).map_or(u64::MAX, |&j| kk[j]);
        }
        taken += c;
        tp += pos * c;
        // A step adds area only where recall moved, so rows that add no positive skip the
        // division.
        if w & 1 == 1 && tp != tp_closed {
            ap += (tp - tp_closed) as f64 * (tp as f64 / taken as f64);
            tp_closed = tp;
        }
    }
    Walked {
        tp_at,
        ap_times_p: ap,
        kk,
    }
}

fn values(w: Walked, n: u64, p: u64) -> Values {
    let prevalence = if n > 0 { p as f64 / n as f64 } else { f64::NAN };
    let precision: Vec<f64> = w
        .tp_at
        .iter()
        .zip(&w.kk)
        .map(|(&t, &k)| if k > 0 { t as f64 / k as f64 } else { f64::NAN })
        .collect();
    Values {
        pr_auc: if p > 0 {
            w.ap_times_p / p as f64
        } else {
            f64::NAN
        },
        recall: w
            .tp_at
            .iter()
            .map(|&t| if p > 0 { t as f64 / p as f64 } else { f64::NAN })
            .collect(),
        lift: precision
            .iter()
            .map(|&pr| if p > 0 { pr / prevalence } else { f64::NAN })
            .collect(),
        precision,
    }
}

/// Every model's values on `resamples` resamples of one split. `scores[m]` are model m's
/// scores of the split's rows; rankings follow SPEC §4 (ties by user, then anchor).
#[allow(clippy::too_many_arguments)]
pub fn resample_split(
    scores: &[&[f64]],
    y: &[bool],
    users: &[i64],
    anchors: &[i64],
    ks: &[KPct],
    seed: u64,
    split_salt: u64,
    resamples: usize,
) -> Vec<Resampled> {
    use rayon::prelude::*;
    let ranked: Vec<Ranked> = scores
        .iter()
        .map(|s| Ranked::new(&rank(s, users, anchors), s, y))
        .collect();
    // Resamples side by side; each is drawn from its own seeded stream, so the values do not
    // depend on how the work is split.
    let per_resample: Vec<Vec<Values>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
            let s = Resample::new(&counts(y.len(), seed, split_salt, b), y);
            ranked.iter().map(|r| values_on(r, &s, ks)).collect()
        })
        .collect();
    (0..scores.len())
        .map(|m| Resampled {
            values: per_resample.iter().map(|r| r[m].clone()).collect(),
        })
        .collect()
}

/// A value of each resample, for one metric (`pick`).
pub fn series(r: &Resampled, pick: impl Fn(&Values) -> f64) -> Vec<f64> {
    r.values.iter().map(pick).collect()
}

/// The paired differences `a − b`, resample by resample.
pub fn differences(a: &Resampled, b: &Resampled, pick: impl Fn(&Values) -> f64) -> Vec<f64> {
    a.values
        .iter()
        .zip(&b.values)
        .map(|(x, y)| pick(x) - pick(y))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        // ceil(0.05 · 200) = 10th value, ceil(0.95 · 200) = 190th.
        assert_eq!(interval(&v), Some((10.0, 190.0)));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[f64::NAN, 4.0], 5.0), Some(4.0));
        assert_eq!(percentile(&[f64::NAN], 5.0), None);
    }

    #[test]
    fn a_resample_of_the_rows_themselves_gives_the_plain_metrics() {
        // Every row once: the values are the split's own (checked by hand).
        // Ranking: scores 0.9 (y), 0.8 (n), 0.7 (y), 0.7 (n), 0.1 (n).
        let scores = [0.9, 0.8, 0.7, 0.7, 0.1];
        let y = [true, false, true, false, false];
        let r = Ranked::new(&[0, 1, 2, 3, 4], &scores, &y);
        let ks = [KPct::parse("40").unwrap()];
        let v = values_on(&r, &Resample::new(&[1; 5], &y), &ks);
        // k = ceil(0.4 · 5) = 2: one positive of two; P = 2 of N = 5.
        assert_eq!(v.precision, vec![0.5]);
        assert_eq!(v.recall, vec![0.5]);
        assert!((v.lift[0] - 0.5 / 0.4).abs() < 1e-15);
        // AP: steps at 0.9 (R ½, P 1), 0.8 (R ½), 0.7 tie group (R 1, P 2/4): ½·1 + ½·½ = 0.75.
        assert!((v.pr_auc - 0.75).abs() < 1e-15);
    }

    #[test]
    fn copies_of_a_row_sit_together_and_k_cuts_between_them() {
        // Row 0 (positive) three times, row 1 (negative) twice, row 2 (positive) never.
        let scores = [0.9, 0.5, 0.1];
        let y = [true, false, true];
        let r = Ranked::new(&[0, 1, 2], &scores, &y);
        // K out of order: each still gets its own cut-off.
        let ks = [KPct::parse("80").unwrap(), KPct::parse("40").unwrap()];
        let v = values_on(&r, &Resample::new(&[3, 2, 0], &y), &ks);
        // N = 5, P = 3: k = 2 takes two copies of row 0; k = 4 takes three of row 0, one of row 1.
        assert_eq!(v.precision, vec![0.75, 1.0]);
        assert_eq!(v.recall, vec![1.0, 2.0 / 3.0]);
        assert_eq!(v.lift, vec![0.75 / 0.6, 1.0 / 0.6]);
        // AP: step at 0.9 (R 1, P 1): 1.
        assert_eq!(v.pr_auc, 1.0);
    }

    #[test]
    fn a_row_drawn_more_than_255_times_is_counted_in_full() {
        // Past a byte per count the wide layout takes over; the figures are the same rule's.
        let scores = [0.9, 0.5, 0.1];
        let y = [true, false, true];
        let r = Ranked::new(&[0, 1, 2], &scores, &y);
        let ks = [KPct::parse("80").unwrap()];
        let v = values_on(&r, &Resample::new(&[300, 100, 0], &y), &ks);
        // N = 400, P = 300, k = 320: all 300 copies of row 0 and 20 of row 1.
        assert_eq!(v.precision, vec![300.0 / 320.0]);
        assert_eq!(v.recall, vec![1.0]);
        assert_eq!(v.lift, vec![(300.0 / 320.0) / 0.75]);
        assert_eq!(v.pr_auc, 1.0);
    }

    #[test]
    fn nans_of_any_bits_tie_as_the_plain_metrics_tie_them() {
        // A model that failed scores NaN; NaNs with other bits must still be one tie group,
        // here as in `evaluate`, or the interval would not hold the point estimate.
        use crate::engine::eval::metrics::evaluate;
        let scores = [0.9, f64::NAN, -f64::NAN, 0.5, f64::NAN];
        let y = [true, true, false, false, true];
        let users: Vec<i64> = (0..5).collect();
        let anchors = [0i64; 5];
        let ks = [KPct::parse("40").unwrap()];
        let r = Ranked::new(&rank(&scores, &users, &anchors), &scores, &y);
        let got = values_on(&r, &Resample::new(&[1; 5], &y), &ks);
        let want = evaluate(&scores, &y, &users, &anchors, &ks);
        // By hand: 0.9 (y), 0.5 (n), then the three NaNs as one group (2 of 3 positive):
        // AP = 1/3 · 1 + 2/3 · 3/5.
        let ap = 1.0 / 3.0 + (2.0 / 3.0) * (3.0 / 5.0);
        assert!((want.pr_auc.unwrap() - ap).abs() < 1e-15);
        assert!((got.pr_auc - ap).abs() < 1e-15);
    }

    /// A resample's values equal the plain metrics (`evaluate`, an independent code path) of
    /// the rows written out as many times as the resample draws them.
    #[test]
    fn a_resample_is_the_split_with_rows_repeated() {
        use crate::engine::eval::metrics::evaluate;
        let n = 60;
        let y: Vec<bool> = (0..n).map(|i| (i * 7) % 5 < 2).collect();
        // Coarse scores, so ties across rows are common.
        let s: Vec<f64> = (0..n).map(|i| ((i * 13) % 9) as f64 / 8.0).collect();
        let users: Vec<i64> = (0..n as i64).collect();
        let anchors = vec![0i64; n];
        let ks: Vec<KPct> = ["5", "10", "33.33"]
            .iter()
            .map(|k| KPct::parse(k).unwrap())
            .collect();
        let r = Ranked::new(&rank(&s, &users, &anchors), &s, &y);
        for b in 0..20 {
            let c = counts(n, 3, 1, b);
            let got = values_on(&r, &Resample::new(&c, &y), &ks);
            let (mut ey, mut es, mut eu) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..n {
                for _ in 0..c[i] {
                    ey.push(y[i]);
                    es.push(s[i]);
                    eu.push(users[i]);
                }
            }
            let want = evaluate(&es, &ey, &eu, &vec![0; ey.len()], &ks);
            let close = |a: f64, b: Option<f64>| (a - b.unwrap_or(f64::NAN)).abs() < 1e-12;
            assert!(close(got.pr_auc, want.pr_auc), "resample {b}: PR-AUC");
            for (j, a) in want.at_k.iter().enumerate() {
                assert!(
                    close(got.precision[j], a.precision),
                    "resample {b}: precision"
                );
                assert!(close(got.recall[j], a.recall), "resample {b}: recall");
                assert!(close(got.lift[j], a.lift), "resample {b}: lift");
            }
        }
        // The intervals hold the split's own figures.
        let r = resample_split(&[&s], &y, &users, &anchors, &ks, 3, 1, RESAMPLES);
        let plain = evaluate(&s, &y, &users, &anchors, &ks);
        let (lo, hi) = interval(&series(&r[0], |v| v.pr_auc)).unwrap();
        let p = plain.pr_auc.unwrap();
        assert!(lo <= p && p <= hi, "{lo} <= {p} <= {hi}");
        let (lo, hi) = interval(&series(&r[0], |v| v.lift[2])).unwrap();
        let l = plain.at_k[2].lift.unwrap();
        assert!(lo <= l && l <= hi, "{lo} <= {l} <= {hi}");
    }

    #[test]
    fn resamples_are_seeded_and_paired() {
        let a = counts(1000, 7, 1, 3);
        assert_eq!(a, counts(1000, 7, 1, 3), "same seed, same resample");
        assert_ne!(a, counts(1000, 7, 1, 4), "another resample");
        assert_eq!(a.iter().map(|&c| c as usize).sum::<usize>(), 1000);
        // Paired: two models on the same resamples; a model against itself differs by 0.
        let y: Vec<bool> = (0..50).map(|i| i % 3 == 0).collect();
        let s1: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64).collect();
        let users: Vec<i64> = (0..50).collect();
        let anchors = vec![0i64; 50];
        let ks = [KPct::parse("10").unwrap()];
        let r = resample_split(&[&s1, &s1], &y, &users, &anchors, &ks, 9, 2, 20);
        assert_eq!(r[0], r[1]);
        let d = differences(&r[0], &r[1], |v| v.lift[0]);
        assert!(d.iter().all(|&x| x == 0.0 || x.is_nan()));
    }
}
