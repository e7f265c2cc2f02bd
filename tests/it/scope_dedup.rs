//! Scope filters (SPEC §1): the category prefix is tested against each product's resolved code
//! (earliest non-null code over the unscoped log; ties: the smallest code), brand lists are exact,
//! and exact duplicate rows count once.

use crate::common;

use churn_tui::engine::data::Scope;
use churn_tui::engine::label::Window;
use common::*;

fn users_in(log: &churn_tui::engine::data::EventLog) -> Vec<i64> {
    let mut u = user_ids(&log.df);
    u.sort();
    u.dedup();
    u
}

/// Each product is seen by its own user, so the users left tell which products were kept.
fn rekey_fixture() -> Vec<Row> {
    let oct = secs("2019-10-15");
    let dec = secs("2019-12-15");
    vec![
        // P100: a phone first coded correctly, re-keyed in December, sometimes null.
        Row::new(100, oct, "view", Some("samsung"), 1.0)
            .product(100, Some("electronics.smartphone")),
        Row::new(100, dec, "view", Some("samsung"), 1.0)
            .product(100, Some("construction.tools.light")),
        Row::new(100, dec + 60, "cart", Some("samsung"), 1.0).product(100, None),
        // P200: first seen after the re-key: its (wrong) code is all there is.
        Row::new(200, dec, "view", Some("apple"), 1.0)
            .product(200, Some("construction.tools.light")),
        // P300: never coded: never matches a category.
        Row::new(300, oct, "view", Some("apple"), 1.0).product(300, None),
        // P400: two codes at the same earliest second: the smallest wins (clocks < smartphone).
        Row::new(400, oct, "view", Some("xiaomi"), 1.0)
            .product(400, Some("electronics.smartphone")),
        Row::new(400, oct, "cart", Some("xiaomi"), 1.0).product(400, Some("electronics.clocks")),
        // P500: a sub-category of clocks; its earliest row has a null code, which is skipped.
        Row::new(500, oct - 60, "view", None, 1.0).product(500, None),
        Row::new(500, oct, "view", None, 1.0).product(500, Some("electronics.clocks.smart")),
    ]
}

#[test]
fn category_resolves_from_earliest_code() {
    let dir = tempfile::tempdir().unwrap();
    let scope = |c: &str| Scope {
        category: Some(c.into()),
        brands: None,
    };
    let log = load_rows(
        dir.path(),
        &rekey_fixture(),
        &scope("electronics.smartphone"),
    );
    assert_eq!(users_in(&log), vec![100]);
    // Every row of P100 is in, the re-keyed and the null-code ones too.
    assert_eq!(log.summary.events, 3);

    let log = load_rows(dir.path(), &rekey_fixture(), &scope("electronics.clocks"));
    assert_eq!(
        users_in(&log),
        vec![400, 500],
        "plain starts-with takes electronics.clocks.smart"
    );
    assert_eq!(log.summary.events, 4);

    let log = load_rows(dir.path(), &rekey_fixture(), &scope("construction"));
    assert_eq!(users_in(&log), vec![200]);
    assert_eq!(
        log.summary.rows_read, 9,
        "rows read counts the whole unscoped log"
    );
}

#[test]
fn brands_are_exact_and_null_never_matches() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope {
        category: None,
        brands: Some(vec!["samsung".into(), "xiaomi".into(), "Apple".into()]),
    };
    let log = load_rows(dir.path(), &rekey_fixture(), &scope);
    assert_eq!(
        users_in(&log),
        vec![100, 400],
        "`Apple` does not match `apple`; null brands never match"
    );

    let both = Scope {
        category: Some("electronics".into()),
        brands: Some(vec!["xiaomi".into()]),
    };
    let log = load_rows(dir.path(), &rekey_fixture(), &both);
    assert_eq!(users_in(&log), vec![400]);
}

#[test]
fn empty_scope_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "log.csv", &csv_text(&rekey_fixture()));
    let files = churn_tui::engine::data::resolve(&[p.to_string_lossy().to_string()]).unwrap();
    let err = churn_tui::engine::data::load(
        &files,
        &Scope {
            category: Some("toys".into()),
            brands: None,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("no events left after the scope filters"),
        "{err}"
    );
}

#[test]
fn exact_duplicates_count_once() {
    let t = secs("2020-01-01");
    let cart = Row::new(1, t - DAY, "cart", Some("apple"), 10.0);
    let mut rows = vec![cart.clone(); 78];
    // Differs only in the session: a different row.
    rows.push(cart.clone().session(Some("other")));
    // Differs only in the price.
    let mut pricier = cart.clone();
    pricier.price = 10.5;
    rows.push(pricier);
    rows.push(Row::new(2, t - DAY, "view", None, 1.0));
    rows.push(Row::new(2, t - DAY, "view", None, 1.0));
    let dir = tempfile::tempdir().unwrap();
    let log = load_rows(dir.path(), &rows, &Scope::default());
    assert_eq!(log.summary.rows_read, 82);
    assert_eq!(log.summary.events, 4);
    assert_eq!(log.summary.duplicates, 78);
    let by = rows_by_user(&table_at(&log, t, Window::default()));
    assert_eq!(by[&1].f["n_events_30d"], 3.0);
    assert_eq!(by[&2].f["n_events_30d"], 1.0);
    // The log is sorted by user then time.
    let users = user_ids(&log.df);
    assert!(users.windows(2).all(|w| w[0] <= w[1]));
}
