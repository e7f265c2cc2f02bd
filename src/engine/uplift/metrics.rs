//! Uplift metrics (SPEC §7a): the Qini and uplift curves and their normalised areas, the Qini
//! coefficient and AUUC, defined as scikit-uplift 0.5.1 defines `qini_auc_score` (with negative
//! effects in the perfect curve) and `uplift_auc_score`, so an analyst's notebook and churn-tui
//! agree (tests/it/uplift_metrics.rs checks them to 1e-9 against that library's own values).
//!
//! The response is the good outcome, as there: for churn-tui a user who did *not* go dormant.
//! Users are taken by score, highest first; the curves have a point at the end of each group of
//! equal scores only, so the order inside a tie changes nothing.

use crate::engine::{Error, Result};

/// Points of a curve: users taken (`x`), and the gain at that many (`y`); from (0, 0).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Curve {
    /// The area under the curve by the trapezoid rule.
    pub fn area(&self) -> f64 {
        self.x
            .windows(2)
            .zip(self.y.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
            .sum()
    }
}

/// Running counts at the end of each group of equal scores, best first.
struct Steps {
    all: Vec<f64>,
    treated: Vec<f64>,
    resp_treated: Vec<f64>,
    resp_control: Vec<f64>,
}

fn check(response: &[bool], treated: &[bool], score: &[f64]) -> Result<()> {
    if response.len() != treated.len() || response.len() != score.len() {
        return Err(Error::Config(format!(
            "uplift metrics: {} responses, {} groups and {} scores",
            response.len(),
            treated.len(),
            score.len()
        )));
    }
    if let Some(i) = score.iter().position(|s| !s.is_finite()) {
        return Err(Error::Config(format!(
            "uplift metrics: score {} of user {} is not a finite number",
            score[i],
            i + 1
        )));
    }
    let t = treated.iter().filter(|&&t| t).count();
    if t == 0 || t == treated.len() {
        return Err(Error::Config(format!(
            "uplift metrics need treated and control users: {t} of {} are treated",
            treated.len()
        )));
    }
    Ok(())
}

fn steps(response: &[bool], treated: &[bool], score: &[f64]) -> Steps {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let mut s = Steps {
        all: Vec::new(),
        treated: Vec::new(),
        resp_treated: Vec::new(),
        resp_control: Vec::new(),
    };
    let (mut nt, mut yt, mut yc) = (0.0, 0.0, 0.0);
    for (i, &u) in order.iter().enumerate() {
        if treated[u] {
            nt += 1.0;
            yt += f64::from(u8::from(response[u]));
        } else {
            yc += f64::from(u8::from(response[u]));
        }
        let last_of_group = order.get(i + 1).is_none_or(|&v| score[v] != score[u]);
        if last_of_group {
            s.all.push((i + 1) as f64);
            s.treated.push(nt);
            s.resp_treated.push(yt);
            s.resp_control.push(yc);
        }
    }
    s
}

/// `a / b`, 0 where `b` is 0 (as scikit-uplift divides).
fn div(a: f64, b: f64) -> f64 {
    if b != 0.0 { a / b } else { 0.0 }
}

fn curve_of(s: &Steps, value: impl Fn(f64, f64, f64, f64, f64) -> f64) -> Curve {
    let mut x = vec![0.0];
    let mut y = vec![0.0];
    for i in 0..s.all.len() {
        let (n, nt) = (s.all[i], s.treated[i]);
        x.push(n);
        y.push(value(n, nt, n - nt, s.resp_treated[i], s.resp_control[i]));
    }
    Curve { x, y }
}

/// The Qini curve: responders among the treated taken, minus responders among the control taken
/// scaled to the treated's number.
pub fn qini_curve(response: &[bool], treated: &[bool], score: &[f64]) -> Result<Curve> {
    check(response, treated, score)?;
    Ok(qini_unchecked(response, treated, score))
}

fn qini_unchecked(response: &[bool], treated: &[bool], score: &[f64]) -> Curve {
    curve_of(&steps(response, treated, score), |_, nt, nc, yt, yc| {
        yt - yc * div(nt, nc)
    })
}

/// The uplift curve: the difference of the response rates of the treated and the control taken,
/// times the users taken.
pub fn uplift_curve(response: &[bool], treated: &[bool], score: &[f64]) -> Result<Curve> {
    check(response, treated, score)?;
    Ok(uplift_unchecked(response, treated, score))
}

fn uplift_unchecked(response: &[bool], treated: &[bool], score: &[f64]) -> Curve {
    curve_of(&steps(response, treated, score), |n, nt, nc, yt, yc| {
        (div(yt, nt) - div(yc, nc)) * n
    })
}

/// The area between `actual` and the diagonal to the perfect curve's end, as a share of the
/// perfect curve's.
fn normalised(actual: &Curve, perfect: &Curve, what: &str) -> Result<f64> {
    let (xe, ye) = (
        perfect.x.last().copied().unwrap_or(0.0),
        perfect.y.last().copied().unwrap_or(0.0),
    );
    let base = xe * ye / 2.0;
    let best = perfect.area() - base;
    if best == 0.0 || !best.is_finite() {
        return Err(Error::Config(format!(
            "the {what} is undefined here: the perfect ranking does no better than random (every \
             user responded alike)"
        )));
    }
    Ok((actual.area() - base) / best)
}

/// The Qini coefficient (scikit-uplift's `qini_auc_score` with negative effects): the area
/// between the Qini curve and random, over that of the perfect ranking (treated responders
/// first, control responders last).
pub fn qini_coefficient(response: &[bool], treated: &[bool], score: &[f64]) -> Result<f64> {
    check(response, treated, score)?;
    let perfect: Vec<f64> = response
        .iter()
        .zip(treated)
        .map(|(&y, &t)| match (y, t) {
            (true, true) => 1.0,
            (true, false) => -1.0,
            _ => 0.0,
        })
        .collect();
    normalised(
        &qini_unchecked(response, treated, score),
        &qini_unchecked(response, treated, &perfect),
        "Qini coefficient",
    )
}

/// AUUC (scikit-uplift's `uplift_auc_score`): the area between the uplift curve and random,
/// over that of the perfect ranking.
pub fn auuc(response: &[bool], treated: &[bool], score: &[f64]) -> Result<f64> {
    check(response, treated, score)?;
    // scikit-uplift's perfect ranking: users whose response agrees with their group first,
    // then by response or by group, whichever the control responders and the treated
    // non-responders say matters more.
    let cr = response
        .iter()
        .zip(treated)
        .filter(|&(&y, &t)| y && !t)
        .count();
    let tn = response
        .iter()
        .zip(treated)
        .filter(|&(&y, &t)| !y && t)
        .count();
    let perfect: Vec<f64> = response
        .iter()
        .zip(treated)
        .map(|(&y, &t)| {
            let summand = if cr > tn { y } else { t };
            2.0 * f64::from(u8::from(y == t)) + f64::from(u8::from(summand))
        })
        .collect();
    normalised(
        &uplift_unchecked(response, treated, score),
        &uplift_unchecked(response, treated, &perfect),
        "AUUC",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qini_curve_by_hand() {
        // Scores 3, 2, 2, 1: user 0 treated responder; users 1 (treated, no) and 2 (control,
        // responder) tie; user 3 control, no.
        let y = [true, false, true, false];
        let t = [true, true, false, false];
        let s = [3.0, 2.0, 2.0, 1.0];
        let q = qini_curve(&y, &t, &s).unwrap();
        // After 1: 1 − 0 = 1. After the tie (3 taken: 2 treated, 1 control, 1 responder each):
        // 1 − 1 × 2/1 = −1. After 4: 1 − 1 × 2/2 = 0.
        assert_eq!(q.x, [0.0, 1.0, 3.0, 4.0]);
        assert_eq!(q.y, [0.0, 1.0, -1.0, 0.0]);
        let u = uplift_curve(&y, &t, &s).unwrap();
        // (1/1 − 0) × 1 = 1; (1/2 − 1/1) × 3 = −1.5; (1/2 − 1/2) × 4 = 0.
        assert_eq!(u.y, [0.0, 1.0, -1.5, 0.0]);
        // Trapezoids: (1 × 1)/2 + 2 × (1 − 1)/2 + 1 × (−1 + 0)/2 = 0.5 + 0 − 0.5 = 0.
        assert_eq!(q.area(), 0.0);
    }

    #[test]
    fn one_group_only_or_a_bad_score_is_refused() {
        let e = qini_coefficient(&[true, false], &[true, true], &[1.0, 0.0])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("treated and control") && e.contains("2 of 2"),
            "{e}"
        );
        let e = auuc(&[true, false], &[true, false], &[f64::NAN, 0.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a finite number"), "{e}");
        assert!(qini_curve(&[true], &[true, false], &[1.0]).is_err());
    }
}
