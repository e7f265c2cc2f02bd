//! A saved run as the workbench shows it: every model's metrics, curves and test scores, the
//! data and feature statistics, and the test rows' features. Loaded from the run directory, so
//! a run trained in the TUI and one trained by `churn-tui train` look the same.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use polars::prelude::*;
use serde_json::Value;

use crate::engine::artifacts::{
    MANIFEST, STATS_FILE, TEST_FEATURES_FILE, TEST_SCORES_FILE, WRITING_LOCK,
};
use crate::engine::error::PolarsContext;
use crate::engine::eval::choice::Choice;
use crate::engine::eval::{KPct, SplitEval, rank};
use crate::engine::label::Split;
use crate::engine::models::{self, Data, Model, N_FEATURES};
use crate::engine::run::{ModelIntervals, TrainConfig};
use crate::engine::stats::{RunStats, sorted_median};
use crate::engine::time::parse_anchor;
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
    /// Scores of the test rows, aligned with `Workbench::test`.
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
pub struct Workbench {
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

fn field<T: serde::de::DeserializeOwned>(path: &Path, v: &Value, what: &str) -> Result<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| Error::in_file(path, format!("{what} is not as expected: {e}")))
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

/// Test scores per model from `test_scores.parquet` when the run has it and its rows are the
/// test rows; `None` otherwise (older runs), and `scores.csv` is read instead.
fn load_score_columns(dir: &Path, test: &Data) -> Result<Option<HashMap<String, Vec<f64>>>> {
    let path = dir.join(TEST_SCORES_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .ctx(|| format!("reading {}", path.display()))?;
    let same = |name: &str, want: &[i64]| {
        df.column(name)
            .ok()
            .and_then(|c| c.i64().ok())
            .is_some_and(|c| c.null_count() == 0 && models::values(c, 0) == want)
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
        let v = models::values(
            c.f64().ctx(|| format!("{}: {name}", path.display()))?,
            f64::NAN,
        );
        out.insert(name.to_string(), v);
    }
    Ok(Some(out))
}

/// Test scores per model from `scores.csv`, aligned with the test rows.
fn load_test_scores(dir: &Path, test: &Data) -> Result<HashMap<String, Vec<f64>>> {
    let path = dir.join("scores.csv");
    let at: HashMap<(i64, i64), usize> = test
        .users
        .iter()
        .zip(&test.anchors)
        .enumerate()
        .map(|(i, (&u, &a))| ((u, a), i))
        .collect();
    let mut rdr =
        csv::Reader::from_path(&path).map_err(|e| Error::in_file(&path, e.to_string()))?;
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    for (line, rec) in rdr.records().enumerate() {
        let bad = |msg: &str| Error::in_file(&path, format!("line {}: {msg}", line + 2));
        let rec = rec.map_err(|e| bad(&e.to_string()))?;
        if rec.get(1) != Some("test") {
            continue;
        }
        let model = rec.get(0).ok_or_else(|| bad("no model"))?;
        let user: i64 = rec
            .get(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad user_id"))?;
        let anchor = rec
            .get(3)
            .and_then(parse_anchor)
            .ok_or_else(|| bad("bad anchor"))?;
        let score: f64 = rec
            .get(5)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad score"))?;
        let i = *at
            .get(&(user, anchor))
            .ok_or_else(|| bad("a test row that is not in the test features"))?;
        out.entry(model.to_string())
            .or_insert_with(|| vec![f64::NAN; test.n()])[i] = score;
    }
    Ok(out)
}

impl Workbench {
    /// Open a finished run directory. A run's temp directory (still being written, or left by
    /// a killed process) is refused: only finished runs are ever opened.
    pub fn load(dir: &Path) -> Result<Workbench> {
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
        Workbench::open_dir(dir)
    }

    /// Open and check every file of a run directory, finished or not (`artifacts` checks a
    /// run this way before it gets its name).
    pub fn open_dir(dir: &Path) -> Result<Workbench> {
        let mpath = dir.join(MANIFEST);
        let manifest = read_json(&mpath)?;
        let config: TrainConfig = field(&mpath, &manifest["config"], "config")?;
        let run_id = manifest["run_id"]
            .as_str()
            .ok_or_else(|| Error::in_file(&mpath, "no run_id"))?
            .to_string();
        let chosen = manifest["chosen_model"]
            .as_str()
            .ok_or_else(|| Error::in_file(&mpath, "no chosen_model"))?
            .to_string();
        let failed = manifest["failed_models"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        (
                            f["name"].as_str().unwrap_or_default().to_string(),
                            f["error"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let spath = dir.join(STATS_FILE);
        let stats: RunStats = field(&spath, &read_json(&spath)?, "stats")?;
        let epath = dir.join("eval.json");
        let eval = read_json(&epath)?;
        let cpath = dir.join("pr_curves.json");
        let curves = read_json(&cpath)?;
        let mut names = Vec::new();
        for m in eval["models"].as_array().into_iter().flatten() {
            let name = m["name"]
                .as_str()
                .ok_or_else(|| Error::in_file(&epath, "a model without a name"))?;
            names.push((name.to_string(), m));
        }
        // The test rows and scores are read while the model files are parsed and checked,
        // side by side (together most of the time it takes to open a big run).
        let (rows, fitted) = rayon::join(
            || -> Result<_> {
                let test = Arc::new(load_test_rows(dir)?);
                let scores = match load_score_columns(dir, &test)? {
                    Some(s) => (s, dir.join(TEST_SCORES_FILE)),
                    None => (load_test_scores(dir, &test)?, dir.join("scores.csv")),
                };
                Ok((test, scores))
            },
            || {
                use rayon::prelude::*;
                names
                    .par_iter()
                    .map(|(name, _)| {
                        let mpath = dir.join("models").join(format!("{name}.json"));
                        models::load(name, &read_json(&mpath)?)
                            .and_then(|m| m.check().map(|()| m))
                            .map_err(|e| Error::in_file(&mpath, e.to_string()))
                    })
                    .collect::<Vec<_>>()
            },
        );
        let (test, (mut scores, spath)) = rows?;
        let mut views = Vec::new();
        for ((name, m), fitted) in names.iter().zip(fitted) {
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
            let meta = manifest["models"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["name"] == name.as_str()));
            let mut view = ModelView::new(
                name.clone(),
                meta.map(|x| x["params"].clone()).unwrap_or(Value::Null),
                meta.and_then(|x| x["fit_seconds"].as_f64()).unwrap_or(0.0),
                field(&epath, &m["splits"]["val"], "val metrics")?,
                field(&epath, &m["splits"]["test"], "test metrics")?,
                field(&cpath, &curves[name]["val"], "val curve")?,
                field(&cpath, &curves[name]["test"], "test curve")?,
                test_scores,
                &test,
            );
            view.fitted = Some(Fitted(Arc::from(fitted?)));
            if !m["intervals"].is_null() {
                view.intervals = Some(field(&epath, &m["intervals"], "intervals")?);
            }
            views.push(view);
        }
        if views.is_empty() {
            return Err(Error::in_file(epath, "no models"));
        }
        if !views.iter().any(|v| v.name == chosen) {
            return Err(Error::in_file(
                &mpath,
                format!("the chosen model `{chosen}` is not among the run's models"),
            ));
        }
        let mut wb = Workbench::from_parts(
            dir.to_path_buf(),
            run_id,
            config,
            chosen,
            failed,
            stats,
            views,
            test,
        )?;
        if !eval["choice"].is_null() {
            wb.choice = Some(field(&epath, &eval["choice"], "choice")?);
        }
        Ok(wb)
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
    ) -> Result<Workbench> {
        let ks = config.ks()?;
        Ok(Workbench {
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

    /// The anchor of the test rows (the last one when the test split has several).
    pub fn test_anchor(&self) -> Option<i64> {
        self.test.anchors.iter().max().copied()
    }
}
