//! The run folder (issue 9's hostile sweep): runs saved at once each get their own id; a run
//! nothing can open is never saved; missing, corrupt or mis-shapen run files (model files,
//! test scores, edits, eval.json, a manifest of another `format_version`) stop the reader naming
//! the file and the field; `score` reads the run's own inputs from any directory.

use std::path::{Path, PathBuf};

use crate::common::*;
use polars::prelude::*;

// 3. Runs saved at once into the same root, in the same second, all land, each whole.
#[test]
fn concurrent_saves_get_distinct_run_ids() {
    use churn_tui::engine::run::save::save_new;
    use churn_tui::engine::run::{TrainConfig, train};
    let cfg = TrainConfig {
        dataset: churn_tui::engine::dataset::DatasetConfig {
            data: vec![format!("{}/*.csv.gz", sample_dir().display())],
            ..Default::default()
        },
        models: vec!["rule_recency".into()],
        trials: 1,
        ..Default::default()
    };
    let report = train(&cfg, &|_| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    let root = tempfile::tempdir().unwrap();
    let barrier = std::sync::Barrier::new(4);
    let dirs: Vec<PathBuf> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    save_new(&report, root.path()).unwrap().0
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "{names:?}");
    for d in &dirs {
        let m: serde_json::Value = read_json(&d.join("manifest.json"));
        assert_eq!(
            m["run_id"].as_str(),
            d.file_name().and_then(|n| n.to_str()),
            "the manifest names its own directory"
        );
        churn_tui::engine::run::open::LoadedRun::load(d).unwrap();
    }
    let hidden: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "no temp left: {hidden:?}");
}

// 6. A run nothing can open is never saved: one user, or a split with one class.
#[test]
fn a_run_that_cannot_be_opened_is_not_saved() {
    let d = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = rows_with_empty_fields()
        .into_iter()
        .map(|mut r| {
            r.user_id = 7;
            r
        })
        .collect();
    let data = write(d.path(), "one.csv", &csv_text(&rows));
    let out = d.path().join("runs");
    let err = fails(
        bin()
            .args([
                "train",
                "--models",
                "rule_recency,logreg",
                "--trials",
                "1",
                "--data",
            ])
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains("split has"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing saved: {left:?}");
}

// 7 and 11. A missing, corrupt or mis-shapen model file is an error, not other reasons or a
// panic.
#[test]
fn damaged_model_files_are_errors() {
    let (d, run) = run_copy();
    let out = d.path().join("t.csv");
    let logreg = run.join("models/logreg.json");
    let good = std::fs::read_to_string(&logreg).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let coef = v["coef"].as_array_mut().unwrap();
    coef.truncate(5);
    let short = v.to_string();
    for (what, text) in [
        ("missing", None),
        ("corrupt", Some("{\"c\": 1, \"coef\": [")),
        ("short", Some(short.as_str())),
    ] {
        match text {
            None => std::fs::remove_file(&logreg).unwrap(),
            Some(t) => std::fs::write(&logreg, t).unwrap(),
        }
        for mut c in [
            export_cmd(&run, &out),
            report_cmd(&run, &d.path().join("r.md")),
        ] {
            c.args(["--model", "logreg"]);
            let err = fails(&mut c);
            assert!(err.contains("logreg.json"), "{what}: {err}");
        }
        assert!(!out.exists());
        std::fs::write(&logreg, &good).unwrap();
    }
}

// 8. Scores that are no probability are refused when a run is loaded.
#[test]
fn nan_scores_are_refused() {
    let (d, run) = run_copy();
    let loaded = churn_tui::engine::run::open::LoadedRun::load(&run).unwrap();
    let mut cols = vec![
        Column::new("user_id".into(), loaded.test.users.clone()),
        Column::new("anchor_us".into(), loaded.test.anchors.clone()),
    ];
    for (i, m) in loaded.models.iter().enumerate() {
        let mut scores = m.test_scores.clone();
        if i == 1 {
            scores[3] = f64::NAN;
        }
        cols.push(Column::new(m.name.as_str().into(), scores));
    }
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    ParquetWriter::new(std::fs::File::create(run.join("test_scores.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = fails(&mut export_cmd(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("test_scores.parquet")
            && err.contains("not a probability")
            && err.contains(&loaded.models[1].name),
        "{err}"
    );
}

// 9. `score` with the run's own inputs reads the very files it was trained on, from any
// directory, and refuses them when they changed.
#[test]
fn score_uses_the_runs_own_files_from_anywhere() {
    let a = tempfile::tempdir().unwrap();
    std::fs::create_dir(a.path().join("data")).unwrap();
    for e in std::fs::read_dir(sample_dir()).unwrap().flatten() {
        if e.file_name().to_string_lossy().ends_with(".csv.gz") {
            std::fs::copy(e.path(), a.path().join("data").join(e.file_name())).unwrap();
        }
    }
    let run = train_quick(a.path(), "data/*.csv.gz", &a.path().join("runs"));
    // Another directory with another `data/` that the relative glob would match.
    let b = tempfile::tempdir().unwrap();
    std::fs::create_dir(b.path().join("data")).unwrap();
    write(&b.path().join("data"), "x.csv.gz", "not read");
    let score = |cwd: &Path, out: &str| {
        bin()
            .current_dir(cwd)
            .args(["score", "--anchor", "2020-04-01", "--out", out])
            .arg("--run")
            .arg(&run)
            .assert()
    };
    score(a.path(), "here.csv").success();
    score(b.path(), "there.csv").success();
    assert_eq!(
        std::fs::read_to_string(a.path().join("here.csv")).unwrap(),
        std::fs::read_to_string(b.path().join("there.csv")).unwrap()
    );
    // A changed input: refused, by name.
    let f = a.path().join("data/2020-Apr.csv.gz");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes.extend_from_slice(&std::fs::read(sample_dir().join("2019-Oct.csv.gz")).unwrap());
    std::fs::write(&f, bytes).unwrap();
    let out = score(b.path(), "again.csv").failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("2020-Apr.csv.gz") && err.contains("changed"),
        "{err}"
    );
}

// 15. Edits naming users the run did not score, and a scores file without a model, name
// their file.
#[test]
fn bad_edits_and_missing_score_columns_name_their_file() {
    let (d, run) = run_copy();
    for edits in [
        r#"{"excluded": [-5], "added": []}"#,
        r#"{"excluded": [], "added": [123456789]}"#,
    ] {
        std::fs::write(run.join("edits.json"), edits).unwrap();
        let err = fails(&mut export_cmd(&run, &d.path().join("t.csv")));
        assert!(err.contains("edits.json"), "{err}");
    }
    std::fs::remove_file(run.join("edits.json")).unwrap();
    // A run with test_scores.parquet that lacks a model's column.
    let loaded = churn_tui::engine::run::open::LoadedRun::load(&run).unwrap();
    let mut cols = vec![
        Column::new("user_id".into(), loaded.test.users.clone()),
        Column::new("anchor_us".into(), loaded.test.anchors.clone()),
    ];
    for m in loaded.models.iter().skip(1) {
        cols.push(Column::new(m.name.as_str().into(), m.test_scores.clone()));
    }
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    ParquetWriter::new(std::fs::File::create(run.join("test_scores.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = fails(&mut export_cmd(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("test_scores.parquet") && err.contains(&loaded.models[0].name),
        "{err}"
    );
}

// A run file with a field missing, or a manifest of another format version, stops the reader
// with the file and the field named (never a silent default).
#[test]
fn a_missing_field_or_another_format_version_is_named() {
    let (d, run) = run_copy();
    let eval_path = run.join("eval.json");
    let good = std::fs::read_to_string(&eval_path).unwrap();
    let mut eval: serde_json::Value = serde_json::from_str(&good).unwrap();
    eval.as_object_mut().unwrap().remove("choice");
    std::fs::write(&eval_path, eval.to_string()).unwrap();
    let err = fails(&mut export_cmd(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("eval.json") && err.contains("`choice`"),
        "{err}"
    );
    std::fs::write(&eval_path, good).unwrap();

    let mpath = run.join("manifest.json");
    let mut m: serde_json::Value = read_json(&mpath);
    m["format_version"] = serde_json::json!(3);
    std::fs::write(&mpath, m.to_string()).unwrap();
    let err = fails(&mut export_cmd(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("manifest.json") && err.contains("format_version 3"),
        "{err}"
    );
    assert!(!d.path().join("t.csv").exists());
}
