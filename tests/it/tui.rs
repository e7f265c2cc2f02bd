//! The workbench, driven as a person would: actions in, screen out. Screens are rendered with
//! ratatui's TestBackend from a fixed fixture run (`tests/fixtures/run`, trained once on a
//! generated 3,000-user log with five models), so no training thread runs here except in the
//! two tests that are about the training thread.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::screen;
use churn_tui::engine::eval::KPct;
use churn_tui::engine::loaded_run::LoadedRun;
use churn_tui::engine::run::{Progress, TrainConfig};
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::{App, Effect, EngineMsg, Popup};
use churn_tui::tui::effects;
use churn_tui::tui::event::Event;
use churn_tui::tui::keymap::{KEYMAP, action_for};
use churn_tui::tui::theme::Theme;
use churn_tui::tui::{trainer, ui};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run")
}

fn fixture_app() -> App {
    let wb = LoadedRun::load(&fixture_dir()).expect("fixture run loads");
    let mut app = App::new(Theme::default(), wb.models.len());
    effects::open(&mut app, wb);
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let ev = KeyEvent::new(code, KeyModifiers::NONE);
    match action_for(app.tab, &ev) {
        Some(a) => app.update(a),
        None => vec![],
    }
}

fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        if app.input.is_some() {
            app.type_char(c);
        } else {
            press(app, KeyCode::Char(c));
        }
    }
}

/// The fixture's test rows for one model, read straight from scores.csv: (user, y, score).
fn test_scores(model: &str) -> Vec<(i64, bool, f64)> {
    let text = std::fs::read_to_string(fixture_dir().join("scores.csv")).expect("scores.csv");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == model && f[1] == "test").then(|| {
                (
                    f[2].parse().expect("user"),
                    f[4] == "1",
                    f[5].parse().expect("score"),
                )
            })
        })
        .collect()
}

/// SPEC §4 ranking, written independently: score descending, then user id ascending.
fn ranked(model: &str) -> Vec<(i64, bool, f64)> {
    let mut r = test_scores(model);
    r.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    r
}

fn chosen() -> String {
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    m["chosen_model"].as_str().expect("chosen").to_string()
}

#[test]
fn every_tab_at_80x24_and_160x48() {
    for (tab, name) in [
        (Tab::Labels, "labels"),
        (Tab::Features, "features"),
        (Tab::Leaderboard, "leaderboard"),
        (Tab::Curves, "curves"),
        (Tab::Targets, "targets"),
        (Tab::Help, "help"),
    ] {
        for (w, h) in [(80, 24), (160, 48)] {
            let mut app = fixture_app();
            app.update(Action::GoTab(tab));
            let s = screen(&mut app, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), s);
        }
    }
}

#[test]
fn popups_and_other_views_snapshot() {
    let mut app = fixture_app();
    app.update(Action::GoTab(Tab::Features));
    keys(&mut app, "v");
    insta::assert_snapshot!("features_vif_80x24", screen(&mut app, 80, 24));

    let mut app = fixture_app();
    app.update(Action::GoTab(Tab::Curves));
    keys(&mut app, "c");
    insta::assert_snapshot!("curves_gain_80x24", screen(&mut app, 80, 24));

    let mut app = fixture_app();
    app.update(Action::GoTab(Tab::Targets));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("targets_user_80x24", screen(&mut app, 80, 24));

    let mut app = fixture_app();
    keys(&mut app, "?");
    insta::assert_snapshot!("help_popup_80x24", screen(&mut app, 80, 24));

    let mut app = fixture_app();
    insta::assert_snapshot!("too_small_50x12", screen(&mut app, 50, 12));
}

#[test]
fn tabs_switch_by_digit_tab_and_backtab() {
    let mut app = fixture_app();
    assert!(screen(&mut app, 80, 24).contains("dormant (m2) rate"));
    keys(&mut app, "4");
    assert_eq!(app.tab, Tab::Curves);
    assert!(screen(&mut app, 80, 24).contains("PR curves on val"));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Targets);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Campaigns);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Labels, "Tab wraps from Help to Labels");
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.tab, Tab::Help);
    keys(&mut app, "3");
    assert!(screen(&mut app, 80, 24).contains("leaderboard on val"));
}

#[test]
fn k_moves_by_keyboard_and_the_header_follows() {
    let mut app = fixture_app();
    keys(&mut app, "5");
    let model = chosen();
    let r = ranked(&model);
    let n = r.len();
    let header = |k_pct_bp: usize| {
        // k = ceil(K·N/100) with K in basis points, in integers.
        let k = (k_pct_bp * n).div_ceil(10_000);
        let caught = r[..k].iter().filter(|x| x.1).count();
        (k, caught)
    };
    let s = screen(&mut app, 80, 24);
    let (k, caught) = header(500);
    assert!(s.contains(&format!("Top 5% of {n} users")), "{s}");
    assert!(s.contains(&format!("k = {k}")), "{s}");
    assert!(s.contains(&format!("dormant caught {caught} ")), "{s}");

    keys(&mut app, "+");
    let (k, caught) = header(600);
    let s = screen(&mut app, 80, 24);
    assert!(
        s.contains("Top 6%") && s.contains(&format!("k = {k}")),
        "{s}"
    );
    assert!(s.contains(&format!("dormant caught {caught} ")), "{s}");
    keys(&mut app, "]");
    assert_eq!(
        app.targets.k,
        KPct { bp: 1000 },
        "] goes to the next multiple of 5"
    );
    keys(&mut app, "[[");
    assert_eq!(app.targets.k, KPct { bp: 100 });
    keys(&mut app, "[-");
    assert_eq!(app.targets.k, KPct { bp: 100 }, "arrows stop at 1%");
    keys(&mut app, "K7.25");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.targets.k, KPct { bp: 725 });
    let (k, _) = header(725);
    let s = screen(&mut app, 80, 24);
    assert!(
        s.contains("Top 7.25%") && s.contains(&format!("k = {k}")),
        "{s}"
    );
    keys(&mut app, "Kabc");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.targets.k, KPct { bp: 725 }, "a bad K changes nothing");
    assert!(app.notice.as_ref().is_some_and(|n| n.error));

    // The list shows exactly the top k rows, in SPEC order: the last row's rank is k.
    keys(&mut app, "G");
    assert_eq!(app.targets.sel, k - 1);
    let s = screen(&mut app, 80, 24);
    let (user, _, _) = r[k - 1];
    assert!(
        s.lines().any(|l| l.contains(&format!("{k:>6} {user:>10}"))),
        "{s}"
    );
}

#[test]
fn leaderboard_sorts_by_any_column_and_enter_picks_the_target_model() {
    let eval: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("eval.json")).expect("eval"),
    )
    .expect("json");
    let mut by_auc: Vec<(String, f64)> = eval["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_string(),
                m["splits"]["val"]["pr_auc"].as_f64().expect("auc"),
            )
        })
        .collect();
    by_auc.sort_by(|a, b| b.1.total_cmp(&a.1));

    let mut app = fixture_app();
    keys(&mut app, "3");
    let s = screen(&mut app, 80, 24);
    let pos = |s: &str, name: &str| {
        s.lines()
            .position(|l| l.contains(&format!("{name} ")) && l.contains('.'))
            .expect("row")
    };
    let rows: Vec<usize> = by_auc.iter().map(|(m, _)| pos(&s, m)).collect();
    assert!(
        rows.windows(2).all(|w| w[0] < w[1]),
        "PR-AUC descending:\n{s}"
    );
    keys(&mut app, "s");
    let s = screen(&mut app, 80, 24);
    let rows: Vec<usize> = by_auc.iter().map(|(m, _)| pos(&s, m)).collect();
    assert!(rows.windows(2).all(|w| w[0] > w[1]), "flipped:\n{s}");
    keys(&mut app, "h");
    let s = screen(&mut app, 80, 24);
    assert!(
        s.contains("model▲"),
        "h moves the sort to the model column:\n{s}"
    );

    // Enter on the last row (lowest PR-AUC when descending) makes it the targeting model.
    keys(&mut app, "lsG");
    press(&mut app, KeyCode::Enter);
    let last = &by_auc.last().expect("models").0;
    assert_eq!(
        app.targeting_model().map(|m| m.name.clone()),
        Some(last.clone())
    );
    keys(&mut app, "5");
    assert!(screen(&mut app, 80, 24).contains(&format!("model {last}")));
}

#[test]
fn search_finds_a_user_and_n_moves_between_matches() {
    let mut app = fixture_app();
    keys(&mut app, "5");
    let r = ranked(&chosen());
    let third = r[2].0.to_string();
    keys(&mut app, "/");
    keys(&mut app, &third);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.targets.sel, 2, "the exact id at rank 3");
    // A prefix shared by several top-k users: n walks forward, N back, with wrap-around.
    let k = app.k_rows();
    let first = r[0].0.to_string();
    let hits_of = |p: &str| -> Vec<usize> {
        r[..k]
            .iter()
            .enumerate()
            .filter(|(_, x)| x.0.to_string().contains(p))
            .map(|(i, _)| i)
            .collect()
    };
    // The longest prefix of the top user's id that several top-k users share.
    let prefix = (1..first.len())
        .rev()
        .map(|n| &first[..n])
        .find(|p| hits_of(p).len() >= 3)
        .expect("a shared prefix");
    let hits = hits_of(prefix);
    keys(&mut app, "g/");
    keys(&mut app, prefix);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.targets.sel, hits[0]);
    keys(&mut app, "n");
    assert_eq!(app.targets.sel, hits[1]);
    keys(&mut app, "N");
    assert_eq!(app.targets.sel, hits[0]);
    keys(&mut app, "N");
    assert_eq!(
        app.targets.sel,
        *hits.last().expect("hits"),
        "N wraps to the last match"
    );
    // A user outside the top K is reported with its rank.
    let outside = r[k + 1].0.to_string();
    keys(&mut app, "/");
    keys(&mut app, &outside);
    press(&mut app, KeyCode::Enter);
    let note = app.notice.clone().expect("notice").text;
    assert!(note.contains(&format!("ranked {}", k + 2)), "{note}");
    // While typing, q is text, not quit.
    keys(&mut app, "/q");
    assert!(!app.quit);
    press(&mut app, KeyCode::Esc);
    assert!(app.input.is_none());
}

#[test]
fn help_shows_every_binding_from_the_keymap() {
    let mut app = fixture_app();
    keys(&mut app, "7");
    let s = screen(&mut app, 160, 48);
    for b in KEYMAP.iter().take(20) {
        assert!(s.contains(b.help), "help tab lacks {:?}:\n{s}", b.help);
    }
    keys(&mut app, "5?");
    assert_eq!(app.popup, Some(Popup::Help));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Targets tab"), "{s}");
    assert!(
        s.contains("type K in percent"),
        "the current tab's keys come first:\n{s}"
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
}

#[test]
fn user_detail_lists_features_percentiles_and_reasons() {
    let mut app = fixture_app();
    keys(&mut app, "5j");
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 80, 24);
    let r = ranked(&chosen());
    assert!(
        s.contains(&format!("user {} · rank 2 of {}", r[1].0, r.len())),
        "{s}"
    );
    for f in churn_tui::engine::features::FEATURE_NAMES {
        assert!(s.contains(f), "{f} missing:\n{s}");
    }
    assert!(s.contains("risk reasons"));
    // Each reason's comparison is the one its feature's row shows (they once disagreed:
    // a percentile of 34% beside "lower than 31% of users").
    let reasons: Vec<&str> = s
        .lines()
        .filter_map(|l| l.trim_start_matches(['│', ' ']).split_once(". "))
        .filter(|(n, _)| n.parse::<usize>().is_ok())
        .filter_map(|(_, r)| {
            r.split_once(" — ")
                .map(|(_, c)| c.trim_end_matches(['│', ' ']))
        })
        .collect();
    assert!(!reasons.is_empty(), "{s}");
    for c in reasons {
        assert!(
            s.matches(c).count() >= 2,
            "`{c}` not on a feature row:\n{s}"
        );
    }
}

#[test]
fn each_tab_keeps_its_own_scroll() {
    let mut app = fixture_app();
    keys(&mut app, "1jjj2j");
    assert_eq!((app.labels.scroll.pos(), app.features.corr.pos()), (3, 1));
    // Help opens at its top, as on a fresh start, though other tabs were scrolled.
    keys(&mut app, "7");
    assert_eq!(app.help.scroll.pos(), 0);
    let mut fresh = fixture_app();
    fresh.update(Action::GoTab(Tab::Help));
    assert_eq!(screen(&mut app, 80, 24), screen(&mut fresh, 80, 24));
    keys(&mut app, "1");
    assert_eq!(app.labels.scroll.pos(), 3, "Labels kept its place");
}

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
            data: vec![churn_tui::engine::data::sample::sample_glob().unwrap()],
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
                let wb = app
                    .engine(EngineMsg::Finished(r))
                    .expect("the new run opens");
                effects::open(&mut app, wb);
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
    let dir = app.wb.as_ref().expect("run").dir.clone();
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

/// At 80x24 the Help tab is one text that scrolls as a whole: the glossary's last entry and
/// the FAQ come into view, in the reasons' language.
#[test]
fn help_scrolls_as_a_whole_to_the_faq_in_either_language() {
    for (lang, question) in [
        ("en", "Why Lift@K and not accuracy?"),
        ("ko", "왜 정확도가 아니라 Lift@K인가요?"),
    ] {
        let mut app = fixture_app();
        app.phrases = churn_tui::engine::targeting::phrases::Phrases::load(lang).expect("lang");
        keys(&mut app, "7");
        let mut seen = String::new();
        for _ in 0..30 {
            seen.push_str(&screen(&mut app, 80, 24));
            press(&mut app, KeyCode::PageDown);
        }
        for want in [
            "q         quit",
            "dormant",
            "FAQ",
            question,
            "Where do the files go?",
        ]
        .iter()
        .map(|w| {
            if lang == "ko" && *w == "Where do the files go?" {
                "파일은 어디에 저장되나요?"
            } else {
                w
            }
        }) {
            // A wide (Korean) character takes two cells; the screen text has a blank for the
            // second, so compare without blanks.
            let bare = |t: &str| t.replace(' ', "");
            assert!(
                bare(&seen).contains(&bare(want)),
                "{lang}: `{want}` never shown"
            );
        }
    }
}

/// A message longer than the status line is cut with a pointer to `m`, which shows it whole.
#[test]
fn a_long_message_is_one_key_away() {
    let mut app = fixture_app();
    let long = format!("export failed: {}: the end", "x/".repeat(60));
    app.notify(long.clone(), true);
    let s = screen(&mut app, 80, 24);
    let status = s.lines().nth(1).unwrap_or_default();
    assert!(status.ends_with("… (m: all)"), "{status}");
    assert!(!status.contains("the end"));
    keys(&mut app, "m");
    assert_eq!(app.popup, Some(Popup::Message));
    let s = screen(&mut app, 80, 24);
    // Wrapped over lines: its start, every `x/` and its end are on screen.
    assert!(
        s.contains("export failed:") && s.contains(": the end"),
        "{s}"
    );
    assert!(s.matches("x/").count() >= 60, "{s}");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
}

/// Where each scrolling view ends: text its last row holds once scrolled to the end, and
/// whether the view is text (its bottom row inside the box must then not be blank).
fn view_end(tab: Tab, vif: bool, k: usize) -> (String, bool) {
    let last_faq = churn_tui::tui::tabs::faq::EN
        .last()
        .and_then(|(_, a)| a.split(' ').next_back())
        .unwrap_or("")
        .to_string();
    match (tab, vif) {
        (Tab::Labels, _) => ("2020-04-01  test".into(), true),
        (Tab::Features, false) => ("trnd activity_trend".into(), true),
        (Tab::Features, true) => ("active = m0 or m1.".into(), true),
        (Tab::Leaderboard, _) => ("bgnbd".into(), false),
        (Tab::Curves, _) => ("gbdt".into(), false),
        (Tab::Targets, _) => (format!("–{k} of {k}"), false),
        (Tab::Help, _) => (last_faq, true),
        // Not among the views scrolled here: its own test has a database.
        (Tab::Campaigns, _) => (String::new(), false),
    }
}

/// A fresh fixture app on `tab` (and the Features' VIF view).
fn app_on(tab: Tab, vif: bool) -> App {
    let mut app = fixture_app();
    app.update(Action::GoTab(tab));
    if vif {
        keys(&mut app, "v");
    }
    app
}

/// The screen, and the tab's selection (which a screen shows only by colour).
fn look(app: &mut App, w: u16, h: u16) -> String {
    let s = screen(app, w, h);
    let sel = match app.tab {
        Tab::Leaderboard => app.leaderboard.sel,
        Tab::Curves => app.curves.sel,
        Tab::Targets => app.targets.sel,
        _ => 0,
    };
    format!("{s}selected: {sel}")
}

/// Every scrolling view, at 80x24 and 60x16: j held down stops at the end with the end in
/// view (never scrolled into blank rows), G is that same end, one k then moves back at once,
/// g is the top again, and the other tabs have not moved.
#[test]
fn every_view_scrolls_to_its_end_and_no_further() {
    let k = KPct { bp: 500 }.k_of(ranked(&chosen()).len());
    let views = [
        (Tab::Labels, false),
        (Tab::Features, false),
        (Tab::Features, true),
        (Tab::Leaderboard, false),
        (Tab::Curves, false),
        (Tab::Targets, false),
        (Tab::Help, false),
    ];
    for (w, h) in [(80u16, 24u16), (60, 16)] {
        for (tab, vif) in views {
            let what = format!("{tab:?}{} at {w}x{h}", if vif { " (VIF)" } else { "" });
            let mut app = app_on(tab, vif);
            let top = look(&mut app, w, h);
            // Drawn as it goes, as on a terminal (a draw tells the view where its end is).
            for i in 0..300 {
                press(&mut app, KeyCode::Char('j'));
                if i % 5 == 0 {
                    look(&mut app, w, h);
                }
            }
            let held = look(&mut app, w, h);
            let (last, text) = view_end(tab, vif, k);
            let bare = |t: &str| t.replace(' ', "");
            assert!(
                bare(&held).contains(&bare(&last)),
                "{what}: `{last}` not shown at the end:\n{held}"
            );
            if text {
                // The row above the bottom border, inside the box, holds text.
                let row = held.lines().nth(h as usize - 3).unwrap_or_default();
                assert!(
                    row.trim_matches(['│', ' ']).chars().count() > 1,
                    "{what}: blank at the end:\n{held}"
                );
            }
            // Everything moves at 60x16; at 80x24 the VIF table fits whole and stays put.
            let moves = held != top;
            assert!(moves || (w, vif) == (80, true), "{what}: j moved nothing");
            keys(&mut app, "g");
            assert_eq!(look(&mut app, w, h), top, "{what}: g is not the top");
            keys(&mut app, "G");
            assert_eq!(look(&mut app, w, h), held, "{what}: G is not the end");
            press(&mut app, KeyCode::PageUp);
            press(&mut app, KeyCode::PageDown);
            assert_eq!(look(&mut app, w, h), held, "{what}: PgDn is not the end");
            press(&mut app, KeyCode::Home);
            assert_eq!(look(&mut app, w, h), top, "{what}: Home is not the top");
            press(&mut app, KeyCode::End);
            keys(&mut app, "k");
            let up = look(&mut app, w, h);
            assert!(
                up != held || !moves,
                "{what}: k after G did not move at once"
            );
            // The other tabs are where a fresh start has them.
            for other in Tab::ALL.into_iter().filter(|o| *o != tab) {
                app.update(Action::GoTab(other));
                let mut fresh = app_on(other, false);
                assert_eq!(
                    look(&mut app, w, h),
                    look(&mut fresh, w, h),
                    "{what} moved {other:?}"
                );
            }
            app.update(Action::GoTab(tab));
            assert_eq!(look(&mut app, w, h), up, "{what} lost its place");
        }
    }
}

/// The heatmap's short column names have a legend at 80x24 (below the heatmap, scrolling with
/// it); at 60x16 the columns that do not fit are announced and h/l bring them in.
#[test]
fn heatmap_legend_at_80_and_columns_scroll_at_60() {
    let mut app = app_on(Tab::Features, false);
    // The snapshot is features_80x24 (every_tab_at_80x24_and_160x48).
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("ev30 n_events_30d"), "{s}");
    keys(&mut app, "G");
    let s = screen(&mut app, 80, 24);
    for name in churn_tui::engine::features::FEATURE_NAMES {
        assert!(s.contains(name), "{name} not in the legend:\n{s}");
    }

    let mut app = app_on(Tab::Features, false);
    let s = screen(&mut app, 60, 16);
    insta::assert_snapshot!("features_60x16", s);
    let header = s.lines().nth(3).unwrap_or_default();
    assert!(s.contains("columns 1–10 of 14 (h/l)"), "{s}");
    assert!(
        header.contains("ac15") && header.trim_end_matches(['│', ' ']).ends_with('›'),
        "{header}"
    );
    assert!(!header.contains("trnd"), "{header}");
    keys(&mut app, "lllllll");
    let s = screen(&mut app, 60, 16);
    insta::assert_snapshot!("features_60x16_right", s);
    let header = s.lines().nth(3).unwrap_or_default();
    assert!(s.contains("columns 5–14 of 14 (h/l)"), "{s}");
    assert!(header.contains("‹") && header.contains("trnd"), "{header}");
    assert!(!header.contains("ev30"), "{header}");
    keys(&mut app, "h");
    assert!(screen(&mut app, 60, 16).contains("columns 4–13 of 14"));

    // The VIF table's statistics scroll the same way at 60 columns.
    keys(&mut app, "v");
    let s = screen(&mut app, 60, 16);
    assert!(
        s.contains("columns 1–2 of 5 (h/l)") && s.contains("dorm mean"),
        "{s}"
    );
    keys(&mut app, "llll");
    let s = screen(&mut app, 60, 16);
    assert!(
        s.contains("columns 4–5 of 5") && s.contains("act med"),
        "{s}"
    );
}

/// A fixture app in a language: its reasons and its default tiers and offers.
fn app_in(lang: &str) -> App {
    let mut app = fixture_app();
    app.phrases = churn_tui::engine::targeting::phrases::Phrases::load(lang).expect("lang");
    app.tiers = churn_tui::engine::targeting::TierRule::shipped(lang).expect("tiers");
    app
}

/// The full risk reasons of the user with this id, as the popup should show them.
fn full_reasons(app: &App, user: i64) -> Vec<String> {
    let wb = app.wb.as_ref().expect("run");
    let row = wb.test.users.iter().position(|u| *u == user).expect("user");
    app.targets
        .reasons_of(row)
        .unwrap_or_default()
        .iter()
        .map(|r| r.text_in(&app.phrases))
        .collect()
}

/// The Targets list shortens a first reason only at a word boundary (never with "…"), and
/// the user popup shows every reason whole, wrapped at spaces: in English and Korean, at
/// 80x24 and at 60x16 (where the popup scrolls to them).
#[test]
fn risk_reasons_are_cut_at_words_in_the_list_and_whole_in_the_popup() {
    let bare = |t: &str| t.replace([' ', '│'], "");
    for lang in ["en", "ko"] {
        for (w, h) in [(80u16, 24u16), (60, 16)] {
            let mut app = app_in(lang);
            keys(&mut app, "5");
            let s = screen(&mut app, w, h);
            let mut rows = 0;
            for line in s.lines().filter(|l| l.starts_with('│')) {
                let cols: Vec<&str> = line.trim_matches('│').split_whitespace().collect();
                let Some(user) = cols.get(1).and_then(|u| u.parse::<i64>().ok()) else {
                    continue;
                };
                rows += 1;
                // What follows the tier name is the reason.
                let tier = app.tiers.tiers.iter().find(|t| line.contains(&t.name));
                let tier = tier.expect("a tier on every row of the top 5%");
                let shown = line
                    .split_once(tier.name.as_str())
                    .map(|(_, r)| r.trim_matches(['│', ' ']))
                    .unwrap_or_default();
                assert!(!shown.is_empty() && !shown.contains('…'), "{line}");
                let first = &full_reasons(&app, user)[0];
                // The shown text starts the sentence (or its feature phrase) and ends where a
                // word does.
                assert!(
                    bare(first).starts_with(&bare(shown)),
                    "{lang} {w}: `{shown}` / `{first}`"
                );
                if lang == "en" {
                    let rest = &first[shown.len()..];
                    assert!(
                        rest.is_empty() || rest.starts_with(' '),
                        "cut mid-word: `{shown}`"
                    );
                }
            }
            assert!(rows >= 5, "{lang} {w}x{h}: no rows read:\n{s}");

            // The popup: every reason whole, wherever it wraps.
            press(&mut app, KeyCode::Enter);
            keys(&mut app, "G");
            let s = screen(&mut app, w, h);
            let user = app.targets.list_user(app.wb.as_ref(), 0).expect("user");
            let text = bare(
                &s.lines()
                    .skip_while(|l| !l.contains("1."))
                    .collect::<String>(),
            );
            for (i, r) in full_reasons(&app, user).iter().enumerate() {
                assert!(
                    text.contains(&format!("{}.{}", i + 1, bare(r))),
                    "{lang} {w}x{h}: reason {} not whole: `{r}`\n{s}",
                    i + 1
                );
            }
            // No reason cut (the key bar, last, may end in `…`: more keys than room).
            let popup: Vec<&str> = s.lines().take(h as usize - 1).collect();
            assert!(!popup.iter().any(|l| l.contains('…')), "{s}");
            // Nothing runs over the popup's border (a Korean word at the edge once did).
            // At 60 columns the popup is the screen's width, so each row ends at its border.
            for (top, key) in [(false, ""), (true, "g")] {
                if w != 60 {
                    break;
                }
                keys(&mut app, key);
                let s = screen(&mut app, w, h);
                let inside = s
                    .lines()
                    .skip_while(|l| !l.contains("user — Esc closes"))
                    .skip(1)
                    .take_while(|l| !l.contains('└'));
                for l in inside {
                    let l = l.trim_start_matches(|c: char| c != '│');
                    assert!(
                        l.trim_end().ends_with('│'),
                        "{lang} {w}x{h} top {top}: {l}\n{s}"
                    );
                }
            }
        }
    }
}

/// With --lang ko the Targets tab and the user popup name tiers and offers in Korean.
#[test]
fn korean_tiers_and_offers_on_the_targets_tab() {
    let mut app = app_in("ko");
    keys(&mut app, "5");
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("targets_ko_80x24", s);
    let bare = |t: &str| t.replace(' ', "");
    assert!(bare(&s).contains("tiers:긴급25경고50잠재74"), "{s}");
    assert!(!s.contains("Emergency"), "{s}");
    // The tier column keeps its width: every row's score and reason line up.
    let rows: Vec<&str> = s.lines().filter(|l| l.contains("긴급 ")).collect();
    assert!(rows.len() > 5, "{s}");
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("targets_user_ko_80x24", s);
    assert!(bare(&s).contains("긴급(30%쿠폰)"), "{s}");
    assert!(s.contains("사용자의"), "{s}");
}

/// At 80x24 a long message of words is cut where a word ends, and the pointer to `m` shows.
#[test]
fn a_long_message_is_cut_at_a_word() {
    let mut app = fixture_app();
    let long = "report written to artifacts/run/report.md; 3 of the users you added are no longer scored at the test anchor and were left out";
    app.notify(long, false);
    let s = screen(&mut app, 80, 24);
    let status = s.lines().nth(1).unwrap_or_default();
    assert!(status.ends_with("… (m: all)"), "{status}");
    let kept = status.trim_start().trim_end_matches(" … (m: all)");
    assert!(long.starts_with(kept), "{status}");
    assert!(
        long[kept.len()..].starts_with(' '),
        "cut mid-word: {status}"
    );
    keys(&mut app, "m");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("were left out"), "{s}");
}

/// Korean text wrapped in a box never runs over its right border, however far it scrolls
/// (the Help tab's FAQ at 60x16 and 80x24).
#[test]
fn korean_help_stays_inside_its_box() {
    for (w, h) in [(60u16, 16u16), (80, 24)] {
        let mut app = app_in("ko");
        keys(&mut app, "7");
        for _ in 0..40 {
            let s = screen(&mut app, w, h);
            for l in s.lines().skip(3).take(h as usize - 5) {
                assert!(l.ends_with('│'), "{w}x{h}: `{l}`\n{s}");
            }
            press(&mut app, KeyCode::PageDown);
        }
    }
}

/// An action as the loop applies it: its file and database work done.
fn act(app: &mut App, c: char) {
    let ev = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    if let Some(a) = action_for(app.tab, &ev) {
        effects::apply(app, a);
    }
}

fn enter(app: &mut App) {
    effects::apply(app, churn_tui::tui::action::Action::Enter);
}

#[test]
fn c_on_targets_stores_a_campaign_and_the_campaigns_tab_reads_it_out() {
    use churn_tui::engine::campaign::{self, store::DbUrl};
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    crate::common::copy_dir(&fixture_dir(), &run);
    let wb = LoadedRun::load(&run).unwrap();
    let mut app = App::new(Theme::default(), wb.models.len());
    effects::open(&mut app, wb);
    let db = d.path().join("c.db");
    app.campaign_db = Some(db.display().to_string());
    app.campaigns.db = "campaigns.db".into();

    act(&mut app, '6');
    assert_eq!(app.tab, Tab::Campaigns);
    assert!(screen(&mut app, 80, 24).contains("No campaigns yet"));
    assert!(!db.exists(), "looking made no database");

    // A holdout out of range: said, and nothing stored.
    act(&mut app, '5');
    act(&mut app, 'c');
    keys(&mut app, "x");
    enter(&mut app);
    keys(&mut app, "70");
    enter(&mut app);
    let n = app.notice.clone().unwrap();
    assert!(n.error && n.text.contains("holdout `70`"), "{n:?}");
    assert!(!db.exists());

    // The Targets list at K = 5%: the default name is replaced by typing.
    act(&mut app, 'c');
    keys(&mut app, "spring");
    enter(&mut app);
    keys(&mut app, "20");
    enter(&mut app);
    let n = app.notice.clone().unwrap();
    assert!(!n.error && n.text.contains("`spring` stored"), "{n:?}");
    assert_eq!(app.tab, Tab::Campaigns, "the new campaign is shown");
    let mut conn = campaign::open(&DbUrl::Sqlite(db.clone())).unwrap();
    let c = campaign::find(conn.as_mut(), "spring").unwrap();
    assert_eq!((c.k_bp, c.holdout_bp), (500, 2000));
    let rows = conn
        .query(
            "SELECT grp, COUNT(*) FROM campaign_targets GROUP BY grp ORDER BY grp",
            &[],
        )
        .unwrap();
    // The fixture scores 497 test users: the top 5% is ceil(497·5/100) = 25, all Emergency;
    // floor(25 · 2000 / 10000) = 5 of them control.
    let counts: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r[0].text().unwrap().to_string(), r[1].int().unwrap()))
        .collect();
    assert_eq!(
        counts,
        [("control".to_string(), 5), ("treatment".to_string(), 20)]
    );
    let coupons = std::fs::read_to_string(run.join("campaign-spring-treatment.csv")).unwrap();
    assert_eq!(
        coupons.lines().count(),
        1 + 20,
        "header and the treatment group"
    );

    // Read out with o: the box proposes the run's own logs; typing replaces them.
    assert!(screen(&mut app, 80, 24).contains("Press o"));
    act(&mut app, 'o');
    assert_eq!(
        app.input.as_ref().map(|i| i.text.clone()),
        Some("/tmp/fx/events.csv.gz".to_string()),
        "the fixture run's own log is proposed"
    );
    keys(
        &mut app,
        &crate::campaign::fixture_log().display().to_string(),
    );
    enter(&mut app);
    let n = app.notice.clone().unwrap();
    assert!(!n.error && n.text.contains("read out: uplift"), "{n:?}");
    let stored = campaign::readout::stored(conn.as_mut(), &c).unwrap();
    assert_eq!(stored.last().map(|r| r.tier.as_str()), Some("all"));
    // A read-out made from the shell shows when the tab is shown again.
    campaign::readout::read_out(
        conn.as_mut(),
        &c,
        &[crate::campaign::fixture_log().display().to_string()],
    )
    .unwrap();
    act(&mut app, '5');
    act(&mut app, '6');
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("spring") && s.contains("read"), "{s}");
    insta::assert_snapshot!("campaigns_80x24", s);
}

/// A new log: the Labels and Features tabs show the data as soon as the feature table is
/// made, while the models still fit (the Leaderboard waits for them).
#[test]
fn labels_and_features_show_before_the_models_finish() {
    let wb = LoadedRun::load(&fixture_dir()).unwrap();
    let mut app = App::new(Theme::default(), wb.models.len());
    app.training_started();
    let waiting = "appears here when training finishes";
    assert!(screen(&mut app, 80, 24).contains(waiting));
    app.engine(EngineMsg::Progress(Progress::Stats(Box::new(
        wb.stats.clone(),
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

fn themed_app(theme: Theme) -> App {
    let wb = LoadedRun::load(&fixture_dir()).expect("fixture run loads");
    let mut app = App::new(theme, wb.models.len());
    effects::open(&mut app, wb);
    app
}

const NO_COLOR: Theme = Theme {
    color: false,
    ascii: false,
};
const ASCII: Theme = Theme {
    color: true,
    ascii: true,
};

/// The frame as drawn, cells and styles.
fn frame(app: &mut App, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    app.targets.page = ui::target_page(h);
    app.fill_reasons();
    term.draw(|f| ui::render(app, f)).expect("draw");
    term.backend().buffer().clone()
}

/// The symbols drawn within columns `x0..x1` of rows `y0..y1`.
fn cells_in(
    buf: &ratatui::buffer::Buffer,
    (x0, x1): (u16, u16),
    (y0, y1): (u16, u16),
) -> Vec<(String, ratatui::style::Style)> {
    let mut out = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let c = &buf[(x, y)];
            out.push((c.symbol().to_string(), c.style()));
        }
    }
    out
}

/// In monochrome each model's curve has its own character, the legend says which, and every
/// curve shown is on the chart.
#[test]
fn curves_without_colour_tell_the_models_apart() {
    use churn_tui::tui::theme::MODEL_MARKS;
    let mut app = themed_app(NO_COLOR);
    keys(&mut app, "4");
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("curves_nocolor_80x24", &s);
    let names: Vec<String> = app
        .wb
        .as_ref()
        .expect("run")
        .models
        .iter()
        .map(|m| m.name.clone())
        .collect();
    // The chart is left of the legend box (24 columns at 80).
    let chart: String = s
        .lines()
        .skip(3)
        .take(17)
        .map(|l| l.chars().take(56).collect::<String>())
        .collect();
    for (i, name) in names.iter().enumerate() {
        let mark = MODEL_MARKS[i];
        assert!(
            s.contains(&format!("[x] {mark} {name}")),
            "legend names {name}'s mark {mark}:\n{s}"
        );
        assert!(chart.contains(mark), "{name}'s {mark} on the chart:\n{s}");
    }
    assert!(
        !chart.contains('⣿')
            && !chart
                .chars()
                .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
        "no braille, which looks the same for every model:\n{s}"
    );

    keys(&mut app, "c");
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("curves_gain_nocolor_80x24", &s);
    assert!(
        s.contains(". line: random") && s.contains(": current K"),
        "{s}"
    );
}

#[test]
fn curves_in_ascii_draw_only_ascii() {
    let mut app = themed_app(ASCII);
    keys(&mut app, "4");
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("curves_ascii_80x24", &s);
    assert!(s.is_ascii(), "{s}");
    let chart_top = s.lines().nth(2).unwrap_or_default();
    assert!(
        chart_top.starts_with("+ PR curves") && chart_top.ends_with('+'),
        "{s}"
    );
}

/// The current K is marked in a style no curve has, at 80x24, on every chart and theme.
#[test]
fn the_k_marker_shows_at_80x24_in_its_own_style() {
    for theme in [Theme::default(), NO_COLOR, ASCII] {
        let mut app = themed_app(theme);
        keys(&mut app, "4");
        let k_style = theme.k_mark();
        // PR on val (K = 5% is one of the run's Ks), PR on test, gain, lift.
        for (step, glyph, at_least) in [("", "K", 1), ("v", "K", 1), ("c", ":", 15), ("c", ":", 15)]
        {
            keys(&mut app, step);
            let buf = frame(&mut app, 80, 24);
            // The chart's inside: right of the y labels, above the x axis.
            let marks = cells_in(&buf, (1, 55), (3, 21))
                .into_iter()
                .filter(|(sym, st)| {
                    sym == glyph
                        && st.add_modifier == k_style.add_modifier
                        && st.fg.unwrap_or_default() == k_style.fg.unwrap_or_default()
                })
                .count();
            assert!(
                marks >= at_least,
                "{theme:?} after {step:?}: {marks} K marks\n{}",
                screen(&mut app, 80, 24)
            );
            // Its style is no model's.
            for i in 0..9 {
                assert_ne!(theme.series(i), k_style);
            }
        }
    }
}

/// `v` on the gain and lift charts (drawn on test only) is not offered, and pressed anyway
/// changes nothing but says why; on PR curves it switches the split.
#[test]
fn v_is_offered_only_where_it_switches_something() {
    let mut app = fixture_app();
    keys(&mut app, "4");
    let bar = |app: &mut App| {
        screen(app, 80, 24)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    assert!(bar(&mut app).contains("v val/test"));
    keys(&mut app, "v");
    assert!(screen(&mut app, 80, 24).contains("PR curves on test"));
    keys(&mut app, "c");
    let b = bar(&mut app);
    assert!(!b.contains("val/test"), "{b}");
    let before = app.curves.split;
    keys(&mut app, "v");
    assert_eq!(app.curves.split, before);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("gain and lift are drawn on test only"), "{s}");
    assert!(s.contains("(c: chart)") && !s.contains("v: split"), "{s}");
    let help: Vec<&str> = KEYMAP
        .iter()
        .filter(|b| b.scope == churn_tui::tui::keymap::Scope::On(Tab::Curves) && b.label == "v")
        .map(|b| b.help)
        .collect();
    assert_eq!(
        help,
        ["val or test PR curves (gain and lift are on test only)"]
    );
}

/// A way to a view: keys pressed on a fresh app.
type Go = fn(&mut App);

/// Every tab and popup under --ascii: only ASCII on screen, boxes in `+ - |`. And every
/// symbol the views draw without --ascii has a stand-in, so none shows as `?`.
#[test]
fn ascii_puts_only_ascii_on_every_tab_and_popup() {
    use churn_tui::tui::theme::ascii_of;
    let views: Vec<(&str, Go)> = vec![
        ("labels", |a| keys(a, "1")),
        ("features", |a| keys(a, "2")),
        ("features vif", |a| keys(a, "2v")),
        ("leaderboard", |a| keys(a, "3")),
        ("curves", |a| keys(a, "4")),
        ("curves test", |a| keys(a, "4v")),
        ("gain", |a| keys(a, "4c")),
        ("lift", |a| keys(a, "4cc")),
        ("targets", |a| keys(a, "5")),
        ("targets edited", |a| keys(a, "5jx")),
        ("campaigns", |a| keys(a, "6")),
        ("help", |a| keys(a, "7")),
        ("help popup", |a| keys(a, "?")),
        ("user popup", |a| {
            keys(a, "5");
            press(a, KeyCode::Enter);
        }),
        ("message popup", |a| {
            a.notify("run saved — 5 models · K = 5%", false);
            keys(a, "m");
        }),
        ("input box", |a| keys(a, "5K")),
    ];
    for (what, go) in views {
        for (w, h) in [(80, 24), (60, 16)] {
            let mut app = themed_app(ASCII);
            go(&mut app);
            let s = screen(&mut app, w, h);
            let bad: String = s.chars().filter(|c| !c.is_ascii()).collect();
            assert!(bad.is_empty(), "{what} at {w}x{h}: {bad:?}\n{s}");
            assert!(
                s.lines()
                    .skip(2)
                    .any(|l| l.contains("+-") || l.contains("-+")),
                "{what}: a box in ASCII\n{s}"
            );

            let mut app = themed_app(Theme::default());
            go(&mut app);
            let s = screen(&mut app, w, h);
            let unknown: String = s
                .chars()
                .filter(|c| !c.is_ascii() && ascii_of(&c.to_string()).is_none())
                .collect();
            assert!(
                unknown.is_empty(),
                "{what}: no stand-in for {unknown:?}\n{s}"
            );
        }
    }
}

/// ▼ is descending on every column, the model names included; ASCII has v and ^.
#[test]
fn sort_arrows_mean_the_same_on_every_column() {
    let mut app = fixture_app();
    keys(&mut app, "3");
    let names = |app: &App| -> Vec<String> {
        let wb = app.wb.as_ref().expect("run");
        app.leaderboard
            .order(Some(wb))
            .iter()
            .map(|&i| wb.models[i].name.clone())
            .collect()
    };
    let aucs = |app: &App| -> Vec<f64> {
        let wb = app.wb.as_ref().expect("run");
        app.leaderboard
            .order(Some(wb))
            .iter()
            .map(|&i| wb.models[i].val.pr_auc.unwrap_or(f64::NAN))
            .collect()
    };
    // Default: PR-AUC, descending.
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("PR-AUC▼"), "{s}");
    assert!(
        aucs(&app).windows(2).all(|w| w[0] >= w[1]),
        "{:?}",
        aucs(&app)
    );
    // The name column, still descending: Z first, the same arrow.
    keys(&mut app, "h");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("model▼"), "{s}");
    let n = names(&app);
    assert!(n.windows(2).all(|w| w[0] > w[1]), "Z to A under ▼: {n:?}");
    let first = n.first().cloned().unwrap_or_default();
    let rows: Vec<&str> = s.lines().skip(5).collect();
    assert!(rows.first().is_some_and(|l| l.contains(&first)), "{s}");
    keys(&mut app, "s");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("model▲"), "{s}");
    let n = names(&app);
    assert!(n.windows(2).all(|w| w[0] < w[1]), "A to Z under ▲: {n:?}");
    // Back on PR-AUC, ascending now: ▲ and smallest first.
    keys(&mut app, "l");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("PR-AUC▲"), "{s}");
    assert!(
        aucs(&app).windows(2).all(|w| w[0] <= w[1]),
        "{:?}",
        aucs(&app)
    );

    let mut app = themed_app(ASCII);
    keys(&mut app, "3");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("PR-AUCv"), "{s}");
    assert!(
        s.contains("1.15..1.33"),
        "an interval reads as one in ASCII:\n{s}"
    );
    keys(&mut app, "hs");
    assert!(screen(&mut app, 80, 24).contains("model^"));
}

/// `]`/`[` move K along 5, 10, 15 … and `+`/`-` along whole percents, as the help says, and
/// stop at 1% and 100%.
#[test]
fn k_steps_do_what_the_help_says() {
    let help = |a: Action| {
        KEYMAP
            .iter()
            .find(|b| b.action == a)
            .map(|b| b.help)
            .unwrap_or_default()
    };
    assert!(
        help(Action::KPlus5).contains("next multiple of 5%"),
        "{}",
        help(Action::KPlus5)
    );
    assert!(
        help(Action::KPlus1).contains("next whole %"),
        "{}",
        help(Action::KPlus1)
    );
    let mut app = fixture_app();
    keys(&mut app, "5");
    let set = |app: &mut App, k: &str| {
        keys(app, &format!("K{k}"));
        press(app, KeyCode::Enter);
    };
    let bp = |app: &App| app.targets.k.bp;
    for (start, key, want) in [
        ("6", "]", 1000),
        ("10", "]", 1500),
        ("7.25", "]", 1000),
        ("12", "[", 1000),
        ("10", "[", 500),
        ("3", "[", 100),
        ("1", "[", 100),
        ("98", "]", 10_000),
        ("100", "]", 10_000),
        ("7.25", "+", 800),
        ("7.25", "-", 700),
        ("1", "-", 100),
    ] {
        set(&mut app, start);
        keys(&mut app, key);
        assert_eq!(bp(&app), want, "K {start}% then {key}");
    }
    // The key bar says the same (]/[ is on it from 100 columns).
    let bar = screen(&mut app, 160, 48)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(bar.contains("]/[ K 5/10/15%"), "{bar}");
}

/// A run whose files name a hostile log (ESC, OSC 52, BEL in a file name and in the scope) and
/// a hostile message: ratatui drops control characters where text enters the buffer (every
/// span, line and `set_stringn` filters graphemes holding one), so no cell of any tab carries
/// one to the terminal; the printable rest of the text stays readable.
#[test]
fn control_characters_from_data_never_reach_the_screen() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    crate::common::copy_dir(&fixture_dir(), &run);
    let stats = run.join("stats.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    v["data"]["scope"] = "brands x\u{1b}]52;c;SGVsbG8=\u{7}y".into();
    v["data"]["files"][0]["path"] = "/tmp/ev\u{1b}[2J\u{1b}]0;title\u{7}il.csv".into();
    std::fs::write(&stats, serde_json::to_string(&v).unwrap()).unwrap();

    let wb = LoadedRun::load(&run).expect("run loads");
    let mut app = App::new(Theme::default(), wb.models.len());
    effects::open(&mut app, wb);
    app.notify(
        "unknown event_type `view\u{1b}]52;c;SGVsbG8=\u{7}\u{1b}[2J\r\u{9b}31m`",
        true,
    );
    let mut seen = String::new();
    for tab in Tab::ALL {
        app.update(Action::GoTab(tab));
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            app.targets.page = ui::target_page(h);
            app.fill_reasons();
            term.draw(|f| ui::render(&app, f)).unwrap();
            for cell in term.backend().buffer().content.iter() {
                assert!(
                    !cell.symbol().contains(char::is_control),
                    "{tab:?} {w}x{h}: a cell holds {:?}",
                    cell.symbol()
                );
            }
            seen.push_str(&screen(&mut app, w, h));
        }
    }
    assert!(seen.contains("/tmp/ev[2J]0;titleil.csv"), "{seen}");
    assert!(seen.contains("x]52;c;SGVsbG8=y"), "{seen}");
}

// Issue 29, screens at 80x24: text that does not fit says so and stays readable, headers stay,
// the K mark shows, and the numbers read alike everywhere.

/// Makes `name` the targeting model as a person would: its row on the Leaderboard, Enter.
fn target(app: &mut App, name: &str) {
    keys(app, "3g");
    let wb = app.wb.as_ref().expect("run");
    let pos = app
        .leaderboard
        .order(Some(wb))
        .iter()
        .position(|&i| wb.models[i].name == name)
        .expect("model on the board");
    for _ in 0..pos {
        keys(app, "j");
    }
    press(app, KeyCode::Enter);
    assert_eq!(
        app.targeting_model().map(|m| m.name.clone()),
        Some(name.to_string())
    );
}

/// The K marks (cells drawn `K` in the K style) in the chart's box at 80x24.
fn k_marks(app: &mut App, theme: Theme) -> usize {
    let buf = frame(app, 80, 24);
    let k = theme.k_mark();
    cells_in(&buf, (1, 55), (3, 22))
        .into_iter()
        .filter(|(sym, st)| {
            sym == "K"
                && st.add_modifier == k.add_modifier
                && st.fg.unwrap_or_default() == k.fg.unwrap_or_default()
        })
        .count()
}

/// On val, whichever model is targeted, its K mark shows in every theme. A model whose
/// precision at K is 1 puts the mark on the plot's top row, where the y axis's name was drawn
/// over it (tree and bgnbd in the fixture: 26 of 26 dormant at K = 5% on val, from eval.json).
#[test]
fn the_k_mark_on_val_shows_whichever_model_is_targeted_in_every_theme() {
    let eval: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("eval.json")).expect("eval"),
    )
    .expect("json");
    let at_top: Vec<String> = eval["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter(|m| m["splits"]["val"]["at_k"][0]["precision"].as_f64() == Some(1.0))
        .map(|m| m["name"].as_str().expect("name").to_string())
        .collect();
    assert!(at_top.contains(&"tree".to_string()), "{at_top:?}");
    for (theme, name) in [
        (Theme::default(), ""),
        (NO_COLOR, "nocolor_"),
        (ASCII, "ascii_"),
    ] {
        let names: Vec<String> = themed_app(theme)
            .wb
            .as_ref()
            .expect("run")
            .models
            .iter()
            .map(|m| m.name.clone())
            .collect();
        for model in names {
            let mut app = themed_app(theme);
            target(&mut app, &model);
            keys(&mut app, "4");
            let s = screen(&mut app, 80, 24);
            assert!(s.contains("PR curves on val"), "{s}");
            assert!(
                k_marks(&mut app, theme) >= 1,
                "{theme:?}, {model} targeted: no K mark\n{s}"
            );
            // The axes are still named, above the plot.
            let names_row = s.lines().nth(3).unwrap_or_default();
            assert!(
                names_row.contains("precision") && names_row.contains("recall"),
                "{s}"
            );
            if model == "tree" {
                insta::assert_snapshot!(format!("curves_k_at_precision_1_{name}80x24"), s);
            }
        }
    }
}

/// Scrolled to its end at 80x24, the Labels tab still shows the split table and both headers;
/// only the anchors moved. The bottom border counts the anchors (five in the fixture).
#[test]
fn the_labels_headers_stay_while_the_anchors_scroll() {
    let stats: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("stats.json")).expect("stats"),
    )
    .expect("json");
    let anchors = stats["labels"].as_array().expect("labels").len();
    let mut app = fixture_app();
    let top = screen(&mut app, 80, 24);
    keys(&mut app, "G");
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("labels_scrolled_80x24", &s);
    assert_ne!(top, s, "G scrolled something");
    for head in [
        "split      rows",
        "anchor      split    users",
        "train     1,411",
    ] {
        assert!(s.contains(head), "`{head}` scrolled away:\n{s}");
    }
    assert!(s.contains("2020-04-01  test"), "the last anchor:\n{s}");
    assert!(s.contains(&format!("of {anchors} ┘")), "{s}");
}

/// At 120x40 the data no longer wraps beside an empty panel: each box is as wide as the
/// screen, every data line whole on its row.
#[test]
fn labels_at_120x40_use_the_width() {
    let mut app = fixture_app();
    let s = screen(&mut app, 120, 40);
    insta::assert_snapshot!("labels_120x40", &s);
    let row = |key: &str| {
        s.lines()
            .find(|l| l.starts_with(&format!("│{key} ")))
            .unwrap_or_else(|| panic!("no {key} row:\n{s}"))
            .to_string()
    };
    assert!(row("events").contains(" used "), "{s}");
    assert!(row("window").contains("no scope filter"), "{s}");
    for title in ["┌ data ", "┌ labels"] {
        let top = s
            .lines()
            .find(|l| l.starts_with(title))
            .unwrap_or_else(|| panic!("{title}:\n{s}"));
        assert_eq!(top.chars().count(), 120, "{title} spans the screen:\n{s}");
    }
}

/// A key's description too long for the line goes on under the description (column 12 inside
/// the box), in the Help tab and in the `?` overlay, and reads whole.
#[test]
fn long_key_descriptions_hang_under_themselves() {
    // The line under the one holding `start`, from the column where `start` begins.
    let under = |s: &str, start: &str| -> String {
        let lines: Vec<&str> = s.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains(start))
            .unwrap_or_else(|| panic!("`{start}` not shown:\n{s}"));
        let col = lines[i]
            .split(start)
            .next()
            .unwrap_or_default()
            .chars()
            .count();
        let next = lines.get(i + 1).copied().unwrap_or_default();
        next.chars().skip(col).collect()
    };
    // Two spaces, the key column, then the description's next words.
    let hang = |l: &str| l.starts_with(&" ".repeat(12)) && !l[12..].starts_with(' ');
    let mut app = fixture_app();
    keys(&mut app, "7");
    for _ in 0..40 {
        // Down to the end of the Campaigns tab's `o`, the last key that wraps.
        if screen(&mut app, 80, 24).contains("the run's own)") {
            break;
        }
        keys(&mut app, "j");
    }
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("help_wrapped_keys_80x24", &s);
    for start in [
        "  c         make a campaign",
        "  o         read the selected",
    ] {
        let next = under(&s, start);
        assert!(hang(&next), "`{next}` is not under its description:\n{s}");
    }

    // The overlay on Targets: the campaign line whole (it was cut at "contr").
    let mut app = fixture_app();
    keys(&mut app, "5?");
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("help_popup_targets_80x24", &s);
    let next = under(&s, "  c         make a campaign");
    assert!(hang(&next), "{s}");
    assert!(s.contains("holdout asked)"), "{s}");
}

/// Every input box's title is whole at 80 columns (the holdout box's was cut at "Esc ca"); at
/// 60 a title that does not fit ends in `…`.
#[test]
fn input_box_titles_are_whole_at_80_and_say_so_when_cut() {
    let ways: Vec<(&str, Go, &str)> = vec![
        ("search", |a| keys(a, "5/"), "Esc cancels"),
        ("K", |a| keys(a, "5K"), "Esc cancels"),
        ("export", |a| keys(a, "5e"), "Esc cancels"),
        ("add", |a| keys(a, "5a"), "Esc cancels"),
        ("name", |a| keys(a, "5c"), "Esc cancels"),
        (
            "holdout",
            |a| {
                keys(a, "5cspring");
                press(a, KeyCode::Enter);
            },
            "Enter creates, Esc cancels",
        ),
    ];
    for (what, go, end) in ways {
        let mut app = fixture_app();
        go(&mut app);
        assert!(app.input.is_some(), "{what}: a box is open");
        let s = screen(&mut app, 80, 24);
        let title = s
            .lines()
            .find(|l| l.contains("┌ ") && l.contains(" — "))
            .unwrap_or_else(|| panic!("{what}: no box\n{s}"));
        assert!(
            (title.contains(&format!("{end} ─")) || title.contains(&format!("{end} ┐")))
                && !title.contains('…'),
            "{what} at 80: `{title}`"
        );
        if what == "holdout" {
            insta::assert_snapshot!("targets_holdout_80x24", &s);
        }
        let s = screen(&mut app, 60, 16);
        let title = s
            .lines()
            .find(|l| l.contains("┌ ") && l.contains(" — "))
            .unwrap_or_else(|| panic!("{what}: no box at 60\n{s}"));
        assert!(
            title.contains(&format!("{end} ")) || title.contains("… "),
            "{what} at 60: `{title}`"
        );
    }
}

/// The interval line of the chosen model says what it is; every other model's compares it with
/// the chosen one.
#[test]
fn the_chosen_models_interval_line_does_not_compare_it_with_itself() {
    let chosen = chosen();
    let mut app = fixture_app();
    keys(&mut app, "3g");
    let n = app.wb.as_ref().expect("run").models.len();
    for row in 0..n {
        let s = screen(&mut app, 80, 24);
        let line = s
            .lines()
            .find(|l| l.contains(" 90%: "))
            .unwrap_or_else(|| panic!("no interval line:\n{s}"))
            .to_string();
        let model = line.split(' ').next().unwrap_or_default();
        if model == chosen {
            assert!(line.ends_with("· the chosen model"), "{line}");
            assert!(!line.contains(&format!("− {chosen}")), "{line}");
        } else {
            assert!(line.contains(&format!("· − {chosen} ")), "{line}");
        }
        if row + 1 < n {
            keys(&mut app, "j");
        }
    }
}

/// One wording for the events, in the CLI's summary and on the Labels tab, counts grouped by
/// thousands. A hand-made log: 1,000 distinct events of brand `a`, one of them twice, and five
/// of brand `b`; `--brands a` reads 1,006, keeps 1,001, drops 1 duplicate, uses 1,000.
#[test]
fn event_counts_read_the_same_in_summary_and_on_the_labels_tab() {
    use crate::common::{Row, csv_text, secs, write};
    let want = "1,006 read, 1,001 in scope, 1 duplicate dropped, 1,000 used";
    let t0 = secs("2019-10-01");
    let mut rows: Vec<Row> = (0..1000)
        .map(|i| Row::new(1 + i % 50, t0 + i * 3600, "view", Some("a"), 1.0))
        .collect();
    rows.push(rows[7].clone());
    rows.extend((0..5).map(|i| Row::new(99, t0 + i * 60, "view", Some("b"), 1.0)));
    let d = tempfile::tempdir().expect("tempdir");
    let log = write(d.path(), "log.csv", &csv_text(&rows));
    let o = assert_cmd::Command::cargo_bin("churn-tui")
        .expect("binary")
        .args(["summary", "--brands", "a", "--data"])
        .arg(&log)
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines().any(|l| l == format!("events:      {want}")),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let mut app = fixture_app();
    let mut stats = app.wb.as_ref().expect("run").stats.clone();
    (
        stats.data.rows_read,
        stats.data.duplicates,
        stats.data.events,
    ) = (1006, 1, 1000);
    app.early_stats = Some(stats);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains(&format!("│events    {want}")), "{s}");
}

/// `v` on the Leaderboard switches the split shown; its help says so (it said "sort").
#[test]
fn v_on_the_leaderboard_is_described_as_switching() {
    let help: Vec<&str> = KEYMAP
        .iter()
        .filter(|b| {
            b.scope == churn_tui::tui::keymap::Scope::On(Tab::Leaderboard) && b.label == "v"
        })
        .map(|b| b.help)
        .collect();
    assert_eq!(help.len(), 1);
    assert!(help[0].starts_with("switch val/test"), "{help:?}");
    let mut app = fixture_app();
    keys(&mut app, "3v");
    assert!(screen(&mut app, 80, 24).contains("leaderboard on test"));
}
