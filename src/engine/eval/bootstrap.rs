//! Intervals (SPEC §4): a paired, seeded bootstrap over a split's rows. Each resample draws N
//! rows with replacement; every model is measured on the same resamples, its rows keeping their
//! original ranking order (copies of a row sit together), `k` recomputed from N. The interval is
//! the 5th and 95th percentile of the resampled values (nearest rank). Paired: the difference of
//! two models is taken resample by resample, so its interval says whether one really beats the
//! other.

use rand::{Rng, RngExt, SeedableRng};
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
    let mut c = vec![0u32; n];
    draw_rows(n, seed, split_salt, b, |i| c[i] += 1);
    c
}

/// The `n` draws of resample `b`, in stream order: `hit(i)` for each row drawn.
fn draw_rows(n: usize, seed: u64, split_salt: u64, b: usize, mut hit: impl FnMut(usize)) {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ split_salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (b as u64).wrapping_mul(0xA24B_AED4_963E_E407),
    );
    match u32::try_from(n) {
        Ok(range) if range > 0 => (0..n).for_each(|_| hit(below(&mut rng, range) as usize)),
        _ => (0..n).for_each(|_| hit(rng.random_range(0..n))),
    }
}

/// `rng.random_range(0..range)` as rand 0.10 draws it below 2^32 (Canon's method: the high
/// word of a 32 × 32-bit product, with a second word where the first may be biased), written
/// out so it inlines into the draw loop; rand's own function is called once per draw. The
/// test `draws_are_rands_own` pins the two together.
#[inline(always)]
fn below(rng: &mut ChaCha8Rng, range: u32) -> u32 {
    let m = rng.next_u32() as u64 * range as u64;
    let (mut result, lo) = ((m >> 32) as u32, m as u32);
    if lo > range.wrapping_neg() {
        let hi = ((rng.next_u32() as u64 * range as u64) >> 32) as u32;
        result += lo.checked_add(hi).is_none() as u32;
    }
    result
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

/// Resamples walked side by side: one pass down a ranking serves them all.
pub const LANES: usize = 8;

/// Up to [`LANES`] resamples of one split with the same row count, their copies of each row
/// interleaved (`count[i][b]`: copies of row i in lane b), so a walk reads one row's copies
/// for every lane in one load. Unused lanes have no copies and their values are dropped.
pub struct Lanes {
    count: Vec<[u8; LANES]>,
    used: usize,
    n: u64,
    p: [u64; LANES],
}

impl Lanes {
    /// Resamples `bs` of a split with labels `y`, drawn as [`counts`] draws them. `None`
    /// unless there are 1 to [`LANES`] of them, the split has fewer than 2^30 rows (the
    /// narrow layout's limit) and no row is drawn more than 255 times: walk those one by one.
    pub fn draw(
        y: &[bool],
        seed: u64,
        split_salt: u64,
        bs: std::ops::Range<usize>,
    ) -> Option<Lanes> {
        let n = y.len();
        if bs.is_empty() || bs.len() > LANES || n >= 1 << 30 {
            return None;
        }
        let mut count = vec![[0u8; LANES]; n];
        let mut p = [0u64; LANES];
        // One resample at a time in a byte per row (a small array, so the draws' scattered
        // increments stay in cache), then laid into its lane in one pass.
        let mut one = vec![0u8; n];
        for (lane, b) in bs.clone().enumerate() {
            one.fill(0);
            let mut overflow = false;
            draw_rows(n, seed, split_salt, b, |i| {
                let (c, o) = one[i].overflowing_add(1);
                one[i] = c;
                overflow |= o;
            });
            if overflow {
                return None;
            }
            for ((row, &c), &yi) in count.iter_mut().zip(&one).zip(y) {
                row[lane] = c;
                p[lane] += c as u64 * yi as u64;
            }
        }
        Some(Lanes {
            count,
            used: bs.len(),
            n: n as u64,
            p,
        })
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

/// One model's values on each resample of `s`, by one walk down its ranking for all lanes.
/// The same figures, to the bit, as [`values_on`] one resample at a time.
pub fn values_on_lanes(r: &Ranked, s: &Lanes, ks: &[KPct]) -> Vec<Values> {
    let walked = match &r.rows {
        Packed::Narrow(w) => walk_lanes(w, &s.count, s.n, ks),
        // Unreachable in practice: `Lanes` holds fewer than 2^30 rows, the narrow limit.
        Packed::Wide(w) => walk_lanes(w, &s.count, s.n, ks),
    };
    walked
        .into_iter()
        .zip(s.p)
        .take(s.used)
        .map(|(w, p)| values(w, s.n, p))
        .collect()
}

/// [`walk`] for every lane at once. Each lane's tallies are whole numbers below 2^30 kept in
/// f64, so every sum is exact and the area terms are computed with the same operations on the
/// same values as the one-lane walk; the lane loops have no branch and vectorise. A K cut-off
/// is crossed at most once per lane, so checking for one costs a compare per lane and a rarely
/// taken branch.
fn walk_lanes<W: Copy + Into<u64>>(
    rows: &[W],
    count: &[[u8; LANES]],
    n: u64,
    ks: &[KPct],
) -> [Walked; LANES] {
    let kk: Vec<u64> = ks.iter().map(|k| k.k_of(n as usize) as u64).collect();
    let mut by_k: Vec<usize> = (0..ks.len()).collect();
    by_k.sort_by_key(|&j| kk[j]);
    // Cut-offs in ascending order; those at 0 take no row and leave tp 0.
    let cuts: Vec<f64> = by_k.iter().map(|&j| kk[j] as f64).collect();
    let first = cuts.iter().take_while(|&&c| c == 0.0).count();
    let mut next = [first; LANES];
    let mut cut = [cuts.get(first).copied().unwrap_or(f64::INFINITY); LANES];
    let mut tp_at = vec![[0.0f64; LANES]; ks.len()];
    let mut taken = [0.0f64; LANES];
    let mut tp = [0.0f64; LANES];
    let mut tp_closed = [0.0f64; LANES];
    let mut ap = [0.0f64; LANES];
    for (j, &w) in rows.iter().enumerate() {
        // The copies are read in ranking order, at random in the array: ask for them ahead.
        if let Some(&ahead) = rows.get(j + AHEAD) {
            prefetch(count, (ahead.into() >> 2) as usize);
        }
        let w: u64 = w.into();
        let c: [f64; LANES] = count[(w >> 2) as usize].map(f64::from);
        let pos = ((w >> 1) & 1) as f64;
        let closes = (w & 1) as f64;
        let mut crossing = false;
        for b in 0..LANES {
            crossing |= taken[b] + c[b] >= cut[b];
        }
        if crossing {
            for b in 0..LANES {
                // A cut-off inside this row's copies takes the copies before it.
                while next[b] < cuts.len() && taken[b] + c[b] >= cuts[next[b]] {
                    tp_at[by_k[next[b]]][b] = tp[b] + pos * (cuts[next[b]] - taken[b]);
                    next[b] += 1;
                }
                cut[b] = cuts.get(next[b]).copied().unwrap_or(f64::INFINITY);
            }
        }
        for b in 0..LANES {
            taken[b] += c[b];
            tp[b] += pos * c[b];
            // A step that moved no positive adds exactly +0.0 (`max` only keeps 0/0 away
            // before the first drawn row, where the step is 0 anyway).
            let step = (tp[b] - tp_closed[b]) * closes;
            ap[b] += step * (tp[b] / taken[b].max(1.0));
            tp_closed[b] += step;
        }
    }
    std::array::from_fn(|b| Walked {
        tp_at: tp_at.iter().map(|t| t[b] as u64).collect(),
        ap_times_p: ap[b],
        kk: kk.clone(),
    })
}

/// Rows ahead of the walk whose copies are fetched early.
const AHEAD: usize = 16;

/// A hint that `v[i]` will be read soon (nothing where the CPU has no such hint).
#[inline(always)]
fn prefetch<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = v.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch only hints the cache; it reads nothing and cannot fault, and
        // the pointer is of a live element. SSE is part of every x86_64 CPU.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
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
    // Groups of LANES resamples side by side, each drawn from its own seeded stream, so the
    // values do not depend on how the work is split; a group walks each ranking once.
    let groups: Vec<Vec<Vec<Values>>> = (0..resamples.div_ceil(LANES))
        .into_par_iter()
        .map(|g| {
            let bs = g * LANES..((g + 1) * LANES).min(resamples);
            // Per model, its values on each resample of the group.
            let per_model: Vec<Vec<Values>> = match Lanes::draw(y, seed, split_salt, bs.clone()) {
                Some(lanes) => ranked
                    .iter()
                    .map(|r| values_on_lanes(r, &lanes, ks))
                    .collect(),
                None => {
                    let one: Vec<Resample> = bs
                        .clone()
                        .map(|b| Resample::new(&counts(y.len(), seed, split_salt, b), y))
                        .collect();
                    ranked
                        .iter()
                        .map(|r| one.iter().map(|s| values_on(r, s, ks)).collect())
                        .collect()
                }
            };
            // Regrouped by resample.
            (0..bs.len())
                .map(|b| per_model.iter().map(|m| m[b].clone()).collect())
                .collect()
        })
        .collect();
    let per_resample: Vec<Vec<Values>> = groups.into_iter().flatten().collect();
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
    fn draws_are_rands_own() {
        // The written-out draw against rand's `random_range` on the same stream, for ranges
        // small, odd, near a power of two and near 2^32 (where the second word matters most).
        for range in [
            1u32,
            2,
            3,
            7,
            1000,
            65_537,
            (1 << 31) + 1,
            u32::MAX - 2,
            u32::MAX,
        ] {
            let mut a = ChaCha8Rng::seed_from_u64(u64::from(range));
            let mut b = a.clone();
            for _ in 0..20_000 {
                assert_eq!(
                    below(&mut a, range),
                    b.random_range(0..range),
                    "range {range}"
                );
            }
        }
    }

    /// Resamples walked side by side give, to the bit, what one resample at a time gives:
    /// a full group and a short one, coarse scores (long tie groups), fine ones and NaNs, K
    /// cut-offs that fall inside a row's copies.
    #[test]
    fn lanes_give_the_one_at_a_time_figures_to_the_bit() {
        let n = 301;
        let y: Vec<bool> = (0..n).map(|i| (i * 7) % 5 < 2).collect();
        let users: Vec<i64> = (0..n as i64).collect();
        let anchors = vec![0i64; n];
        let ks: Vec<KPct> = ["5", "12.5", "50", "0.1"]
            .iter()
            .map(|k| KPct::parse(k).unwrap())
            .collect();
        let coarse: Vec<f64> = (0..n).map(|i| ((i * 13) % 9) as f64 / 8.0).collect();
        let fine: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1009) as f64 / 1009.0)
            .collect();
        // A failed model's scores: NaNs of both signs among finite ones, one tie group.
        let broken: Vec<f64> = fine
            .iter()
            .enumerate()
            .map(|(i, &v)| match i % 5 {
                0 => f64::NAN,
                1 => -f64::NAN,
                _ => v,
            })
            .collect();
        for s in [&coarse, &fine, &broken] {
            let r = Ranked::new(&rank(s, &users, &anchors), s, &y);
            for bs in [0..LANES, LANES..LANES + 3] {
                let lanes = Lanes::draw(&y, 5, 2, bs.clone()).unwrap();
                let got = values_on_lanes(&r, &lanes, &ks);
                assert_eq!(got.len(), bs.len());
                for (v, b) in got.iter().zip(bs) {
                    let c = counts(n, 5, 2, b);
                    let want = values_on(&r, &Resample::new(&c, &y), &ks);
                    assert_eq!(v.pr_auc.to_bits(), want.pr_auc.to_bits(), "resample {b}");
                    assert_eq!(v, &want, "resample {b}");
                }
            }
        }
        // Groups the lanes cannot hold are refused, and walked one by one instead.
        assert!(Lanes::draw(&y, 5, 2, 0..LANES + 1).is_none());
        assert!(Lanes::draw(&y, 5, 2, 3..3).is_none());
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
