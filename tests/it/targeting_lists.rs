//! Who is on the target list and why (SPEC §5): reasons from the model's own attributions,
//! percentiles on a hand-built population, the list with hand edits equal to an independent
//! ranking, counts grouped by thousands, and a K that cuts a tie (taken by the runner-up's
//! score, then recency, and said so on screen, in exports and in the report).

use std::collections::BTreeSet;

use churn_tui::engine::eval::KPct;
use churn_tui::engine::features::FEATURE_NAMES;
use churn_tui::engine::features::matrix::{Data, N_FEATURES};
use churn_tui::engine::run::open::LoadedRun;
use churn_tui::engine::targeting::TierRule;
use churn_tui::engine::targeting::edits::Edits;
use churn_tui::engine::targeting::list::target_rows;
use churn_tui::engine::targeting::phrases::Phrases;
use churn_tui::engine::targeting::reasons::reasons_for;
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::App;
use churn_tui::tui::effects::{self, apply};
use churn_tui::tui::theme::Theme;

use crate::common::targeting::*;
use crate::common::{bin, fixture_run, run_copy, screen};

/// A row at the test population's medians with one feature pushed to `v`.
fn one_extreme(loaded: &LoadedRun, feature: usize, v: f64) -> Data {
    let mut cols: Vec<Vec<f64>> = loaded.medians().iter().map(|&m| vec![m]).collect();
    cols[feature][0] = v;
    Data {
        cols,
        y: vec![true],
        users: vec![1],
        anchors: vec![loaded.test.anchors[0]],
        hist: vec![],
    }
}

#[test]
fn one_extreme_feature_is_the_top_reason_for_logreg_and_gbdt() {
    let loaded = LoadedRun::load(&fixture_run()).unwrap();
    let max = |j: usize| loaded.test.cols[j].iter().copied().fold(f64::MIN, f64::max);
    // Long silence: days_since_last_event at the population's maximum, everything else at the
    // median. (activity_ratio_15d and activity_trend are exactly collinear, so a linear model
    // may split their weight either way; they make no fair single-feature test.)
    for (feature, value) in [(4usize, max(4))] {
        for model in ["logreg", "gbdt"] {
            let m = loaded.fitted(model).unwrap();
            let x = one_extreme(&loaded, feature, value);
            let attr = m.contributions(&x).expect("model attributions");
            let rs = reasons_for(&attr[0], &x.row(0), |j, v| loaded.shares(j, v));
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
    let loaded = LoadedRun::load(&fixture_run()).unwrap();
    let m = loaded.fitted("logreg").unwrap();
    let rows: Vec<usize> = (0..20).collect();
    let x = loaded.test.select(&rows);
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
    let loaded = tiny_workbench(&[3.0, 1.0, 2.0, 20.0, 3.0, 5.0, 2.0, 3.0, 8.0, 4.0]);
    // Value 3: 3 below (1,2,2), 4 above (4,5,8,20).
    assert_eq!(loaded.shares(0, 3.0), (0.3, 0.4));
    // Value 20: 9 below, none above; value 1: none below, 9 above.
    assert_eq!(loaded.shares(0, 20.0), (0.9, 0.0));
    assert_eq!(loaded.shares(0, 1.0), (0.0, 0.9));
    // Between values: 2.5 has 3 below and 7 above.
    assert_eq!(loaded.shares(0, 2.5), (0.3, 0.7));
    let en = Phrases::load("en").unwrap();
    let (b, a) = loaded.shares(1, 1.0);
    assert_eq!(
        en.sentence(1, 1.0, b, a),
        "active on 1 of the last 30 days — lower than 90% of users"
    );
    let (b, a) = loaded.shares(0, 20.0);
    assert_eq!(
        en.sentence(0, 20.0, b, a),
        "20 events in the last 30 days — higher than 90% of users"
    );
}

#[test]
fn target_list_with_edits_matches_an_independent_ranking() {
    let (_d, run) = run_copy();
    let loaded = LoadedRun::load(&run).unwrap();
    let model = loaded.chosen.clone();
    let r = ranked(&run, &model);
    let mut edits = Edits::default();
    edits.toggle_exclude(r[0].0);
    edits.toggle_exclude(r[3].0);
    edits.add(r[200].0);
    edits.add(r[100].0);
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let rows = target_rows(
        &loaded,
        &spec(&model, KPct { bp: 1000 }, &tiers, &edits, &en),
    )
    .unwrap();
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
    let e = target_rows(&loaded, &spec(&model, KPct { bp: 500 }, &tiers, &bad, &en))
        .unwrap_err()
        .to_string();
    assert!(e.contains("42"), "{e}");
}

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
    let loaded = tie_workbench();
    let mut app = App::new(Theme::default(), 1);
    // k = ceil(5 · 30,480 / 100) = 1,524: the 41 above, then 1,483 of the 6,876 tied.
    let mut edits = Edits::default();
    edits.add(20_000);
    app.show_run(loaded, Ok(edits));
    app.update(Action::GoTab(Tab::Targets));
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("targets_tie_80x24", s);
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[6].starts_with("tie at k: 1,483 of 6,876 users at score 0.9000 taken, by recency"),
        "{s}"
    );
    // The line before it says what the list costs (the shipped tiers have costs).
    assert!(lines[5].starts_with("cost $"), "{s}");
    for l in &lines[2..7] {
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
    let loaded = LoadedRun::load(&run).unwrap();
    // gbdt at 5% of 496: k = 25 cuts a group of 21 equal scores after 11 above it.
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let none = Edits::default();
    let list = churn_tui::engine::targeting::list::target_list(
        &loaded,
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
    let note = list.tie_note(KPct { bp: 500 }.into()).unwrap();
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
