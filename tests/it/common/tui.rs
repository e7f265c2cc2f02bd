//! Helpers of the workbench tests (`tui*.rs`): the workbench opened on the fixture run, keys
//! pressed as a person would, and the fixture's test scores read straight from `scores.csv`.

use churn_tui::engine::run::open::LoadedRun;
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::{App, Effect};
use churn_tui::tui::effects;
use churn_tui::tui::keymap::action_for;
use churn_tui::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixture_run;

pub fn fixture_app() -> App {
    let loaded = LoadedRun::load(&fixture_run()).expect("fixture run loads");
    let mut app = App::new(Theme::default(), loaded.models.len());
    effects::open(&mut app, loaded);
    app
}

pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let ev = KeyEvent::new(code, KeyModifiers::NONE);
    match action_for(app.tab, &ev) {
        Some(a) => app.update(a),
        None => vec![],
    }
}

pub fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        if app.input.is_some() {
            app.type_char(c);
        } else {
            press(app, KeyCode::Char(c));
        }
    }
}

/// The fixture's test rows for one model, read straight from scores.csv: (user, y, score).
pub fn test_scores(model: &str) -> Vec<(i64, bool, f64)> {
    let text = std::fs::read_to_string(fixture_run().join("scores.csv")).expect("scores.csv");
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
pub fn ranked(model: &str) -> Vec<(i64, bool, f64)> {
    let mut r = test_scores(model);
    r.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    r
}

pub fn chosen() -> String {
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_run().join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    m["chosen_model"].as_str().expect("chosen").to_string()
}

pub fn themed_app(theme: Theme) -> App {
    let loaded = LoadedRun::load(&fixture_run()).expect("fixture run loads");
    let mut app = App::new(theme, loaded.models.len());
    effects::open(&mut app, loaded);
    app
}

/// A fresh fixture app on `tab` (and the Features' VIF view).
pub fn app_on(tab: Tab, vif: bool) -> App {
    let mut app = fixture_app();
    app.update(Action::GoTab(tab));
    if vif {
        keys(&mut app, "v");
    }
    app
}

pub const NO_COLOR: Theme = Theme {
    color: false,
    ascii: false,
};
pub const ASCII: Theme = Theme {
    color: true,
    ascii: true,
};

/// A way to a view: keys pressed on a fresh app.
pub type Go = fn(&mut App);
