//! Top-K metrics and average precision, computed exactly as SPEC §4 defines them.

#[cfg(test)]
use std::cmp::Ordering;
use std::fmt;

use crate::engine::{Error, Result};

/// A Top-K percentage held in basis points (5% = 500), so `k = ceil(K·N/100)` is computed in
/// integers: in floating point, K = 7 with N = 100 gives 7.000000000000001 and a ceiling of 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KPct {
    pub bp: u32,
}

impl KPct {
    pub const DEFAULTS: [KPct; 4] = [
        KPct { bp: 500 },
        KPct { bp: 1000 },
        KPct { bp: 1500 },
        KPct { bp: 3000 },
    ];

    pub fn from_bp(bp: u32) -> Result<KPct> {
        if bp == 0 || bp > 10_000 {
            return Err(Error::Config(format!(
                "K must be in (0, 100]%, got {}%",
                KPct { bp }
            )));
        }
        Ok(KPct { bp })
    }

    /// Parse `5`, `7.25`, `12.5` (at most two decimals), without going through a float.
    pub fn parse(s: &str) -> Result<KPct> {
        let bad = || {
            Error::Config(format!(
                "bad K `{s}`: expected a percentage with at most two decimals, e.g. 5 or 7.25"
            ))
        };
        let t = s.trim().trim_end_matches('%');
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty()
            || frac.len() > 2
            || !int.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u32 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let frac_bp: u32 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u32>().map_err(|_| bad())? * 10,
            _ => frac.parse::<u32>().map_err(|_| bad())?,
        };
        KPct::from_bp(
            whole
                .checked_mul(100)
                .and_then(|w| w.checked_add(frac_bp))
                .ok_or_else(bad)?,
        )
    }

    /// `ceil(K · n / 100)`, exactly.
    pub fn k_of(&self, n: usize) -> usize {
        let num = self.bp as u128 * n as u128;
        num.div_ceil(10_000) as usize
    }

    pub fn as_f64(&self) -> f64 {
        self.bp as f64 / 100.0
    }
}

impl fmt::Display for KPct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, r) = (self.bp / 100, self.bp % 100);
        if r == 0 {
            write!(f, "{w}")
        } else if r % 10 == 0 {
            write!(f, "{w}.{}", r / 10)
        } else {
            write!(f, "{w}.{r:02}")
        }
    }
}

/// Row order by score descending, ties by user_id then anchor ascending (SPEC §4). NaN scores
/// rank last.
pub fn rank(scores: &[f64], users: &[i64], anchors: &[i64]) -> Vec<usize> {
    use rayon::prelude::*;
    // Sorting plain keys instead of indices through a comparator: a run's 3.4M test rows rank
    // in a fraction of a second instead of seconds (the comparator's random reads dominated).
    // The score's key and the row, in one word each, sort first; rows whose scores tie are
    // then put in user, anchor, row order within their group.
    let Ok(_) = u32::try_from(scores.len()) else {
        let mut keyed: Vec<(u64, i64, i64, usize)> = scores
            .iter()
            .zip(users)
            .zip(anchors)
            .enumerate()
            .map(|(i, ((&s, &u), &a))| (desc_key(s), u, a, i))
            .collect();
        keyed.par_sort_unstable();
        return keyed.into_iter().map(|k| k.3).collect();
    };
    let mut keyed: Vec<(u64, u32)> = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| (desc_key(s), i as u32))
        .collect();
    keyed.par_sort_unstable();
    let mut order: Vec<usize> = keyed.iter().map(|k| k.1 as usize).collect();
    // (A missing user or anchor, which no caller passes, sorts first rather than panicking.)
    let tie_key = |i: usize| (users.get(i).copied(), anchors.get(i).copied(), i);
    let mut start = 0;
    while start < keyed.len() {
        let key = keyed[start].0;
        let end = start + keyed[start..].iter().take_while(|k| k.0 == key).count();
        match end - start {
            0 | 1 => {}
            // A model with few distinct scores (a shallow tree) has groups of many thousands
            // of rows: those sort their keys side by side.
            len if len > 1 << 14 => {
                let mut keys: Vec<_> = order[start..end].iter().map(|&i| tie_key(i)).collect();
                keys.par_sort_unstable();
                for (o, k) in order[start..end].iter_mut().zip(keys) {
                    *o = k.2;
                }
            }
            _ => order[start..end].sort_unstable_by_key(|&i| tie_key(i)),
        }
        start = end;
    }
    order
}

/// A key whose ascending order is `desc_nan_last`'s: scores descending by `total_cmp`, NaN last.
pub fn desc_key(s: f64) -> u64 {
    if s.is_nan() {
        return u64::MAX;
    }
    // `f64::total_cmp`'s own mapping of bits to an ordered integer, made unsigned.
    let mut t = s.to_bits() as i64;
    t ^= (((t >> 63) as u64) >> 1) as i64;
    let ascending = (t as u64) ^ (1 << 63);
    // Never u64::MAX: that would be a NaN's bits.
    !ascending
}

/// Do two scores tie in the ranking (SPEC §4: equal by `total_cmp`, every NaN equal)? One
/// rule for every place that groups ties: the PR steps here and the bootstrap's walk.
pub fn same_score(a: f64, b: f64) -> bool {
    desc_key(a) == desc_key(b)
}

#[cfg(test)]
fn desc_nan_last(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => b.total_cmp(&a),
    }
}

/// Metrics at one K. Recall, lift and the ceiling are `None` when the split has no positives.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AtK {
    /// Written as an integer when whole (5), else a decimal (7.25).
    #[serde(serialize_with = "whole_as_integer")]
    pub k_pct: f64,
    pub k: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub lift: Option<f64>,
    pub lift_ceiling: Option<f64>,
    /// The top-K confusion matrix: targeted positives/negatives, untargeted positives/negatives.
    /// (`eval.json` leaves them out; `SplitEval::with_counts` works them back.)
    #[serde(skip_serializing, default)]
    pub tp: usize,
    #[serde(skip_serializing, default)]
    pub fp: usize,
    #[serde(rename = "fn", skip_serializing, default)]
    pub fn_: usize,
    #[serde(skip_serializing, default)]
    pub tn: usize,
}

fn whole_as_integer<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(v) {
        s.serialize_u64(*v as u64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Metrics at K for labels already in rank order.
pub fn at_k(y_ranked: &[bool], k_pct: KPct) -> AtK {
    let n = y_ranked.len();
    let p = y_ranked.iter().filter(|&&y| y).count();
    let k = k_pct.k_of(n);
    let tp = y_ranked[..k].iter().filter(|&&y| y).count();
    let precision = (k > 0).then(|| tp as f64 / k as f64);
    let has_pos = p > 0;
    AtK {
        k_pct: k_pct.as_f64(),
        k,
        precision,
        recall: has_pos.then(|| tp as f64 / p as f64),
        lift: match (has_pos, precision) {
            (true, Some(prec)) => Some(prec / (p as f64 / n as f64)),
            _ => None,
        },
        lift_ceiling: (has_pos && k > 0).then(|| (n as f64 / p as f64).min(n as f64 / k as f64)),
        tp,
        fp: k - tp,
        fn_: p - tp,
        tn: n - k - (p - tp),
    }
}

/// (threshold, cumulative true positives, cumulative rows) at each distinct score, best first.
fn threshold_steps(scores: &[f64], y: &[bool]) -> Vec<(f64, usize, usize)> {
    use rayon::prelude::*;
    // Plain keys, as `rank` sorts: the order within a group of equal scores does not matter.
    let mut keyed: Vec<(u64, usize)> = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| (desc_key(s), i))
        .collect();
    keyed.par_sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|k| k.1).collect();
    steps_in(&order, scores, y)
}

/// `threshold_steps` along `order`, any order of the rows by score descending (NaN last),
/// such as `rank`'s.
fn steps_in(order: &[usize], scores: &[f64], y: &[bool]) -> Vec<(f64, usize, usize)> {
    let mut steps: Vec<(f64, usize, usize)> = Vec::new();
    let (mut tp, mut seen) = (0usize, 0usize);
    for (j, &i) in order.iter().enumerate() {
        tp += y[i] as usize;
        seen += 1;
        // Ties are grouped: a step closes only where the next score differs.
        let last_of_group = order
            .get(j + 1)
            .is_none_or(|&nx| !same_score(scores[nx], scores[i]));
        if last_of_group {
            steps.push((scores[i], tp, seen));
        }
    }
    steps
}

/// Average precision, step-wise: `Σ (R_n − R_{n−1}) · P_n` over distinct thresholds, ties grouped
/// (scikit-learn's `average_precision_score`). `None` without positives.
pub fn average_precision(scores: &[f64], y: &[bool]) -> Option<f64> {
    ap_of(&threshold_steps(scores, y), y)
}

fn ap_of(steps: &[(f64, usize, usize)], y: &[bool]) -> Option<f64> {
    let p = y.iter().filter(|&&v| v).count();
    if p == 0 {
        return None;
    }
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for &(_, tp, seen) in steps {
        let recall = tp as f64 / p as f64;
        let precision = tp as f64 / seen as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Some(ap)
}

/// (recall, precision) at every distinct threshold, from the highest score down. Empty without
/// positives.
pub fn pr_curve(scores: &[f64], y: &[bool]) -> Vec<(f64, f64)> {
    let p = y.iter().filter(|&&v| v).count();
    if p == 0 {
        return Vec::new();
    }
    threshold_steps(scores, y)
        .into_iter()
        .map(|(_, tp, seen)| (tp as f64 / p as f64, tp as f64 / seen as f64))
        .collect()
}

/// Points a stored PR curve keeps at most: far more than a terminal chart can show, and a
/// curve of a million test rows would otherwise be a million points per model.
pub const CURVE_POINTS: usize = 4096;

/// `curve` with at most about `max` points: the first point in each 1/`max` step of recall,
/// and the last. A shorter curve is returned as it is.
pub fn thin_curve(curve: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if curve.len() <= max || max == 0 {
        return curve;
    }
    let last = curve.len() - 1;
    let mut out = Vec::with_capacity(max + 2);
    let mut bin = None;
    for (i, &(r, p)) in curve.iter().enumerate() {
        let b = (r * max as f64).floor() as i64;
        if i == last || bin != Some(b) {
            out.push((r, p));
            bin = Some(b);
        }
    }
    out
}

/// One tenth of the ranking.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decile {
    pub decile: usize,
    pub n: usize,
    pub positives: usize,
    pub rate: f64,
    /// Share of all positives caught down to this decile.
    pub cum_gain: Option<f64>,
    /// Positive rate in this decile over the overall rate.
    pub lift: Option<f64>,
}

/// Decile gain/lift table of labels in rank order; decile d holds rows
/// `[ceil((d−1)·N/10), ceil(d·N/10))`.
pub fn deciles(y_ranked: &[bool]) -> Vec<Decile> {
    let n = y_ranked.len();
    let p = y_ranked.iter().filter(|&&y| y).count();
    let mut out = Vec::with_capacity(10);
    let mut cum = 0;
    for d in 1..=10usize {
        let lo = ((d - 1) * n).div_ceil(10);
        let hi = (d * n).div_ceil(10);
        let pos = y_ranked[lo..hi].iter().filter(|&&y| y).count();
        cum += pos;
        let size = hi - lo;
        let rate = if size == 0 {
            0.0
        } else {
            pos as f64 / size as f64
        };
        out.push(Decile {
            decile: d,
            n: size,
            positives: pos,
            rate,
            cum_gain: (p > 0).then(|| cum as f64 / p as f64),
            lift: (p > 0 && size > 0).then(|| rate / (p as f64 / n as f64)),
        });
    }
    out
}

/// Every metric of one split for one model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SplitEval {
    pub n: usize,
    pub prevalence: Option<f64>,
    pub pr_auc: Option<f64>,
    pub at_k: Vec<AtK>,
}

impl SplitEval {
    /// The top-K confusion counts worked back from k, n, the precision and the prevalence
    /// (a split read from `eval.json`, which leaves them out).
    pub fn with_counts(mut self) -> SplitEval {
        let n = self.n;
        let positives = self
            .prevalence
            .map_or(0, |p| (p * n as f64).round() as usize);
        for a in &mut self.at_k {
            a.tp = a.precision.map_or(0, |p| (p * a.k as f64).round() as usize);
            a.fp = a.k.saturating_sub(a.tp);
            a.fn_ = positives.saturating_sub(a.tp);
            a.tn = n.saturating_sub(a.k).saturating_sub(a.fn_);
        }
        self
    }
}

/// Evaluate scores against labels: rank deterministically, then every K.
pub fn evaluate(
    scores: &[f64],
    y: &[bool],
    users: &[i64],
    anchors: &[i64],
    ks: &[KPct],
) -> SplitEval {
    let order = rank(scores, users, anchors);
    let y_ranked: Vec<bool> = order.iter().map(|&i| y[i]).collect();
    let n = y.len();
    let p = y.iter().filter(|&&v| v).count();
    SplitEval {
        n,
        prevalence: (n > 0).then(|| p as f64 / n as f64),
        // The ranking groups equal scores, so it serves average precision too (one sort).
        pr_auc: ap_of(&steps_in(&order, scores, y), y),
        at_k: ks.iter().map(|k| at_k(&y_ranked, *k)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// eval.json leaves the confusion counts out and writes a whole K as an integer; read
    /// back, the counts worked out again are the ones evaluated.
    #[test]
    fn a_split_read_back_from_json_has_its_counts() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
        let y = [
            true, false, true, true, false, false, true, false, false, false,
        ];
        let users: Vec<i64> = (0..10).collect();
        let ks = [KPct { bp: 3000 }, KPct { bp: 725 }];
        let e = evaluate(&scores, &y, &users, &[0; 10], &ks);
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            !text.contains("\"tp\"") && text.contains("\"k_pct\":30,"),
            "{text}"
        );
        assert!(text.contains("\"k_pct\":7.25,"), "{text}");
        let back: SplitEval = serde_json::from_str(&text).unwrap();
        assert_eq!(back.at_k[0].tp, 0);
        assert_eq!(back.with_counts(), e);
    }

    /// Tie groups past the size sorted side by side (a shallow tree's few scores) come out in
    /// the comparator's order too.
    #[test]
    fn large_tie_groups_rank_by_user_then_anchor() {
        let n = 40_000usize;
        let scores: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 0.9 } else { 0.4 }).collect();
        // Users out of order, repeated with different anchors.
        let users: Vec<i64> = (0..n).map(|i| ((i * 7_919) % 5_003) as i64).collect();
        let anchors: Vec<i64> = (0..n).map(|i| (i % 4) as i64).collect();
        let mut want: Vec<usize> = (0..n).collect();
        want.sort_by(|&a, &b| {
            desc_nan_last(scores[a], scores[b])
                .then(users[a].cmp(&users[b]))
                .then(anchors[a].cmp(&anchors[b]))
                .then(a.cmp(&b))
        });
        assert_eq!(rank(&scores, &users, &anchors), want);
    }

    proptest::proptest! {
        /// The key sort gives the comparator's order (SPEC §4), with NaN, ±0, ±inf and ties.
        #[test]
        fn ranking_by_keys_is_the_comparators_order(
            rows in proptest::collection::vec((0usize..8, 0i64..5, 0i64..3), 0..200)
        ) {
            const POOL: [f64; 8] =
                [f64::NAN, 0.0, -0.0, 0.5, 0.25, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN];
            let scores: Vec<f64> = rows.iter().map(|r| POOL[r.0]).collect();
            let users: Vec<i64> = rows.iter().map(|r| r.1).collect();
            let anchors: Vec<i64> = rows.iter().map(|r| r.2).collect();
            let mut want: Vec<usize> = (0..rows.len()).collect();
            want.sort_by(|&a, &b| {
                desc_nan_last(scores[a], scores[b])
                    .then(users[a].cmp(&users[b]))
                    .then(anchors[a].cmp(&anchors[b]))
            });
            proptest::prop_assert_eq!(rank(&scores, &users, &anchors), want);
        }
    }

    #[test]
    fn a_long_curve_is_thinned_to_a_point_per_recall_step() {
        // 10,000 points, recall i/10,000: 100 steps keep the first point of each step and the
        // last point.
        let curve: Vec<(f64, f64)> = (1..=10_000)
            .map(|i| (i as f64 / 10_000.0, 1.0 / (1.0 + i as f64)))
            .collect();
        let thin = thin_curve(curve.clone(), 100);
        assert_eq!(thin.len(), 101, "steps 0.00–0.99 and recall 1.0");
        assert_eq!(thin.first(), curve.first());
        assert_eq!(thin.last(), curve.last());
        assert!(
            thin.windows(2).all(|w| w[1].0 - w[0].0 > 0.0098),
            "one point per step"
        );
        let short = curve[..50].to_vec();
        assert_eq!(thin_curve(short.clone(), 100), short, "short curves stay");
    }

    #[test]
    fn k_is_exact_in_integers() {
        let k7 = KPct::parse("7").unwrap();
        assert_eq!(
            k7.k_of(100),
            7,
            "float would give ceil(7.000000000000001) = 8"
        );
        assert_eq!(KPct::parse("7.25").unwrap().bp, 725);
        assert_eq!(KPct::parse("0.5").unwrap().k_of(1000), 5);
        assert_eq!(KPct::parse("5").unwrap().k_of(101), 6);
        assert_eq!(KPct::parse("100").unwrap().k_of(3), 3);
        assert!(KPct::parse("7.255").is_err());
        assert!(KPct::parse("0").is_err());
        assert!(KPct::parse("101").is_err());
        assert!(KPct::parse("abc").is_err());
        assert_eq!(KPct::parse("12.5").unwrap().to_string(), "12.5");
        assert_eq!(KPct::parse("7.25").unwrap().to_string(), "7.25");
    }

    #[test]
    fn ties_rank_by_user_then_anchor() {
        let order = rank(
            &[0.5, 0.9, 0.5, 0.5, f64::NAN],
            &[3, 1, 2, 2, 0],
            &[0, 0, 20, 10, 0],
        );
        assert_eq!(order, vec![1, 3, 2, 0, 4]);
    }
}
