//! The workbench's keyboard behaviour on the fixture run: tabs, K steps, sorting, search, the
//! user detail, help, scrolling (every view to its end and no further, each tab its own), and
//! the keys offered where they do something.

use churn_tui::engine::eval::KPct;
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::{App, Popup};
use churn_tui::tui::keymap::KEYMAP;
use ratatui::crossterm::event::KeyCode;

use crate::common::tui::*;
use crate::common::{fixture_run, screen};

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
        &std::fs::read_to_string(fixture_run().join("eval.json")).expect("eval"),
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

/// ▼ is descending on every column, the model names included; ASCII has v and ^.
#[test]
fn sort_arrows_mean_the_same_on_every_column() {
    let mut app = fixture_app();
    keys(&mut app, "3");
    let names = |app: &App| -> Vec<String> {
        let loaded = app.run.as_ref().expect("run");
        app.leaderboard
            .order(Some(loaded))
            .iter()
            .map(|&i| loaded.models[i].name.clone())
            .collect()
    };
    let aucs = |app: &App| -> Vec<f64> {
        let loaded = app.run.as_ref().expect("run");
        app.leaderboard
            .order(Some(loaded))
            .iter()
            .map(|&i| loaded.models[i].val.pr_auc.unwrap_or(f64::NAN))
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
