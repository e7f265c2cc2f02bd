//! Who of a set of users was active in a span, streamed: what a campaign's read-out needs of
//! the logs. One pass, batch by batch, checks every row, finds the scoped log's time range and
//! the users seen; no event is held, so a read-out's memory follows its targets, not the log.

use std::collections::HashSet;

use polars::prelude::*;

use super::batches::each_batch;
use super::log::{Within, bad_input, no_input, nothing_in_scope, scope_expr};
use super::scan::bad_expr;
use super::schema::*;
use super::scope::Scope;
use super::source::InputFile;
use crate::engine::Result;
use crate::engine::error::PolarsContext;

/// What the logs say of a set of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The scoped log's first and last event (of everyone).
    pub first_ts: i64,
    pub last_ts: i64,
    /// How many of the users have any event in scope.
    pub seen: usize,
    /// The users with an event in scope within the span.
    pub active: HashSet<i64>,
}

/// `users`' activity in `files` (in `scope`) within `span`; `None`: every user's, and `seen`
/// is then not counted (0: it would hold every id of the log). Bad rows, empty inputs and a
/// scope that keeps nothing are the errors `data::load` gives.
pub fn activity(
    files: &[InputFile],
    scope: &Scope,
    users: Option<&[i64]>,
    span: Within,
) -> Result<Activity> {
    let keep = scope_expr(files, scope)?;
    let targets: Option<HashSet<i64>> = users.map(|u| u.iter().copied().collect());
    let flags = [
        bad_expr().alias(BAD),
        keep.alias(KEEP),
        col(TS),
        col(USER_ID),
    ];
    let (mut rows, mut bad_file) = (0u64, None);
    let (mut first_ts, mut last_ts) = (i64::MAX, i64::MIN);
    let (mut seen, mut active) = (HashSet::new(), HashSet::new());
    // Batch by batch: only the users found are held, never an event.
    each_batch(files, &CANONICAL, |i, df| {
        rows += df.height() as u64;
        let df = df
            .lazy()
            .select(flags.clone())
            .collect()
            .ctx(|| "checking events".into())?;
        let bad = df.column(BAD).and_then(|c| c.bool()).ctx(|| BAD.into())?;
        if bad.any() {
            bad_file = Some(i);
            return Ok(true);
        }
        let kept = df.column(KEEP).and_then(|c| c.bool()).ctx(|| KEEP.into())?;
        let ts = df.column(TS).and_then(|c| c.i64()).ctx(|| TS.into())?;
        let ids = df
            .column(USER_ID)
            .and_then(|c| c.i64())
            .ctx(|| USER_ID.into())?;
        for ((k, t), u) in kept.iter().zip(ts.iter()).zip(ids.iter()) {
            let (Some(true), Some(t), Some(u)) = (k, t, u) else {
                continue;
            };
            first_ts = first_ts.min(t);
            last_ts = last_ts.max(t);
            match &targets {
                Some(targets) if targets.contains(&u) => {
                    seen.insert(u);
                    if span.contains(t) {
                        active.insert(u);
                    }
                }
                Some(_) => {}
                None => {
                    if span.contains(t) {
                        active.insert(u);
                    }
                }
            }
        }
        Ok(false)
    })?;
    if let Some(f) = bad_file {
        return Err(bad_input(files, f));
    }
    if rows == 0 {
        return Err(no_input());
    }
    if first_ts > last_ts {
        return Err(nothing_in_scope(scope, None, rows));
    }
    let seen = seen.len();
    Ok(Activity {
        first_ts,
        last_ts,
        seen,
        active,
    })
}
