//! The workbench's screens, driven as a person would: actions in, screen out. Screens are
//! rendered with ratatui's TestBackend from the fixed fixture run (`tests/fixtures/run`, trained
//! once on a generated 3,000-user log with five models) and compared with the snapshots in
//! `snapshots/`: every tab and popup, text cut at words and saying so, Korean, the Campaigns
//! tab, and no control character from data on screen. Keyboard behaviour is in `tui_keys.rs`,
//! the training thread in `tui_training.rs`, colour and ASCII themes in `tui_themes.rs`.

use churn_tui::engine::run::open::LoadedRun;
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::App;
use churn_tui::tui::effects;
use churn_tui::tui::keymap::action_for;
use churn_tui::tui::theme::Theme;
use churn_tui::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::common::tui::*;
use crate::common::{fixture_run, read_json, screen};

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
    let loaded = app.run.as_ref().expect("run");
    let row = loaded
        .test
        .users
        .iter()
        .position(|u| *u == user)
        .expect("user");
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
            let user = app.targets.list_user(app.run.as_ref(), 0).expect("user");
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
    use churn_tui::engine::campaign::{self, db::DbUrl};
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    crate::common::copy_dir(&fixture_run(), &run);
    let loaded = LoadedRun::load(&run).unwrap();
    let mut app = App::new(Theme::default(), loaded.models.len());
    effects::open(&mut app, loaded);
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
    let mut conn = campaign::db::open(&DbUrl::Sqlite(db.clone())).unwrap();
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
        &crate::common::fixture_log().display().to_string(),
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
        &[crate::common::fixture_log().display().to_string()],
    )
    .unwrap();
    act(&mut app, '5');
    act(&mut app, '6');
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("spring") && s.contains("read"), "{s}");
    insta::assert_snapshot!("campaigns_80x24", s);
}

/// A run whose files name a hostile log (ESC, OSC 52, BEL in a file name and in the scope) and
/// a hostile message: ratatui drops control characters where text enters the buffer (every
/// span, line and `set_stringn` filters graphemes holding one), so no cell of any tab carries
/// one to the terminal; the printable rest of the text stays readable.
#[test]
fn control_characters_from_data_never_reach_the_screen() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    crate::common::copy_dir(&fixture_run(), &run);
    let stats = run.join("stats.json");
    let mut v: serde_json::Value = read_json(&stats);
    v["data"]["scope"] = "brands x\u{1b}]52;c;SGVsbG8=\u{7}y".into();
    v["data"]["files"][0]["path"] = "/tmp/ev\u{1b}[2J\u{1b}]0;title\u{7}il.csv".into();
    std::fs::write(&stats, serde_json::to_string(&v).unwrap()).unwrap();

    let loaded = LoadedRun::load(&run).expect("run loads");
    let mut app = App::new(Theme::default(), loaded.models.len());
    effects::open(&mut app, loaded);
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

/// Scrolled to its end at 80x24, the Labels tab still shows the split table and both headers;
/// only the anchors moved. The bottom border counts the anchors (five in the fixture).
#[test]
fn the_labels_headers_stay_while_the_anchors_scroll() {
    let stats: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_run().join("stats.json")).expect("stats"),
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
    for _ in 0..80 {
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
    let n = app.run.as_ref().expect("run").models.len();
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
    let mut stats = app.run.as_ref().expect("run").stats.clone();
    (
        stats.data.rows_read,
        stats.data.duplicates,
        stats.data.events,
    ) = (1006, 1, 1000);
    app.early_stats = Some(stats);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains(&format!("│events    {want}")), "{s}");
}
