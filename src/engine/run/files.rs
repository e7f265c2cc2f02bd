//! Every name in a run folder, in one place: what the writer (`save`), the readers (`open`,
//! `score`, `format`) and the hand edits (`targeting::edits`) call each file, which of them no
//! export may replace (`guard_output`), and how an unfinished run's temp folder is named.

use std::path::{Path, PathBuf};

use crate::engine::{Error, Result};

/// The run's own record of itself; `manifest.json` is what marks a directory as a run.
pub const MANIFEST: &str = "manifest.json";
/// Every model's metrics and intervals, and the choice with its reason (SPEC §6).
pub const EVAL_FILE: &str = "eval.json";
/// The val and test PR curves of every model.
pub const CURVES_FILE: &str = "pr_curves.json";
/// The feature order and the scaler fitted on train.
pub const FEATURES_FILE: &str = "features.json";
/// The leaderboard as Markdown.
pub const LEADERBOARD_FILE: &str = "leaderboard.md";
/// The saved models, one file each.
pub const MODELS_DIR: &str = "models";
/// The workbench's hand edits of this run's target list (SPEC §5).
pub const EDITS_FILE: &str = "edits.json";
/// Held while `edits.json` is read, merged and replaced, so two editors never lose each
/// other's edits.
pub const EDITS_LOCK: &str = "edits.lock";
/// Data summary, label counts and feature statistics (`stats::RunStats`).
pub const STATS_FILE: &str = "stats.json";
/// The test split's rows of the feature table (SPEC §6 columns).
pub const TEST_FEATURES_FILE: &str = "test_features.parquet";
/// Every model's test scores in the test rows' order (user_id, anchor µs, one column per model):
/// what the workbench reads instead of parsing all of `scores.csv`.
pub const TEST_SCORES_FILE: &str = "test_scores.parquet";
/// A big run's val scores, laid out as `test_scores.parquet`: written instead of `scores.csv`
/// when that would pass `SCORES_CSV_MAX_ROWS` rows (nine models × millions of rows would make a
/// CSV of gigabytes).
pub const VAL_SCORES_FILE: &str = "val_scores.parquet";
/// Every val and test score of every model, while that stays under `SCORES_CSV_MAX_ROWS` rows.
pub const SCORES_CSV: &str = "scores.csv";
pub const SCORES_CSV_MAX_ROWS: usize = 2_000_000;

/// Every file of the run format (besides `models/`): no export or report may replace one.
pub const RUN_FILES: [&str; 12] = [
    MANIFEST,
    VAL_SCORES_FILE,
    FEATURES_FILE,
    EVAL_FILE,
    STATS_FILE,
    TEST_FEATURES_FILE,
    TEST_SCORES_FILE,
    SCORES_CSV,
    CURVES_FILE,
    LEADERBOARD_FILE,
    EDITS_FILE,
    EDITS_LOCK,
];
/// A run is written into `<root>/.churn-run-XXXXXX.tmp/` and renamed when whole.
pub const RUN_TMP_PREFIX: &str = ".churn-run-";
/// Held while a run folder is being written (see `io::atomic`).
pub use crate::engine::io::atomic::WRITING_LOCK;

fn is_run_dir(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
}

/// Refuse an output path that would replace one of a run's own files (its manifest, models,
/// scores or edits), or one of `inputs`. Other names inside a run directory are fine: the
/// workbench writes its exports and reports there.
pub fn guard_output(path: &Path, inputs: &[PathBuf]) -> Result<()> {
    let target = crate::engine::io::atomic::resolve_target(path)?;
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().to_string()) else {
        return Err(Error::Config(format!(
            "{}: not a file name",
            path.display()
        )));
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // A folder that does not exist is said so here: at the write, the OS's words would name
    // the temp file beside the output, a name the user never gave.
    let dir = match std::fs::canonicalize(&parent) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Config(format!(
                "{}: the folder {} does not exist (create it first)",
                path.display(),
                parent.display()
            )));
        }
        // Anything else (a permission, a loop) is the write's to report, with the OS's words.
        Err(_) => return Ok(()),
    };
    let in_models =
        dir.file_name().is_some_and(|n| n == MODELS_DIR) && dir.parent().is_some_and(is_run_dir);
    if in_models || (is_run_dir(&dir) && RUN_FILES.contains(&name.as_str())) {
        return Err(Error::Config(format!(
            "{}: is a file of the run in {}; refusing to replace it (choose another name)",
            path.display(),
            if in_models {
                dir.parent().unwrap_or(&dir).display()
            } else {
                dir.display()
            }
        )));
    }
    let full = dir.join(&name);
    for input in inputs {
        if std::fs::canonicalize(input).is_ok_and(|i| i == full) {
            return Err(Error::Config(format!(
                "{}: is one of the input files; refusing to replace it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Remove run temp directories (and temp files) that killed writers left under `root`.
pub fn clean_stale_runs(root: &Path) {
    crate::engine::io::atomic::clean_stale_dirs(root, RUN_TMP_PREFIX);
}
