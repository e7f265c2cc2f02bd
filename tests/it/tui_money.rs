//! Money in the workbench (SPEC §5.2–5.3, §9): `b` types a budget and K follows it, the header
//! says budget, spent and left; `+` still moves K and the amounts follow; an exclusion frees
//! budget; `p` opens the plan view, drawn from a read-out, or the cost alone without one.

use churn_tui::engine::campaign::readout::{ALL, TierReadout};
use churn_tui::engine::campaign::{Campaign, Status, Summary};
use churn_tui::engine::targeting::TierRule;
use churn_tui::tui::app::App;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use crate::common::tui::{fixture_app, keys, press};
use crate::common::{bin, fixture_run, screen};

/// The Targets tab with a budget typed: `5`, `b`, the amount, Enter.
fn with_budget(budget: &str) -> App {
    let mut app = fixture_app();
    keys(&mut app, "5b");
    keys(&mut app, budget);
    press(&mut app, KeyCode::Enter);
    app
}

/// The rows `export --budget` writes for the fixture run: the CLI's list, to compare the
/// workbench's with.
fn exported_rows(budget: &str) -> usize {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    crate::common::copy_dir(&fixture_run(), &run);
    let out = d.path().join("t.csv");
    bin()
        .args(["export", "--budget", budget, "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    std::fs::read_to_string(out).unwrap().lines().count() - 1
}

#[test]
fn a_typed_budget_sets_k_and_the_header_says_budget_spent_and_left() {
    let mut app = with_budget("300");
    assert!(app.input.is_none());
    let k = app.k_rows();
    assert_eq!(
        k,
        exported_rows("300"),
        "the workbench's list is the export's"
    );
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("targets_budget_80x24", s);
    let head: String = s.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("by budget") && head.contains(&format!("k = {k}")),
        "{head}"
    );
    assert!(head.contains("budget $300.00 · spent $"), "{head}");
    assert!(head.contains("· left $"), "{head}");
    let s = screen(&mut app, 160, 48);
    insta::assert_snapshot!("targets_budget_160x48", s);

    // `+` still moves K (to the next whole percent) and the amounts follow: the budget stays.
    press(&mut app, KeyCode::Char('+'));
    let s = screen(&mut app, 80, 24);
    let head: String = s.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(head.contains("Top 3% of 496"), "{head}");
    assert!(head.contains("budget $300.00 · spent $"), "{head}");
    assert!(app.k_rows() == 15, "ceil(3% of 496) = 15");

    // An empty budget drops it; K stays.
    keys(&mut app, "b");
    assert_eq!(app.input.as_ref().map(|i| i.text.as_str()), Some("300"));
    // The box proposes the budget, selected: one Backspace empties it.
    app.edit_input(KeyCode::Backspace, KeyModifiers::NONE);
    assert_eq!(app.input.as_ref().map(|i| i.text.as_str()), Some(""));
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Top 3% of 496") && s.contains("cost $"), "{s}");
    assert!(!s.contains("budget $"), "{s}");
}

#[test]
fn excluding_a_user_frees_budget_for_the_next_ones() {
    let mut app = with_budget("300");
    let before = app.k_rows();
    let spent = |app: &mut App| {
        let s = screen(app, 160, 48);
        let line = s
            .lines()
            .find(|l| l.contains("spent $"))
            .unwrap()
            .to_string();
        let v = line
            .split("spent $")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        v.replace(',', "").parse::<f64>().unwrap()
    };
    let spent_before = spent(&mut app);
    // Exclude the top user: their offer's cost is freed, and K takes as many more as fit
    // (on the next frame, as a person sees it).
    press(&mut app, KeyCode::Char('x'));
    let spent_after = spent(&mut app);
    let after = app.k_rows();
    assert!(after > before, "K {before} → {after}");
    assert!(spent_after <= 300.0 && spent_before <= 300.0);
}

/// A read-out of a campaign of the fixture run: uplift per tier with its interval.
fn spring() -> Summary {
    let row = |tier: &str, u: f64, lo: f64, hi: f64| TierReadout {
        tier: tier.into(),
        n_treatment: 90,
        n_control: 10,
        dormant_treatment: 50,
        dormant_control: 6,
        uplift: Some(u),
        ci_low: Some(lo),
        ci_high: Some(hi),
        data_end: "2020-05-31T23:59:59Z".into(),
        read_at: "2020-06-02T00:00:00Z".into(),
    };
    Summary {
        campaign: Campaign {
            id: 4,
            name: "spring".into(),
            created_at: "2020-04-01T00:00:00Z".into(),
            run_id: "20261130T201620Z-s42".into(),
            model: "logreg".into(),
            anchor: "2020-04-01T00:00:00Z".into(),
            k_bp: 3000,
            holdout_bp: 1000,
            seed: 42,
            horizon_days: 30,
            scope: "{}".into(),
            run_dir: "run".into(),
        },
        n_treatment: 270,
        n_control: 30,
        status: Status::Read,
        readout: vec![
            row("Emergency", 0.12, 0.03, 0.22),
            row("Warning", 0.06, -0.02, 0.14),
            row("Potential", 0.002, -0.05, 0.07),
            row(ALL, 0.05, 0.0, 0.1),
        ],
    }
}

/// Fixed costs and a fixed value, in won: per user, Emergency 0.12 × 300,000 − 3,000 =
/// +33,000, Warning 0.06 × 300,000 − 2,000 = +16,000, Potential 0.002 × 300,000 − 1,000 =
/// −400: the largest net is where Warning ends (top 15%: 75 users of 496).
fn won() -> TierRule {
    TierRule::from_toml(
        "currency = \"KRW\"\nvalue = 300000\n\
         [[tiers]]\nname = \"Emergency\"\ntop_pct = 5\noffer = \"a\"\ncost = 3000\n\
         [[tiers]]\nname = \"Warning\"\ntop_pct = 15\noffer = \"b\"\ncost = 2000\n\
         [[tiers]]\nname = \"Potential\"\ntop_pct = 30\noffer = \"c\"\ncost = 1000\n",
        "won.toml",
    )
    .unwrap()
}

#[test]
fn the_plan_view_draws_cost_return_and_net_with_marks_at_80x24_and_160x48() {
    let mut app = fixture_app();
    app.tiers = won();
    keys(&mut app, "5");
    app.campaigns.set(Ok(vec![spring()]));
    keys(&mut app, "p");
    assert!(app.targets.plan_open);
    let s = screen(&mut app, 80, 24);
    insta::assert_snapshot!("plan_80x24", s);
    assert!(
        s.contains("Plan: cost, expected return and net by K"),
        "{s}"
    );
    assert!(s.contains("campaign `spring` (id 4)"), "{s}");
    let s = screen(&mut app, 160, 48);
    // 25 × 33,000 + 50 × 16,000 = 1,625,000 at K = 75 users.
    assert!(
        s.contains("largest net at K 15.12% (75 users): ₩1,625,000"),
        "{s}"
    );
    let s = screen(&mut app, 160, 48);
    insta::assert_snapshot!("plan_160x48", s);
    // K moves the mark and the figures under the chart.
    let line = |s: &str| {
        s.lines()
            .find(|l| l.contains(": K "))
            .unwrap_or("")
            .to_string()
    };
    let at5 = line(&s);
    press(&mut app, KeyCode::Char(']'));
    let s = screen(&mut app, 160, 48);
    assert_ne!(line(&s), at5, "{s}");
    assert!(line(&s).contains("K 10.08% (50 users)"), "{s}");
    // Esc goes back to the list; p again opens the plan.
    press(&mut app, KeyCode::Esc);
    assert!(!app.targets.plan_open);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("first risk reason"), "{s}");
}

#[test]
fn without_a_read_out_the_plan_draws_cost_only_and_says_which_campaign_would_give_the_rest() {
    let mut app = fixture_app();
    keys(&mut app, "5");
    let mut unread = spring();
    unread.readout.clear();
    unread.status = Status::Due;
    app.campaigns.set(Ok(vec![unread]));
    keys(&mut app, "p");
    let s = screen(&mut app, 160, 48);
    assert!(
        s.contains("cost only: campaign `spring` (id 4) has no read-out yet"),
        "{s}"
    );
    assert!(!s.contains("largest net"), "{s}");
    app.campaigns.set(Ok(vec![]));
    let s = screen(&mut app, 160, 48);
    assert!(s.contains("cost only: no campaign of this run"), "{s}");
}
