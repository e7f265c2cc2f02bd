//! The scoped, de-duplicated event log: the one materialised input every later stage reads.
//!
//! Files are scanned lazily and streamed through the scope filters; only the scoped rows, with
//! the five columns that labels and features need, are held in memory.

use polars::prelude::*;

use super::diagnose::{diagnose, explain_failure};
use super::scan::{bad_expr, scan_runs};
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
    /// Rows that passed the scope filters (and, loaded `Within` a span, lie in it),
    /// duplicates included.
    pub rows_in_scope: u64,
    /// Exact duplicate rows dropped from the scoped log.
    pub duplicates: u64,
    /// Events in the scoped, de-duplicated log.
    pub events: u64,
    pub users: u64,
    /// The scoped log's first and last event (of all of it, also when loaded `Within` a span).
    pub first_ts: i64,
    pub last_ts: i64,
    pub scope: Scope,
    /// Wall time of each loading stage, seconds.
    pub timings: Vec<(&'static str, f64)>,
    /// The input was a feature table made elsewhere (`--features`): there was no log, so
    /// events, duplicates and the log's time range are not known.
    pub feature_table: bool,
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

/// Events sorted by user, time, brand (nulls last), then the other columns; exact duplicates
/// dropped. Columns: `user_id` (i64), `__uidx` (u32, dense user index), `ts` (i64 µs UTC),
/// `is_purchase` (bool), `__brand_rank` (u32, nullable: index into `brands`), `price` (f64).
#[derive(Debug, Clone)]
pub struct EventLog {
    pub df: DataFrame,
    /// Distinct brands in byte order: `__brand_rank` indexes this.
    pub brands: Vec<String>,
    pub summary: LogSummary,
}

/// Only the events in `[from, to)` are wanted (one anchor's lookback and horizon: nothing
/// outside them is a feature or a label there). The others are still read, checked and
/// counted in the data's time range, but never held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Within {
    pub from: i64,
    pub to: i64,
}

impl Within {
    pub fn expr(&self) -> Expr {
        col(TS).gt_eq(lit(self.from)).and(col(TS).lt(lit(self.to)))
    }

    pub fn contains(&self, ts: i64) -> bool {
        self.from <= ts && ts < self.to
    }

    /// " between <from> and <to>" for messages; empty without a span.
    fn text(within: Option<Within>) -> String {
        within.map_or(String::new(), |w| {
            format!(" between {} and {}", fmt_human(w.from), fmt_human(w.to))
        })
    }
}

fn count_rows(files: &[InputFile]) -> Result<u64> {
    let mut total = 0u64;
    for (start, lf) in scan_runs(files)? {
        let n = lf
            .select([len().alias("n")])
            .collect()
            .map_err(|e| explain_failure(&files[start..], "counting rows", e))?;
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

/// Every input file as one lazy frame (canonical columns, `__bad`, `__file`).
pub fn scan_all(files: &[InputFile]) -> Result<LazyFrame> {
    if files.is_empty() {
        return Err(Error::Config("no input files".into()));
    }
    // `__file` is the index of the first file of each run of alike files: a bad row is then
    // looked for from there on (see `bad_input`).
    let scans: Vec<LazyFrame> = scan_runs(files)?
        .into_iter()
        .map(|(start, lf)| {
            lf.with_column(bad_expr().alias(BAD))
                .with_column(lit(start as u32).alias(FILE_IDX))
        })
        .collect();
    if let [one] = scans.as_slice() {
        return Ok(one.clone());
    }
    concat(scans, UnionArgs::default()).ctx(|| "combining input files".into())
}

/// The scope filter as an expression over the canonical columns (resolving categories takes
/// one pass over `files` when a category prefix is given).
pub fn scope_expr(files: &[InputFile], scope: &Scope) -> Result<Expr> {
    scope.check()?;
    let mut keep = lit(true);
    if let Some(brands) = &scope.brands {
        keep = keep.and(brand_filter(brands));
    }
    if let Some(prefix) = &scope.category {
        let s = Series::new("products".into(), products_in_category(files, prefix)?);
        keep = keep.and(col(PRODUCT_ID).is_in(lit(s).implode(false), false));
    }
    Ok(keep)
}

/// The error of inputs without a single row.
pub(crate) fn no_input() -> Error {
    Error::Config("the input holds no events (only headers or empty files)".into())
}

/// The error of a scope (and span, when there are scoped events outside it) that keeps nothing
/// of the `rows_read`.
pub(crate) fn nothing_in_scope(scope: &Scope, span: Option<Within>, rows_read: u64) -> Error {
    Error::Config(format!(
        "no events left after the scope filters ({}){}; {rows_read} events were read",
        scope.describe(),
        Within::text(span),
    ))
}

/// The first and last event in scope of the whole log (the bad-row check is the loading
/// pass's); one streaming pass over the time and scope columns.
fn scoped_range(all: &LazyFrame, files: &[InputFile], keep: Expr) -> Result<Option<(i64, i64)>> {
    let df = all
        .clone()
        .filter(col(BAD).not().and(keep))
        .select([col(TS).min().alias("first"), col(TS).max().alias("last")])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| explain_failure(files, "reading the event log's time range", e))?;
    let get = |name: &str| {
        df.column(name)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<i64>())
    };
    // None: no event in scope at all (the loading pass says so, with the counts).
    Ok(get("first").zip(get("last")))
}

/// The first bad row of the inputs, as the clearest error we can give (`file_idx` is the
/// index of a file known to hold one, or of the first of a run of files scanned together
/// among which one does: the first of them with a problem is named).
pub fn bad_input(files: &[InputFile], file_idx: usize) -> Error {
    let from = file_idx.min(files.len().saturating_sub(1));
    for file in files.iter().skip(from) {
        match diagnose(file) {
            Ok(Some(e)) | Err(e) => return e,
            Ok(None) => {}
        }
    }
    match files.get(from) {
        Some(file) => Error::in_file(&file.path, "invalid rows"),
        None => Error::Config("invalid rows".into()),
    }
}

/// Read, check, scope and de-duplicate the log.
pub fn load(files: &[InputFile], scope: &Scope) -> Result<EventLog> {
    load_within(files, scope, None, |_, _| Ok(()))
}

/// `load`, holding only the events `within` a span (the summary's time range is still the
/// whole scoped log's, so anchors are checked against the data as `load` would). `check` sees
/// the whole scoped log's first and last event before the span is read: a span outside the
/// logs gets the caller's error, not "no events".
pub fn load_within(
    files: &[InputFile],
    scope: &Scope,
    within: Option<Within>,
    check: impl FnOnce(i64, i64) -> Result<()>,
) -> Result<EventLog> {
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        timings.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    let all = scan_all(files)?;
    // Without a scope filter every row is read anyway: count them there, not in a second pass.
    let counted = if scope.is_empty() && within.is_none() {
        None
    } else {
        Some(count_rows(files)?)
    };
    lap("count rows", &mut timings);

    let keep = scope_expr(files, scope)?;
    if scope.category.is_some() {
        lap("resolve categories", &mut timings);
    }
    let range = match within {
        Some(_) => scoped_range(&all, files, keep.clone())?,
        None => None,
    };
    let mut check = Some(check);
    if let (Some((first, last)), Some(check)) = (range, check.take_if(|_| within.is_some())) {
        check(first, last)?;
    }
    let wanted = match within {
        Some(w) => keep.and(w.expr()),
        None => keep,
    };
    // Bad rows are kept whatever their scope, so a broken file is reported, not half-read.
    let scoped = all
        .filter(col(BAD).or(wanted))
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| explain_failure(files, "reading the event log", e))?;
    lap("scan and scope", &mut timings);

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
        return Err(bad_input(files, fi));
    }
    let rows_in_scope = scoped.height() as u64;
    let rows_read = counted.unwrap_or(rows_in_scope);
    if rows_read == 0 {
        return Err(no_input());
    }
    if rows_in_scope == 0 {
        return Err(nothing_in_scope(
            scope,
            within.filter(|_| range.is_some()),
            rows_read,
        ));
    }

    // Exact duplicates count once (SPEC §1): compared on every parsed column.
    let mut log = event_log(scoped.drop_many([BAD, FILE_IDX]), files, scope, rows_read)?;
    if let Some((first, last)) = range {
        log.summary.first_ts = first;
        log.summary.last_ts = last;
    }
    if let Some(check) = check {
        check(log.summary.first_ts, log.summary.last_ts)?;
    }
    lap("dedup and sort", &mut timings);
    log.summary.timings = timings;
    Ok(log)
}

/// The event log of checked, scoped rows (the nine parsed columns, `ts` for the time):
/// de-duplicated, sorted, summarised. A bucket of the out-of-core path is one such log.
pub fn event_log(
    scoped: DataFrame,
    files: &[InputFile],
    scope: &Scope,
    rows_read: u64,
) -> Result<EventLog> {
    let rows_in_scope = scoped.height() as u64;
    let (df, brands) = dedup_sorted(scoped)?;
    let events = df.height() as u64;
    let stats = df
        .clone()
        .lazy()
        .select([
            col(UIDX).max().cast(DataType::UInt64).alias("users"),
            col(TS).min().alias("first"),
            col(TS).max().alias("last"),
        ])
        .collect()
        .ctx(|| "summarising the event log".into())?;
    let get = |name: &str| stats.column(name).ok().and_then(|c| c.get(0).ok());
    // The dense user index counts from 0.
    let users = get("users")
        .and_then(|v| v.extract::<u64>())
        .map_or(0, |m| m + 1);
    let first_ts = get("first").and_then(|v| v.extract::<i64>()).unwrap_or(0);
    let last_ts = get("last").and_then(|v| v.extract::<i64>()).unwrap_or(0);
    Ok(EventLog {
        df,
        brands,
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
            timings: Vec::new(),
            feature_table: false,
        },
    })
}

fn event_code(t: &str) -> u8 {
    EVENT_TYPES
        .iter()
        .position(|e| *e == t)
        .unwrap_or(EVENT_TYPES.len()) as u8
}

/// Sort the checked, scoped rows by user, time, brand (nulls last), then every other column,
/// drop exact duplicates (now adjacent), and keep the columns later stages read.
///
/// Written by hand because polars' `unique` over nine columns plus a five-key sort took 2.5 s on
/// 3.8M rows here; a sort of row numbers on (user, time) with full-row tie-breaks takes a
/// fraction of it. Columns only compared on ties are read where they lie; the others are read
/// in place where they are one null-free chunk, and gathered side by side.
fn dedup_sorted(mut df: DataFrame) -> Result<(DataFrame, Vec<String>)> {
    use std::borrow::Cow;
    use std::cmp::Ordering;

    use rayon::prelude::*;

    let c = |e: PolarsError| Error::Polars {
        context: "de-duplicating the event log".into(),
        source: e,
    };
    // Each column is freed once read, so the copy never holds the whole frame twice.
    let mut take = |name: &str| df.drop_in_place(name).map_err(c);
    fn values<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Cow<'_, [T::Native]> {
        if let Ok(v) = ca.cont_slice() {
            return v.into();
        }
        let mut v = Vec::with_capacity(ca.len());
        if ca.null_count() == 0 {
            // A copy of each chunk's values: what a scan of many chunks hands over.
            for arr in ca.downcast_iter() {
                v.extend_from_slice(arr.values());
            }
        } else {
            // The checks leave no nulls in these columns; a default stands in all the same.
            v.extend(ca.iter().map(|v| v.unwrap_or_default()));
        }
        v.into()
    }
    let (user_c, ts_c, price_c) = (take(USER_ID)?, take(TS)?, take(PRICE)?);
    let user = values(user_c.i64().map_err(c)?);
    let ts = values(ts_c.i64().map_err(c)?);
    let price = values(price_c.f64().map_err(c)?);
    let kind_c = take(EVENT_TYPE)?;
    let kind: Vec<u8> = kind_c
        .str()
        .map_err(c)?
        .iter()
        .map(|v| event_code(v.unwrap_or("")))
        .collect();
    drop(kind_c);
    let brand_c = take(BRAND)?;
    let (brand, brands) = brand_ranks(brand_c.str().map_err(c)?);
    drop(brand_c);
    // Only consulted on ties of everything else: read where they lie.
    let (product_c, category_c) = (take(PRODUCT_ID)?, take(CATEGORY_ID)?);
    let (product, category) = (product_c.i64().map_err(c)?, category_c.i64().map_err(c)?);
    let (code_c, session_c) = (take(CATEGORY_CODE)?, take(USER_SESSION)?);
    let (code, session) = (code_c.str().map_err(c)?, session_c.str().map_err(c)?);

    let rest = |a: u32, b: u32| {
        let (a, b) = (a as usize, b as usize);
        brand[a]
            .cmp(&brand[b])
            .then(kind[a].cmp(&kind[b]))
            .then(price[a].total_cmp(&price[b]))
            .then_with(|| product.get(a).cmp(&product.get(b)))
            .then_with(|| category.get(a).cmp(&category.get(b)))
            .then_with(|| code.get(a).cmp(&code.get(b)))
            .then_with(|| session.get(a).cmp(&session.get(b)))
    };
    let Sorted {
        user: mut user_out,
        ts: mut ts_out,
        row: mut rows,
    } = by_user_then_time(&user, &ts);
    drop((user, ts));
    // Order each run of equal (user, time) by the rest of the row: such runs are short and
    // rare, so the full-row comparison stays out of the hot sort. Then drop the duplicates
    // (now adjacent), compacting the three columns in place.
    let n = rows.len();
    let mut kept = 0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && user_out[j] == user_out[i] && ts_out[j] == ts_out[i] {
            j += 1;
        }
        if j - i > 1 {
            rows[i..j].sort_unstable_by(|&a, &b| rest(a, b));
        }
        for k in i..j {
            if k > i && rest(rows[k - 1], rows[k]) == Ordering::Equal {
                continue;
            }
            (user_out[kept], ts_out[kept], rows[kept]) = (user_out[k], ts_out[k], rows[k]);
            kept += 1;
        }
        i = j;
    }
    user_out.truncate(kept);
    ts_out.truncate(kept);
    rows.truncate(kept);
    // The dense user index, in user_id order.
    let mut uidx = Vec::with_capacity(kept);
    let mut next = 0u32;
    for (j, u) in user_out.iter().enumerate() {
        if j > 0 && user_out[j - 1] != *u {
            next += 1;
        }
        uidx.push(next);
    }
    let purchase = event_code("purchase");
    let gather_brand = || -> PolarsResult<UInt32Chunked> {
        let ranks: Vec<u32> = rows.par_iter().map(|&r| brand[r as usize]).collect();
        let none: BooleanChunked = ranks.iter().map(|&b| b == u32::MAX).collect();
        let ranks = UInt32Chunked::from_vec(BRAND_RANK.into(), ranks);
        if none.any() {
            ranks.set(&none, None)
        } else {
            Ok(ranks)
        }
    };
    let gather_price = || -> Vec<f64> { rows.par_iter().map(|&r| price[r as usize]).collect() };
    let (brand_out, (price_out, is_purchase)) = rayon::join(gather_brand, || {
        rayon::join(gather_price, || -> BooleanChunked {
            rows.iter().map(|&r| kind[r as usize] == purchase).collect()
        })
    });
    let out = DataFrame::new(
        kept,
        vec![
            Column::new(USER_ID.into(), user_out),
            Column::new(UIDX.into(), uidx),
            Column::new(TS.into(), ts_out),
            is_purchase.with_name(IS_PURCHASE.into()).into_column(),
            brand_out.map_err(c)?.into_column(),
            Column::new(PRICE.into(), price_out),
        ],
    )
    .map_err(c)?;
    Ok((out, brands))
}

/// The rows in (user, time) order, as three columns: user, time and row number.
struct Sorted {
    user: Vec<i64>,
    ts: Vec<i64>,
    row: Vec<u32>,
}

/// The rows sorted by user then time (rows of equal user and time in any order).
///
/// Where user ids span less than 2^32 (REES46's do), each row is one u64, (user − smallest) in
/// the high half and the row number in the low: sorting those is a third of the work of sorting
/// (user, time, row) triples, and leaves each user's rows in file order. Logs are written in
/// time order, so a user's rows are then mostly in order already; a run that is not is sorted
/// on its own.
fn by_user_then_time(user: &[i64], ts: &[i64]) -> Sorted {
    use rayon::prelude::*;

    let n = user.len();
    let (lo, hi) = user
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &u| (lo.min(u), hi.max(u)));
    let span = hi as i128 - lo as i128;
    if n == 0 || span >= 1 << 32 || n as u64 >= 1 << 32 {
        let mut keys: Vec<(i64, i64, u32)> = (0..n).map(|i| (user[i], ts[i], i as u32)).collect();
        keys.par_sort_unstable_by_key(|k| (k.0, k.1));
        return Sorted {
            user: keys.iter().map(|k| k.0).collect(),
            ts: keys.iter().map(|k| k.1).collect(),
            row: keys.iter().map(|k| k.2).collect(),
        };
    }
    let mut packed: Vec<u64> = user
        .par_iter()
        .enumerate()
        .map(|(i, &u)| ((u.wrapping_sub(lo) as u64) << 32) | i as u64)
        .collect();
    packed.par_sort_unstable();
    let row: Vec<u32> = packed.par_iter().map(|&k| k as u32).collect();
    let mut out = Sorted {
        user: packed
            .par_iter()
            .map(|&k| lo.wrapping_add((k >> 32) as i64))
            .collect(),
        ts: row.par_iter().map(|&r| ts[r as usize]).collect(),
        row,
    };
    drop(packed);
    let mut run: Vec<(i64, u32)> = Vec::new();
    let mut a = 0;
    while a < n {
        let mut b = a + 1;
        let mut in_order = true;
        while b < n && out.user[b] == out.user[a] {
            in_order &= out.ts[b - 1] <= out.ts[b];
            b += 1;
        }
        if !in_order {
            run.clear();
            run.extend((a..b).map(|k| (out.ts[k], out.row[k])));
            run.sort_unstable_by_key(|k| k.0);
            for (k, &(t, r)) in (a..b).zip(&run) {
                (out.ts[k], out.row[k]) = (t, r);
            }
        }
        a = b;
    }
    out
}

/// Each row's brand as its rank among the distinct brands in byte order (`u32::MAX` for none),
/// and those brands: comparing ranks is comparing brands. The column's chunks are read side by
/// side.
fn brand_ranks(col: &StringChunked) -> (Vec<u32>, Vec<String>) {
    use rayon::prelude::*;

    let chunks: Vec<_> = col.downcast_iter().collect();
    let sets: Vec<PlHashSet<&str>> = chunks
        .par_iter()
        .map(|arr| arr.iter().flatten().collect())
        .collect();
    let mut all: PlHashSet<&str> = PlHashSet::new();
    for s in sets {
        all.extend(s);
    }
    let mut brands: Vec<&str> = all.into_iter().collect();
    brands.sort_unstable();
    let rank_of: PlHashMap<&str, u32> = brands
        .iter()
        .enumerate()
        .map(|(r, b)| (*b, r as u32))
        .collect();
    let parts: Vec<Vec<u32>> = chunks
        .par_iter()
        .map(|arr| {
            // Consecutive rows often share a brand: skip the hash then.
            let mut last: Option<(&str, u32)> = None;
            arr.iter()
                .map(|b| match b {
                    None => u32::MAX,
                    Some(b) => match last {
                        Some((l, r)) if l == b => r,
                        _ => {
                            let r = rank_of.get(b).copied().unwrap_or(u32::MAX);
                            last = Some((b, r));
                            r
                        }
                    },
                })
                .collect()
        })
        .collect();
    (
        parts.concat(),
        brands.into_iter().map(str::to_string).collect(),
    )
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Both ways of sorting (packed keys for ids within 2^32 of each other, triples beyond)
    /// give rows in (user, time) order, each row once; checked against a plain sort of the
    /// triples, with many rows out of time order and many equal (user, time) pairs.
    #[test]
    fn rows_come_out_by_user_then_time_either_way() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for span in [1_000i64, 1 << 40] {
            let n = 20_000;
            let user: Vec<i64> = (0..n)
                .map(|_| rng.random_range(0..200) * (span / 200))
                .collect();
            let ts: Vec<i64> = (0..n).map(|_| rng.random_range(0..50)).collect();
            let got = by_user_then_time(&user, &ts);
            let mut want: Vec<(i64, i64, u32)> =
                (0..n).map(|i| (user[i], ts[i], i as u32)).collect();
            want.sort_unstable();
            let mut rows: Vec<(i64, i64, u32)> = (0..n)
                .map(|k| (got.user[k], got.ts[k], got.row[k]))
                .collect();
            for (k, &(u, t, r)) in rows.iter().enumerate() {
                assert_eq!((u, t), (user[r as usize], ts[r as usize]), "row {k}");
            }
            assert!(
                rows.windows(2)
                    .all(|w| (w[0].0, w[0].1) <= (w[1].0, w[1].1))
            );
            rows.sort_unstable();
            assert_eq!(rows, want, "span {span}");
        }
    }
}
