//! The training engine: logistic regression against scikit-learn, byte-identical runs for one
//! seed, test-split discipline (test labels never change a model, a choice or a val metric),
//! and a heartbeat from slow steps.

use std::sync::atomic::AtomicBool;

use churn_tui::engine::data::synth::{GenConfig, generate, write_file};
use churn_tui::engine::dataset::{self, DatasetConfig};
use churn_tui::engine::features::matrix::Data;
use churn_tui::engine::models::logreg::fit_weighted;
use churn_tui::engine::models::model::balanced_weights;
use churn_tui::engine::run::save::{eval_file, scores_csv};
use churn_tui::engine::run::{Progress, RunReport, TrainConfig, train, train_dataset};
use churn_tui::engine::time::parse_anchor;
use polars::prelude::*;
use serde_json::Value;

#[test]
fn logreg_matches_scikit_learn() {
    let v: Value = serde_json::from_str(include_str!("../fixtures/logreg/expected.json")).unwrap();
    let rows: Vec<Vec<f64>> = v["X"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let y: Vec<bool> = v["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_i64() == Some(1))
        .collect();
    let data = Data {
        cols: (0..14)
            .map(|j| rows.iter().map(|r| r[j]).collect())
            .collect(),
        y: y.clone(),
        users: (0..y.len() as i64).collect(),
        anchors: vec![0; y.len()],
        hist: vec![],
    };
    let w = balanced_weights(&y);
    for fit in v["fits"].as_array().unwrap() {
        let c = fit["C"].as_f64().unwrap();
        let beta = fit_weighted(&data, &w, c).unwrap();
        let want: Vec<f64> = fit["coef"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (j, (g, w)) in beta.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-5, "C={c} coef {j}: {g} vs {w}");
        }
        let b0 = fit["intercept"].as_f64().unwrap();
        assert!(
            (beta[14] - b0).abs() < 1e-5,
            "C={c} intercept: {} vs {b0}",
            beta[14]
        );
    }
}

fn small_log(dir: &std::path::Path) -> String {
    let p = dir.join("log.parquet");
    let cfg = GenConfig {
        users: 6_000,
        start: parse_anchor("2019-10-01").unwrap(),
        months: 7,
        seed: 21,
    };
    write_file(&generate(&cfg), &p).unwrap();
    p.to_string_lossy().to_string()
}

fn config(data: String) -> TrainConfig {
    TrainConfig {
        dataset: DatasetConfig {
            features: None,
            data: vec![data],
            ..Default::default()
        },
        seed: 5,
        ..Default::default()
    }
}

fn quiet(_: Progress) {}

#[test]
fn same_seed_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(small_log(dir.path()));
    let cancel = AtomicBool::new(false);
    let a = train(&cfg, &quiet, &cancel).unwrap();
    let b = train(&cfg, &quiet, &cancel).unwrap();
    let n_models = churn_tui::engine::models::MODEL_NAMES.len();
    assert_eq!(a.models.len(), n_models);
    let text = |r| serde_json::to_string(&eval_file(r)).unwrap();
    assert_eq!(text(&a), text(&b));
    assert_eq!(scores_csv(&a), scores_csv(&b));
    // And through the files the run directory holds.
    let da = churn_tui::engine::run::save::save(&a, dir.path(), "a").unwrap();
    let db = churn_tui::engine::run::save::save(&b, dir.path(), "b").unwrap();
    for f in ["eval.json", "scores.csv", "features.json", "pr_curves.json"] {
        assert_eq!(
            std::fs::read(da.join(f)).unwrap(),
            std::fs::read(db.join(f)).unwrap(),
            "{f}"
        );
    }
    let scores = std::fs::read_to_string(da.join("scores.csv")).unwrap();
    let header = scores.lines().next().unwrap();
    assert_eq!(header, "model,split,user_id,anchor,y,score");
    let val_rows = a.val.n() + a.test.n();
    assert_eq!(
        scores.lines().count(),
        1 + n_models * val_rows,
        "every val and test row for every model"
    );
}

/// Flip every test label in the feature table.
fn flip_test_labels(ds: &mut churn_tui::engine::dataset::Dataset) {
    let df = ds
        .table
        .df
        .clone()
        .lazy()
        .with_columns([when(col("split").eq(lit("test")))
            .then(lit(1) - col("y"))
            .otherwise(col("y"))
            .cast(DataType::Int32)
            .alias("y")])
        .collect()
        .unwrap();
    ds.table.df = df;
}

/// Name, parameters, the fitted model (JSON values compare maps regardless of key order: the
/// GBDT crate serialises hash maps), and val metrics with val scores.
fn models_json(r: &RunReport) -> Vec<(String, Value, Value, String)> {
    r.models
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.params.clone(),
                m.saved.clone(),
                format!("{:?} {:?}", m.val, m.val_scores),
            )
        })
        .collect()
}

#[test]
fn test_labels_never_feed_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(small_log(dir.path()));
    let ds = dataset::build(&cfg.dataset).unwrap();
    let mut flipped = ds.clone();
    flip_test_labels(&mut flipped);
    let cancel = AtomicBool::new(false);
    let a = train_dataset(&cfg, ds, &quiet, &cancel).unwrap();
    let b = train_dataset(&cfg, flipped, &quiet, &cancel).unwrap();
    assert_eq!(a.chosen, b.chosen, "the choice is made on val");
    for (ma, mb) in models_json(&a).iter().zip(models_json(&b).iter()) {
        assert!(ma.1 == mb.1, "{}: parameters differ", ma.0);
        assert!(ma.2 == mb.2, "{}: fitted model differs", ma.0);
        assert!(ma.3 == mb.3, "{}: val metrics or scores differ", ma.0);
    }
    for (ma, mb) in a.models.iter().zip(&b.models) {
        assert_eq!(
            ma.test_scores, mb.test_scores,
            "{}: test scored by the same model",
            ma.name
        );
        assert_ne!(
            ma.test.pr_auc, mb.test.pr_auc,
            "{}: test metrics do see the labels",
            ma.name
        );
    }
}

#[test]
fn cancel_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(small_log(dir.path()));
    let cancel = AtomicBool::new(true);
    let err = train(&cfg, &quiet, &cancel).unwrap_err();
    assert!(matches!(err, churn_tui::engine::Error::Cancelled), "{err}");
}

#[test]
fn score_reproduces_the_runs_test_scores() {
    use churn_tui::engine::run::score::{ScoreRequest, score};
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(small_log(dir.path()));
    let cancel = AtomicBool::new(false);
    let r = train(&cfg, &quiet, &cancel).unwrap();
    let run = churn_tui::engine::run::save::save(&r, dir.path(), "run").unwrap();
    let test_anchor = r.test.anchors[0];
    // Out of core (many buckets, a tiny budget) every model scores as in memory, to the bit.
    let ooc = churn_tui::engine::dataset::out_of_core::Exec {
        mode: churn_tui::engine::dataset::out_of_core::Mode::OutOfCore,
        memory: Some(2 << 20),
        spill_dir: Some(dir.path().to_path_buf()),
        buckets: Some(9),
        user_sample: None,
    };
    for (i, model) in churn_tui::engine::models::MODEL_NAMES.iter().enumerate() {
        let model = *model;
        let s = score(&ScoreRequest {
            run_dir: run.clone(),
            data: vec![],
            anchor: test_anchor,
            model: Some(model.into()),
            exec: if i % 2 == 0 {
                ooc.clone()
            } else {
                Default::default()
            },
        })
        .unwrap();
        let m = r.models.iter().find(|m| m.name == model).unwrap();
        assert_eq!(s.rows.len(), r.test.n(), "{model}");
        let mut want: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
        for (u, sc) in r.test.users.iter().zip(&m.test_scores) {
            want.insert(*u, *sc);
        }
        for (rank, user, sc) in &s.rows {
            assert_eq!(want[user], *sc, "{model}: user {user} at rank {rank}");
        }
        assert!(
            s.rows.windows(2).all(|w| w[0].2 >= w[1].2),
            "{model}: ranked best first"
        );
    }
    let chosen = score(&ScoreRequest {
        run_dir: run,
        data: vec![],
        anchor: test_anchor,
        model: None,
        exec: ooc,
    })
    .unwrap();
    assert_eq!(chosen.model, r.chosen);
}

/// Networks saved by the earlier engine (candle, before the layers were written out in
/// `models/nn.rs`) still score as they did: the saved test scores of an `mlp_enhance`
/// (BatchNorm) and a `wide_deep` trained on the sample are reproduced from the saved weights
/// to 1e-6.
#[test]
fn networks_saved_by_the_earlier_engine_score_as_they_did() {
    use churn_tui::engine::label::Split;
    use churn_tui::engine::models::load;
    let dir = std::path::Path::new("tests/fixtures/mlp_candle");
    let file = std::fs::File::open(dir.join("test_features.parquet")).unwrap();
    let df = ParquetReader::new(file).finish().unwrap();
    let test = Data::from_table(&df, Split::Test).unwrap();
    let mut saved: std::collections::HashMap<(String, i64), f64> = Default::default();
    let mut rdr = csv::Reader::from_path(dir.join("scores.csv")).unwrap();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        saved.insert(
            (rec[0].to_string(), rec[1].parse().unwrap()),
            rec[3].parse().unwrap(),
        );
    }
    for name in ["mlp_enhance", "wide_deep"] {
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        let scores = load(name, &json).unwrap().predict(&test).unwrap();
        assert_eq!(scores.len(), test.n());
        let mut worst = 0.0f64;
        for (s, u) in scores.iter().zip(&test.users) {
            let was = saved[&(name.to_string(), *u)];
            worst = worst.max((s - was).abs());
        }
        assert!(test.n() > 1000 && worst < 1e-6, "{name}: {worst}");
    }
}

// Issue 9 #19. A model that works for seconds without a step to count still reports every second.
#[test]
fn slow_steps_send_a_heartbeat() {
    use churn_tui::engine::run::{Progress, heartbeat};
    let (tx, rx) = std::sync::mpsc::channel::<Progress>();
    let tx = std::sync::Mutex::new(tx);
    let sink = move |p: Progress| {
        let _ = tx.lock().unwrap().send(p);
    };
    // The work blocks until two heartbeats have come (or 20 s pass), so a missing heartbeat
    // fails the test instead of slowing it.
    let got = heartbeat("slow", &sink, || {
        let mut beats = 0;
        let start = std::time::Instant::now();
        while beats < 2 && start.elapsed().as_secs() < 20 {
            if let Ok(Progress::Working { model, .. }) =
                rx.recv_timeout(std::time::Duration::from_millis(100))
            {
                assert_eq!(model, "slow");
                beats += 1;
            }
        }
        Ok(beats)
    })
    .unwrap();
    assert_eq!(got, 2);
}
