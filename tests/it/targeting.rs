//! Targeting (SPEC §5): reasons from the model's own attributions, percentiles, hand edits
//! that persist, exports that read back equal to the ranked list, and whole-or-nothing writes.
//! Expected lists are rebuilt here from the run's `scores.csv`, independently of the engine.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use churn_tui::engine::eval::KPct;
use churn_tui::engine::features::FEATURE_NAMES;
use churn_tui::engine::loaded_run::{LoadedRun, ModelView};
use churn_tui::engine::models::{Data, N_FEATURES};
use churn_tui::engine::run::TrainConfig;
use churn_tui::engine::stats::{DataInfo, FeatureStats, RunStats};
use churn_tui::engine::targeting::TierRule;
use churn_tui::engine::targeting::edits::{Edit, Edits};
use churn_tui::engine::targeting::export::{ExportFormat, export};
use churn_tui::engine::targeting::list::{ListSpec, TargetRow, target_rows};
use churn_tui::engine::targeting::phrases::Phrases;
use churn_tui::engine::targeting::reasons::reasons_for;
use churn_tui::engine::targeting::report::write_report_file;
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::{App, Effect, Write};
use churn_tui::tui::effects::{self, apply};
use churn_tui::tui::theme::Theme;
use common::{copy_dir, screen};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run")
}

/// A private copy of the fixture run (edits and exports write into it).
fn run_copy() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let to = d.path().join("run");
    copy_dir(&fixture(), &to);
    (d, to)
}

/// (user, score) of a model's test rows from the run's `scores.csv`.
fn test_scores(run: &Path, model: &str) -> Vec<(i64, f64)> {
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
fn runner_up(run: &Path, model: &str) -> String {
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
fn ranked(run: &Path, model: &str) -> Vec<(i64, f64)> {
    let mut r = test_scores(run, model);
    let second: std::collections::HashMap<i64, f64> = test_scores(run, &runner_up(run, model))
        .into_iter()
        .collect();
    let wb = LoadedRun::load(run).unwrap();
    let days = FEATURE_NAMES
        .iter()
        .position(|f| *f == "days_since_last_event")
        .unwrap();
    let recency: std::collections::HashMap<i64, f64> = wb
        .test
        .users
        .iter()
        .zip(&wb.test.cols[days])
        .map(|(&u, &d)| (u, d))
        .collect();
    let seed = wb.config.seed;
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
fn expected(run: &Path, model: &str, k_bp: usize, edits: &Edits) -> Vec<(usize, i64, bool)> {
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

fn spec<'a>(
    model: &'a str,
    k: KPct,
    tiers: &'a TierRule,
    edits: &'a Edits,
    phrases: &'a Phrases,
) -> ListSpec<'a> {
    ListSpec {
        model,
        k,
        tiers,
        edits,
        phrases,
    }
}

// ---------------------------------------------------------------- reasons

/// A row at the test population's medians with one feature pushed to `v`.
fn one_extreme(wb: &LoadedRun, feature: usize, v: f64) -> Data {
    let mut cols: Vec<Vec<f64>> = wb.medians().iter().map(|&m| vec![m]).collect();
    cols[feature][0] = v;
    Data {
        cols,
        y: vec![true],
        users: vec![1],
        anchors: vec![wb.test.anchors[0]],
        hist: vec![],
    }
}

#[test]
fn one_extreme_feature_is_the_top_reason_for_logreg_and_gbdt() {
    let wb = LoadedRun::load(&fixture()).unwrap();
    let max = |j: usize| wb.test.cols[j].iter().copied().fold(f64::MIN, f64::max);
    // Long silence: days_since_last_event at the population's maximum, everything else at the
    // median. (activity_ratio_15d and activity_trend are exactly collinear, so a linear model
    // may split their weight either way; they make no fair single-feature test.)
    for (feature, value) in [(4usize, max(4))] {
        for model in ["logreg", "gbdt"] {
            let m = wb.fitted(model).unwrap();
            let x = one_extreme(&wb, feature, value);
            let attr = m.contributions(&x).expect("model attributions");
            let rs = reasons_for(&attr[0], &x.row(0), |j, v| wb.shares(j, v));
            assert_eq!(
                rs.first().map(|r| r.feature),
                Some(feature),
                "{model}: {} = {value} should lead, got {:?}",
                FEATURE_NAMES[feature],
                rs
            );
        }
    }
}

#[test]
fn logreg_attributions_sum_to_the_log_odds() {
    // coef × z over the features plus the intercept is the model's logit: an independent check
    // through predict().
    let wb = LoadedRun::load(&fixture()).unwrap();
    let m = wb.fitted("logreg").unwrap();
    let rows: Vec<usize> = (0..20).collect();
    let x = wb.test.select(&rows);
    let attr = m.contributions(&x).unwrap();
    let p = m.predict(&x).unwrap();
    let intercept: Vec<f64> = attr
        .iter()
        .zip(&p)
        .map(|(a, p)| (p / (1.0 - p)).ln() - a.iter().sum::<f64>())
        .collect();
    for b in &intercept {
        assert!((b - intercept[0]).abs() < 1e-9, "{intercept:?}");
    }
}

/// A one-model run (`name`) over `test` with these test scores (val the same), in `dir`.
fn one_model_run(dir: PathBuf, name: &str, test: Data, scores: Vec<f64>) -> LoadedRun {
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

fn tiny_workbench(values: &[f64]) -> LoadedRun {
    let n = values.len();
    let test = Data {
        cols: (0..N_FEATURES).map(|_| values.to_vec()).collect(),
        y: vec![false; n],
        users: (0..n as i64).collect(),
        anchors: vec![0; n],
        hist: vec![],
    };
    one_model_run(std::env::temp_dir(), "m", test, vec![0.5; n])
}

/// The Targets tab's counts are grouped by thousands, as the analyst reads them.
#[test]
fn the_targets_header_groups_counts_by_thousands() {
    let n = 24_000;
    let mut app = App::new(Theme::default(), 1);
    effects::open(&mut app, tiny_workbench(&vec![1.0; n]));
    app.update(Action::GoTab(Tab::Targets));
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(110, 20)).unwrap();
    app.targets.page = churn_tui::tui::ui::target_page(20);
    app.fill_reasons();
    term.draw(|f| churn_tui::tui::ui::render(&app, f)).unwrap();
    let buf = term.backend().buffer();
    let text: String = (0..20)
        .map(|y| (0..110).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect();
    // Top 5% of 24,000 is 1,200; the default tiers reach 5%, 15% and 30%, so they hold
    // 1,200, 2,400 and 3,600 users.
    for want in [
        "of 24,000 users",
        "k = 1,200",
        "Emergency 1,200  Warning 2,400  Potential 3,600",
        "of 1,200",
    ] {
        assert!(text.contains(want), "`{want}` not on screen:\n{text}");
    }
}

#[test]
fn percentiles_on_a_hand_built_population() {
    // Ten users: 1,2,2,3,3,3,4,5,8,20.
    let wb = tiny_workbench(&[3.0, 1.0, 2.0, 20.0, 3.0, 5.0, 2.0, 3.0, 8.0, 4.0]);
    // Value 3: 3 below (1,2,2), 4 above (4,5,8,20).
    assert_eq!(wb.shares(0, 3.0), (0.3, 0.4));
    // Value 20: 9 below, none above; value 1: none below, 9 above.
    assert_eq!(wb.shares(0, 20.0), (0.9, 0.0));
    assert_eq!(wb.shares(0, 1.0), (0.0, 0.9));
    // Between values: 2.5 has 3 below and 7 above.
    assert_eq!(wb.shares(0, 2.5), (0.3, 0.7));
    let en = Phrases::load("en").unwrap();
    let (b, a) = wb.shares(1, 1.0);
    assert_eq!(
        en.sentence(1, 1.0, b, a),
        "active on 1 of the last 30 days — lower than 90% of users"
    );
    let (b, a) = wb.shares(0, 20.0);
    assert_eq!(
        en.sentence(0, 20.0, b, a),
        "20 events in the last 30 days — higher than 90% of users"
    );
}

// ---------------------------------------------------------------- lists and exports

#[test]
fn target_list_with_edits_matches_an_independent_ranking() {
    let (_d, run) = run_copy();
    let wb = LoadedRun::load(&run).unwrap();
    let model = wb.chosen.clone();
    let r = ranked(&run, &model);
    let mut edits = Edits::default();
    edits.toggle_exclude(r[0].0);
    edits.toggle_exclude(r[3].0);
    edits.add(r[200].0);
    edits.add(r[100].0);
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let rows = target_rows(&wb, &spec(&model, KPct { bp: 1000 }, &tiers, &edits, &en)).unwrap();
    let want = expected(&run, &model, 1000, &edits);
    let got: Vec<(usize, i64, bool)> = rows.iter().map(|r| (r.rank, r.user_id, r.edited)).collect();
    assert_eq!(got, want);
    let k = (1000 * r.len()).div_ceil(10_000);
    assert_eq!(rows.len(), k - 2 + 2, "k − exclusions + additions");
    // Tiers by rank: the 5% cut is ceil(5·N/100); an added user below every tier (the 30%
    // cut) is `added`, with the last tier's offer.
    let cut5 = (500 * r.len()).div_ceil(10_000);
    let cut30 = (3000 * r.len()).div_ceil(10_000);
    assert!(
        rows.iter().any(|x| x.rank > cut30),
        "the rank-201 user is below every tier"
    );
    for row in &rows {
        let (want_tier, want_offer) = if row.rank <= cut5 {
            ("Emergency", "30% coupon")
        } else if row.rank <= (1500 * r.len()).div_ceil(10_000) {
            ("Warning", "15–20% discount")
        } else if row.rank <= cut30 {
            ("Potential", "10% discount or free shipping")
        } else {
            ("added", "10% discount or free shipping")
        };
        assert_eq!(
            (row.tier.as_str(), row.offer.as_str()),
            (want_tier, want_offer),
            "{row:?}"
        );
        assert!(row.reasons.len() <= 3);
    }
    // Adding a user who was not scored is refused, naming them.
    let mut bad = Edits::default();
    bad.add(42);
    let e = target_rows(&wb, &spec(&model, KPct { bp: 500 }, &tiers, &bad, &en))
        .unwrap_err()
        .to_string();
    assert!(e.contains("42"), "{e}");
}

fn list_for_export(run: &Path) -> (Vec<TargetRow>, Vec<(usize, i64, bool)>, TierRule) {
    let wb = LoadedRun::load(run).unwrap();
    let model = wb.chosen.clone();
    let r = ranked(run, &model);
    let mut edits = Edits::default();
    edits.toggle_exclude(r[1].0);
    edits.toggle_exclude(r[2].0);
    edits.add(r[300].0);
    let tiers = TierRule::default();
    let en = Phrases::load("en").unwrap();
    let rows = target_rows(&wb, &spec(&model, KPct { bp: 1000 }, &tiers, &edits, &en)).unwrap();
    (rows, expected(run, &model, 1000, &edits), tiers)
}

#[test]
fn exports_read_back_equal_to_the_list() {
    let (d, run) = run_copy();
    let (rows, want, tiers) = list_for_export(&run);
    assert_eq!(
        rows.iter()
            .map(|r| (r.rank, r.user_id, r.edited))
            .collect::<Vec<_>>(),
        want
    );

    // CSV, with the csv crate.
    let p = d.path().join("t.csv");
    export(&rows, &tiers, ExportFormat::Csv, &p).unwrap();
    let mut rd = csv::Reader::from_path(&p).unwrap();
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "rank", "user_id", "anchor", "score", "tier", "offer", "reasons", "edited"
        ]
    );
    let back: Vec<(usize, i64, bool, f64, String)> = rd
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].parse().unwrap(),
                r[1].parse().unwrap(),
                r[7].parse().unwrap(),
                r[3].parse().unwrap(),
                r[6].to_string(),
            )
        })
        .collect();
    assert_eq!(back.len(), rows.len());
    for (b, r) in back.iter().zip(&rows) {
        assert_eq!((b.0, b.1, b.2), (r.rank, r.user_id, r.edited));
        assert_eq!(b.3, r.score, "shortest round-trip floats");
        assert_eq!(b.4, r.reasons.join(" | "));
    }

    // JSON.
    let p = d.path().join("t.json");
    export(&rows, &tiers, ExportFormat::Json, &p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), rows.len());
    for (j, r) in arr.iter().zip(&rows) {
        assert_eq!(j["user_id"].as_i64(), Some(r.user_id));
        assert_eq!(j["rank"].as_u64(), Some(r.rank as u64));
        assert_eq!(j["edited"].as_bool(), Some(r.edited));
        assert_eq!(
            j["reasons"].as_array().map(|a| a.len()),
            Some(r.reasons.len())
        );
        assert_eq!(j["anchor"].as_str(), Some("2020-04-01T00:00:00Z"));
    }

    // Parquet, with polars.
    use polars::prelude::*;
    let p = d.path().join("t.parquet");
    export(&rows, &tiers, ExportFormat::Parquet, &p).unwrap();
    let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), rows.len());
    let users: Vec<i64> = df
        .column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(users, rows.iter().map(|r| r.user_id).collect::<Vec<_>>());
    let edited: Vec<bool> = df
        .column("edited")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(edited, rows.iter().map(|r| r.edited).collect::<Vec<_>>());
    let tier: Vec<String> = df
        .column("tier")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert_eq!(
        tier,
        rows.iter().map(|r| r.tier.clone()).collect::<Vec<_>>()
    );

    // XLSX, with calamine.
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let p = d.path().join("t.xlsx");
    export(&rows, &tiers, ExportFormat::Xlsx, &p).unwrap();
    let mut x: Xlsx<_> = open_workbook(&p).unwrap();
    let range = x.worksheet_range("targets").unwrap();
    let all: Vec<Vec<Cell>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(all.len(), rows.len() + 1, "header + rows");
    assert_eq!(all[0][1], Cell::String("user_id".into()));
    for (c, r) in all[1..].iter().zip(&rows) {
        assert_eq!(c[0], Cell::Float(r.rank as f64));
        assert_eq!(c[1], Cell::Float(r.user_id as f64));
        // The anchor is a date cell: Excel's serial day, 25,569 at 1970-01-01 00:00 UTC.
        match &c[2] {
            Cell::DateTime(t) => {
                assert!(t.is_datetime());
                let want = r.anchor as f64 / 86_400e6 + 25_569.0;
                assert!((t.as_f64() - want).abs() < 1e-9, "{} vs {want}", t.as_f64());
            }
            c => panic!("the anchor is no date cell: {c:?}"),
        }
        assert_eq!(c[4], Cell::String(r.tier.clone()));
        assert_eq!(c[7], Cell::Bool(r.edited));
    }
}

#[test]
fn an_interrupted_write_leaves_the_old_file_and_no_temp() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("targets.csv");
    std::fs::write(&p, "old contents\n").unwrap();
    // Every export goes through write_atomic; fail it halfway through the rows.
    let r = churn_tui::engine::atomic::write_atomic(&p, |w| {
        use std::io::Write;
        writeln!(w, "rank,user_id")?;
        writeln!(w, "1,2")?;
        Err(std::io::Error::other("disk full (simulated)"))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "old contents\n");
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec!["targets.csv".to_string()], "no temp file left");
    // An export to a directory that does not exist fails and writes nothing.
    let (rows, _, tiers) = list_for_export(&run_copy().1);
    let bad = d.path().join("no/such/dir/t.xlsx");
    assert!(export(&rows, &tiers, ExportFormat::Xlsx, &bad).is_err());
    assert!(!bad.exists());
}

// ---------------------------------------------------------------- edits that persist

fn app_on(run: &Path) -> App {
    let mut app = App::new(Theme::default(), 5);
    effects::open(&mut app, LoadedRun::load(run).unwrap());
    app.update(Action::GoTab(Tab::Targets));
    app.targets.page = 20;
    app.fill_reasons();
    app
}

#[test]
fn edits_are_saved_as_made_and_survive_a_kill() {
    let (_d, run) = run_copy();
    let model = LoadedRun::load(&run).unwrap().chosen;
    let r = ranked(&run, &model);
    let mut app = app_on(&run);
    // Exclude ranks 2 and 4, add the user at rank 150 (below the 5% cut).
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Exclude);
    assert!(app.notice.as_ref().unwrap().text.ends_with("— saved"));
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Exclude);
    apply(&mut app, Action::AddUser);
    for c in r[149].0.to_string().chars() {
        app.type_char(c);
    }
    apply(&mut app, Action::Enter);
    // Each edit is on disk the moment it is shown as saved: read the file now, while the app
    // still lives, then drop the app without any shutdown (what a kill leaves behind).
    let on_disk = Edits::load(&run).unwrap();
    assert_eq!(on_disk.excluded, BTreeSet::from([r[1].0, r[3].0]));
    assert_eq!(on_disk.added, vec![r[149].0]);
    drop(app);

    let mut again = app_on(&run);
    assert_eq!(again.targets.edits, on_disk, "reloaded intact");
    let k = (500 * r.len()).div_ceil(10_000);
    assert_eq!(
        again.list_len(),
        k + 1,
        "top k rows shown (2 marked) plus the added one"
    );
    let rows = again.target_list().unwrap();
    assert_eq!(rows.len(), k - 2 + 1);
    assert_eq!(
        rows.iter()
            .map(|x| (x.rank, x.user_id, x.edited))
            .collect::<Vec<_>>(),
        expected(&run, &model, 500, &on_disk)
    );
    // Including a user again is an edit too.
    apply(&mut again, Action::Top);
    apply(&mut again, Action::Down);
    apply(&mut again, Action::Exclude);
    assert_eq!(
        Edits::load(&run).unwrap().excluded,
        BTreeSet::from([r[3].0])
    );
}

#[test]
fn the_export_popup_writes_the_chosen_format() {
    let (_d, run) = run_copy();
    let mut app = app_on(&run);
    apply(&mut app, Action::Export);
    let default = app.input.as_ref().unwrap().text.clone();
    assert!(default.ends_with("targets-top5.csv"), "{default}");
    // Tab cycles the extension: csv → json → parquet → xlsx.
    for _ in 0..3 {
        app.cycle_export_format();
    }
    let path = app.input.as_ref().unwrap().text.clone();
    assert!(path.ends_with("targets-top5.xlsx"), "{path}");
    apply(&mut app, Action::Enter);
    let note = app.notice.clone().unwrap();
    assert!(
        !note.error && note.text.contains("targets-top5.xlsx"),
        "{note:?}"
    );
    use calamine::{Reader, Xlsx, open_workbook};
    let mut x: Xlsx<_> = open_workbook(&path).unwrap();
    let k = app.k_rows();
    assert_eq!(x.worksheet_range("targets").unwrap().height(), k + 1);
}

#[test]
fn update_only_asks_for_writes_and_perform_does_them() {
    let (_d, run) = run_copy();
    let mut app = app_on(&run);
    let before = Edits::load(&run).unwrap();
    // An edit comes back as a write for the loop; the file is untouched until it is performed.
    let fx = app.update(Action::Exclude);
    let user = *app.targets.edits.excluded.first().unwrap();
    let w = Write::Edits {
        what: format!("user {user} excluded"),
        edit: Edit::Exclude(user),
    };
    assert_eq!(fx, vec![Effect::Write(w.clone())]);
    assert_eq!(
        Edits::load(&run).unwrap(),
        before,
        "update alone writes nothing"
    );
    let outcome = effects::perform(&mut app, &w);
    assert!(
        !outcome.error && outcome.text.ends_with("— saved"),
        "{outcome:?}"
    );
    assert_eq!(Edits::load(&run).unwrap(), app.targets.edits);
    app.done(outcome.clone());
    assert_eq!(app.notice, Some(outcome));

    // The export path typed comes back as a write; nothing exists until it is performed.
    app.update(Action::Export);
    let path = PathBuf::from(&app.input.as_ref().unwrap().text);
    let fx = app.update(Action::Enter);
    assert_eq!(fx, vec![Effect::Write(Write::Export(path.clone()))]);
    assert!(!path.exists());
    let outcome = effects::perform(&mut app, &Write::Export(path.clone()));
    assert!(!outcome.error, "{outcome:?}");
    assert!(path.exists());

    // So does the report.
    assert_eq!(
        app.update(Action::Report),
        vec![Effect::Write(Write::Report)]
    );
    let report = run.join("report-top5.md");
    assert!(!report.exists());
    let outcome = effects::perform(&mut app, &Write::Report);
    assert!(!outcome.error, "{outcome:?}");
    assert!(report.exists());
}

#[test]
fn an_export_whose_write_fails_shows_a_notice_and_changes_nothing() {
    let (d, run) = run_copy();
    let mut app = app_on(&run);
    app.update(Action::GoTab(Tab::Targets));
    // The export's name is taken by a directory with something in it.
    let taken = d.path().join("taken.csv");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), "kept").unwrap();
    let listing = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let (outside, inside) = (listing(d.path()), listing(&run));
    let (k, edits, sel) = (app.targets.k, app.targets.edits.clone(), app.targets.sel);

    app.update(Action::Export);
    app.input.as_mut().unwrap().text = taken.display().to_string();
    let rest = apply(&mut app, Action::Enter);
    assert!(rest.is_empty());
    let notice = app.notice.clone().expect("a notice");
    assert!(
        notice.error && notice.text.starts_with("export failed"),
        "{notice:?}"
    );
    // Nothing moved: the directory and its file, the run, no temp file left, the list as it was.
    assert!(taken.is_dir());
    assert_eq!(
        std::fs::read_to_string(taken.join("keep.txt")).unwrap(),
        "kept"
    );
    assert_eq!(listing(d.path()), outside);
    assert_eq!(listing(&run), inside);
    assert_eq!(
        (app.targets.k, &app.targets.edits, app.targets.sel),
        (k, &edits, sel)
    );
}

#[test]
fn a_stray_temp_file_from_a_killed_save_does_not_hide_the_saved_edits() {
    let (_d, run) = run_copy();
    let mut e = Edits::default();
    e.toggle_exclude(7);
    e.save(&run).unwrap();
    // A save killed before its rename leaves a partial temp file beside edits.json.
    std::fs::write(run.join(".churn-tui-x.tmp"), "{\"excluded\": [8").unwrap();
    assert_eq!(Edits::load(&run).unwrap(), e);
}

// ---------------------------------------------------------------- the real binary

fn bin() -> Command {
    let mut c = Command::cargo_bin("churn-tui").unwrap();
    c.env("RUST_BACKTRACE", "0");
    c
}

#[test]
fn export_and_report_commands() {
    let (d, run) = run_copy();
    let model = LoadedRun::load(&run).unwrap().chosen;
    let r = ranked(&run, &model);
    let mut edits = Edits::default();
    edits.toggle_exclude(r[0].0);
    edits.add(r[400].0);
    edits.save(&run).unwrap();

    let out = d.path().join("list.xlsx");
    bin()
        .args([
            "export",
            "--run",
            run.to_str().unwrap(),
            "--k",
            "10",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    use calamine::{Reader, Xlsx, open_workbook};
    let mut x: Xlsx<_> = open_workbook(&out).unwrap();
    let rows = x.worksheet_range("targets").unwrap().height() - 1;
    let k = (1000 * r.len()).div_ceil(10_000);
    assert_eq!(rows, k - 1 + 1);

    // --tiers: down to the widest tier (30%), with offers.
    let out = d.path().join("tiers.csv");
    bin()
        .args([
            "export",
            "--run",
            run.to_str().unwrap(),
            "--tiers",
            "--format",
            "csv",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let k30 = (3000 * r.len()).div_ceil(10_000);
    assert_eq!(text.lines().count(), 1 + k30 - 1 + 1);
    assert!(text.contains("30% coupon") && text.contains("free shipping"));

    // Korean reasons.
    let out = d.path().join("ko.json");
    bin()
        .args([
            "export",
            "--run",
            run.to_str().unwrap(),
            "--lang",
            "ko",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    // Korean reasons, and the default tiers and offers in Korean too.
    let ko = std::fs::read_to_string(&out).unwrap();
    assert!(ko.contains("사용자의"), "{ko}");
    assert!(
        ko.contains("\"tier\": \"긴급\"") && ko.contains("30% 쿠폰"),
        "{ko}"
    );
    assert!(!ko.contains("Emergency") && !ko.contains("coupon"), "{ko}");
    let out = d.path().join("ko.md");
    bin()
        .args([
            "report",
            "--run",
            run.to_str().unwrap(),
            "--lang",
            "ko",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let rep = std::fs::read_to_string(&out).unwrap();
    for want in [
        "| 긴급 | top 5% |",
        "| 30% 쿠폰 |",
        "| 잠재 | top 30% |",
        "무료 배송",
    ] {
        assert!(
            rep.contains(want),
            "`{want}` not in the Korean report:\n{rep}"
        );
    }

    // The report.
    let out = d.path().join("report.md");
    bin()
        .args([
            "report",
            "--run",
            run.to_str().unwrap(),
            "--k",
            "5",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let rep = std::fs::read_to_string(&out).unwrap();
    for section in [
        "## Data",
        "## Model",
        "## Target list",
        "## Why these users",
        "Three representative users",
    ] {
        assert!(rep.contains(section), "{section} missing:\n{rep}");
    }
    let k5 = (500 * r.len()).div_ceil(10_000);
    assert!(
        rep.contains(&format!("k = {k5} of {} users", r.len())),
        "{rep}"
    );
    assert!(rep.contains("1 excluded, 1 added"), "{rep}");

    // A bad tier config names the file; an unknown format is refused; nothing is written.
    let cfg = d.path().join("tiers.toml");
    std::fs::write(
        &cfg,
        "[[tiers]]\nname = \"A\"\ntop_pct = 200\noffer = \"x\"\n",
    )
    .unwrap();
    let out = d.path().join("never.csv");
    let a = bin()
        .args(["export", "--run", run.to_str().unwrap(), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("tiers.toml") && err.contains("top_pct"),
        "{err}"
    );
    assert!(!out.exists());
    let a = bin()
        .args(["export", "--run", run.to_str().unwrap(), "--out"])
        .arg(d.path().join("x.txt"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("x.txt") && err.contains(".xlsx"), "{err}");
}

/// A run trained from the workbench keeps the analyst's work: the hand edits (saved into the
/// new run at once), the targeting model and K; an edit naming a user the new run does not
/// score is listed in the notice, not dropped silently.
#[test]
fn retraining_carries_the_edits_and_the_targeting_choice_over() {
    let (d, run) = run_copy();
    let mut app = app_on(&run);
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Exclude);
    let excluded = *app.targets.edits.excluded.first().unwrap();
    // A user no new run will score (edits are checked on load, so put it in by hand).
    app.targets.edits.added.push(999_999_999);
    app.targets.pick("tree".into());
    app.targets.k = KPct { bp: 1250 };

    // The "new" run: the same fixture in another directory, no edits of its own.
    let new_dir = d.path().join("new-run");
    copy_dir(&fixture(), &new_dir);
    effects::open_retrained(&mut app, LoadedRun::load(&new_dir).unwrap());

    assert_eq!(app.wb.as_ref().unwrap().dir, new_dir);
    assert!(app.targets.edits.excluded.contains(&excluded));
    assert!(!app.targets.edits.added.contains(&999_999_999));
    assert_eq!(
        Edits::load(&new_dir).unwrap(),
        app.targets.edits,
        "saved at once"
    );
    assert_eq!(app.targets.model.as_deref(), Some("tree"));
    assert_eq!(app.targets.k, KPct { bp: 1250 });
    let notice = app.notice.clone().unwrap();
    assert!(!notice.error, "{notice:?}");
    assert!(
        notice.text.contains("1 hand edit carried over from run"),
        "{notice:?}"
    );
    assert!(
        notice.text.contains("targeting still by tree"),
        "{notice:?}"
    );
    assert!(
        notice.text.contains("1 edit no longer applies") && notice.text.contains("999999999"),
        "{notice:?}"
    );
}

// ---------------------------------------------------------------- the campaign report

/// A copy of the fixture run whose hand edits (written as the file, not through `Edits`) add
/// the user the chosen model ranks last; that user and the ranking.
fn run_with_last_user_added() -> (tempfile::TempDir, PathBuf, String, Vec<(i64, f64)>, i64) {
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
fn write_report_of(run: &Path, out: &Path) {
    let wb = LoadedRun::load(run).unwrap();
    let edits = Edits::load_for(&wb).unwrap();
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let model = wb.chosen.clone();
    write_report_file(
        &wb,
        &spec(&model, KPct { bp: 500 }, &tiers, &edits, &en),
        out,
    )
    .unwrap();
}

#[test]
fn the_reports_representative_users_are_on_the_models_list_not_added_by_hand() {
    let (d, run, model, r, added) = run_with_last_user_added();
    let out = d.path().join("report.md");
    write_report_of(&run, &out);
    let rep = std::fs::read_to_string(&out).unwrap();
    assert!(rep.contains("0 excluded, 1 added"), "{rep}");
    // Counts are grouped by thousands (the fixture's log has between 1,000 and 999,999 events).
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("stats.json")).unwrap()).unwrap();
    let events = stats["data"]["events"].as_u64().unwrap();
    assert!((1000..1_000_000).contains(&events));
    let grouped = format!("{},{:03}", events / 1000, events % 1000);
    // In the one wording of the CLI's summary and the Labels tab: read, in scope, dropped, used.
    assert!(
        rep.contains("- Events: ") && rep.contains(&format!("duplicates dropped, {grouped} used")),
        "{rep}"
    );
    // The model's own list: the top 5% of its ranking (the added user is far below it).
    let edits = Edits {
        added: vec![added],
        ..Default::default()
    };
    let list = expected(&run, &model, 500, &edits);
    assert_eq!(list.last().map(|x| (x.1, x.2)), Some((added, true)));
    let own: Vec<i64> = list.iter().filter(|x| !x.2).map(|x| x.1).collect();
    assert_eq!(own.len(), (500 * r.len()).div_ceil(10_000));
    let want = [
        ("top", own[0]),
        ("middle", own[own.len() / 2]),
        ("last", own[own.len() - 1]),
    ];
    for (what, user) in want {
        assert!(
            rep.contains(&format!("- **{what}: user {user}** — rank ")),
            "{what} should be user {user}:\n{rep}"
        );
    }
    assert!(
        !rep.contains(&format!("user {added}**")),
        "the added user is no representative:\n{rep}"
    );
}

#[test]
fn the_xlsx_report_has_summary_targets_and_leaderboard_sheets() {
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let (d, run, model, r, added) = run_with_last_user_added();
    let xlsx = d.path().join("report.xlsx");
    write_report_of(&run, &xlsx);
    // The list expected from scores.csv, and the first row of the CSV export.
    let edits = Edits {
        added: vec![added],
        ..Default::default()
    };
    let want: Vec<String> = expected(&run, &model, 500, &edits)
        .iter()
        .map(|x| x.1.to_string())
        .collect();
    let csv = d.path().join("list.csv");
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let wb = LoadedRun::load(&run).unwrap();
    let rows = target_rows(&wb, &spec(&model, KPct { bp: 500 }, &tiers, &edits, &en)).unwrap();
    export(&rows, &tiers, ExportFormat::Csv, &csv).unwrap();
    let csv_first = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();

    let mut x: Xlsx<_> = open_workbook(&xlsx).unwrap();
    assert_eq!(x.sheet_names(), ["Summary", "Targets", "Leaderboard"]);

    // Summary: label in column A, value in B.
    let summary = x.worksheet_range("Summary").unwrap();
    let value = |label: &str| -> Cell {
        summary
            .rows()
            .find(|row| row.first() == Some(&Cell::String(label.into())))
            .unwrap_or_else(|| panic!("no {label} row"))[1]
            .clone()
    };
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["chosen_model"].as_str().unwrap(), model);
    assert_eq!(value("Model"), Cell::String(model.clone()));
    let why = eval["choice"]["why"].as_str().unwrap();
    match value("Why") {
        Cell::String(s) => assert!(s.contains(why), "{s}"),
        c => panic!("{c:?}"),
    }
    let k5 = (500 * r.len()).div_ceil(10_000);
    assert_eq!(value("Users targeted (k)"), Cell::Float(k5 as f64));
    // The event counts as the summary and the Labels tab word them, from stats.json.
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("stats.json")).unwrap()).unwrap();
    let (read, dups, used) = (
        stats["data"]["rows_read"].as_f64().unwrap(),
        stats["data"]["duplicates"].as_f64().unwrap(),
        stats["data"]["events"].as_f64().unwrap(),
    );
    assert_eq!(value("Events read"), Cell::Float(read));
    assert_eq!(value("Events in scope"), Cell::Float(used + dups));
    assert_eq!(value("Duplicates dropped"), Cell::Float(dups));
    assert_eq!(value("Events used"), Cell::Float(used));
    assert_eq!(value("Added by hand"), Cell::Float(1.0));
    assert_eq!(value("Users to contact"), Cell::Float(want.len() as f64));
    // Dormant caught in the top k, counted from scores.csv's labels.
    let text = std::fs::read_to_string(run.join("scores.csv")).unwrap();
    let dormant: BTreeSet<i64> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == model && f[1] == "test" && f[4] == "1").then(|| f[2].parse().unwrap())
        })
        .collect();
    let caught = r[..k5].iter().filter(|(u, _)| dormant.contains(u)).count();
    assert_eq!(value("Dormant among them"), Cell::Float(caught as f64));
    assert_eq!(
        value("All dormant users"),
        Cell::Float(dormant.len() as f64)
    );

    // Targets: the rows `export` writes, the added user last.
    let targets: Vec<Vec<Cell>> = x
        .worksheet_range("Targets")
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(targets[0][1], Cell::String("user_id".into()));
    let users: Vec<String> = targets[1..]
        .iter()
        .map(|row| match &row[1] {
            Cell::Float(v) => format!("{}", *v as i64),
            c => panic!("{c:?}"),
        })
        .collect();
    assert_eq!(users, want);
    assert_eq!(users[0], csv_first);
    let last = targets.last().unwrap();
    assert_eq!(last[1], Cell::Float(added as f64));
    assert_eq!(last[7], Cell::Bool(true));

    // Leaderboard: one row per model of eval.json, in its order, the chosen one marked.
    let board: Vec<Vec<Cell>> = x
        .worksheet_range("Leaderboard")
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect();
    let models = eval["models"].as_array().unwrap();
    assert_eq!(board[0][2], Cell::String("val PR-AUC".into()));
    assert_eq!(board[0][3], Cell::String("val Lift@5%".into()));
    for (i, m) in models.iter().enumerate() {
        let row = &board[i + 1];
        let name = m["name"].as_str().unwrap();
        assert_eq!(row[0], Cell::String(name.into()));
        assert_eq!(row[1], Cell::Bool(name == model));
        let val = &m["splits"]["val"];
        assert_eq!(row[2], Cell::Float(val["pr_auc"].as_f64().unwrap()));
        assert_eq!(
            row[3],
            Cell::Float(val["at_k"][0]["lift"].as_f64().unwrap())
        );
        assert_eq!(
            row[5],
            Cell::Float(val["at_k"][0]["recall"].as_f64().unwrap())
        );
    }
    assert!(
        board.len() == models.len() + 1,
        "no other rows: the fixture has no failed models"
    );
}

#[test]
fn a_report_of_another_extension_is_refused_and_nothing_written() {
    let (d, run) = run_copy();
    let out = d.path().join("report.txt");
    let a = bin()
        .args(["report", "--run", run.to_str().unwrap(), "--out"])
        .arg(&out)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("report.txt") && err.contains(".md or .xlsx"),
        "{err}"
    );
    assert!(!out.exists());
    // An XLSX report into a directory that does not exist fails and writes nothing.
    let bad = d.path().join("no/such/dir/report.xlsx");
    bin()
        .args(["report", "--run", run.to_str().unwrap(), "--out"])
        .arg(&bad)
        .assert()
        .failure();
    assert!(!bad.exists());
}

// ---------------------------------------------------------------- ties at the cut (issue 29)

/// A one-model run of 30,480 users shaped like the issue's: 41 users above a group of 6,876
/// sharing one score, the rest below; four in five dormant. Recency (every feature) grows
/// with the user id, so the tie is broken by it: the largest ids first.
fn tie_workbench() -> LoadedRun {
    let n = 30_480usize;
    let score = |i: usize| {
        if i < 41 {
            0.99 - i as f64 * 1e-4
        } else if i < 41 + 6_876 {
            0.9
        } else {
            0.5 - i as f64 * 1e-6
        }
    };
    let scores: Vec<f64> = (0..n).map(score).collect();
    let test = Data {
        cols: (0..N_FEATURES)
            .map(|_| (0..n).map(|i| i as f64 / 1000.0).collect())
            .collect(),
        y: (0..n).map(|i| i % 5 != 0).collect(),
        users: (0..n as i64).collect(),
        anchors: vec![0; n],
        hist: vec![],
    };
    one_model_run(tempfile::tempdir().unwrap().keep(), "tree", test, scores)
}

/// K cutting a tie group: the Targets header says how many of how many tied users were taken
/// and by what; at 80x24 each header line that does not fit ends with `…`; a user added from
/// below every tier shows as `added`, not as the last tier.
#[test]
fn a_cut_tie_and_an_added_user_on_the_targets_tab_at_80x24() {
    let wb = tie_workbench();
    let mut app = App::new(Theme::default(), 1);
    // k = ceil(5 · 30,480 / 100) = 1,524: the 41 above, then 1,483 of the 6,876 tied.
    let mut edits = Edits::default();
    edits.add(20_000);
    app.set_workbench(wb, Ok(edits));
    app.update(Action::GoTab(Tab::Targets));
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("targets_tie_80x24", s);
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[5].starts_with("tie at k: 1,483 of 6,876 users at score 0.9000 taken, by recency"),
        "{s}"
    );
    for l in &lines[2..6] {
        assert!(l.chars().count() <= 80, "{l}");
    }
    // "dormant caught … (ceiling 1.25)" is 81 columns here: cut between its parts, and says
    // so (never a number cut in two).
    assert!(
        lines[3].starts_with("dormant caught 1,218 (random: 1,219) · precision 79.9% · lift 1.00")
            && lines[3].ends_with(" …")
            && !lines[3].contains("1.2…"),
        "{s}"
    );
    // The tie is taken by recency (largest ids here): ranks 42 to 1,524 are ids 6,916 down
    // to 5,434, the smallest ids of the group left out.
    let rows = app.target_list().unwrap();
    assert_eq!((rows[41].user_id, rows[1523].user_id), (6_916, 5_434));
    // The last row is the added user, `added`, not `Potential`.
    apply(&mut app, Action::Bottom);
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("targets_added_80x24", s);
    let last = s
        .lines()
        .find(|l| l.contains("  20000 "))
        .expect("the added user is shown");
    assert!(last.contains("added") && !last.contains("Potential"), "{s}");
    // The user detail says the same, with the offer given.
    apply(&mut app, Action::Enter);
    let s = screen(&mut app, 80, 24);
    // (The popup wraps the line at a space.)
    assert!(
        s.contains("· added (10% discount or") && s.contains("free shipping)"),
        "{s}"
    );
}

#[test]
fn a_list_cut_in_a_tie_takes_the_runner_ups_best_and_says_so() {
    let (d, run) = run_copy();
    let wb = LoadedRun::load(&run).unwrap();
    // gbdt at 5% of 496: k = 25 cuts a group of 21 equal scores after 11 above it.
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let none = Edits::default();
    let list = churn_tui::engine::targeting::list::target_list(
        &wb,
        &spec("gbdt", KPct { bp: 500 }, &tiers, &none, &en),
    )
    .unwrap();
    let tie = list.tie.expect("a tie at the cut");
    assert_eq!((tie.tied, tie.taken, tie.above), (21, 14, 11));
    assert_eq!(runner_up(&run, "gbdt"), "tree");
    let got: Vec<(usize, i64, bool)> = list
        .rows
        .iter()
        .map(|r| (r.rank, r.user_id, r.edited))
        .collect();
    assert_eq!(got, expected(&run, "gbdt", 500, &none));
    // Not the smallest ids: SPEC §4's order would take those.
    // Rows 12 to 25 are the 14 taken of the group (11 users rank above it).
    let s = list.rows[24].score;
    let mut tied: Vec<i64> = test_scores(&run, "gbdt")
        .into_iter()
        .filter(|x| x.1 == s)
        .map(|x| x.0)
        .collect();
    tied.sort();
    assert_eq!(tied.len(), 21);
    let taken: BTreeSet<i64> = list.rows[11..].iter().map(|r| r.user_id).collect();
    assert_ne!(taken, tied[..14].iter().copied().collect::<BTreeSet<_>>());
    let note = list.tie_note(KPct { bp: 500 }).unwrap();
    assert!(
        note.contains("14 of the 21 users") && note.contains("tree's score, then recency"),
        "{note}"
    );

    // The export says it, and the report says it and names every model whose cut ties.
    let out = d.path().join("g.csv");
    let o = bin()
        .args(["export", "--model", "gbdt", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("the top 5% cut a tie: 14 of the 21 users"),
        "{err}"
    );
    let md = d.path().join("g.md");
    let o = bin()
        .args(["report", "--model", "gbdt", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&md)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep = std::fs::read_to_string(&md).unwrap();
    assert!(
        rep.contains("The top 5% cut a tie: 14 of the 21 users"),
        "{rep}"
    );
    assert!(
        rep.contains("tree: 25 of 144 users tied") && rep.contains("gbdt: 14 of 21 users tied"),
        "{rep}"
    );
    // The chosen model's list (logreg) cuts no tie: nothing said.
    let out = d.path().join("l.csv");
    let o = bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("cut a tie"));
}

/// The targeting model picked with Enter and K set on Targets are saved with the edits: a
/// restart shows them, and `export`, `report` and `campaign create` use them when no flag
/// says otherwise, saying which they used and why.
#[test]
fn the_model_and_k_chosen_in_the_workbench_survive_a_restart_and_drive_the_commands() {
    let (d, run) = run_copy();
    let mut app = app_on(&run);
    app.update(Action::GoTab(Tab::Leaderboard));
    // The board is sorted by val PR-AUC: logreg, then gbdt.
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Enter);
    assert_eq!(app.targets.model.as_deref(), Some("gbdt"));
    let note = app.notice.clone().unwrap();
    assert!(
        note.text.contains("gbdt") && note.text.ends_with("— saved"),
        "{note:?}"
    );
    app.update(Action::GoTab(Tab::Targets));
    apply(&mut app, Action::KPlus1);
    assert_eq!(app.targets.k, KPct { bp: 600 });
    assert!(app.notice.is_none(), "a K step saves quietly");
    let saved = Edits::load(&run).unwrap();
    assert_eq!(
        (saved.model.as_deref(), saved.k),
        (Some("gbdt"), Some(KPct { bp: 600 }))
    );
    drop(app);

    let again = app_on(&run);
    assert_eq!(again.targets.model.as_deref(), Some("gbdt"));
    assert_eq!(again.targets.k, KPct { bp: 600 });
    // ceil(6 · 496 / 100) = 30 rows.
    assert_eq!(again.k_rows(), 30);

    let out = d.path().join("t.csv");
    let o = bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("model gbdt (chosen in the workbench), top 6% (set in the workbench)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 31);
    let o = bin()
        .args(["export", "--model", "logreg", "--k", "5", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("model logreg (--model), top 5% (--k)"),
        "{err}"
    );
    let md = d.path().join("r.md");
    let o = bin()
        .args(["report", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&md)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("model gbdt (chosen in the workbench)"));
    assert!(std::fs::read_to_string(&md).unwrap().contains("top 6%"));
    let db = d.path().join("c.db");
    let o = bin()
        .args(["campaign", "create", "--name", "x", "--db"])
        .arg(&db)
        .arg("--run")
        .arg(&run)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("model gbdt (chosen in the workbench), top 6% (set in the workbench)"),
        "{err}"
    );
    // A saved model the run lacks is refused, naming the file.
    std::fs::write(
        run.join("edits.json"),
        "{\"excluded\": [], \"added\": [], \"model\": \"nope\"}",
    )
    .unwrap();
    let o = bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("edits.json") && err.contains("nope"),
        "{err}"
    );
}

/// Two workbenches on one run: each edit is merged into the file as it is when saved, so
/// neither overwrites the other's; the next save shows the other's edits too.
#[test]
fn two_workbenches_on_one_run_keep_both_editors_edits() {
    let (_d, run) = run_copy();
    let mut a = app_on(&run);
    let mut b = app_on(&run);
    apply(&mut a, Action::Exclude);
    let ua = *a.targets.edits.excluded.first().unwrap();
    apply(&mut b, Action::Down);
    apply(&mut b, Action::Down);
    apply(&mut b, Action::Exclude);
    let ub = *b.targets.edits.excluded.iter().find(|&&u| u != ua).unwrap();
    assert_eq!(
        Edits::load(&run).unwrap().excluded,
        BTreeSet::from([ua, ub]),
        "A's exclusion survives B's save"
    );
    assert!(
        b.notice
            .as_ref()
            .unwrap()
            .text
            .contains("another workbench"),
        "{:?}",
        b.notice
    );
    // A's next edit brings B's exclusion onto A's list.
    apply(&mut a, Action::Down);
    apply(&mut a, Action::Exclude);
    assert!(a.targets.edits.excluded.contains(&ub));
    assert_eq!(Edits::load(&run).unwrap().excluded.len(), 3);
    assert_eq!(Edits::load(&run).unwrap(), {
        let mut e = a.targets.edits.clone();
        e.model = None;
        e.k = None;
        e
    });
}

/// A user added by hand from below every tier is `added` with the last tier's offer in every
/// file: the CSV and XLSX exports and the report's tier table, never counted in the last tier.
#[test]
fn a_user_added_below_every_tier_is_added_in_exports_and_the_report() {
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let (d, run, _model, r, added) = run_with_last_user_added();
    let csv = d.path().join("t.csv");
    let o = bin()
        .args(["export", "--tiers", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Read as a CSV reader would: text cells are quoted (SPEC §5).
    let records: Vec<csv::StringRecord> = csv::Reader::from_path(&csv)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect();
    let last = records.last().unwrap();
    let f: Vec<&str> = last.iter().collect();
    assert_eq!(
        (f[0], f[1], f[4], f[5]),
        (
            r.len().to_string().as_str(),
            added.to_string().as_str(),
            "added",
            "10% discount or free shipping"
        ),
        "{last:?}"
    );
    // Potential holds ranks ceil(15 · 496 / 100) + 1 = 76 to ceil(30 · 496 / 100) = 149; the
    // added user is not among them.
    assert_eq!(
        records.iter().filter(|r| &r[4] == "Potential").count(),
        149 - 75
    );
    let xlsx = d.path().join("t.xlsx");
    bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&xlsx)
        .assert()
        .success();
    let mut x: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let sheet = x.worksheet_range("targets").unwrap();
    let row = sheet.rows().next_back().unwrap();
    assert_eq!(row[4], Cell::String("added".into()));
    assert_eq!(row[5], Cell::String("10% discount or free shipping".into()));
    let md = d.path().join("r.md");
    bin()
        .args(["report", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&md)
        .assert()
        .success();
    let rep = std::fs::read_to_string(&md).unwrap();
    assert!(
        rep.contains(
            "| added | below every tier, added by hand | 1 | 10% discount or free shipping |"
        ),
        "{rep}"
    );
    assert!(rep.contains("| Potential | top 30% | 0 |"), "{rep}");
}
