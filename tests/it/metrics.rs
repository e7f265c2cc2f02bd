//! Metrics against values computed independently by scikit-learn and plain Python
//! (tests/fixtures/metrics/make_expected.py): average precision with ties, the PR curve, and
//! Precision/Recall/Lift@K with exact integer k (K = 7 with N = 100 among them), ceilings, and a
//! split without positives.

use churn_tui::engine::eval::{KPct, at_k, average_precision, pr_curve, rank};
use serde_json::Value;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn opt(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[test]
fn metrics_match_scikit_learn() {
    let text = include_str!("../fixtures/metrics/expected.json");
    let cases: Vec<Value> = serde_json::from_str(text).unwrap();
    assert!(cases.len() >= 6);
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let y: Vec<bool> = c["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap() == 1)
            .collect();
        let s: Vec<f64> = c["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let users: Vec<i64> = c["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let anchors = vec![0i64; y.len()];

        let ap = average_precision(&s, &y);
        match opt(&c["average_precision"]) {
            None => assert_eq!(ap, None, "{name}"),
            Some(want) => assert!(close(ap.unwrap(), want), "{name}: AP {ap:?} vs {want}"),
        }

        let curve = pr_curve(&s, &y);
        let want: Vec<(f64, f64)> = c["pr_curve"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        assert_eq!(curve.len(), want.len(), "{name}: curve length");
        for (g, w) in curve.iter().zip(&want) {
            assert!(close(g.0, w.0) && close(g.1, w.1), "{name}: {g:?} vs {w:?}");
        }

        let order = rank(&s, &users, &anchors);
        let y_ranked: Vec<bool> = order.iter().map(|&i| y[i]).collect();
        for w in c["at_k"].as_array().unwrap() {
            let k = KPct::from_bp(w["k_bp"].as_u64().unwrap() as u32).unwrap();
            let got = at_k(&y_ranked, k);
            let ctx = format!("{name} @ {k}%");
            assert_eq!(got.k as u64, w["k"].as_u64().unwrap(), "{ctx}: k");
            assert_eq!(got.tp as u64, w["tp"].as_u64().unwrap(), "{ctx}: tp");
            for (field, g) in [
                ("precision", got.precision),
                ("recall", got.recall),
                ("lift", got.lift),
                ("lift_ceiling", got.lift_ceiling),
            ] {
                match opt(&w[field]) {
                    None => assert_eq!(g, None, "{ctx}: {field}"),
                    Some(want) => assert!(
                        g.is_some_and(|g| close(g, want)),
                        "{ctx}: {field} {g:?} vs {want}"
                    ),
                }
            }
            assert_eq!(got.tp + got.fp, got.k);
            assert_eq!(got.tp + got.fp + got.fn_ + got.tn, y.len());
        }
    }
}

#[test]
fn k7_of_100_is_7() {
    let k = KPct::parse("7").unwrap();
    assert_eq!(k.k_of(100), 7);
    // The float route gets it wrong: that is why K is held in basis points.
    assert_eq!((0.07f64 * 100.0).ceil(), 8.0);
}
