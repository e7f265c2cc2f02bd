//! A whole training run: config → data → features → models → eval, with typed progress and a
//! cancel flag. The CLI and the TUI both drive this one function.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::config::TrainConfig;
use crate::engine::dataset::stats::RunStats;
use crate::engine::dataset::{self, Dataset};
use crate::engine::eval::bootstrap::{RESAMPLES, resample_split};
use crate::engine::eval::choice::{Choice, Intervals, choose};
use crate::engine::eval::metrics::{CURVE_POINTS, thin_curve};
use crate::engine::eval::{KPct, SplitEval, pr_curve};
use crate::engine::features::matrix::Data;
use crate::engine::label::Split;
use crate::engine::models::scaler::Scaler;
use crate::engine::models::{self, FitCtx};
use crate::engine::{Error, Result};

/// What a run reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A pipeline stage started.
    Stage(&'static str),
    /// A model is fitting: step `done` of `total` (grid points, epochs, trials).
    Model {
        model: String,
        done: usize,
        total: usize,
    },
    /// A model finished.
    ModelDone { model: String, seconds: f64 },
    /// A model could not be fit; the run goes on without it.
    ModelFailed { model: String, error: String },
    /// A pass of the out-of-core feature stage: events scanned (`total` 0: not known ahead),
    /// or bucket units done of `total`.
    Pass {
        pass: &'static str,
        done: u64,
        total: u64,
    },
    /// A model (or the `features` stage) is still working, `seconds` after it started (sent
    /// every second).
    Working { model: String, seconds: u64 },
    /// The data summary and feature statistics, as soon as the feature table is made: the
    /// workbench shows its Labels and Features tabs while the models still fit.
    Stats(Box<RunStats>),
}

/// Run `work`, sending `Progress::Working` every second until it returns.
pub fn heartbeat<T>(
    model: &str,
    progress: &(dyn Fn(Progress) + Sync),
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let (stop, ticks) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let start = Instant::now();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                ticks.recv_timeout(std::time::Duration::from_secs(1))
            {
                progress(Progress::Working {
                    model: model.to_string(),
                    seconds: start.elapsed().as_secs(),
                });
            }
        });
        let out = work();
        drop(stop);
        out
    })
}

/// One model's outcome: chosen hyperparameters, val and test metrics, and its scores.
#[derive(Debug, Clone)]
pub struct ModelResult {
    pub name: String,
    pub params: serde_json::Value,
    pub saved: serde_json::Value,
    pub val: SplitEval,
    pub test: SplitEval,
    pub val_scores: Vec<f64>,
    pub test_scores: Vec<f64>,
    pub val_curve: Vec<(f64, f64)>,
    pub test_curve: Vec<(f64, f64)>,
    pub fit_seconds: f64,
    /// 90% intervals of its figures, and of its differences to the chosen model (SPEC §4).
    pub intervals: ModelIntervals,
}

/// A model's bootstrap intervals on val and test.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelIntervals {
    pub val: Option<Intervals>,
    pub test: Option<Intervals>,
    /// This model minus the chosen one, resample by resample.
    pub val_vs_chosen: Option<Intervals>,
    pub test_vs_chosen: Option<Intervals>,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub config: TrainConfig,
    pub dataset: Dataset,
    pub scaler: Scaler,
    pub val: Data,
    pub test: Data,
    pub models: Vec<ModelResult>,
    /// The model chosen on val by SPEC §4's rule.
    pub chosen: String,
    /// Why it was chosen: the best by val Lift at the first K, the models tied with it, and
    /// the sentence that says so.
    pub choice: Choice,
    /// Models that could not be fit, with the reason.
    pub failed: Vec<(String, String)>,
    pub timings: Vec<(String, f64)>,
    /// Data summary, label counts and train-row feature statistics.
    pub stats: RunStats,
}

/// A split that models learn from or are chosen on needs dormant and active users both.
fn two_classes(split: Split, d: &Data) -> Result<()> {
    let pos = d.y.iter().filter(|&&y| y).count();
    let what = if pos == 0 {
        "no dormant user"
    } else if pos == d.n() {
        "only dormant users"
    } else {
        return Ok(());
    };
    Err(Error::Config(format!(
        "the {split} split has {what} ({} rows): models cannot {} on one class; use a longer \
         log, other anchors or a wider scope",
        d.n(),
        if split == Split::Train {
            "learn"
        } else {
            "be compared"
        }
    )))
}

/// Train every configured model. `test` is scored once per model, after it was fit and chosen on
/// train and val, and never feeds back into any choice.
pub fn train(
    cfg: &TrainConfig,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<RunReport> {
    let t = Instant::now();
    progress(Progress::Stage("features"));
    let pass =
        |pass: &'static str, done: u64, total: u64| progress(Progress::Pass { pass, done, total });
    let caps = dataset::RowCaps {
        train: cfg.sample_train,
        val: cfg.sample_val,
        seed: cfg.seed,
    };
    let ds = heartbeat("features", progress, || {
        dataset::build_for_training(&cfg.dataset, caps, &pass)
    })?;
    let seconds = t.elapsed().as_secs_f64();
    let mut report = train_dataset(cfg, ds, progress, cancel)?;
    report.timings.insert(0, ("features".to_string(), seconds));
    Ok(report)
}

/// Train on a feature table already built.
pub fn train_dataset(
    cfg: &TrainConfig,
    ds: Dataset,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<RunReport> {
    let ks = cfg.ks()?;
    let mut timings = Vec::new();
    let (train, val, test) = Data::splits(&ds.table.df)?;
    for (split, d) in [(Split::Train, &train), (Split::Val, &val)] {
        two_classes(split, d)?;
    }
    let scaler = Scaler::fit(&train);
    let stats = RunStats::of(&ds, &train);
    progress(Progress::Stats(Box::new(stats.clone())));
    progress(Progress::Stage("models"));

    // Models fit side by side (rayon's pool; the ones that parallelise inside share it): the
    // MLPs are single-threaded, since their matrix products are too small to gain from a
    // second thread. Each fit depends only on its seed and the data, and outcomes are taken
    // in the configured order, so the run is the same whichever finishes first.
    use rayon::prelude::*;
    let outcomes: Vec<Result<Fitted>> = cfg
        .models
        .par_iter()
        .map(|name| fit_one(name, &train, &val, &test, cfg, &ks, progress, cancel))
        .collect();
    let mut results: Vec<ModelResult> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for outcome in outcomes {
        match outcome? {
            Fitted::Done(r) => {
                timings.push((format!("model {}", r.name), r.fit_seconds));
                results.push(*r);
            }
            Fitted::Failed(name, error) => failed.push((name, error)),
        }
    }
    if results.is_empty() {
        return Err(Error::Config(format!(
            "no model could be fit: {}",
            failed
                .iter()
                .map(|(m, e)| format!("{m}: {e}"))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    // The paired bootstrap (SPEC §4): the same resamples of each split for every model. It
    // sees val for the choice; test's intervals are reported, never used to choose.
    progress(Progress::Stage("intervals"));
    let t = Instant::now();
    let resampled = |d: &Data, salt: u64, scores: &dyn Fn(&ModelResult) -> &[f64]| {
        let s: Vec<&[f64]> = results.iter().map(scores).collect();
        resample_split(
            &s, &d.y, &d.users, &d.anchors, &ks, cfg.seed, salt, RESAMPLES,
        )
    };
    let val_rs = resampled(&val, 1, &|r| &r.val_scores);
    let test_rs = resampled(&test, 2, &|r| &r.test_scores);
    let names: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    let k_label = ks.first().map_or("5%".to_string(), |k| format!("{k}%"));
    let vals: Vec<&SplitEval> = results.iter().map(|r| &r.val).collect();
    let choice = choose(&names, &vals, &val_rs, &k_label)
        .ok_or_else(|| Error::Config("no model to choose from".into()))?;
    let ci = names.iter().position(|n| *n == choice.chosen).unwrap_or(0);
    for (i, r) in results.iter_mut().enumerate() {
        r.intervals = ModelIntervals {
            val: Some(Intervals::own(&val_rs[i], ks.len())),
            test: Some(Intervals::own(&test_rs[i], ks.len())),
            val_vs_chosen: Some(Intervals::difference(&val_rs[i], &val_rs[ci], ks.len())),
            test_vs_chosen: Some(Intervals::difference(&test_rs[i], &test_rs[ci], ks.len())),
        };
    }
    timings.push(("intervals".to_string(), t.elapsed().as_secs_f64()));
    let chosen = choice.chosen.clone();
    Ok(RunReport {
        config: cfg.clone(),
        dataset: ds,
        scaler,
        val,
        test,
        models: results,
        chosen,
        choice,
        failed,
        timings,
        stats,
    })
}

/// One model's outcome: fitted and scored, or left out with its reason.
enum Fitted {
    Done(Box<ModelResult>),
    Failed(String, String),
}

/// Fit model `name`, score val and test, and evaluate both. A failure of the model itself
/// (a crate bug, degenerate data, scores that are no probabilities) leaves it out with its
/// reason; only a cancel is an error.
#[allow(clippy::too_many_arguments)]
fn fit_one(
    name: &str,
    train: &Data,
    val: &Data,
    test: &Data,
    cfg: &TrainConfig,
    ks: &[KPct],
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<Fitted> {
    let fail = |error: String| {
        progress(Progress::ModelFailed {
            model: name.to_string(),
            error: error.clone(),
        });
        Ok(Fitted::Failed(name.to_string(), error))
    };
    // BG/NBD learns from each user's visit history, which only the log has: a table made
    // elsewhere leaves it out, said plainly, rather than fit it on nothing.
    if name == "bgnbd" && train.hist.is_empty() {
        return fail(
            "needs the event log (each user's visit history); a feature table made elsewhere \
             has none"
                .to_string(),
        );
    }
    let step = |done: usize, total: usize| {
        progress(Progress::Model {
            model: name.to_string(),
            done,
            total,
        })
    };
    let ctx = FitCtx {
        seed: cfg.seed,
        trials: cfg.trials,
        ks,
        cancel,
        progress: &step,
    };
    ctx.check_cancel()?;
    let t = Instant::now();
    let mut model = models::make(name)?;
    // A fit step or a prediction can run for many seconds with nothing to count (a
    // booster's single fit call): a heartbeat says every second that the model is working.
    let fitted = heartbeat(name, progress, || {
        model.fit(train, val, &ctx)?;
        Ok((model.predict(val)?, model.predict(test)?))
    });
    let (val_scores, test_scores) = match fitted {
        Ok(s) => s,
        Err(Error::Cancelled) => return Err(Error::Cancelled),
        // One family failing must not sink the others.
        Err(e) => return fail(e.to_string()),
    };
    // A score that is no probability (NaN from a degenerate fit) must not reach the run.
    if let Some(s) = val_scores
        .iter()
        .chain(&test_scores)
        .find(|s| !(0.0..=1.0).contains(*s))
    {
        return fail(format!("it scored {s}, which is not a probability"));
    }
    let seconds = t.elapsed().as_secs_f64();
    progress(Progress::ModelDone {
        model: name.to_string(),
        seconds,
    });
    Ok(Fitted::Done(Box::new(ModelResult {
        name: name.to_string(),
        params: model.params(),
        saved: model.save(),
        val: models::model::eval_on(&val_scores, val, ks),
        test: models::model::eval_on(&test_scores, test, ks),
        val_curve: thin_curve(pr_curve(&val_scores, &val.y), CURVE_POINTS),
        test_curve: thin_curve(pr_curve(&test_scores, &test.y), CURVE_POINTS),
        val_scores,
        test_scores,
        fit_seconds: seconds,
        intervals: ModelIntervals::default(),
    })))
}
