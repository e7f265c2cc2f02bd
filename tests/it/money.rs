//! Money (SPEC §5.1–5.3): the cost of a list in both cost forms, the K a budget buys, hand
//! edits freeing and spending budget, and the return, net and intervals from a read-out. Every
//! expected value is worked out by hand here, from the ten users below.

use churn_tui::engine::features::FEATURE_NAMES;
use churn_tui::engine::features::matrix::Data;
use churn_tui::engine::run::open::LoadedRun;
use churn_tui::engine::targeting::TierRule;
use churn_tui::engine::targeting::edits::Edits;
use churn_tui::engine::targeting::list::{Cut, ListSpec, target_rows};
use churn_tui::engine::targeting::money::plan::{Returns, TierUplift, Uplifts};
use churn_tui::engine::targeting::money::{Ledger, PlanTable, group_names};
use churn_tui::engine::targeting::order::TargetOrder;
use churn_tui::engine::targeting::phrases::Phrases;
use churn_tui::engine::targeting::ranking::Ranking;

use crate::common::targeting::one_model_run;

fn col(name: &str) -> usize {
    FEATURE_NAMES.iter().position(|f| *f == name).unwrap()
}

/// Ten users, ids 1–10, ranked in id order (scores 0.99, 0.98, …). Purchases and spend in the
/// window give each a mean purchase price:
///
/// | user | purchases | spend | order value |
/// |---|---|---|---|
/// | 1 | 2 | 200 | 100 |
/// | 2 | 1 | 50 | 50 |
/// | 3 | 0 | 0 | median 80 |
/// | 4 | 4 | 400 | 100 |
/// | 5 | 1 | 30 | 30 |
/// | 6 | 0 | 0 | median 80 |
/// | 7 | 2 | 120 | 60 |
/// | 8 | 1 | 80 | 80 |
/// | 9 | 0 | 0 | median 80 |
/// | 10 | 5 | 1000 | 200 |
///
/// The median over the seven buyers: 30, 50, 60, 80, 100, 100, 200 → 80.
fn ten_users() -> LoadedRun {
    let purchases = [2.0, 1.0, 0.0, 4.0, 1.0, 0.0, 2.0, 1.0, 0.0, 5.0];
    let spend = [200.0, 50.0, 0.0, 400.0, 30.0, 0.0, 120.0, 80.0, 0.0, 1000.0];
    let n = 10;
    let mut cols: Vec<Vec<f64>> = (0..FEATURE_NAMES.len()).map(|_| vec![1.0; n]).collect();
    cols[col("n_purchase_30d")] = purchases.to_vec();
    cols[col("total_spend_30d")] = spend.to_vec();
    let test = Data {
        cols,
        y: (0..n).map(|i| i % 2 == 0).collect(),
        users: (1..=n as i64).collect(),
        anchors: vec![0; n],
        hist: vec![],
    };
    let scores = (0..n).map(|i| 0.99 - 0.01 * i as f64).collect();
    one_model_run(tempfile::tempdir().unwrap().keep(), "m", test, scores)
}

/// Three tiers over ten users: Hot the top 20% (ceil(2.0) = 2 users), Warm to 50% (5), Cool
/// to 70% (7): a seven-user list. `costs` are each tier's cost keys.
fn tiers(costs: [&str; 3], top: &str) -> TierRule {
    let t = format!(
        "{top}\n[[tiers]]\nname = \"Hot\"\ntop_pct = 20\noffer = \"a\"\n{}\n\n\
         [[tiers]]\nname = \"Warm\"\ntop_pct = 50\noffer = \"b\"\n{}\n\n\
         [[tiers]]\nname = \"Cool\"\ntop_pct = 70\noffer = \"c\"\n{}\n",
        costs[0], costs[1], costs[2]
    );
    TierRule::from_toml(&t, "t.toml").unwrap()
}

fn fixed() -> TierRule {
    tiers(
        ["cost = 1000", "cost = 500", "cost = 100"],
        "currency = \"KRW\"\nvalue = 20000",
    )
}

fn ledger(run: &LoadedRun, tiers: &TierRule, edits: &Edits) -> Ledger {
    let order = TargetOrder::of(run, "m").unwrap();
    Ledger::build(run, &order, tiers, edits).unwrap()
}

#[test]
fn a_seven_user_list_over_three_tiers_costs_by_hand_in_both_forms() {
    let run = ten_users();
    // Fixed: 2 × 1,000 + 3 × 500 + 2 × 100 = 3,700.
    let l = ledger(&run, &fixed(), &Edits::default());
    assert_eq!(l.reach, 7);
    assert_eq!(l.cost_at(7), 3700.0);
    assert_eq!(l.users_at(7), 7);
    let per: Vec<(usize, f64)> = l.groups_at(7).iter().map(|g| (g.users, g.cost)).collect();
    assert_eq!(per, [(2, 2000.0), (3, 1500.0), (2, 200.0), (0, 0.0)]);
    // Below the last tier no one has an offer: the cost stops growing.
    assert_eq!(l.cost_at(10), 3700.0);

    // Discount × order value × redeem rate: Hot 0.5 × 0.5, Warm 0.2 × 0.5, Cool 0.1 × 1.
    //   user 1 Hot 0.25 × 100 = 25; user 2 Hot 0.25 × 50 = 12.5;
    //   user 3 Warm 0.1 × 80 (median) = 8; user 4 Warm 0.1 × 100 = 10; user 5 Warm 0.1 × 30 = 3;
    //   user 6 Cool 0.1 × 80 (median) = 8; user 7 Cool 0.1 × 60 = 6. Total 72.5.
    let d = tiers(
        [
            "discount = 0.5\nredeem_rate = 0.5",
            "discount = 0.2\nredeem_rate = 0.5",
            "discount = 0.1\nredeem_rate = 1.0",
        ],
        "currency = \"USD\"",
    );
    let l = ledger(&run, &d, &Edits::default());
    assert_eq!(l.median_order_value, Some(80.0));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let per: Vec<f64> = l.groups_at(7).iter().map(|g| g.cost).collect();
    assert!(
        close(per[0], 37.5) && close(per[1], 21.0) && close(per[2], 14.0),
        "{per:?}"
    );
    assert!(close(l.cost_at(7), 72.5));
    for (k, want) in [
        (1, 25.0),
        (2, 37.5),
        (3, 45.5),
        (4, 55.5),
        (5, 58.5),
        (6, 66.5),
    ] {
        assert!(close(l.cost_at(k), want), "k = {k}: {}", l.cost_at(k));
    }
}

#[test]
fn the_budgets_k_at_one_below_and_one_above_a_users_cumulative_cost() {
    let run = ten_users();
    let l = ledger(&run, &fixed(), &Edits::default());
    // Cumulative: 1,000, 2,000, 2,500, 3,000, 3,500, 3,600, 3,700. User 4 at 3,000.
    for (budget, k, spent) in [
        (3000.0, 4, 3000.0),
        (2999.0, 3, 2500.0),
        (3001.0, 4, 3000.0),
        (0.0, 0, 0.0),
        (999.0, 0, 0.0),
    ] {
        let b = l.budget_k(budget);
        assert_eq!((b.k, b.cost), (k, spent), "budget {budget}");
        assert!(!b.whole && !b.over);
    }
    let b = l.budget_k(0.0);
    assert_eq!(b.next, Some(1000.0), "the first offer costs 1,000");
    // Above the whole list's cost: the list through the last tier, and what is left.
    let b = l.budget_k(1e9);
    assert_eq!((b.k, b.cost, b.whole), (7, 3700.0, true));
    assert_eq!(b.left(), 1e9 - 3700.0);

    // The list cut at the budget's K is the engine's list, as export writes it.
    let edits = Edits::default();
    let t = fixed();
    let en = Phrases::load("en").unwrap();
    let rows = target_rows(
        &run,
        &ListSpec {
            model: "m",
            cut: Cut::Users(l.budget_k(3001.0).k),
            tiers: &t,
            edits: &edits,
            phrases: &en,
            rank: &Ranking::Risk,
        },
    )
    .unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[test]
fn an_excluded_user_frees_budget_and_an_added_one_spends_it() {
    let run = ten_users();
    let t = fixed();
    // No edits: 2,000 buys users 1 and 2.
    assert_eq!(ledger(&run, &t, &Edits::default()).budget_k(2000.0).k, 2);
    // User 2 (Hot, 1,000) excluded: 1 (1,000), 3 (500), 4 (500) fit: K reaches position 4.
    let mut edits = Edits::default();
    edits.toggle_exclude(2);
    let l = ledger(&run, &t, &edits);
    let b = l.budget_k(2000.0);
    assert_eq!((b.k, b.cost), (4, 2000.0));
    assert_eq!(l.users_at(4), 3, "the excluded user is not on the list");
    // User 9 added from below every tier: the last tier's offer, 100, spent whatever K is.
    edits.add(9);
    let l = ledger(&run, &t, &edits);
    assert_eq!(l.cost_at(0), 100.0);
    // 100 + 1,000 (user 1) + 500 (user 3) = 1,600; with user 4, 2,100 > 2,000.
    let b = l.budget_k(2000.0);
    assert_eq!((b.k, b.cost), (3, 1600.0));
    assert_eq!(l.users_at(3), 3, "users 1, 3 and the added 9");
    let added = &l.groups_at(3)[3];
    assert_eq!((added.users, added.cost), (1, 100.0));
    // The added users alone past the budget: no ranked user, and it says so.
    let b = l.budget_k(50.0);
    assert!(b.over && b.k == 0);
}

fn uplift(tier: &str, uplift: f64, low: f64, high: f64) -> TierUplift {
    TierUplift {
        tier: tier.into(),
        uplift,
        low,
        high,
        n_treatment: 900,
        n_control: 100,
    }
}

fn readout() -> Uplifts {
    Uplifts {
        campaign_id: 3,
        campaign: "spring".into(),
        data_end: "2020-05-31T23:59:59Z".into(),
        tiers: vec![
            uplift("Hot", 0.10, 0.02, 0.20),
            uplift("Warm", 0.05, -0.01, 0.12),
            uplift("cool", 0.004, -0.03, 0.04),
        ],
    }
}

#[test]
fn return_net_and_their_intervals_from_a_read_out_by_hand() {
    let run = ten_users();
    let t = fixed();
    let en = Phrases::load("en").unwrap();
    let l = ledger(&run, &t, &Edits::default());
    let ups = readout();
    let returns = Returns::new(group_names(&t, &en), Some(&ups));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;

    // The whole list (k = 7): Hot 2 users, Warm 3, Cool 2 (the read-out's `cool` matches
    // `Cool` as tier names compare); each kept customer is worth 20,000; cost 3,700.
    let r = returns.row_at(&l, 7);
    let kept = r.retained.unwrap();
    // Kept: 2·0.10 + 3·0.05 + 2·0.004 = 0.358.
    assert!(close(kept.mid, 0.358));
    // MOVER: down √((2·0.08)² + (3·0.06)² + (2·0.034)²) = √0.062624,
    //        up   √((2·0.10)² + (3·0.07)² + (2·0.036)²) = √0.089284.
    assert!(close(kept.low, 0.358 - 0.062624f64.sqrt()));
    assert!(close(kept.high, 0.358 + 0.089284f64.sqrt()));
    // Net: 20,000 × 0.358 − 3,700 = 3,460; its interval scales by 20,000.
    let net = r.net.unwrap();
    assert!(close(net.mid, 3460.0));
    assert!(close(
        net.low,
        20000.0 * (0.358 - 0.062624f64.sqrt()) - 3700.0
    ));
    assert!(close(
        net.high,
        20000.0 * (0.358 + 0.089284f64.sqrt()) - 3700.0
    ));
    assert!(net.straddles_zero(), "low {} high {}", net.low, net.high);

    // Per user: Hot 0.10 × 20,000 − 1,000 = +1,000; Warm 0.05 × 20,000 − 500 = +500; Cool
    // 0.004 × 20,000 − 100 = −20. The largest net is at the end of Warm: 2,000 + 1,500 = 3,500.
    let best = returns.best_net(&l).unwrap();
    assert_eq!(best.k, 5);
    assert!(close(best.net.unwrap().mid, 3500.0));
    // Its interval: V = 40,000 (Hot) and 60,000 (Warm); down √(3,200² + 3,600²), up
    // √(4,000² + 4,200²).
    let b = best.net.unwrap();
    assert!(close(
        b.low,
        3500.0 - (3200.0f64.powi(2) + 3600.0f64.powi(2)).sqrt()
    ));
    assert!(close(
        b.high,
        3500.0 + (4000.0f64.powi(2) + 4200.0f64.powi(2)).sqrt()
    ));

    // A read-out without Cool: the return stops where the list reaches Cool, and says why.
    let mut partial = readout();
    partial.tiers.pop();
    let table = PlanTable::new(&l, group_names(&t, &en), Ok(partial), Some(3000.0), &t);
    let by = |label: &str| {
        table
            .all_rows()
            .find(|r| r.label == label)
            .unwrap()
            .row
            .clone()
    };
    assert!(by("50%").net.is_some());
    assert!(by("100%").net.is_none() && by("100%").cost == 3700.0);
    let why = table.why_no_return.clone().unwrap();
    assert!(why.contains("`Cool`") && why.contains("up to 50%"), "{why}");
    assert_eq!(by("budget").k, 4);

    // Without a read-out: the cost only, and the reason, never an invented uplift.
    let table = PlanTable::new(
        &l,
        group_names(&t, &en),
        Err("no campaign".into()),
        None,
        &t,
    );
    assert!(
        table
            .all_rows()
            .all(|r| r.row.net.is_none() && r.row.retained.is_none())
    );
    assert_eq!(table.why_no_return.as_deref(), Some("no campaign"));
    assert!(table.best.is_none());
}

#[test]
fn amounts_print_in_the_configs_currency_in_english_and_korean() {
    let t = fixed();
    assert_eq!(t.amount(5_000_000.0, "en"), "₩5,000,000");
    assert_eq!(t.amount(5_000_000.0, "ko"), "5,000,000원");
    let usd = tiers(["cost = 1", "cost = 1", "cost = 1"], "currency = \"USD\"");
    assert_eq!(usd.amount(5000.0, "en"), "$5,000.00");
    assert_eq!(usd.amount(5000.0, "ko"), "$5,000.00");
    let none = tiers(["cost = 1", "cost = 1", "cost = 1"], "");
    assert_eq!(none.amount(1234.5, "en"), "1,234.50");
}

#[test]
fn a_config_without_costs_keeps_working_and_a_budget_names_the_tier_without_one() {
    let run = ten_users();
    let partial = tiers(["cost = 1000", "", "cost = 100"], "");
    let order = TargetOrder::of(&run, "m").unwrap();
    let e = Ledger::build(&run, &order, &partial, &Edits::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.toml") && e.contains("`Warm` has no cost"),
        "{e}"
    );
    let none = tiers(["", "", ""], "");
    assert!(!none.has_costs());
    // The list itself is as it always was.
    let en = Phrases::load("en").unwrap();
    let edits = Edits::default();
    let rows = target_rows(
        &run,
        &ListSpec {
            model: "m",
            cut: Cut::Share(churn_tui::engine::eval::KPct { bp: 5000 }),
            tiers: &none,
            edits: &edits,
            phrases: &en,
            rank: &Ranking::Risk,
        },
    )
    .unwrap();
    assert_eq!(rows.len(), 5);
}

#[test]
fn every_bad_money_config_is_refused_naming_file_tier_and_key() {
    let base = |hot: &str, top: &str| {
        format!(
            "{top}\n[[tiers]]\nname = \"Hot\"\ntop_pct = 20\noffer = \"a\"\n{hot}\n\n\
             [[tiers]]\nname = \"Warm\"\ntop_pct = 50\noffer = \"b\"\ncost = 1\n"
        )
    };
    let tier_cases = [
        ("cost = 1\ndiscount = 0.1\nredeem_rate = 0.1", "cost"),
        ("cost = -1", "cost"),
        ("cost = nan", "cost"),
        ("cost = inf", "cost"),
        ("cost = -inf", "cost"),
        ("cost = \"abc\"", "cost"),
        ("cost = true", "cost"),
        ("discount = 1.5\nredeem_rate = 0.1", "discount"),
        ("discount = -0.1\nredeem_rate = 0.1", "discount"),
        ("discount = 0.1\nredeem_rate = 2", "redeem_rate"),
        ("discount = 0.1\nredeem_rate = nan", "redeem_rate"),
        ("discount = 0.1", "redeem_rate"),
        ("redeem_rate = 0.1", "discount"),
    ];
    for (hot, key) in tier_cases {
        let e = TierRule::from_toml(&base(hot, ""), "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.toml") && e.contains("tier 1 (Hot)") && e.contains(key),
            "{hot:?}: {e}"
        );
    }
    for (top, key) in [
        ("currency = \"WON\"", "currency"),
        ("currency = 5", "currency"),
        ("value = -3", "value"),
        ("value = \"lots\"", "value"),
        ("value = nan", "value"),
    ] {
        let e = TierRule::from_toml(&base("cost = 1", top), "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.toml") && e.contains(key), "{top:?}: {e}");
    }
}
