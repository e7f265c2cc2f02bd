//! The Qini coefficient, AUUC and both curves equal scikit-uplift 0.5.1's to 1e-9 on fixtures
//! with ties (tests/fixtures/uplift/metrics.json, made by make_metrics.py beside it with that
//! library; no engine code made those numbers).

use churn_tui::engine::uplift::{auuc, qini_coefficient, qini_curve, uplift_curve};

use crate::common::repo;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn qini_auuc_and_curves_equal_scikit_uplifts_on_fixtures_with_ties() {
    let text = std::fs::read_to_string(repo("tests/fixtures/uplift/metrics.json")).unwrap();
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fx["made_with"]["scikit-uplift"], "0.5.1");
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    let f = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let b = |v: &serde_json::Value| -> Vec<bool> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap() == 1)
            .collect()
    };
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (y, t, s) = (b(&c["y"]), b(&c["t"]), f(&c["score"]));
        let q = qini_coefficient(&y, &t, &s).unwrap();
        let want = c["qini_auc"].as_f64().unwrap();
        assert!(close(q, want), "{name}: Qini {q} vs {want}");
        let a = auuc(&y, &t, &s).unwrap();
        let want = c["uplift_auc"].as_f64().unwrap();
        assert!(close(a, want), "{name}: AUUC {a} vs {want}");
        for (curve, xs, ys) in [
            (qini_curve(&y, &t, &s).unwrap(), "qini_x", "qini_y"),
            (uplift_curve(&y, &t, &s).unwrap(), "uplift_x", "uplift_y"),
        ] {
            let (wx, wy) = (f(&c[xs]), f(&c[ys]));
            assert_eq!(curve.x.len(), wx.len(), "{name} {xs}");
            for i in 0..wx.len() {
                assert!(
                    close(curve.x[i], wx[i]) && close(curve.y[i], wy[i]),
                    "{name} {ys}[{i}]: ({}, {}) vs ({}, {})",
                    curve.x[i],
                    curve.y[i],
                    wx[i],
                    wy[i]
                );
            }
        }
    }
}

#[test]
fn a_ranking_that_is_the_truth_scores_one_and_its_reverse_scores_below_zero() {
    // Treated responders first and control responders last is the perfect Qini ranking: 1.
    let y = [true, false, true, false, true, false];
    let t = [true, true, false, false, true, false];
    let perfect = [1.0, 0.0, -1.0, 0.0, 1.0, 0.0];
    let q = qini_coefficient(&y, &t, &perfect).unwrap();
    assert!((q - 1.0).abs() < 1e-12, "{q}");
    let reverse: Vec<f64> = perfect.iter().map(|v| -v).collect();
    assert!(qini_coefficient(&y, &t, &reverse).unwrap() < 0.0);
}
