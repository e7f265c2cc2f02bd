//! The workbench with an uplift model (SPEC §7a.3): `u` on Targets ranks the list by predicted
//! uplift and back, the header saying which; the Campaigns tab's Uplift view (`v`); an imported
//! campaign's detail line.

use churn_tui::engine::campaign::{Campaign, Status, Summary};
use churn_tui::engine::uplift::UpliftModel;
use churn_tui::tui::action::Tab;
use churn_tui::tui::tabs::targets::state::UpliftSource;

use crate::common::tui::{fixture_app, keys};
use crate::common::{repo, screen};

fn uplift_dir() -> std::path::PathBuf {
    repo("tests/fixtures/uplift_model")
}

fn with_uplift() -> churn_tui::tui::app::App {
    let mut app = fixture_app();
    let m = UpliftModel::load(&uplift_dir()).expect("fixture uplift folder loads");
    app.targets.uplift = Some(UpliftSource::new(m));
    app
}

/// The (user, value) pairs of the list rows on screen: rank, user id, then the score column.
fn rows_on(s: &str) -> Vec<(usize, i64, f64)> {
    s.lines()
        .filter_map(|l| {
            let l = l
                .trim_start_matches('│')
                .trim_start_matches([' ', '+', '✗']);
            let mut w = l.split_whitespace();
            Some((
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn u_ranks_the_targets_by_uplift_and_back_and_the_header_says_which() {
    let mut app = with_uplift();
    keys(&mut app, "5");
    assert_eq!(app.tab, Tab::Targets);
    let risk = screen(&mut app, 80, 24);
    assert!(risk.contains("by risk: model logreg"), "{risk}");
    keys(&mut app, "u");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("by uplift: transformed_outcome"), "{s}");
    assert!(s.contains("first uplift reason"), "{s}");
    // The rows shown are the users by predicted uplift, best first, each above zero: the
    // model's own predictions on the run's test rows, ranked here by hand.
    let run = app.run.as_ref().unwrap();
    let u = UpliftModel::load(&uplift_dir())
        .unwrap()
        .predict(&run.test)
        .unwrap();
    let mut by_hand: Vec<(i64, f64)> = run.test.users.iter().copied().zip(u).collect();
    by_hand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown = rows_on(&s);
    assert!(shown.len() >= 5, "{s}");
    for (rank, user, value) in &shown {
        let (want_user, want) = by_hand[rank - 1];
        assert!(
            (value - want).abs() < 5e-5,
            "rank {rank}: {value} vs {want}"
        );
        // Equal uplifts may come in another order (ties go by risk, SPEC §7a.3).
        if by_hand.iter().filter(|x| x.1 == want).count() == 1 {
            assert_eq!(*user, want_user, "rank {rank}");
        }
        assert!(*value > 0.0);
    }
    insta::assert_snapshot!("targets_uplift_80x24", s);
    // The user popup says the ranking and what raises the user's uplift.
    churn_tui::tui::app::App::update(&mut app, churn_tui::tui::action::Action::Enter);
    let popup = screen(&mut app, 80, 24);
    assert!(popup.contains("by uplift · uplift"), "{popup}");
    assert!(popup.contains("what raises this user's uplift"), "{popup}");
    churn_tui::tui::app::App::update(&mut app, churn_tui::tui::action::Action::Esc);
    keys(&mut app, "u");
    let back = screen(&mut app, 80, 24);
    assert!(back.contains("by risk: model"), "{back}");
    assert_eq!(rows_on(&back), rows_on(&risk), "back to the same risk list");
}

#[test]
fn u_without_an_uplift_model_says_how_to_get_one() {
    let mut app = fixture_app();
    keys(&mut app, "5u");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("by risk"), "{s}");
    let said = app
        .last_notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(said.contains("no uplift model"), "{said}");
}

#[test]
fn the_campaigns_tab_shows_the_uplift_model_on_v() {
    let mut app = with_uplift();
    keys(&mut app, "6");
    app.campaigns.set(Ok(Vec::new()));
    keys(&mut app, "v");
    let s = screen(&mut app, 80, 24);
    for want in ["Uplift", "Qini", "random", "risk", "chosen"] {
        assert!(s.contains(want), "{want}: {s}");
    }
    insta::assert_snapshot!("campaigns_uplift_80x24", s);
    let wide = screen(&mut app, 120, 36);
    assert!(wide.contains("users kept over risk"), "{wide}");
    keys(&mut app, "v");
    assert!(screen(&mut app, 80, 24).contains("No campaigns yet"));

    let mut bare = fixture_app();
    keys(&mut bare, "6");
    bare.campaigns.set(Ok(Vec::new()));
    keys(&mut bare, "v");
    assert!(screen(&mut bare, 80, 24).contains("No uplift model loaded"));
}

#[test]
fn an_imported_campaign_says_so_without_a_run_model_or_k() {
    let mut app = fixture_app();
    keys(&mut app, "6");
    let campaign = Campaign {
        id: 3,
        name: "spring-mailing".into(),
        created_at: "2020-02-01T00:00:00Z".into(),
        run_id: churn_tui::engine::campaign::import::IMPORTED.into(),
        model: String::new(),
        anchor: "2020-01-30T00:00:00Z".into(),
        k_bp: 0,
        holdout_bp: 5000,
        seed: 0,
        horizon_days: 30,
        scope: "{}".into(),
        run_dir: String::new(),
    };
    app.campaigns.set(Ok(vec![Summary {
        campaign,
        n_treatment: 1_000,
        n_control: 1_000,
        status: Status::Due,
        readout: Vec::new(),
    }]));
    let s = screen(&mut app, 80, 24);
    assert!(
        s.contains("imported · anchor 2020-01-30T00:00:00Z · control 50% · horizon 30 days"),
        "{s}"
    );
    assert!(!s.contains("top 0"), "{s}");
    insta::assert_snapshot!("campaigns_imported_80x24", s);
}
