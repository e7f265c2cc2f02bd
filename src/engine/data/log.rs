//! The scoped, de-duplicated event log: the one materialised input every later stage reads.
//!
//! Files are scanned lazily and streamed through the scope filters; only the scoped rows, with
//! the five columns that labels and features need, are held in memory.

use polars::prelude::*;

use super::diagnose::{diagnose, explain_failure};
use super::scan::scan_file;
use super::schema::*;
use super::scope::{Scope, products_in_category};
use super::source::InputFile;
use crate::engine::error::PolarsContext;
use crate::engine::time::fmt_human;
use crate::engine::{Error, Result};

#[derive(Debug, Clone, serde::Serialize)]
pub struct LogSummary {
    pub files: Vec<InputFile>,
    /// Rows in the files, before scope filters and de-duplication.
    pub rows_read: u64,
    /// Rows that passed the scope filters, duplicates included.
    pub rows_in_scope: u64,
    /// Exact duplicate rows dropped from the scoped log.
    pub duplicates: u64,
    /// Events in the scoped, de-duplicated log.
    pub events: u64,
    pub users: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub scope: Scope,
}

impl LogSummary {
    pub fn time_range(&self) -> String {
        format!(
            "{} – {} UTC",
            fmt_human(self.first_ts),
            fmt_human(self.last_ts)
        )
    }
}

/// Events sorted by `user_id`, `ts`, `brand`, `is_purchase`, `price`: columns `user_id` (i64),
/// `ts` (i64 µs UTC), `is_purchase` (bool), `brand` (str, nullable), `price` (f64).
#[derive(Debug, Clone)]
pub struct EventLog {
    pub df: DataFrame,
    pub summary: LogSummary,
}

fn count_rows(files: &[InputFile]) -> Result<u64> {
    let mut total = 0u64;
    for f in files {
        let n = super::scan::scan_raw(f)?
            .0
            .select([len().alias("n")])
            .collect()
            .map_err(|e| explain_failure(std::slice::from_ref(f), "counting rows", e))?;
        total += n
            .column("n")
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0);
    }
    Ok(total)
}

fn brand_filter(brands: &[String]) -> Expr {
    let s = Series::new("brands".into(), brands);
    col(BRAND)
        .is_in(lit(s).implode(false), false)
        .fill_null(lit(false))
}

/// Read, check, scope and de-duplicate the log.
pub fn load(files: &[InputFile], scope: &Scope) -> Result<EventLog> {
    if files.is_empty() {
        return Err(Error::Config("no input files".into()));
    }
    let mut scans = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        scans.push(scan_file(f)?.with_column(lit(i as u32).alias(FILE_IDX)));
    }
    let all = concat(scans, UnionArgs::default()).ctx(|| "combining input files".into())?;
    let rows_read = count_rows(files)?;

    let mut keep = lit(true);
    if let Some(brands) = &scope.brands {
        keep = keep.and(brand_filter(brands));
    }
    if let Some(prefix) = &scope.category {
        let products = products_in_category(all.clone(), prefix).map_err(|e| match e {
            Error::Polars { context, source } => explain_failure(files, &context, source),
            other => other,
        })?;
        let s = Series::new("products".into(), products);
        keep = keep.and(col(PRODUCT_ID).is_in(lit(s).implode(false), false));
    }
    // Bad rows are kept whatever their scope, so a broken file is reported, not half-read.
    let scoped = all
        .filter(col(BAD).or(keep))
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| explain_failure(files, "reading the event log", e))?;

    let bad = scoped
        .column(BAD)
        .and_then(|c| c.bool())
        .ctx(|| "bad flag".into())?;
    if bad.any() {
        let idx = scoped
            .clone()
            .lazy()
            .filter(col(BAD))
            .select([col(FILE_IDX).min()])
            .collect()
            .ctx(|| "locating bad rows".into())?;
        let fi = idx
            .column(FILE_IDX)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<usize>())
            .unwrap_or(0);
        let file = &files[fi.min(files.len() - 1)];
        return Err(diagnose(file)?.unwrap_or_else(|| Error::in_file(&file.path, "invalid rows")));
    }
    let rows_in_scope = scoped.height() as u64;
    if rows_read == 0 {
        return Err(Error::Config(
            "the input holds no events (only headers or empty files)".into(),
        ));
    }
    if rows_in_scope == 0 {
        return Err(Error::Config(format!(
            "no events left after the scope filters ({}); {} events were read",
            scope.describe(),
            rows_read
        )));
    }

    // Exact duplicates count once (SPEC §1): compared on every parsed column.
    let mut dedup_cols = vec![col(TS)];
    dedup_cols.extend(COLUMNS[1..].iter().map(|c| col(*c)));
    let df = scoped
        .lazy()
        .select(dedup_cols)
        .unique(None, UniqueKeepStrategy::Any)
        .select([
            col(USER_ID),
            col(TS),
            col(EVENT_TYPE).eq(lit("purchase")).alias(IS_PURCHASE),
            col(BRAND),
            col(PRICE),
        ])
        .sort(
            [USER_ID, TS, BRAND, IS_PURCHASE, PRICE],
            SortMultipleOptions::default()
                .with_nulls_last(true)
                .with_maintain_order(false),
        )
        .collect()
        .ctx(|| "de-duplicating the event log".into())?;
    let events = df.height() as u64;
    let stats = df
        .clone()
        .lazy()
        .select([
            col(USER_ID)
                .n_unique()
                .cast(DataType::UInt64)
                .alias("users"),
            col(TS).min().alias("first"),
            col(TS).max().alias("last"),
        ])
        .collect()
        .ctx(|| "summarising the event log".into())?;
    let get = |name: &str| stats.column(name).ok().and_then(|c| c.get(0).ok());
    let users = get("users").and_then(|v| v.extract::<u64>()).unwrap_or(0);
    let first_ts = get("first").and_then(|v| v.extract::<i64>()).unwrap_or(0);
    let last_ts = get("last").and_then(|v| v.extract::<i64>()).unwrap_or(0);
    Ok(EventLog {
        df,
        summary: LogSummary {
            files: files.to_vec(),
            rows_read,
            rows_in_scope,
            duplicates: rows_in_scope - events,
            events,
            users,
            first_ts,
            last_ts,
            scope: scope.clone(),
        },
    })
}
