//! Each user's whole visit history before the anchor, as the BG/NBD model reads it: repeat
//! visit days `x`, recency `t_x` (days from the first to the last visit day) and age `T` (days
//! from the first visit day to the anchor). Only events before the anchor count.
//!
//! These travel with the in-memory feature table as `__`-prefixed columns; the feature table
//! file (SPEC §6) does not carry them.

use std::collections::HashMap;

use polars::prelude::*;

use super::table::ANCHOR;
use crate::engine::Result;
use crate::engine::data::EventLog;
use crate::engine::data::schema::{TS, USER_ID};
use crate::engine::error::PolarsContext;
use crate::engine::time::US_PER_DAY;

pub const HIST_X: &str = "__hist_x";
pub const HIST_TX: &str = "__hist_t_x";
pub const HIST_AGE: &str = "__hist_age";

/// (x, t_x, T) for every row of `df` (which holds `user_id` and `anchor`).
pub fn history_columns(log: &EventLog, df: &DataFrame) -> Result<[Column; 3]> {
    let users = log
        .df
        .column(USER_ID)
        .and_then(|c| c.i64())
        .ctx(|| "user_id".into())?;
    let ts = log
        .df
        .column(TS)
        .and_then(|c| c.i64())
        .ctx(|| "ts".into())?;
    // Distinct visit days per user with the first event time on each, ascending (the log is
    // sorted by user, then time).
    let mut days: Vec<(i64, i64)> = Vec::new();
    let mut ranges: HashMap<i64, (usize, usize)> = HashMap::new();
    let mut prev: Option<(i64, i64)> = None;
    for (u, t) in users.iter().zip(ts.iter()) {
        let (Some(u), Some(t)) = (u, t) else { continue };
        let day = t.div_euclid(US_PER_DAY);
        if prev != Some((u, day)) {
            days.push((day, t));
            let e = ranges.entry(u).or_insert((days.len() - 1, days.len() - 1));
            e.1 = days.len();
            prev = Some((u, day));
        }
    }
    let row_users = df
        .column(USER_ID)
        .and_then(|c| c.i64())
        .ctx(|| "user_id".into())?;
    let anchors = df
        .column(ANCHOR)
        .ctx(|| "anchor".into())?
        .cast(&DataType::Int64)
        .ctx(|| "anchor".into())?;
    let anchors = anchors.i64().ctx(|| "anchor".into())?;
    let n = df.height();
    let (mut x, mut tx, mut age) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (u, t) in row_users.iter().zip(anchors.iter()) {
        let hist = match (u, t) {
            (Some(u), Some(t)) => ranges.get(&u).map(|&(a, b)| (&days[a..b], t)),
            _ => None,
        };
        let (vx, vtx, vage) = match hist {
            Some((d, t)) => {
                let k = d.partition_point(|&(_, first_ts)| first_ts < t);
                if k == 0 {
                    (0.0, 0.0, 0.0)
                } else {
                    let first = d[0].0;
                    (
                        (k - 1) as f64,
                        (d[k - 1].0 - first) as f64,
                        (t - first * US_PER_DAY) as f64 / US_PER_DAY as f64,
                    )
                }
            }
            None => (0.0, 0.0, 0.0),
        };
        x.push(vx);
        tx.push(vtx);
        age.push(vage);
    }
    Ok([
        Column::new(HIST_X.into(), x),
        Column::new(HIST_TX.into(), tx),
        Column::new(HIST_AGE.into(), age),
    ])
}
