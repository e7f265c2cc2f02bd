//! Property tests for leakage (SPEC §2–3): events at or after the anchor never change a feature;
//! events before t − W change nothing at all; the order of input rows changes nothing.

use crate::common;

use churn_tui::engine::data::Scope;
use churn_tui::engine::features::FEATURE_NAMES;
use churn_tui::engine::label::Window;
use common::*;
use polars::prelude::*;
use proptest::prelude::*;

const TYPES: [&str; 4] = ["view", "cart", "remove_from_cart", "purchase"];
const BRANDS: [Option<&str>; 4] = [None, Some("apple"), Some("samsung"), Some("xiaomi")];

fn t0() -> i64 {
    secs("2020-01-01")
}

/// An event `offset` seconds after `t0` (negative: before).
fn event(offset_range: std::ops::Range<i64>) -> impl Strategy<Value = Row> {
    (1i64..6, offset_range, 0usize..4, 0usize..4, 0u32..50_000).prop_map(
        |(u, off, ty, b, cents)| {
            Row::new(u, t0() + off, TYPES[ty], BRANDS[b], cents as f64 / 100.0)
        },
    )
}

fn table(rows: &[Row]) -> DataFrame {
    // One fixed user inside the window, so the population is never empty.
    let mut rows = rows.to_vec();
    rows.push(Row::new(99, t0() - DAY, "view", Some("apple"), 1.0));
    let dir = tempfile::tempdir().unwrap();
    let log = load_rows(dir.path(), &rows, &Scope::default());
    let df = table_at(&log, t0(), Window::default()).df;
    // The SPEC columns: the BG/NBD history columns look at all events before t by design.
    let mut cols = vec!["user_id", "anchor", "split", "label", "y"];
    cols.extend(FEATURE_NAMES);
    df.select(cols).unwrap()
}

fn features_only(df: &DataFrame) -> DataFrame {
    let mut cols = vec!["user_id"];
    cols.extend(FEATURE_NAMES);
    df.select(cols).unwrap()
}

const W: i64 = 30 * DAY;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn events_at_or_after_t_never_change_features(
        base in prop::collection::vec(event(-W - 3 * DAY..40 * DAY), 1..40),
        later in prop::collection::vec(event(0..60 * DAY), 1..20),
    ) {
        let before = table(&base);
        let mut more = base.clone();
        more.extend(later);
        let after = table(&more);
        prop_assert!(features_only(&before).equals_missing(&features_only(&after)));
    }

    #[test]
    fn events_before_the_window_change_nothing(
        base in prop::collection::vec(event(-W - 3 * DAY..40 * DAY), 1..40),
        earlier in prop::collection::vec(event(-W - 40 * DAY..-W), 1..20),
    ) {
        let before = table(&base);
        let mut more = earlier;
        more.extend(base);
        let after = table(&more);
        prop_assert!(before.equals_missing(&after));
    }

    #[test]
    fn row_order_changes_nothing(
        base in prop::collection::vec(event(-W - 3 * DAY..40 * DAY), 2..50),
        seed in any::<u64>(),
    ) {
        let before = table(&base);
        // A seeded Fisher–Yates shuffle.
        let mut shuffled = base.clone();
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let after = table(&shuffled);
        prop_assert!(before.equals_missing(&after));
    }
}
