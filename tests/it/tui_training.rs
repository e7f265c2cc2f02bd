//! The workbench's training thread, the only tests here that train: progress reaches the UI
//! and never counts past its total, the run opens when done, the Labels and Features tabs show
//! before the models finish, and quitting cancels training promptly.

use std::sync::mpsc;
use std::time::Duration;

use churn_tui::engine::run::open::LoadedRun;
use churn_tui::engine::run::{Progress, TrainConfig};
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::{App, Effect, EngineMsg};
use churn_tui::tui::effects;
use churn_tui::tui::event::Event;
use churn_tui::tui::keymap::action_for;
use churn_tui::tui::theme::Theme;
use churn_tui::tui::trainer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::common::tui::*;
use crate::common::{fixture_run, screen};

#[test]
fn q_quits_and_cancels_training() {
    let mut app = fixture_app();
    let fx = press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
    assert!(fx.contains(&Effect::Quit) && fx.contains(&Effect::CancelTraining));
    let mut app = fixture_app();
    let fx = app.update(
        action_for(
            Tab::Labels,
            &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
        )
        .expect("ctrl-c bound"),
    );
    assert!(app.quit && fx.contains(&Effect::Quit));
}

fn sample_config(models: &[&str]) -> TrainConfig {
    TrainConfig {
        dataset: churn_tui::engine::dataset::DatasetConfig {
            data: vec![churn_tui::engine::data::sample_log::sample_glob().unwrap()],
            ..Default::default()
        },
        models: models.iter().map(|s| s.to_string()).collect(),
        trials: 2,
        ..Default::default()
    }
}

fn next_engine(rx: &mpsc::Receiver<Event>) -> EngineMsg {
    loop {
        // A generous guard so a hung thread fails the test instead of hanging CI.
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(Event::Engine(m)) => return m,
            Ok(_) => continue,
            Err(e) => panic!("no message from the training thread: {e}"),
        }
    }
}

#[test]
fn training_progress_reaches_the_ui_and_the_run_opens() {
    let out = tempfile::tempdir().expect("tempdir");
    let (tx, rx) = mpsc::channel();
    let mut app = App::new(Theme::default(), 2);
    let t = trainer::spawn(
        sample_config(&["rule_recency", "logreg"]),
        out.path().to_path_buf(),
        tx,
    );
    app.training_started();
    let first = next_engine(&rx);
    assert!(
        matches!(first, EngineMsg::Progress(Progress::Stage("features"))),
        "{first:?}"
    );
    app.engine(first);
    assert!(screen(&mut app, 80, 24).contains("training: features"));
    let mut saw_model = false;
    loop {
        match next_engine(&rx) {
            EngineMsg::Finished(r) => {
                let loaded = app
                    .engine(EngineMsg::Finished(r))
                    .expect("the new run opens");
                effects::open(&mut app, loaded);
                break;
            }
            m => {
                saw_model |= matches!(m, EngineMsg::Progress(Progress::ModelDone { .. }));
                app.engine(m);
            }
        }
    }
    t.handle.join().expect("thread ends");
    assert!(saw_model);
    assert!(app.training.is_none());
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("run saved to"), "{s}");
    keys(&mut app, "3");
    assert!(screen(&mut app, 80, 24).contains("logreg"));

    // The workbench's scores (from test_scores.parquet) are the run's scores.csv, read here
    // on its own, row by row.
    let dir = app.run.as_ref().expect("run").dir.clone();
    let run = LoadedRun::load(&dir).expect("load");
    let csv = std::fs::read_to_string(dir.join("scores.csv")).expect("scores.csv");
    let mut rows = 0;
    for line in csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("test"))
    {
        let f: Vec<&str> = line.split(',').collect();
        let m = run.model(f[0]).expect("model of the run");
        let user: i64 = f[2].parse().expect("user");
        let i = run
            .test
            .users
            .iter()
            .position(|&u| u == user)
            .expect("test user");
        assert_eq!(
            m.test_scores[i],
            f[5].parse::<f64>().expect("score"),
            "{line}"
        );
        rows += 1;
    }
    assert_eq!(rows, run.test.n() * run.models.len());
}

#[test]
fn quitting_mid_training_cancels_promptly() {
    let out = tempfile::tempdir().expect("tempdir");
    let (tx, rx) = mpsc::channel();
    let mut app = App::new(Theme::default(), 9);
    let t = trainer::spawn(
        sample_config(&churn_tui::engine::models::MODEL_NAMES),
        out.path().to_path_buf(),
        tx,
    );
    app.training_started();
    // Wait until models are fitting, then quit.
    loop {
        let m = next_engine(&rx);
        let fitting = matches!(m, EngineMsg::Progress(Progress::Model { .. }));
        app.engine(m);
        if fitting {
            break;
        }
    }
    let fx = app.update(Action::Quit);
    assert!(fx.contains(&Effect::CancelTraining));
    t.cancel();
    loop {
        match next_engine(&rx) {
            EngineMsg::Finished(r) => {
                let e = r.expect_err("a cancelled run does not finish");
                assert!(e.to_lowercase().contains("cancel"), "{e}");
                break;
            }
            EngineMsg::Progress(_) => {}
        }
    }
    t.handle.join().expect("thread ends");
    assert_eq!(
        std::fs::read_dir(out.path()).expect("out").count(),
        0,
        "a cancelled run leaves no run directory"
    );
}

/// The gauge counts models only while they fit: after the last one, a later stage's
/// heartbeat shows no "model 10/9".
#[test]
fn progress_never_counts_past_its_total() {
    let mut app = App::new(Theme::default(), 2);
    app.training_started();
    let msg = |p| EngineMsg::Progress(p);
    for m in ["logreg", "tree"] {
        app.engine(msg(Progress::Model {
            model: m.into(),
            done: 1,
            total: 3,
        }));
        let s = screen(&mut app, 80, 24);
        let nth = if m == "logreg" {
            "model 1/2"
        } else {
            "model 2/2"
        };
        assert!(s.contains(nth), "{s}");
        app.engine(msg(Progress::ModelDone {
            model: m.into(),
            seconds: 1.0,
        }));
    }
    app.engine(msg(Progress::Stage("intervals")));
    app.engine(msg(Progress::Working {
        model: "bootstrap".into(),
        seconds: 3,
    }));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("training: bootstrap 3s"), "{s}");
    assert!(!s.contains("model 3/2"), "{s}");
}

/// A new log: the Labels and Features tabs show the data as soon as the feature table is
/// made, while the models still fit (the Leaderboard waits for them).
#[test]
fn labels_and_features_show_before_the_models_finish() {
    let loaded = LoadedRun::load(&fixture_run()).unwrap();
    let mut app = App::new(Theme::default(), loaded.models.len());
    app.training_started();
    let waiting = "appears here when training finishes";
    assert!(screen(&mut app, 80, 24).contains(waiting));
    app.engine(EngineMsg::Progress(Progress::Stats(Box::new(
        loaded.stats.clone(),
    ))));
    let labels = screen(&mut app, 80, 24);
    assert!(!labels.contains(waiting), "{labels}");
    assert!(labels.contains("dormant (m2) rate"), "{labels}");
    app.update(Action::GoTab(Tab::Features));
    let features = screen(&mut app, 80, 24);
    assert!(
        !features.contains(waiting) && features.contains("n_events_30d"),
        "{features}"
    );
    app.update(Action::GoTab(Tab::Leaderboard));
    assert!(screen(&mut app, 80, 24).contains(waiting));
}
