//! The run directory: `artifacts/<run-id>/` with manifest, feature order and scaler, models,
//! eval.json and scores.csv (SPEC §6), PR curves and a leaderboard. Written into a temp directory
//! beside it and renamed, so a failed run leaves nothing.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use polars::prelude::*;

use crate::engine::error::PolarsContext;
use crate::engine::eval::{AtK, SplitEval};
use crate::engine::features::FEATURE_NAMES;
use crate::engine::features::table::SPLIT;
use crate::engine::features::write::write_parquet;
use crate::engine::label::Split;
use crate::engine::run::RunReport;
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

/// Data summary, label counts and feature statistics (`stats::RunStats`).
pub const STATS_FILE: &str = "stats.json";
/// The test split's rows of the feature table (SPEC §6 columns).
pub const TEST_FEATURES_FILE: &str = "test_features.parquet";
/// Every model's test scores in the test rows' order (user_id, anchor µs, one column per model):
/// what the workbench reads instead of parsing all of `scores.csv`.
pub const TEST_SCORES_FILE: &str = "test_scores.parquet";

/// A K as JSON: an integer when whole (5), else a decimal (7.25).
fn k_json(k_pct: f64) -> Value {
    if k_pct.fract() == 0.0 {
        json!(k_pct as u64)
    } else {
        json!(k_pct)
    }
}

fn at_k_json(a: &AtK) -> Value {
    json!({
        "k_pct": k_json(a.k_pct),
        "k": a.k,
        "precision": a.precision,
        "recall": a.recall,
        "lift": a.lift,
        "lift_ceiling": a.lift_ceiling,
    })
}

fn split_json(e: &SplitEval) -> Value {
    json!({
        "n": e.n,
        "prevalence": e.prevalence,
        "pr_auc": e.pr_auc,
        "at_k": e.at_k.iter().map(at_k_json).collect::<Vec<_>>(),
    })
}

/// `eval.json` exactly as SPEC §6 lays it out.
pub fn eval_json(r: &RunReport) -> Value {
    json!({
        "models": r.models.iter().map(|m| json!({
            "name": m.name,
            "splits": {"val": split_json(&m.val), "test": split_json(&m.test)},
        })).collect::<Vec<_>>()
    })
}

/// `scores.csv`: every val and test row for every model, shortest round-trip floats.
pub fn scores_csv(r: &RunReport) -> String {
    let mut s = String::from("model,split,user_id,anchor,y,score\n");
    for m in &r.models {
        for (split, data, scores) in [
            ("val", &r.val, &m.val_scores),
            ("test", &r.test, &m.test_scores),
        ] {
            for (((user, anchor), y), score) in data
                .users
                .iter()
                .zip(&data.anchors)
                .zip(&data.y)
                .zip(scores.iter())
            {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{}",
                    m.name,
                    split,
                    user,
                    fmt_anchor(*anchor),
                    *y as u8,
                    score
                );
            }
        }
    }
    s
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

/// The leaderboard as a Markdown table (also what `train` prints).
pub fn leaderboard(r: &RunReport) -> String {
    let mut s = String::new();
    let ks: Vec<String> = r
        .models
        .first()
        .map(|m| m.val.at_k.iter().map(|a| format!("{}%", a.k_pct)).collect())
        .unwrap_or_default();
    for split in ["val", "test"] {
        let _ = writeln!(s, "\n### {split}\n");
        let mut head = "| model | PR-AUC |".to_string();
        for k in &ks {
            let _ = write!(head, " Lift@{k} (ceil) | P@{k} | R@{k} |");
        }
        let _ = writeln!(s, "{head}");
        let _ = writeln!(s, "|{}", "---|".repeat(2 + 3 * ks.len()));
        for m in &r.models {
            let e = if split == "val" { &m.val } else { &m.test };
            let mark = if m.name == r.chosen { " *" } else { "" };
            let mut row = format!("| {}{mark} | {} |", m.name, num(e.pr_auc));
            for a in &e.at_k {
                let _ = write!(
                    row,
                    " {} ({}) | {} | {} |",
                    num(a.lift),
                    num(a.lift_ceiling),
                    pct(a.precision),
                    pct(a.recall)
                );
            }
            let _ = writeln!(s, "{row}");
        }
    }
    let _ = writeln!(
        s,
        "\n\\* chosen on val by Lift@{} then PR-AUC. Test was scored once, after the choice.",
        ks.first().cloned().unwrap_or_default()
    );
    s
}

fn content_hash(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("xxh3-128:{:032x}", h.digest128()))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Write the run under `root` with a fresh id (UTC time and seed); returns the run directory.
pub fn save_new(r: &RunReport, root: &Path) -> Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut run_id = format!("{stamp}-s{}", r.config.seed);
    let mut n = 2;
    while root.join(&run_id).exists() {
        run_id = format!("{stamp}-s{}-{n}", r.config.seed);
        n += 1;
    }
    save(r, root, &run_id)
}

/// The newest run under `root` trained with exactly `cfg`, if any.
pub fn find_run(root: &Path, cfg: &crate::engine::run::TrainConfig) -> Option<PathBuf> {
    let want = serde_json::to_value(cfg).ok()?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file() && p.join(STATS_FILE).is_file())
        .collect();
    // Run ids start with the UTC time, so the name order is the time order.
    dirs.sort();
    dirs.into_iter().rev().find(|d| {
        std::fs::read_to_string(d.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|m| m["config"] == want)
    })
}

/// Write the run under `root`; returns the run directory.
pub fn save(r: &RunReport, root: &Path, run_id: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let final_dir = root.join(run_id);
    if final_dir.exists() {
        return Err(Error::Config(format!(
            "{} already exists",
            final_dir.display()
        )));
    }
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{run_id}-"))
        .tempdir_in(root)
        .map_err(|e| Error::io(root, e))?;
    let dir = tmp.path();
    let inputs = r
        .dataset
        .log
        .files
        .iter()
        .map(|f| {
            Ok(json!({"path": f.path, "format": f.format, "bytes": f.size, "hash": content_hash(&f.path)?}))
        })
        .collect::<Result<Vec<_>>>()?;
    let manifest = json!({
        "crate": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")},
        "run_id": run_id,
        "config": r.config,
        "inputs": inputs,
        "seed": r.config.seed,
        "chosen_model": r.chosen,
        "failed_models": r.failed.iter().map(|(m, e)| json!({"name": m, "error": e})).collect::<Vec<_>>(),
        "anchors": r.dataset.table.plan.anchors.iter().map(|(t, s)| json!({"anchor": fmt_anchor(*t), "split": s})).collect::<Vec<_>>(),
        "purged": r.dataset.table.plan.purged.iter().map(|t| fmt_anchor(*t)).collect::<Vec<_>>(),
        "timings_seconds": r.timings.iter().map(|(k, v)| json!({"stage": k, "seconds": v})).collect::<Vec<_>>(),
        "models": r.models.iter().map(|m| json!({"name": m.name, "params": m.params, "fit_seconds": m.fit_seconds})).collect::<Vec<_>>(),
    });
    write(dir, "manifest.json", &pretty(&manifest))?;
    write(
        dir,
        "features.json",
        &pretty(&json!({"order": FEATURE_NAMES, "scaler": r.scaler})),
    )?;
    write(dir, "eval.json", &pretty(&eval_json(r)))?;
    write(
        dir,
        STATS_FILE,
        &pretty(&serde_json::to_value(&r.stats).unwrap_or(Value::Null)),
    )?;
    // The test rows' features, for the Targets tab (percentiles, per-user detail and reasons).
    let test_rows = r
        .dataset
        .table
        .df
        .clone()
        .lazy()
        .filter(col(SPLIT).eq(lit(Split::Test.as_str())))
        .collect()
        .ctx(|| "selecting the test rows".to_string())?;
    write_parquet(&test_rows, &dir.join(TEST_FEATURES_FILE))?;
    let mut cols = vec![
        Column::new("user_id".into(), r.test.users.clone()),
        Column::new("anchor_us".into(), r.test.anchors.clone()),
    ];
    cols.extend(
        r.models
            .iter()
            .map(|m| Column::new(m.name.as_str().into(), m.test_scores.clone())),
    );
    let mut scores = DataFrame::new_infer_height(cols).ctx(|| "test scores".to_string())?;
    let p = dir.join(TEST_SCORES_FILE);
    crate::engine::atomic::write_atomic(&p, |w| {
        ParquetWriter::new(w)
            .finish(&mut scores)
            .map(|_| ())
            .map_err(std::io::Error::other)
    })?;
    write(dir, "scores.csv", &scores_csv(r))?;
    let curves: serde_json::Map<String, Value> = r
        .models
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                json!({"val": m.val_curve, "test": m.test_curve}),
            )
        })
        .collect();
    // Compact: a curve has a point per distinct score (≈ 100 MB pretty-printed on 4M events).
    write(
        dir,
        "pr_curves.json",
        &(serde_json::to_string(&Value::Object(curves)).unwrap_or_default() + "\n"),
    )?;
    write(
        dir,
        "leaderboard.md",
        &format!("# Leaderboard — run {run_id}\n{}", leaderboard(r)),
    )?;
    let models_dir = dir.join("models");
    std::fs::create_dir(&models_dir).map_err(|e| Error::io(&models_dir, e))?;
    for m in &r.models {
        write(
            &models_dir,
            &format!("{}.json", m.name),
            &(serde_json::to_string(&m.saved).unwrap_or_default() + "\n"),
        )?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, &final_dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        Error::io(&final_dir, e)
    })?;
    Ok(final_dir)
}
