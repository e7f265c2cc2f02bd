//! The brand figures per (anchor, user) key, by one pass over the sorted log: the home brand
//! (the most frequent non-null brand of the lookback window, ties to the smallest rank) and
//! its count, the brand switches and branded events of the window, and the future brand (the
//! same mode over the horizon) with the horizon's event count, which the label reads. SPEC §2–3 define them; the grouped polars queries this pass
//! replaced say the same and are kept as the reference of a test (`table.rs`), and the SQL
//! dialects say it again (`sql.rs`), which the engine tests compare against this table.
//!
//! Written as a pass because the log is already in (user, time, brand) order: each user's
//! window is a slice found by binary search, so the figures cost a walk over its rows, where
//! the queries grouped the stacked windows twice by (key, brand) and once more by key (about
//! 0.6 s of the 4M-event bench's 2 s feature query). Counts are integers, so the results are
//! the queries' to the bit.

use polars::prelude::*;
use rayon::prelude::*;

use super::columns::{KEY, KEY_SHIFT};
use super::exprs::{BRANDED, SWITCH, TOP_BRAND_COUNT};
use crate::engine::data::EventLog;
use crate::engine::data::schema::{BRAND_RANK, TS, UIDX};
use crate::engine::error::PolarsContext;
use crate::engine::label::AnchorPlan;
use crate::engine::label::dormancy::{FUTURE_BRAND, HOME_BRAND, N_FUTURE};
use crate::engine::{Error, Result};

/// The three tables the feature query joins on `KEY`; a key is absent where its window holds
/// no branded event (as the queries' groups were).
pub struct BrandTables {
    /// `KEY`, `HOME_BRAND`, `TOP_BRAND_COUNT`.
    pub home: DataFrame,
    /// `KEY`, `SWITCH`, `BRANDED` (as f64, as the feature expressions read them).
    pub sequence: DataFrame,
    /// `KEY`, `FUTURE_BRAND`.
    pub future: DataFrame,
    /// `KEY`, `N_FUTURE`: events in the horizon; absent where there are none.
    pub active: DataFrame,
}

/// Per key, what one user's window gives; collected per chunk of users, in key order.
#[derive(Default)]
struct Figures {
    home: (Vec<i64>, Vec<i64>, Vec<i64>),
    sequence: (Vec<i64>, Vec<f64>, Vec<f64>),
    future: (Vec<i64>, Vec<i64>),
    active: (Vec<i64>, Vec<IdxSize>),
}

impl Figures {
    fn append(&mut self, mut other: Figures) {
        self.home.0.append(&mut other.home.0);
        self.home.1.append(&mut other.home.1);
        self.home.2.append(&mut other.home.2);
        self.sequence.0.append(&mut other.sequence.0);
        self.sequence.1.append(&mut other.sequence.1);
        self.sequence.2.append(&mut other.sequence.2);
        self.future.0.append(&mut other.future.0);
        self.future.1.append(&mut other.future.1);
        self.active.0.append(&mut other.active.0);
        self.active.1.append(&mut other.active.1);
    }
}

/// No brand (a null `BRAND_RANK`).
const NONE: u32 = u32::MAX;

/// The brand tables of `log` at every anchor of `plan`.
pub fn brand_tables(log: &EventLog, plan: &AnchorPlan) -> Result<BrandTables> {
    let c = |what: &str| {
        let what = what.to_string();
        move || format!("brand figures: {what}")
    };
    let df = &log.df;
    // Read in place where the column is one null-free chunk (the log always is), else copied.
    let ts_col = df
        .column(TS)
        .and_then(|s| s.i64().cloned())
        .ctx(c("time"))?;
    let uidx_col = df
        .column(UIDX)
        .and_then(|s| s.u32().cloned())
        .ctx(c("user index"))?;
    // The log has no missing time or user (the loader's checks); say so rather than read one.
    if ts_col.null_count() > 0 || uidx_col.null_count() > 0 {
        return Err(Error::Config(
            "brand figures: the event log has a missing time or user".into(),
        ));
    }
    let ts: std::borrow::Cow<[i64]> = match ts_col.cont_slice() {
        Ok(v) => v.into(),
        Err(_) => ts_col.into_no_null_iter().collect::<Vec<_>>().into(),
    };
    let uidx: std::borrow::Cow<[u32]> = match uidx_col.cont_slice() {
        Ok(v) => v.into(),
        Err(_) => uidx_col.into_no_null_iter().collect::<Vec<_>>().into(),
    };
    let brand: Vec<u32> = df
        .column(BRAND_RANK)
        .and_then(|s| s.u32().cloned())
        .ctx(c("brand"))?
        .iter()
        .map(|b| b.unwrap_or(NONE))
        .collect();
    if ts.len() != uidx.len() || ts.len() != brand.len() {
        return Err(Error::Config(
            "brand figures: columns of unequal length".into(),
        ));
    }
    // Each user's rows, in order (the log is sorted by user; the index is dense).
    let mut users: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=uidx.len() {
        if i == uidx.len() || uidx[i] != uidx[start] {
            users.push((start, i));
            start = i;
        }
    }
    let (lookback, horizon) = (plan.window.lookback_us(), plan.window.horizon_us());
    let anchors: Vec<i64> = plan.anchors.iter().map(|(t, _)| *t).collect();
    // Chunks of users side by side, joined in order: the same tables on any thread count.
    let parts: Vec<Figures> = users
        .par_chunks(4096)
        .map(|chunk| {
            let mut f = Figures::default();
            let mut scratch = Vec::new();
            for (i, &t) in anchors.iter().enumerate() {
                for &(a, b) in chunk {
                    let key = i as i64 * KEY_SHIFT + uidx[a] as i64;
                    let rows = |from: i64, to: i64| {
                        let at = |x: i64| a + ts[a..b].partition_point(|&v| v < x);
                        at(t + from)..at(t + to)
                    };
                    let past = &brand[rows(-lookback, 0)];
                    if let Some((rank, count)) = mode(past, &mut scratch) {
                        let (branded, switches) = sequence(past);
                        f.home.0.push(key);
                        f.home.1.push(rank as i64);
                        f.home.2.push(count as i64);
                        f.sequence.0.push(key);
                        f.sequence.1.push(switches as f64);
                        f.sequence.2.push(branded as f64);
                    }
                    let ahead = rows(0, horizon);
                    if !ahead.is_empty() {
                        f.active.0.push(key);
                        f.active.1.push(ahead.len() as IdxSize);
                    }
                    if let Some((rank, _)) = mode(&brand[ahead], &mut scratch) {
                        f.future.0.push(key);
                        f.future.1.push(rank as i64);
                    }
                }
            }
            f
        })
        .collect();
    let mut all = Figures::default();
    for p in parts {
        all.append(p);
    }
    let frame = |cols: Vec<Column>| DataFrame::new_infer_height(cols).ctx(c("table"));
    let Figures {
        home,
        sequence,
        future,
        active,
    } = all;
    Ok(BrandTables {
        home: frame(vec![
            Column::new(KEY.into(), home.0),
            Column::new(HOME_BRAND.into(), home.1),
            Column::new(TOP_BRAND_COUNT.into(), home.2),
        ])?,
        sequence: frame(vec![
            Column::new(KEY.into(), sequence.0),
            Column::new(SWITCH.into(), sequence.1),
            Column::new(BRANDED.into(), sequence.2),
        ])?,
        future: frame(vec![
            Column::new(KEY.into(), future.0),
            Column::new(FUTURE_BRAND.into(), future.1),
        ])?,
        active: frame(vec![
            Column::new(KEY.into(), active.0),
            Column::new(N_FUTURE.into(), active.1),
        ])?,
    })
}

/// The most frequent brand among `brands` (nulls skipped) and its count; ties go to the
/// smallest rank, i.e. the lexicographically smallest brand. `None` without a branded row.
fn mode(brands: &[u32], scratch: &mut Vec<u32>) -> Option<(u32, u32)> {
    scratch.clear();
    scratch.extend(brands.iter().copied().filter(|&b| b != NONE));
    scratch.sort_unstable();
    let mut best: Option<(u32, u32)> = None;
    for run in scratch.chunk_by(|x, y| x == y) {
        let n = run.len() as u32;
        // Ascending ranks: only a strictly larger count displaces the smaller rank.
        if best.is_none_or(|(_, c)| n > c) {
            best = Some((run[0], n));
        }
    }
    best
}

/// Branded rows, and switches: consecutive branded rows (in time order) whose brands differ.
fn sequence(brands: &[u32]) -> (u32, u32) {
    let mut branded = 0;
    let mut switches = 0;
    let mut last = NONE;
    for &b in brands.iter().filter(|&&b| b != NONE) {
        if last != NONE && b != last {
            switches += 1;
        }
        branded += 1;
        last = b;
    }
    (branded, switches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_takes_the_most_frequent_brand_and_the_smallest_on_a_tie() {
        let mut s = Vec::new();
        assert_eq!(mode(&[3, NONE, 1, 3, 1], &mut s), Some((1, 2)));
        assert_eq!(mode(&[5, 2, 5], &mut s), Some((5, 2)));
        assert_eq!(mode(&[NONE, NONE], &mut s), None);
        assert_eq!(mode(&[], &mut s), None);
    }

    #[test]
    fn switches_count_changes_between_branded_rows_only() {
        // 1 → (none) → 1 is no switch; 1 → 2, 2 → 1 are two.
        assert_eq!(sequence(&[1, NONE, 1, 2, NONE, 1]), (4, 2));
        assert_eq!(sequence(&[NONE]), (0, 0));
    }
}
