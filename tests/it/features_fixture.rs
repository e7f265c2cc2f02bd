//! Every feature and label on a tiny hand-built log, with expected values worked out by hand
//! (SPEC §2–3): window edges at t − W, t − 15d, t − 7d, t, t + H − 1s and t + H; same-second
//! ties with different brands; users with only null brands; brand-count ties in labels.

use crate::common;

use churn_tui::engine::data::Scope;
use churn_tui::engine::label::Window;
use common::*;

const T: &str = "2020-01-01";

fn fixture() -> Vec<Row> {
    let t = secs(T);
    vec![
        // User 1: the rich case.
        Row::new(1, t - 30 * DAY - 1, "view", Some("xiaomi"), 999.0), // before the window
        Row::new(1, t - 30 * DAY, "view", Some("apple"), 100.0),      // exactly t − W: in
        Row::new(1, t - 20 * DAY, "view", Some("samsung"), 50.0),
        Row::new(1, t - 20 * DAY, "cart", Some("apple"), 50.0), // same second, sorts first
        Row::new(1, t - 15 * DAY, "purchase", Some("samsung"), 200.0), // exactly t − 15d: in 15d window
        Row::new(1, t - 7 * DAY, "view", None, 10.0), // exactly t − 7d: in 7d window
        Row::new(1, t - 1, "purchase", Some("apple"), 300.0),
        Row::new(1, t, "view", Some("samsung"), 5.0), // exactly t: future, never a feature
        Row::new(1, t + 30 * DAY - 1, "view", Some("samsung"), 5.0),
        Row::new(1, t + 30 * DAY, "view", Some("apple"), 5.0), // exactly t + H: outside
        Row::new(1, t + 30 * DAY, "cart", Some("apple"), 5.0),
        Row::new(1, t + 30 * DAY + 5, "view", Some("apple"), 5.0),
        // User 2: only null brands, one event, active one second before t + H.
        Row::new(2, t - 10 * DAY + 3600, "view", None, 20.0),
        Row::new(2, t + 30 * DAY - 1, "view", None, 20.0),
        // User 3: dormant; the only later event is exactly at t + H.
        Row::new(3, t - 15 * DAY - 1, "view", Some("xiaomi"), 30.0),
        Row::new(3, t - 3 * DAY, "view", Some("xiaomi"), 30.0),
        Row::new(3, t - 2 * DAY, "view", Some("xiaomi"), 40.0),
        Row::new(3, t + 30 * DAY, "view", Some("xiaomi"), 30.0),
        // User 5: brand-count ties both sides: home = apple (< samsung), future = apple (< xiaomi).
        Row::new(5, t - 5 * DAY, "view", Some("samsung"), 1.0),
        Row::new(5, t - 4 * DAY, "view", Some("apple"), 1.0),
        Row::new(5, t + DAY, "view", Some("xiaomi"), 1.0),
        Row::new(5, t + 2 * DAY, "view", Some("apple"), 1.0),
        // User 6: only before the window: not in the population.
        Row::new(6, t - 30 * DAY - 1, "view", Some("apple"), 1.0),
        Row::new(6, t + DAY, "view", Some("apple"), 1.0),
        // User 7: only after t: not in the population either.
        Row::new(7, t, "purchase", Some("apple"), 1.0),
    ]
}

#[test]
fn hand_computed_features_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let log = load_rows(dir.path(), &fixture(), &Scope::default());
    let table = table_at(&log, secs(T), Window::default());
    let rows = rows_by_user(&table);

    let mut users: Vec<i64> = rows.keys().copied().collect();
    users.sort();
    assert_eq!(
        users,
        vec![1, 2, 3, 5],
        "population = users with an event in [t − W, t)"
    );

    // User 1. Dates: Dec 2, 12, 17, 25, 31 -> gaps 10, 5, 8, 6.
    let u = &rows[&1];
    let f = |n: &str| u.f[n];
    assert_eq!(f("n_events_30d"), 6.0);
    assert_eq!(f("active_days_30d"), 5.0);
    assert_eq!(f("n_purchase_30d"), 2.0);
    assert_close(f("purchase_ratio"), 2.0 / 6.0, "purchase_ratio");
    assert_close(
        f("days_since_last_event"),
        1.0 / 86_400.0,
        "days_since_last_event",
    );
    assert_close(
        f("days_since_last_purchase"),
        1.0 / 86_400.0,
        "days_since_last_purchase",
    );
    assert_close(
        f("brand_concentration_ratio"),
        3.0 / 5.0,
        "brand_concentration_ratio",
    );
    // apple, apple, samsung, samsung, apple (same-second tie sorted by brand): 2 switches.
    assert_eq!(f("brand_switch_count_30d"), 2.0);
    assert_eq!(f("total_spend_30d"), 500.0);
    assert_close(f("activity_ratio_15d"), 3.0 / 6.0, "activity_ratio_15d");
    // mean 710/6; squared deviations sum to 61083.33…; /6 = 10180.55…
    assert_close(
        f("price_volatility"),
        (61_083.333_333_333_33f64 / 6.0).sqrt(),
        "price_volatility",
    );
    assert_close(
        f("price_volatility"),
        pop_std(&[100.0, 50.0, 50.0, 200.0, 10.0, 300.0]),
        "price_volatility",
    );
    assert_eq!(f("n_events_7d"), 2.0);
    // gaps 10, 5, 8, 6: mean 7.25, variance 14.75/4.
    assert_close(
        f("visit_regularity"),
        1.0 / (1.0 + (14.75f64 / 4.0).sqrt()),
        "visit_regularity",
    );
    assert_close(f("activity_trend"), 0.0, "activity_trend");
    // home apple (3 of 5); future samsung (t and t + H − 1s; the apples at t + H are outside).
    assert_eq!(u.label, "m1");
    assert_eq!(u.y, 0);

    // User 2: one event, null brand only.
    let u = &rows[&2];
    let f = |n: &str| u.f[n];
    assert_eq!(f("n_events_30d"), 1.0);
    assert_eq!(f("active_days_30d"), 1.0);
    assert_eq!(f("n_purchase_30d"), 0.0);
    assert_eq!(f("purchase_ratio"), 0.0);
    assert_close(
        f("days_since_last_event"),
        10.0 - 1.0 / 24.0,
        "days_since_last_event",
    );
    assert_eq!(
        f("days_since_last_purchase"),
        30.0,
        "sentinel W without a purchase"
    );
    assert_eq!(f("brand_concentration_ratio"), 0.0);
    assert_eq!(f("brand_switch_count_30d"), 0.0);
    assert_eq!(f("total_spend_30d"), 0.0);
    assert_eq!(f("activity_ratio_15d"), 1.0);
    assert_eq!(f("price_volatility"), 0.0);
    assert_eq!(f("n_events_7d"), 0.0);
    assert_eq!(f("visit_regularity"), 0.0);
    assert_eq!(f("activity_trend"), 1.0);
    assert_eq!(
        u.label, "m0",
        "active at t + H − 1s, brands undefined -> m0"
    );
    assert_eq!(u.y, 0);

    // User 3: Dec 16 23:59:59, Dec 29, Dec 30.
    let u = &rows[&3];
    let f = |n: &str| u.f[n];
    assert_eq!(f("n_events_30d"), 3.0);
    assert_eq!(f("active_days_30d"), 3.0);
    assert_close(f("days_since_last_event"), 2.0, "days_since_last_event");
    assert_eq!(f("days_since_last_purchase"), 30.0);
    assert_eq!(f("brand_concentration_ratio"), 1.0);
    assert_eq!(f("brand_switch_count_30d"), 0.0);
    assert_close(f("activity_ratio_15d"), 2.0 / 3.0, "activity_ratio_15d");
    assert_close(
        f("price_volatility"),
        (200.0f64 / 9.0).sqrt(),
        "price_volatility",
    );
    assert_eq!(f("n_events_7d"), 2.0);
    // gaps 13 and 1: population std 6.
    assert_close(f("visit_regularity"), 1.0 / 7.0, "visit_regularity");
    assert_close(f("activity_trend"), 1.0 / 3.0, "activity_trend");
    assert_eq!(u.label, "m2", "the only later event is at t + H: dormant");
    assert_eq!(u.y, 1);

    // User 5: ties broken to the smallest brand on both sides -> apple = apple -> m0.
    let u = &rows[&5];
    assert_eq!(u.label, "m0");
    assert_close(
        u.f["brand_concentration_ratio"],
        0.5,
        "brand_concentration_ratio",
    );
    assert_eq!(u.f["brand_switch_count_30d"], 1.0);
    assert_eq!(u.f["visit_regularity"], 0.0, "two active dates only");

    // Label counts per anchor.
    let c = &table.per_anchor[0];
    assert_eq!((c.rows, c.m0, c.m1, c.m2), (4, 2, 1, 1));
}

#[test]
fn odd_lookback_halves_exactly() {
    // W = 31: the "15-day" windows become 15.5 days; the sentinel becomes 31.
    let t = secs(T);
    let rows = vec![
        Row::new(1, t - 15 * DAY - DAY / 2, "view", None, 1.0), // exactly t − 15.5d: in the half
        Row::new(1, t - 15 * DAY - DAY / 2 - 1, "view", None, 1.0), // one second earlier: out
        Row::new(1, t - 31 * DAY, "view", None, 1.0),           // exactly t − 31d: in
    ];
    let dir = tempfile::tempdir().unwrap();
    let log = load_rows(dir.path(), &rows, &Scope::default());
    let w = Window {
        lookback_days: 31,
        horizon_days: 30,
    };
    let by = rows_by_user(&table_at(&log, t, w));
    let u = &by[&1];
    assert_eq!(u.f["n_events_30d"], 3.0);
    assert_close(u.f["activity_ratio_15d"], 1.0 / 3.0, "activity_ratio_15d");
    assert_close(u.f["activity_trend"], (1.0 - 2.0) / 3.0, "activity_trend");
    assert_eq!(u.f["days_since_last_purchase"], 31.0);
}

#[test]
fn table_is_sorted_and_ordered_as_spec() {
    let dir = tempfile::tempdir().unwrap();
    let log = load_rows(dir.path(), &fixture(), &Scope::default());
    let table = table_at(&log, secs(T), Window::default());
    // In-memory extras (BG/NBD history) come after the SPEC columns, marked `__`.
    let names: Vec<String> = table
        .df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .filter(|s| !s.starts_with("__"))
        .collect();
    let mut want = vec!["user_id", "anchor", "split", "label", "y"];
    want.extend(churn_tui::engine::features::FEATURE_NAMES);
    assert_eq!(names, want);
    let users = user_ids(&table.df);
    assert_eq!(users, vec![1, 2, 3, 5]);
}

#[test]
fn visit_history_for_bgnbd_by_hand() {
    use churn_tui::engine::features::columns::{HIST_AGE, HIST_TX, HIST_X};
    let dir = tempfile::tempdir().unwrap();
    let log = load_rows(dir.path(), &fixture(), &Scope::default());
    let table = table_at(&log, secs(T), Window::default());
    let df = &table.df;
    let users = df.column("user_id").unwrap().i64().unwrap().clone();
    let get = |name: &str, user: i64| -> f64 {
        let i = users.iter().position(|u| u == Some(user)).unwrap();
        df.column(name).unwrap().f64().unwrap().get(i).unwrap()
    };
    // The whole history before t counts, not just the window. (x repeat visit days, t_x days
    // from the first to the last visit day, T days from the first visit day to t.)
    // User 1: visit days Dec 1 (t − 30d − 1s), 2, 12, 17, 25, 31 → x 5, t_x 30, T 31.
    // User 2: Dec 22 only → 0, 0, 10.  User 3: Dec 16, 29, 30 → 2, 14, 16.
    // User 5: Dec 27, 28 → 1, 1, 5.
    for (user, want) in [
        (1, [5.0, 30.0, 31.0]),
        (2, [0.0, 0.0, 10.0]),
        (3, [2.0, 14.0, 16.0]),
        (5, [1.0, 1.0, 5.0]),
    ] {
        let got = [get(HIST_X, user), get(HIST_TX, user), get(HIST_AGE, user)];
        assert_eq!(got, want, "user {user}");
    }
}
