//! A saved run as the workbench shows it: every model's metrics, curves and test scores, the
//! data and feature statistics, and the test rows' features. Loaded from the run directory, so
//! a run trained in the TUI and one trained by `churn-tui train` look the same.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use polars::prelude::*;
use serde_json::Value;

use super::config::TrainConfig;
use super::files::{
    CURVES_FILE, EVAL_FILE, MANIFEST, MODELS_DIR, STATS_FILE, TEST_FEATURES_FILE, TEST_SCORES_FILE,
    WRITING_LOCK,
};
use super::format::{self, CurvesFile, EvalFile};
use super::train::ModelIntervals;
use crate::engine::dataset::stats::{RunStats, sorted_median};
use crate::engine::error::PolarsContext;
use crate::engine::eval::choice::Choice;
use crate::engine::eval::{KPct, SplitEval, rank};
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::label::Split;
use crate::engine::models::{self, Model};
use crate::engine::{Error, Result};

/// One model of the run.
#[derive(Debug, Clone)]
pub struct ModelView {
    pub name: String,
    pub params: Value,
    pub fit_seconds: f64,
    pub val: SplitEval,
    pub test: SplitEval,
    pub val_curve: Vec<(f64, f64)>,
    pub test_curve: Vec<(f64, f64)>,
    /// Scores of the test rows, aligned with `LoadedRun::test`.
    pub test_scores: Vec<f64>,
    /// The test rows the scores belong to (shared with the workbench).
    rows: Arc<Data>,
    /// The ranking, made the first time it is asked for: a run of millions of test rows opens
    /// without ranking the models nobody looks at.
    ranked: Arc<OnceLock<Ranked>>,
    /// The saved model, loaded and checked with the run (for attributions); `None` for a
    /// view built in memory without a run directory.
    pub fitted: Option<Fitted>,
    /// Bootstrap intervals (runs from before them have none).
    pub intervals: Option<ModelIntervals>,
}

#[derive(Debug)]
struct Ranked {
    /// Test row indices, best first (SPEC §4 ranking).
    ranking: Vec<usize>,
    /// Positives caught within the top i rows of the ranking, for i = 0..=N.
    caught: Vec<u32>,
}

/// A loaded model, shared by the views that clone a workbench.
#[derive(Clone)]
pub struct Fitted(pub Arc<dyn Model>);

impl std::fmt::Debug for Fitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fitted({})", self.0.name())
    }
}

impl ModelView {
    /// A model's view from its test scores (aligned with `test`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        params: Value,
        fit_seconds: f64,
        val: SplitEval,
        test_eval: SplitEval,
        val_curve: Vec<(f64, f64)>,
        test_curve: Vec<(f64, f64)>,
        test_scores: Vec<f64>,
        test: &Arc<Data>,
    ) -> ModelView {
        ModelView {
            name,
            params,
            fit_seconds,
            val,
            test: test_eval,
            val_curve,
            test_curve,
            test_scores,
            rows: Arc::clone(test),
            ranked: Arc::default(),
            fitted: None,
            intervals: None,
        }
    }

    fn ranked(&self) -> &Ranked {
        self.ranked.get_or_init(|| {
            let ranking = rank(&self.test_scores, &self.rows.users, &self.rows.anchors);
            let mut caught = Vec::with_capacity(ranking.len() + 1);
            caught.push(0u32);
            for &i in &ranking {
                let last = caught.last().copied().unwrap_or(0);
                caught.push(last + self.rows.y[i] as u32);
            }
            Ranked { ranking, caught }
        })
    }

    /// Test row indices, best first (SPEC §4 ranking).
    pub fn ranking(&self) -> &[usize] {
        &self.ranked().ranking
    }

    /// Positives caught within the top i rows of the ranking, for i = 0..=N.
    pub fn caught(&self) -> &[u32] {
        &self.ranked().caught
    }

    /// The number of test rows the model ranks.
    pub fn n(&self) -> usize {
        self.test_scores.len()
    }

    /// Targeted count, positives caught, precision and lift when the top `k` rows are targeted.
    pub fn at(&self, k: usize) -> (usize, u32, Option<f64>, Option<f64>) {
        let caught = self.caught();
        let n = self.n();
        let k = k.min(n);
        let tp = caught.get(k).copied().unwrap_or(0);
        let p = caught.last().copied().unwrap_or(0);
        let precision = (k > 0).then(|| tp as f64 / k as f64);
        let lift = match precision {
            Some(pr) if p > 0 => Some(pr / (p as f64 / n as f64)),
            _ => None,
        };
        (k, tp, precision, lift)
    }
}

#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub dir: PathBuf,
    pub run_id: String,
    pub config: TrainConfig,
    pub chosen: String,
    /// Why the model was chosen (runs from before SPEC §4's rule have none).
    pub choice: Option<Choice>,
    pub ks: Vec<KPct>,
    pub failed: Vec<(String, String)>,
    pub stats: RunStats,
    pub models: Vec<ModelView>,
    /// The test rows (the population that targeting ranks), sorted by anchor then user.
    pub test: Arc<Data>,
    /// Each feature's test values sorted, made when first asked for.
    percentiles: Arc<OnceLock<Percentiles>>,
}

#[derive(Debug)]
struct Percentiles {
    /// Each feature's test values, sorted ascending (for percentiles).
    sorted: Vec<Vec<f64>>,
    /// Each feature's test median (the occlusion baseline of risk reasons).
    medians: [f64; N_FEATURES],
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::in_file(path, format!("not valid JSON: {e}")))
}

fn load_test_rows(dir: &Path) -> Result<Data> {
    let path = dir.join(TEST_FEATURES_FILE);
    let text = path.to_string_lossy();
    let df = LazyFrame::scan_parquet(
        PlRefPath::new(&*text),
        ScanArgsParquet {
            glob: false,
            ..Default::default()
        },
    )
    .and_then(|lf| lf.collect())
    .ctx(|| format!("reading {}", path.display()))?;
    Data::from_table(&df, Split::Test).map_err(|e| Error::in_file(&path, e.to_string()))
}

/// Test scores per model from `test_scores.parquet`, whose rows must be the test rows.
fn load_score_columns(dir: &Path, test: &Data) -> Result<HashMap<String, Vec<f64>>> {
    let path = dir.join(TEST_SCORES_FILE);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .ctx(|| format!("reading {}", path.display()))?;
    let same = |name: &str, want: &[i64]| {
        df.column(name)
            .ok()
            .and_then(|c| c.i64().ok())
            .is_some_and(|c| {
                c.null_count() == 0 && crate::engine::features::matrix::values(c, 0) == want
            })
    };
    // The file is the run's own: rows that are not the test rows mean it was damaged.
    if !same("user_id", &test.users) || !same("anchor_us", &test.anchors) {
        return Err(Error::in_file(
            &path,
            format!("its user_id and anchor_us rows are not the test rows of {TEST_FEATURES_FILE}"),
        ));
    }
    let mut out = HashMap::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if name == "user_id" || name == "anchor_us" {
            continue;
        }
        let v = crate::engine::features::matrix::values(
            c.f64().ctx(|| format!("{}: {name}", path.display()))?,
            f64::NAN,
        );
        out.insert(name.to_string(), v);
    }
    Ok(out)
}

impl LoadedRun {
    /// Open a finished run directory. A run's temp directory (still being written, or left by
    /// a killed process) is refused: only finished runs are ever opened.
    pub fn load(dir: &Path) -> Result<LoadedRun> {
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_default();
        if name.starts_with('.') || dir.join(WRITING_LOCK).exists() {
            return Err(Error::Config(format!(
                "{}: is an unfinished run (still being written, or left by a killed \
                 process); only finished runs can be opened",
                dir.display()
            )));
        }
        LoadedRun::open_dir(dir)
    }

    /// Open and check every file of a run directory, finished or not (`save` checks a
    /// run this way before it gets its name).
    pub fn open_dir(dir: &Path) -> Result<LoadedRun> {
        let mpath = dir.join(MANIFEST);
        let manifest = format::read_manifest(dir)?;
        let spath = dir.join(STATS_FILE);
        let stats: RunStats = format::read(&spath)?;
        let epath = dir.join(EVAL_FILE);
        let eval: EvalFile = format::read(&epath)?;
        let cpath = dir.join(CURVES_FILE);
        let mut curves: CurvesFile = format::read(&cpath)?;
        let names: Vec<String> = eval.models.iter().map(|m| m.name.clone()).collect();
        // The test rows and scores are read while the model files are parsed and checked,
        // side by side (together most of the time it takes to open a big run).
        let (rows, fitted) = rayon::join(
            || -> Result<_> {
                let test = Arc::new(load_test_rows(dir)?);
                let scores = load_score_columns(dir, &test)?;
                Ok((test, scores))
            },
            || {
                use rayon::prelude::*;
                names
                    .par_iter()
                    .map(|name| {
                        let mpath = dir.join(MODELS_DIR).join(format!("{name}.json"));
                        models::load(name, &read_json(&mpath)?)
                            .and_then(|m| m.check().map(|()| m))
                            .map_err(|e| Error::in_file(&mpath, e.to_string()))
                    })
                    .collect::<Vec<_>>()
            },
        );
        let (test, mut scores) = rows?;
        let spath = dir.join(TEST_SCORES_FILE);
        let mut views = Vec::new();
        for (m, fitted) in eval.models.into_iter().zip(fitted) {
            let name = &m.name;
            let test_scores = scores.remove(name).ok_or_else(|| {
                Error::in_file(&spath, format!("no test scores for model `{name}`"))
            })?;
            if let Some(i) = test_scores.iter().position(|v| !(0.0..=1.0).contains(v)) {
                return Err(Error::in_file(
                    &spath,
                    format!(
                        "model `{name}`: score {} of user {} is not a probability",
                        test_scores[i], test.users[i]
                    ),
                ));
            }
            let meta = manifest.models.iter().find(|x| x.name == *name);
            let curve = curves
                .swap_remove(name)
                .ok_or_else(|| Error::in_file(&cpath, format!("no curves for model `{name}`")))?;
            let mut view = ModelView::new(
                name.clone(),
                meta.map_or(Value::Null, |x| x.params.clone()),
                meta.map_or(0.0, |x| x.fit_seconds),
                m.splits.val.with_counts(),
                m.splits.test.with_counts(),
                curve.val,
                curve.test,
                test_scores,
                &test,
            );
            view.fitted = Some(Fitted(Arc::from(fitted?)));
            view.intervals = Some(m.intervals);
            views.push(view);
        }
        if views.is_empty() {
            return Err(Error::in_file(epath, "no models"));
        }
        let chosen = manifest.chosen_model;
        if !views.iter().any(|v| v.name == chosen) {
            return Err(Error::in_file(
                &mpath,
                format!("the chosen model `{chosen}` is not among the run's models"),
            ));
        }
        let failed = manifest
            .failed_models
            .into_iter()
            .map(|f| (f.name, f.error))
            .collect();
        let mut run = LoadedRun::from_parts(
            dir.to_path_buf(),
            manifest.run_id,
            manifest.config,
            chosen,
            failed,
            stats,
            views,
            test,
        )?;
        run.choice = Some(eval.choice);
        Ok(run)
    }

    /// A workbench from its parts (benchmarks and tests build one without a run directory).
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        dir: PathBuf,
        run_id: String,
        config: TrainConfig,
        chosen: String,
        failed: Vec<(String, String)>,
        stats: RunStats,
        models: Vec<ModelView>,
        test: Arc<Data>,
    ) -> Result<LoadedRun> {
        let ks = config.ks()?;
        Ok(LoadedRun {
            dir,
            run_id,
            config,
            chosen,
            choice: None,
            ks,
            failed,
            stats,
            models,
            test,
            percentiles: Arc::default(),
        })
    }

    fn percentiles(&self) -> &Percentiles {
        self.percentiles.get_or_init(|| {
            use rayon::prelude::*;
            let sorted: Vec<Vec<f64>> = self
                .test
                .cols
                .par_iter()
                .map(|c| {
                    let mut s = c.clone();
                    s.sort_unstable_by(f64::total_cmp);
                    s
                })
                .collect();
            let medians = std::array::from_fn(|j| sorted_median(&sorted[j]));
            Percentiles { sorted, medians }
        })
    }

    /// Each feature's test median (the occlusion baseline of risk reasons).
    pub fn medians(&self) -> &[f64; N_FEATURES] {
        &self.percentiles().medians
    }

    pub fn model(&self, name: &str) -> Option<&ModelView> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Shares of the test population strictly below and strictly above `v` on feature `j`.
    pub fn shares(&self, j: usize, v: f64) -> (f64, f64) {
        let s = &self.percentiles().sorted[j];
        if s.is_empty() {
            return (0.0, 0.0);
        }
        let below = s.partition_point(|&x| x < v);
        let above = s.len() - s.partition_point(|&x| x <= v);
        (below as f64 / s.len() as f64, above as f64 / s.len() as f64)
    }

    /// The saved model of the run, for attributions (loaded and checked with the run).
    pub fn fitted(&self, name: &str) -> Option<&dyn Model> {
        self.model(name)?.fitted.as_ref().map(|f| &*f.0)
    }

    /// The run as it would target at another anchor: `test` holds that anchor's rows, scored
    /// by `model` (`scores` aligned with them), and by the models of `others` (the runner-up
    /// that breaks its ties, SPEC §5). Only those models are kept; percentiles, medians and the
    /// ranking are those of the new rows; the population statistics stay the run's.
    pub fn rescored(
        &self,
        model: &str,
        test: Data,
        scores: Vec<f64>,
        others: Vec<(String, Vec<f64>)>,
    ) -> Result<LoadedRun> {
        let test = Arc::new(test);
        let mut views = Vec::new();
        for (name, scores) in std::iter::once((model.to_string(), scores)).chain(others) {
            let m = self
                .model(&name)
                .ok_or_else(|| Error::Config(format!("the run has no model {name}")))?;
            if scores.len() != test.users.len() {
                return Err(Error::Config(format!(
                    "{name} scored {} rows of {}",
                    scores.len(),
                    test.users.len()
                )));
            }
            let mut view = ModelView::new(
                m.name.clone(),
                m.params.clone(),
                m.fit_seconds,
                m.val.clone(),
                m.test.clone(),
                m.val_curve.clone(),
                m.test_curve.clone(),
                scores,
                &test,
            );
            view.fitted = m.fitted.clone();
            views.push(view);
        }
        let mut run = self.clone();
        run.chosen = model.to_string();
        run.models = views;
        run.test = test;
        run.percentiles = Arc::default();
        Ok(run)
    }

    /// The anchor of the test rows (the last one when the test split has several).
    pub fn test_anchor(&self) -> Option<i64> {
        self.test.anchors.iter().max().copied()
    }
}
/// The newest finished run under `root` trained with exactly `cfg`, if any. Temp directories
/// (hidden names) are never candidates.
pub fn find_run(root: &Path, cfg: &TrainConfig) -> Option<PathBuf> {
    let want = serde_json::to_value(cfg).ok()?;
    let config_of = |d: &Path| {
        format::read_manifest(d)
            .ok()
            .and_then(|m| serde_json::to_value(m.config).ok())
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).is_file() && p.join(STATS_FILE).is_file())
        .collect();
    // Run ids start with the UTC time, so the name order is the time order.
    dirs.sort();
    dirs.into_iter()
        .rev()
        .find(|d| config_of(d).is_some_and(|c| c == want))
}
