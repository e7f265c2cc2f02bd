//! Each user's whole visit history before the anchor, as the BG/NBD model reads it: repeat
//! visit days `x`, recency `t_x` (days from the first to the last visit day) and age `T` (days
//! from the first visit day to the anchor). Only events before the anchor count.
//!
//! These travel with the in-memory feature table as `__`-prefixed columns; the feature table
//! file (SPEC §6) does not carry them.

use polars::prelude::*;

use super::columns::ANCHOR;
use super::columns::{HIST_AGE, HIST_TX, HIST_X};
use crate::engine::Result;
use crate::engine::data::EventLog;
use crate::engine::data::schema::{TS, UIDX, USER_ID};
use crate::engine::error::PolarsContext;
use crate::engine::time::US_PER_DAY;

/// (x, t_x, T) for every row of `df` (which holds `user_id` and `anchor`).
///
/// One pass over the log, which is sorted by user then time and carries a dense user index
/// (assigned in user_id order): per user, the slice of its distinct visit days.
pub fn history_columns(log: &EventLog, df: &DataFrame) -> Result<[Column; 3]> {
    let col_i64 = |name: &str| -> Result<Vec<i64>> {
        let c = log
            .df
            .column(name)
            .and_then(|c| c.i64())
            .ctx(|| name.into())?;
        Ok(match c.rechunk().cont_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => c.iter().map(|v| v.unwrap_or(0)).collect(),
        })
    };
    let users = col_i64(USER_ID)?;
    let ts = col_i64(TS)?;
    let uidx_col = log
        .df
        .column(UIDX)
        .and_then(|c| c.u32())
        .ctx(|| UIDX.into())?;
    let uidx: Vec<u32> = uidx_col.iter().map(|v| v.unwrap_or(0)).collect();
    let n_users = uidx.last().map_or(0, |&u| u as usize + 1);
    // Distinct visit days with the first event time on each; `ranges[u]` slices a user's days.
    let mut days: Vec<(i64, i64)> = Vec::with_capacity(ts.len() / 2);
    let mut ranges: Vec<(usize, usize)> = vec![(0, 0); n_users];
    let mut user_ids: Vec<i64> = vec![0; n_users];
    let mut prev: Option<(u32, i64)> = None;
    for i in 0..ts.len() {
        let (u, t) = (uidx[i], ts[i]);
        let day = t.div_euclid(US_PER_DAY);
        if prev != Some((u, day)) {
            if prev.map(|p| p.0) != Some(u) {
                ranges[u as usize].0 = days.len();
                user_ids[u as usize] = users[i];
            }
            days.push((day, t));
            ranges[u as usize].1 = days.len();
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
            (Some(u), Some(t)) => user_ids
                .binary_search(&u)
                .ok()
                .map(|i| (&days[ranges[i].0..ranges[i].1], t)),
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
