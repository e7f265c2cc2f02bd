//! Risk reasons: which features pushed a user's score up, said in words with the user's value
//! and where it stands among the scored population.
//!
//! Attribution is by occlusion, which works for every model through `predict`: a feature's
//! impact is the user's score minus the score with that feature set to the population median.
//! Models that do not read the 14 features (BG/NBD reads visit history) fall back to the
//! features on the dormant side of the population, ranked by how far out they lie.

use super::phrases::{Phrases, english};
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::models::Model;

/// Reasons given per user.
pub const MAX_REASONS: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub feature: usize,
    pub value: f64,
    /// How much this feature raised the score (occlusion), or how far out it lies (fallback).
    pub impact: f64,
    /// Shares of the population strictly below and strictly above the user's value.
    pub below: f64,
    pub above: f64,
}

/// What a feature value means, in English.
pub fn describe(feature: usize, v: f64) -> String {
    english().describe(feature, v)
}

impl Reason {
    /// "active on 2 of the last 30 days — lower than 80% of users"
    pub fn text(&self) -> String {
        self.text_in(english())
    }

    pub fn text_in(&self, p: &Phrases) -> String {
        p.sentence(self.feature, self.value, self.below, self.above)
    }
}

/// Occlusion attributions of `rows` of `x`: for each row, score minus the score with feature j
/// set to `baseline[j]`. `None` when the model does not score these rows from their features.
pub fn occlusion(
    model: &dyn Model,
    x: &Data,
    rows: &[usize],
    baseline: &[f64; N_FEATURES],
) -> Option<Vec<[f64; N_FEATURES]>> {
    // A model that cannot score gives no occlusion reasons (the reasons fall back to the
    // population's dormant side).
    occlusion_by(x, rows, baseline, |d| model.predict(d).ok())
}

/// Occlusion attributions of any score of the features (`score` of a frame, None when it
/// cannot): a risk model's, or an uplift model's.
pub fn occlusion_by(
    x: &Data,
    rows: &[usize],
    baseline: &[f64; N_FEATURES],
    score: impl FnOnce(&Data) -> Option<Vec<f64>>,
) -> Option<Vec<[f64; N_FEATURES]>> {
    let per = N_FEATURES + 1;
    let m = rows.len() * per;
    let mut d = Data {
        cols: (0..N_FEATURES).map(|_| Vec::with_capacity(m)).collect(),
        y: vec![false; m],
        users: Vec::with_capacity(m),
        anchors: Vec::with_capacity(m),
        hist: Vec::new(),
    };
    for &i in rows {
        let row = x.row(i);
        for variant in 0..per {
            for (j, c) in d.cols.iter_mut().enumerate() {
                // Variant 0 is the row itself; variant j+1 has feature j occluded.
                c.push(if variant == j + 1 {
                    baseline[j]
                } else {
                    row[j]
                });
            }
            d.users.push(x.users[i]);
            d.anchors.push(x.anchors[i]);
        }
    }
    let scores = score(&d)?;
    if scores.len() != m || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    Some(
        scores
            .chunks(per)
            .map(|c| std::array::from_fn(|j| c[0] - c[j + 1]))
            .collect(),
    )
}

/// Attribution when the model gives none: a feature counts when the user's value lies on the
/// side where dormant users' mean lies (`dormant_higher[j]`), by the share of the population on
/// the other side.
pub fn dormant_side(
    row: &[f64; N_FEATURES],
    dormant_higher: &[Option<bool>; N_FEATURES],
    shares: impl Fn(usize, f64) -> (f64, f64),
) -> [f64; N_FEATURES] {
    std::array::from_fn(|j| {
        let (below, above) = shares(j, row[j]);
        match dormant_higher[j] {
            Some(true) if below > 0.5 => below,
            Some(false) if above > 0.5 => above,
            _ => 0.0,
        }
    })
}

/// SPEC index of `brand_concentration_ratio`: 0 when the user has no branded event, which
/// says nothing about brands ("0% of branded events on one brand").
const BRAND_CONCENTRATION: usize = 6;

/// A model's attributions kept only where they make a reason an analyst can trust: the
/// feature raised the score *and* the user's value lies on the side where dormant users lie
/// (the sentence then says "lower" of a feature dormant users have less of, and "higher" of
/// one they have more of), and the value is not a degenerate one. A model may well score a
/// big spender riskier; "spent 827.26 — higher than 97% of users" is still no reason to send a
/// coupon against dormancy.
pub fn toward_dormancy(
    attr: &[f64; N_FEATURES],
    row: &[f64; N_FEATURES],
    dormant_higher: &[Option<bool>; N_FEATURES],
    shares: impl Fn(usize, f64) -> (f64, f64),
) -> [f64; N_FEATURES] {
    std::array::from_fn(|j| {
        if attr[j] <= 0.0 || (j == BRAND_CONCENTRATION && row[j] == 0.0) {
            return 0.0;
        }
        let (below, above) = shares(j, row[j]);
        let on_dormant_side = match dormant_higher[j] {
            Some(true) => below > above,
            Some(false) => above >= below,
            None => false,
        };
        if on_dormant_side { attr[j] } else { 0.0 }
    })
}

/// Up to `MAX_REASONS` features with a positive impact, largest first (ties: SPEC order).
pub fn reasons_for(
    attr: &[f64; N_FEATURES],
    row: &[f64; N_FEATURES],
    shares: impl Fn(usize, f64) -> (f64, f64),
) -> Vec<Reason> {
    let mut idx: Vec<usize> = (0..N_FEATURES).filter(|&j| attr[j] > 1e-12).collect();
    idx.sort_by(|&a, &b| attr[b].total_cmp(&attr[a]).then(a.cmp(&b)));
    idx.into_iter()
        .take(MAX_REASONS)
        .map(|j| {
            let (below, above) = shares(j, row[j]);
            Reason {
                feature: j,
                value: row[j],
                impact: attr[j],
                below,
                above,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_names_value_and_share() {
        let r = Reason {
            feature: 1,
            value: 2.0,
            impact: 0.1,
            below: 0.05,
            above: 0.8,
        };
        assert_eq!(
            r.text(),
            "active on 2 of the last 30 days — lower than 80% of users"
        );
    }

    #[test]
    fn only_positive_impacts_largest_first() {
        let mut attr = [0.0; N_FEATURES];
        attr[4] = 0.3;
        attr[1] = 0.3;
        attr[7] = -0.5;
        attr[2] = 0.1;
        attr[9] = 0.05;
        let r = reasons_for(&attr, &[1.0; N_FEATURES], |_, _| (0.5, 0.5));
        let f: Vec<usize> = r.iter().map(|x| x.feature).collect();
        assert_eq!(f, vec![1, 4, 2]);
    }

    #[test]
    fn only_reasons_on_the_dormant_side_are_kept() {
        // Dormant users spend less (8: false) and are seen less recently (4: true).
        let mut higher = [None; N_FEATURES];
        higher[8] = Some(false);
        higher[4] = Some(true);
        higher[6] = Some(false);
        let mut attr = [0.0; N_FEATURES];
        attr[8] = 0.4; // a big spender the model scores riskier
        attr[4] = 0.2; // long silence
        attr[6] = 0.1; // brand concentration 0: no branded event
        let mut row = [0.0; N_FEATURES];
        row[8] = 827.26;
        row[4] = 28.0;
        // Both the spend and the silence are high: 97% and 95% of users below.
        let shares = |j: usize, _: f64| match j {
            8 => (0.97, 0.02),
            4 => (0.95, 0.03),
            _ => (0.1, 0.5),
        };
        let kept = toward_dormancy(&attr, &row, &higher, shares);
        let r = reasons_for(&kept, &row, shares);
        let f: Vec<usize> = r.iter().map(|x| x.feature).collect();
        assert_eq!(f, vec![4], "{r:?}");
        // A low spender keeps the spend reason.
        let low = |j: usize, v: f64| if j == 8 { (0.02, 0.9) } else { shares(j, v) };
        let kept = toward_dormancy(&attr, &row, &higher, low);
        assert_eq!(reasons_for(&kept, &row, low)[0].feature, 8);
    }
}
