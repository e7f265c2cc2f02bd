//! Helpers of the targeting tests (`targeting_*.rs`): the target list rebuilt here from a
//! run's `scores.csv` and `eval.json`, independently of the engine (SPEC §5's order), small
//! hand-built runs, and the workbench opened on the Targets tab of a run.

use std::path::{Path, PathBuf};

use churn_tui::engine::dataset::stats::{DataInfo, FeatureStats, RunStats};
use churn_tui::engine::eval::KPct;
use churn_tui::engine::features::FEATURE_NAMES;
use churn_tui::engine::features::matrix::Data;
use churn_tui::engine::run::TrainConfig;
use churn_tui::engine::run::open::{LoadedRun, ModelView};
use churn_tui::engine::targeting::TierRule;
use churn_tui::engine::targeting::edits::Edits;
use churn_tui::engine::targeting::list::{ListSpec, TargetRow, target_rows};
use churn_tui::engine::targeting::phrases::Phrases;
use churn_tui::engine::targeting::report::write_report_file;
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::App;
use churn_tui::tui::effects;
use churn_tui::tui::theme::Theme;

use super::run_copy;

/// (user, score) of a model's test rows from the run's `scores.csv`.
pub fn test_scores(run: &Path, model: &str) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(run.join("scores.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == model && f[1] == "test")
                .then(|| (f[2].parse().unwrap(), f[5].parse().unwrap()))
        })
        .collect()
}

/// The model whose scores break `model`'s ties (SPEC §5), read from eval.json: of the other
/// models, the best val Lift@first K, then val PR-AUC, then the earlier.
pub fn runner_up(run: &Path, model: &str) -> String {
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    let mut best: Option<((f64, f64), String)> = None;
    for m in e["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap().to_string();
        let val = &m["splits"]["val"];
        let key = (
            val["at_k"][0]["lift"].as_f64().unwrap_or(0.0),
            val["pr_auc"].as_f64().unwrap_or(0.0),
        );
        if name != model && best.as_ref().is_none_or(|b| key > b.0) {
            best = Some((key, name));
        }
    }
    best.unwrap().1
}

/// (user, score) of a model's test rows in targeting order (SPEC §5), rebuilt here: score
/// descending; equal scores by the runner-up's score descending, then days_since_last_event
/// descending, then xxh3_64 of the user id (little-endian bytes) seeded with the run's seed.
pub fn ranked(run: &Path, model: &str) -> Vec<(i64, f64)> {
    let mut r = test_scores(run, model);
    let second: std::collections::HashMap<i64, f64> = test_scores(run, &runner_up(run, model))
        .into_iter()
        .collect();
    let loaded = LoadedRun::load(run).unwrap();
    let days = FEATURE_NAMES
        .iter()
        .position(|f| *f == "days_since_last_event")
        .unwrap();
    let recency: std::collections::HashMap<i64, f64> = loaded
        .test
        .users
        .iter()
        .zip(&loaded.test.cols[days])
        .map(|(&u, &d)| (u, d))
        .collect();
    let seed = loaded.config.seed;
    let hash = |u: i64| xxhash_rust::xxh3::xxh3_64_with_seed(&u.to_le_bytes(), seed);
    r.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(second[&b.0].total_cmp(&second[&a.0]))
            .then(recency[&b.0].total_cmp(&recency[&a.0]))
            .then(hash(a.0).cmp(&hash(b.0)))
    });
    r
}

/// The expected list: top k minus exclusions, then additions from below k in rank order.
pub fn expected(run: &Path, model: &str, k_bp: usize, edits: &Edits) -> Vec<(usize, i64, bool)> {
    let r = ranked(run, model);
    let k = (k_bp * r.len()).div_ceil(10_000);
    let mut out: Vec<(usize, i64, bool)> = r[..k]
        .iter()
        .enumerate()
        .filter(|(_, (u, _))| !edits.excluded.contains(u))
        .map(|(i, (u, _))| (i + 1, *u, false))
        .collect();
    let mut added: Vec<(usize, i64, bool)> = r
        .iter()
        .enumerate()
        .skip(k)
        .filter(|(_, (u, _))| edits.added.contains(u))
        .map(|(i, (u, _))| (i + 1, *u, true))
        .collect();
    added.sort();
    out.extend(added);
    out
}

pub fn spec<'a>(
    model: &'a str,
    k: KPct,
    tiers: &'a TierRule,
    edits: &'a Edits,
    phrases: &'a Phrases,
) -> ListSpec<'a> {
    ListSpec {
        model,
        cut: k.into(),
        tiers,
        edits,
        phrases,
        rank: &RISK,
    }
}

/// Lists ranked by risk (SPEC §5).
pub static RISK: churn_tui::engine::targeting::ranking::Ranking =
    churn_tui::engine::targeting::ranking::Ranking::Risk;

/// A one-model run (`name`) over `test` with these test scores (val the same), in `dir`.
pub fn one_model_run(dir: PathBuf, name: &str, test: Data, scores: Vec<f64>) -> LoadedRun {
    let n = test.users.len();
    let cfg = TrainConfig::default();
    let ks = cfg.ks().unwrap();
    let eval = churn_tui::engine::eval::evaluate(&scores, &test.y, &test.users, &test.anchors, &ks);
    let stats = RunStats {
        data: DataInfo {
            users: n as u64,
            lookback_days: 30,
            horizon_days: 30,
            ..Default::default()
        },
        labels: vec![],
        features: FeatureStats::of(&test),
        sample: None,
    };
    let test = std::sync::Arc::new(test);
    let view = ModelView::new(
        name.into(),
        serde_json::Value::Null,
        0.0,
        eval.clone(),
        eval,
        vec![],
        vec![],
        scores,
        &test,
    );
    LoadedRun::from_parts(
        dir,
        "t".into(),
        cfg,
        name.into(),
        vec![],
        stats,
        vec![view],
        test,
    )
    .unwrap()
}

pub fn app_on(run: &Path) -> App {
    let mut app = App::new(Theme::default(), 5);
    effects::open(&mut app, LoadedRun::load(run).unwrap());
    app.update(Action::GoTab(Tab::Targets));
    app.targets.page = 20;
    app.fill_reasons();
    app
}

pub fn list_for_export(run: &Path) -> (Vec<TargetRow>, Vec<(usize, i64, bool)>, TierRule) {
    let loaded = LoadedRun::load(run).unwrap();
    let model = loaded.chosen.clone();
    let r = ranked(run, &model);
    let mut edits = Edits::default();
    edits.toggle_exclude(r[1].0);
    edits.toggle_exclude(r[2].0);
    edits.add(r[300].0);
    let tiers = TierRule::default();
    let en = Phrases::load("en").unwrap();
    let rows = target_rows(
        &loaded,
        &spec(&model, KPct { bp: 1000 }, &tiers, &edits, &en),
    )
    .unwrap();
    (rows, expected(run, &model, 1000, &edits), tiers)
}

/// A copy of the fixture run whose hand edits (written as the file, not through `Edits`) add
/// the user the chosen model ranks last; that user and the ranking.
pub fn run_with_last_user_added() -> (tempfile::TempDir, PathBuf, String, Vec<(i64, f64)>, i64) {
    let (d, run) = run_copy();
    let model = LoadedRun::load(&run).unwrap().chosen;
    let r = ranked(&run, &model);
    let last = r[r.len() - 1].0;
    std::fs::write(
        run.join("edits.json"),
        format!("{{\"excluded\": [], \"added\": [{last}]}}"),
    )
    .unwrap();
    (d, run, model, r, last)
}

/// The report of the run's chosen model at 5% as the command writes it: the hand edits read
/// from the run's edits.json, default tiers, English reasons; the format from `out`'s name.
pub fn write_report_of(run: &Path, out: &Path) {
    let loaded = LoadedRun::load(run).unwrap();
    let edits = Edits::load_for(&loaded).unwrap();
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let model = loaded.chosen.clone();
    write_report_file(
        &loaded,
        &spec(&model, KPct { bp: 500 }, &tiers, &edits, &en),
        out,
        &Default::default(),
    )
    .unwrap();
}
