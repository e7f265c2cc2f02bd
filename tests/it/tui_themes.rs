//! The workbench without colour (`NO_COLOR`) and in ASCII (`--ascii`): curves told apart by
//! their characters, only ASCII on every tab and popup, and the K mark shown in its own style
//! for whichever model is targeted, in every theme.

use churn_tui::tui::app::App;
use churn_tui::tui::theme::Theme;
use churn_tui::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

use crate::common::tui::*;
use crate::common::{fixture_run, screen};

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
        .run
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

/// Makes `name` the targeting model as a person would: its row on the Leaderboard, Enter.
fn target(app: &mut App, name: &str) {
    keys(app, "3g");
    let loaded = app.run.as_ref().expect("run");
    let pos = app
        .leaderboard
        .order(Some(loaded))
        .iter()
        .position(|&i| loaded.models[i].name == name)
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
        &std::fs::read_to_string(fixture_run().join("eval.json")).expect("eval"),
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
            .run
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
