//! Who of a set of users was active in a span, streamed: what a campaign's read-out needs of
//! the logs. One pass checks every row, finds the scoped log's time range and the users seen;
//! no event is held, so a read-out's memory follows its targets, not the log.

use std::collections::HashSet;

use polars::prelude::*;

use super::diagnose::explain_failure;
use super::log::{Within, bad_input, no_input, nothing_in_scope, scan_all, scope_expr};
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

/// `users`' activity in `files` (in `scope`) within `span`. Bad rows, empty inputs and a scope
/// that keeps nothing are the errors `data::load` gives.
pub fn activity(
    files: &[InputFile],
    scope: &Scope,
    users: &[i64],
    span: Within,
) -> Result<Activity> {
    let all = scan_all(files)?;
    let keep = scope_expr(&all, files, scope)?;
    let ids = Series::new("users".into(), users);
    let good = col(BAD).not().and(keep);
    let target = good
        .clone()
        .and(col(USER_ID).is_in(lit(ids).implode(false), false));
    let df = all
        .select([
            len().alias("rows"),
            col(FILE_IDX).filter(col(BAD)).min().alias("bad_file"),
            col(TS).filter(good.clone()).min().alias("first"),
            col(TS).filter(good).max().alias("last"),
            col(USER_ID).filter(target.clone()).n_unique().alias("seen"),
            col(USER_ID)
                .filter(target.and(span.expr()))
                .unique()
                .implode(false)
                .alias("active"),
        ])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| explain_failure(files, "reading the event log", e))?;
    let get = |name: &str| df.column(name).ok().and_then(|c| c.get(0).ok());
    if let Some(f) = get("bad_file").and_then(|v| v.extract::<usize>()) {
        return Err(bad_input(files, f));
    }
    let rows = get("rows").and_then(|v| v.extract::<u64>()).unwrap_or(0);
    if rows == 0 {
        return Err(no_input());
    }
    let (Some(first_ts), Some(last_ts)) = (
        get("first").and_then(|v| v.extract::<i64>()),
        get("last").and_then(|v| v.extract::<i64>()),
    ) else {
        return Err(nothing_in_scope(scope, None, rows));
    };
    let seen = get("seen").and_then(|v| v.extract::<usize>()).unwrap_or(0);
    // No active user gives an empty list (or none at all): an empty set, never an error.
    let active: HashSet<i64> = match df
        .column("active")
        .and_then(|c| c.list().cloned())
        .ctx(|| "the active users".into())?
        .get_as_series(0)
    {
        Some(s) => s
            .i64()
            .ctx(|| "the active users' ids".into())?
            .iter()
            .flatten()
            .collect(),
        None => HashSet::new(),
    };
    Ok(Activity {
        first_ts,
        last_ts,
        seen,
        active,
    })
}
