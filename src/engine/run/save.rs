//! The run directory: `artifacts/<run-id>/` with manifest, feature order and scaler, models,
//! eval.json and scores.csv (SPEC §6), PR curves and a leaderboard. Written into a temp directory
//! beside it and renamed, so a failed run leaves nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::files::{
    CURVES_FILE, EVAL_FILE, FEATURES_FILE, LEADERBOARD_FILE, MANIFEST, MODELS_DIR, RUN_TMP_PREFIX,
    SCORES_CSV, SCORES_CSV_MAX_ROWS, STATS_FILE, TEST_FEATURES_FILE, TEST_SCORES_FILE,
    VAL_SCORES_FILE, WRITING_LOCK,
};
use super::format::{
    self, AnchorRecord, BootstrapRecord, CurvePair, CurvesFile, EvalFile, FailedModel,
    FeaturesFile, InputRecord, MadeBy, Manifest, ModelEval, ModelRecord, SplitsRecord, StageTime,
    content_hash,
};
use super::open::LoadedRun;
use super::train::RunReport;
use crate::engine::error::PolarsContext;
use crate::engine::features::FEATURE_NAMES;
use crate::engine::features::columns::SPLIT;
use crate::engine::features::write::write_parquet;
use crate::engine::label::Split;
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

/// Does this run's `scores.csv` stay small enough to write?
pub fn scores_fit_csv(r: &RunReport) -> bool {
    (r.val.n() + r.test.n()).saturating_mul(r.models.len()) <= SCORES_CSV_MAX_ROWS
}

/// `eval.json` as SPEC §6 lays it out, with the bootstrap intervals beside each model's splits
/// (per K in `at_k`'s order; `vs_chosen`: this model minus the chosen one, paired) and the
/// choice with its reason (SPEC §4).
pub fn eval_file(r: &RunReport) -> EvalFile {
    EvalFile {
        models: r
            .models
            .iter()
            .map(|m| ModelEval {
                name: m.name.clone(),
                splits: SplitsRecord {
                    val: m.val.clone(),
                    test: m.test.clone(),
                },
                intervals: m.intervals.clone(),
            })
            .collect(),
        choice: r.choice.clone(),
        bootstrap: BootstrapRecord {
            resamples: crate::engine::eval::bootstrap::RESAMPLES,
            level: 0.9,
            seed: r.config.seed,
        },
    }
}

/// `scores.csv`: every val and test row for every model, shortest round-trip floats. Each
/// model's split is written on its own (side by side) and the pieces joined in order, so the
/// bytes are those of one writer going row by row.
pub fn scores_csv(r: &RunReport) -> String {
    use rayon::prelude::*;
    let mut bytes = Vec::new();
    {
        let mut out = crate::engine::io::csv_out::writer(&mut bytes);
        // Writing to memory cannot fail.
        let _ = out.write_record(["model", "split", "user_id", "anchor", "y", "score"]);
    }
    let blocks: Vec<(
        &str,
        &str,
        &crate::engine::features::matrix::Data,
        &Vec<f64>,
    )> = r
        .models
        .iter()
        .flat_map(|m| {
            [
                (m.name.as_str(), "val", &r.val, &m.val_scores),
                (m.name.as_str(), "test", &r.test, &m.test_scores),
            ]
        })
        .collect();
    let pieces: Vec<Vec<u8>> = blocks
        .par_iter()
        .map(|&(name, split, data, scores)| scores_block(name, split, data, scores))
        .collect();
    for p in pieces {
        bytes.extend_from_slice(&p);
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// One model's rows of one split, as `scores.csv` lays them out.
fn scores_block(
    name: &str,
    split: &str,
    data: &crate::engine::features::matrix::Data,
    scores: &[f64],
) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut out = crate::engine::io::csv_out::writer(&mut bytes);
    let mut f = crate::engine::io::csv_out::Fields::default();
    let mut g = crate::engine::io::csv_out::Fields::default();
    // A split has a handful of anchors, in runs: each is formatted once per run of rows.
    let mut anchor_text: Option<(i64, String)> = None;
    for (((user, &anchor), y), score) in data
        .users
        .iter()
        .zip(&data.anchors)
        .zip(&data.y)
        .zip(scores)
    {
        if anchor_text.as_ref().is_none_or(|(a, _)| *a != anchor) {
            anchor_text = Some((anchor, fmt_anchor(anchor)));
        }
        let shown = anchor_text.as_ref().map_or("", |(_, t)| t.as_str());
        // Writing to memory cannot fail.
        let _ = out.write_record([
            name,
            split,
            f.show(user),
            shown,
            if *y { "1" } else { "0" },
            g.show(score),
        ]);
    }
    drop(out);
    bytes
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

/// A 90% interval as `lo … hi` (two decimals).
pub fn range(v: Option<(f64, f64)>) -> String {
    v.map_or("–".into(), |(lo, hi)| format!("{lo:.2} … {hi:.2}"))
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
    let k1 = ks.first().cloned().unwrap_or_default();
    let _ = writeln!(
        s,
        "\n\\* chosen: {} — {}. Test was scored once, after the choice.",
        r.choice.chosen, r.choice.why
    );
    // 90% intervals (paired bootstrap, SPEC §4): ≈ marks a model tied with the best on val.
    let _ = writeln!(
        s,
        "\n### 90% intervals (bootstrap, {} resamples)\n",
        crate::engine::eval::bootstrap::RESAMPLES
    );
    let _ = writeln!(
        s,
        "| model | val Lift@{k1} | val PR-AUC | val Lift@{k1} − best | test Lift@{k1} | test PR-AUC |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for (m, (_, d, dv)) in r.models.iter().zip(&r.choice.lift_difference) {
        let tied = if r.choice.tied.contains(&m.name) {
            " ≈"
        } else {
            ""
        };
        let iv = &m.intervals;
        let first = |i: &Option<crate::engine::eval::choice::Intervals>| {
            i.as_ref().and_then(|x| x.lift.first().copied().flatten())
        };
        let pr =
            |i: &Option<crate::engine::eval::choice::Intervals>| i.as_ref().and_then(|x| x.pr_auc);
        let _ = writeln!(
            s,
            "| {}{tied} | {} | {} | {:+.2} ({}) | {} | {} |",
            m.name,
            range(first(&iv.val)),
            range(pr(&iv.val)),
            d,
            range(*dv),
            range(first(&iv.test)),
            range(pr(&iv.test)),
        );
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
}

fn write_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T, pretty: bool) -> Result<()> {
    write(dir, name, &format::to_text(value, pretty)?)
}

/// Move `from` to `to` unless `to` exists, atomically (no window in which two writers both
/// see the name free). `AlreadyExists` when it is taken.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let f = std::ffi::CString::new(from.as_os_str().as_bytes())?;
        let t = std::ffi::CString::new(to.as_os_str().as_bytes())?;
        // SAFETY: both are valid NUL-terminated paths that outlive the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => {
                return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, e));
            }
            // A file system without the flag: fall through to check-then-rename, where a
            // rename onto a finished (non-empty) run still fails rather than replacing it.
            Some(libc::EINVAL) | Some(libc::ENOSYS) => {}
            _ => return Err(e),
        }
    }
    if to.exists() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to).map_err(|e| match e.kind() {
        std::io::ErrorKind::DirectoryNotEmpty => std::io::ErrorKind::AlreadyExists.into(),
        _ => e,
    })
}

/// Write the run under `root` with a fresh id (UTC time and seed, then `-2`, `-3`, … when
/// another run took the name, even one saved by another process in the same second). The run
/// is opened as the workbench would open it before it gets its name, so a run that cannot be
/// opened is never saved; the opened workbench is returned.
pub fn save_new(r: &RunReport, root: &Path) -> Result<(PathBuf, LoadedRun)> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{stamp}-s{}", r.config.seed);
    let ids = std::iter::once(base.clone()).chain((2..).map(move |n| format!("{base}-{n}")));
    save_as(r, root, ids)
}

/// Write the run under `root` as `run_id` (an error if it is taken); returns the run directory.
pub fn save(r: &RunReport, root: &Path, run_id: &str) -> Result<PathBuf> {
    save_as(r, root, std::iter::once(run_id.to_string())).map(|(dir, _)| dir)
}

fn save_as(
    r: &RunReport,
    root: &Path,
    ids: impl Iterator<Item = String>,
) -> Result<(PathBuf, LoadedRun)> {
    let work = crate::engine::io::atomic::WorkDir::new(root, RUN_TMP_PREFIX)?;
    let dir = work.path().to_path_buf();
    write_body(r, &dir)?;
    let mut run: Option<LoadedRun> = None;
    let mut last = String::new();
    for run_id in ids.take(1000) {
        write_named(r, &dir, &run_id)?;
        if run.is_none() {
            // Open it exactly as a reader will: NaN in a file, a split nothing can be ranked
            // on, a model that does not load — all fail here, before the run has a name.
            run = Some(LoadedRun::open_dir(&dir).map_err(|e| {
                Error::Config(format!("the run would not open, so it was not saved: {e}"))
            })?);
        }
        let final_dir = root.join(&run_id);
        match rename_noreplace(&dir, &final_dir) {
            Ok(()) => {
                let _ = std::fs::remove_file(final_dir.join(WRITING_LOCK));
                work.disarm();
                let mut run = run.ok_or_else(|| Error::Config("run not opened".into()))?;
                run.dir = final_dir.clone();
                run.run_id = run_id;
                return Ok((final_dir, run));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = run_id,
            Err(e) => return Err(Error::io(&final_dir, e)),
        }
    }
    Err(Error::Config(format!(
        "{}: run id {last} is taken (and every other tried)",
        root.display()
    )))
}

/// The files of a run that do not name it.
fn write_body(r: &RunReport, dir: &Path) -> Result<()> {
    let features = FeaturesFile {
        order: FEATURE_NAMES.iter().map(|f| f.to_string()).collect(),
        scaler: r.scaler.clone(),
    };
    write_json(dir, FEATURES_FILE, &features, true)?;
    write_json(dir, EVAL_FILE, &eval_file(r), true)?;
    write_json(dir, STATS_FILE, &r.stats, true)?;
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
    let score_columns =
        |data: &crate::engine::features::matrix::Data,
         pick: fn(&super::train::ModelResult) -> &Vec<f64>| {
            let mut cols = vec![
                Column::new("user_id".into(), data.users.clone()),
                Column::new("anchor_us".into(), data.anchors.clone()),
            ];
            cols.extend(
                r.models
                    .iter()
                    .map(|m| Column::new(m.name.as_str().into(), pick(m).clone())),
            );
            DataFrame::new_infer_height(cols).ctx(|| "scores".to_string())
        };
    let mut files = vec![(
        TEST_SCORES_FILE,
        score_columns(&r.test, |m| &m.test_scores)?,
    )];
    if !scores_fit_csv(r) {
        files.push((VAL_SCORES_FILE, score_columns(&r.val, |m| &m.val_scores)?));
    }
    for (name, mut scores) in files {
        crate::engine::io::atomic::write_parquet(&mut scores, &dir.join(name))?;
    }
    if scores_fit_csv(r) {
        write(dir, SCORES_CSV, &scores_csv(r))?;
    }
    let curves: CurvesFile = r
        .models
        .iter()
        .map(|m| {
            let pair = CurvePair {
                val: m.val_curve.clone(),
                test: m.test_curve.clone(),
            };
            (m.name.clone(), pair)
        })
        .collect();
    // Compact: a curve has a point per distinct score (≈ 100 MB pretty-printed on 4M events).
    write_json(dir, CURVES_FILE, &curves, false)?;
    let models_dir = dir.join(MODELS_DIR);
    std::fs::create_dir(&models_dir).map_err(|e| Error::io(&models_dir, e))?;
    for m in &r.models {
        write_json(&models_dir, &format!("{}.json", m.name), &m.saved, false)?;
    }
    Ok(())
}

/// The files that carry the run id: the manifest (last, as it marks the directory a run) and
/// the leaderboard. Rewritten when the name has to change.
fn write_named(r: &RunReport, dir: &Path, run_id: &str) -> Result<()> {
    let inputs = r
        .dataset
        .log
        .files
        .iter()
        .map(|f| {
            Ok(InputRecord {
                path: f.path.clone(),
                format: f.format,
                bytes: f.size,
                hash: content_hash(&f.path)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    write(
        dir,
        LEADERBOARD_FILE,
        &format!("# Leaderboard — run {run_id}\n{}", leaderboard(r)),
    )?;
    let plan = &r.dataset.table.plan;
    let manifest = Manifest {
        format_version: format::FORMAT_VERSION,
        made_by: MadeBy::this_build(),
        run_id: run_id.to_string(),
        config: r.config.clone(),
        inputs,
        seed: r.config.seed,
        chosen_model: r.chosen.clone(),
        failed_models: r
            .failed
            .iter()
            .map(|(name, error)| FailedModel {
                name: name.clone(),
                error: error.clone(),
            })
            .collect(),
        anchors: plan
            .anchors
            .iter()
            .map(|(t, split)| AnchorRecord {
                anchor: fmt_anchor(*t),
                split: *split,
            })
            .collect(),
        purged: plan.purged.iter().map(|t| fmt_anchor(*t)).collect(),
        timings_seconds: r
            .timings
            .iter()
            .map(|(stage, seconds)| StageTime {
                stage: stage.clone(),
                seconds: *seconds,
            })
            .collect(),
        models: r
            .models
            .iter()
            .map(|m| ModelRecord {
                name: m.name.clone(),
                params: m.params.clone(),
                fit_seconds: m.fit_seconds,
            })
            .collect(),
    };
    write_json(dir, MANIFEST, &manifest, true)
}
