//! A feature table made elsewhere (SPEC §6 columns; Spark or DuckDB with `churn-tui sql`, or an
//! earlier `churn-tui features`), read and checked so that everything downstream can trust it as
//! it trusts its own: columns and types, split and label values, `y` against `label`, one row per
//! (user, anchor), each anchor in one split with the splits in time order and purged, and
//! finite features. Errors name the file, the column and the CSV line or Parquet row.

use crate::engine::io::file_kind::FileKind;
use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use super::columns::FEATURE_NAMES;
use super::columns::anchor_dtype;
use super::columns::{ANCHOR, SPLIT};
use super::table::{FeatureTable, count_labels};
use crate::engine::data::schema::USER_ID;
use crate::engine::data::source::InputFile;
use crate::engine::data::{LogSummary, Scope};
use crate::engine::error::{Location, PolarsContext};
use crate::engine::label::dormancy::{LABEL, Y};
use crate::engine::label::{AnchorPlan, Split, Window};
use crate::engine::text::clip;
use crate::engine::time::{fmt_anchor, parse_anchor};
use crate::engine::{Error, Result};

/// Where a row is, as messages say it: a CSV line (the header is line 1) or a Parquet row.
#[derive(Clone, Copy)]
enum Kind {
    Csv,
    Parquet,
}

struct Table<'a> {
    path: &'a Path,
    kind: Kind,
}

impl Table<'_> {
    fn at(&self, row: usize, column: Option<&str>) -> Location {
        let (line, row) = match self.kind {
            Kind::Csv => (Some(row as u64 + 2), None),
            Kind::Parquet => (None, Some(row as u64)),
        };
        Location {
            file: Some(self.path.to_path_buf()),
            column: column.map(str::to_string),
            line,
            row,
        }
    }

    fn bad(&self, row: usize, column: &str, msg: impl Into<String>) -> Error {
        Error::input(self.at(row, Some(column)), msg)
    }
}

/// The columns of a feature table, in SPEC order.
fn spec_columns() -> Vec<&'static str> {
    let mut c = vec![USER_ID, ANCHOR, SPLIT, LABEL, Y];
    c.extend(FEATURE_NAMES);
    c
}

/// The table, how its rows are counted, and the files it was read from.
fn read(path: &Path) -> Result<(DataFrame, Kind, Vec<std::path::PathBuf>)> {
    if path.is_dir() {
        return read_dir(path);
    }
    if !path.is_file() {
        return Err(Error::in_file(
            path,
            "not a feature table: no such file, or not a regular file or a directory of parts",
        ));
    }
    let kind = FileKind::expect(path, &super::write::TABLE_KINDS, "feature table")?;
    if kind == FileKind::Parquet {
        parquet_names_once(path)?;
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let df = ParquetReader::new(f)
            .finish()
            .map_err(|e| Error::in_file(path, format!("not a readable Parquet file: {e}")))?;
        Ok((df, Kind::Parquet, vec![path.to_path_buf()]))
    } else {
        csv_header_once(path)?;
        // Everything as text first: each column is then parsed here, so a bad value is named
        // by its line, not by a parser's offset.
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| Error::in_file(path, format!("not a readable CSV file: {e}")))?;
        Ok((df, Kind::Csv, vec![path.to_path_buf()]))
    }
}

/// Refuse a CSV header that names a column twice: the CSV reader would keep both under other
/// names and train on the first copy, whichever the maker meant.
fn csv_header_once(path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(std::io::Read::take(f, 1 << 20));
    let mut rec = csv::StringRecord::new();
    // An unreadable header is left to the CSV reader, which says so.
    if !rdr.read_record(&mut rec).unwrap_or(false) {
        return Ok(());
    }
    let names: Vec<&str> = rec
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if i == 0 {
                n.trim_start_matches('\u{feff}')
            } else {
                n
            }
        })
        .collect();
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err(Error::input(
                Location {
                    file: Some(path.to_path_buf()),
                    column: Some(crate::engine::text::clip(n, 80)),
                    line: Some(1),
                    ..Default::default()
                },
                format!(
                    "the header names this column twice (fields {} and {}): which one is meant?",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// Parquet names a column twice only if its writer let it (polars keeps one of them): refused.
fn parquet_names_once(path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let fields = ParquetReader::new(f)
        .get_metadata()
        .map(|m| {
            m.schema()
                .fields()
                .iter()
                .map(|f| f.name().to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (i, n) in fields.iter().enumerate() {
        if fields[..i].contains(n) {
            return Err(Error::input(
                Location {
                    file: Some(path.to_path_buf()),
                    column: Some(crate::engine::text::clip(n, 80)),
                    ..Default::default()
                },
                "the file names this column twice: which one is meant?",
            ));
        }
    }
    Ok(())
}

/// A directory of Parquet parts (as Spark writes a table): the parts in name order, one table.
/// Rows are then counted across the parts.
fn read_dir(dir: &Path) -> Result<(DataFrame, Kind, Vec<std::path::PathBuf>)> {
    let mut parts: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && FileKind::of(p) == Some(FileKind::Parquet)
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(['.', '_']))
        })
        .collect();
    parts.sort();
    let mut out: Option<DataFrame> = None;
    for p in &parts {
        let (df, _, _) = read(p)?;
        match &mut out {
            None => out = Some(df),
            Some(all) => {
                all.vstack_mut(&df).map_err(|e| {
                    Error::in_file(p, format!("its columns differ from the first part's: {e}"))
                })?;
            }
        }
    }
    let df = out.ok_or_else(|| Error::in_file(dir, "no .parquet files in this directory"))?;
    Ok((df, Kind::Parquet, parts))
}

/// A column's values as i64 (integers, or integer text in CSV).
fn ints(t: &Table, df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let c = df.column(name).ctx(|| name.to_string())?;
    if let DataType::String = c.dtype() {
        let s = c.str().ctx(|| name.to_string())?;
        return s
            .iter()
            .enumerate()
            .map(|(i, v)| match v.map(str::trim) {
                None | Some("") => Err(t.bad(i, name, "missing value")),
                Some(v) => v
                    .parse::<i64>()
                    .map_err(|_| t.bad(i, name, format!("`{}` is not an integer", clip(v, 80)))),
            })
            .collect();
    }
    if !c.dtype().is_integer() {
        return Err(Error::input(
            t.at(0, Some(name)).without_row(),
            format!("has type {}; expected integers", c.dtype()),
        ));
    }
    let v = c.cast(&DataType::Int64).ctx(|| name.to_string())?;
    let v = v.i64().ctx(|| name.to_string())?;
    v.iter()
        .enumerate()
        .map(|(i, x)| x.ok_or_else(|| t.bad(i, name, "missing value")))
        .collect()
}

/// The largest feature magnitude a table may hold (SPEC §6). Far above any value a valid log
/// gives (a price is at most 1e12, a window at most 3,650 days), and small enough that squares
/// summed over a billion rows stay finite: 1e308 passed `is_finite` and then overflowed the
/// statistics to NaN.
pub const MAX_FEATURE: f64 = 1e18;

/// A column's values as f64; null, NaN, ±inf and magnitudes above `MAX_FEATURE` are refused
/// (no model may see them).
fn floats(t: &Table, df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let c = df.column(name).ctx(|| name.to_string())?;
    let values: Vec<Option<f64>> = if let DataType::String = c.dtype() {
        let s = c.str().ctx(|| name.to_string())?;
        s.iter()
            .enumerate()
            .map(|(i, v)| match v.map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| t.bad(i, name, format!("`{}` is not a number", clip(v, 80)))),
            })
            .collect::<Result<_>>()?
    } else if c.dtype().is_primitive_numeric() {
        let v = c.cast(&DataType::Float64).ctx(|| name.to_string())?;
        v.f64().ctx(|| name.to_string())?.iter().collect()
    } else {
        return Err(Error::input(
            t.at(0, Some(name)).without_row(),
            format!("has type {}; expected numbers", c.dtype()),
        ));
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => Err(t.bad(i, name, "missing value")),
            Some(x) if x.is_nan() => Err(t.bad(i, name, "NaN: features must be numbers")),
            Some(x) if x.is_infinite() => Err(t.bad(i, name, "infinite")),
            Some(x) if x.abs() > MAX_FEATURE => Err(t.bad(
                i,
                name,
                format!("{x:e} is out of range: features must lie within ±{MAX_FEATURE:e}"),
            )),
            Some(x) => Ok(x),
        })
        .collect()
}

fn texts<'a>(t: &Table, df: &'a DataFrame, name: &str) -> Result<Vec<&'a str>> {
    let c = df.column(name).ctx(|| name.to_string())?;
    let s = c.str().map_err(|_| {
        Error::input(
            t.at(0, Some(name)).without_row(),
            format!("has type {}; expected text", c.dtype()),
        )
    })?;
    s.iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| t.bad(i, name, "missing value")))
        .collect()
}

/// Anchors as µs: a timestamp column (any unit or zone: an instant), or SPEC §6 text.
fn anchors(t: &Table, df: &DataFrame) -> Result<Vec<i64>> {
    let c = df.column(ANCHOR).ctx(|| ANCHOR.into())?;
    match c.dtype() {
        DataType::String => {
            let s = c.str().ctx(|| ANCHOR.into())?;
            s.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    None | Some("") => Err(t.bad(i, ANCHOR, "missing value")),
                    Some(v) => parse_anchor(v).ok_or_else(|| {
                        t.bad(
                            i,
                            ANCHOR,
                            format!(
                                "`{}` is not a time (expected YYYY-MM-DDTHH:MM:SSZ)",
                                clip(v, 80)
                            ),
                        )
                    }),
                })
                .collect()
        }
        DataType::Datetime(_, _) => {
            let us = c
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                .and_then(|c| c.cast(&DataType::Int64))
                .ctx(|| ANCHOR.into())?;
            us.i64()
                .ctx(|| ANCHOR.into())?
                .iter()
                .enumerate()
                .map(|(i, v)| v.ok_or_else(|| t.bad(i, ANCHOR, "missing value")))
                .collect()
        }
        other => Err(Error::input(
            t.at(0, Some(ANCHOR)).without_row(),
            format!("has type {other}; expected a timestamp or YYYY-MM-DDTHH:MM:SSZ text"),
        )),
    }
}

/// Each anchor's split, checked: one split per anchor, the splits in time order, and purged
/// (an anchor's labels, `[t, t + H)`, end by the first anchor of the next split).
fn plan(t: &Table, anchors: &[i64], splits: &[Split], window: &Window) -> Result<AnchorPlan> {
    let mut first_row: HashMap<i64, (Split, usize)> = HashMap::new();
    for (i, (&a, &s)) in anchors.iter().zip(splits).enumerate() {
        match first_row.get(&a) {
            None => {
                first_row.insert(a, (s, i));
            }
            Some(&(other, row)) if other != s => {
                return Err(t.bad(
                    i,
                    SPLIT,
                    format!(
                        "anchor {} is {s} here but {other} on {}",
                        fmt_anchor(a),
                        match t.kind {
                            Kind::Csv => format!("line {}", row + 2),
                            Kind::Parquet => format!("row {row}"),
                        }
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let mut list: Vec<(i64, Split)> = first_row.iter().map(|(&a, &(s, _))| (a, s)).collect();
    list.sort_unstable_by_key(|&(a, _)| a);
    for split in Split::ALL {
        if !list.iter().any(|&(_, s)| s == split) {
            return Err(Error::in_file(
                t.path,
                format!("no {split} rows: a table needs train, val and test anchors"),
            ));
        }
    }
    let order = |s: Split| Split::ALL.iter().position(|&x| x == s).unwrap_or(0);
    for pair in list.windows(2) {
        let ((a, sa), (b, sb)) = (pair[0], pair[1]);
        if order(sb) < order(sa) {
            let row = first_row.get(&b).map_or(0, |x| x.1);
            return Err(t.bad(
                row,
                SPLIT,
                format!(
                    "anchor {} is {sb} but comes after {sa} anchor {}: splits must follow \
                     each other in time (train, val, test)",
                    fmt_anchor(b),
                    fmt_anchor(a)
                ),
            ));
        }
        if sa != sb && a + window.horizon_us() > b {
            let row = first_row.get(&a).map_or(0, |x| x.1);
            return Err(t.bad(
                row,
                ANCHOR,
                format!(
                    "{sa} anchor {}: its {}-day label window reaches {sb} anchor {} (it \
                     should have been purged; is --horizon-days right?)",
                    fmt_anchor(a),
                    window.horizon_days,
                    fmt_anchor(b)
                ),
            ));
        }
    }
    Ok(AnchorPlan {
        anchors: list,
        purged: Vec::new(),
        window: *window,
    })
}

/// Read and check the feature table at `path`; `window` is the one it was computed with (its
/// horizon checks the purge between splits; its lookback is the sentinel models assume).
pub fn load(path: &Path, window: &Window) -> Result<(LogSummary, FeatureTable)> {
    let (df, kind, files) = read(path)?;
    let t = Table { path, kind };
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in spec_columns() {
        if !names.iter().any(|n| n == c) {
            return Err(Error::input(
                Location {
                    file: Some(path.to_path_buf()),
                    column: Some(c.to_string()),
                    ..Default::default()
                },
                "missing column (a feature table has the SPEC §6 columns)",
            ));
        }
    }
    if df.height() == 0 {
        return Err(Error::in_file(path, "the feature table has no rows"));
    }
    let users = ints(&t, &df, USER_ID)?;
    let anchor_us = anchors(&t, &df)?;
    let splits: Vec<Split> = texts(&t, &df, SPLIT)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            Split::ALL
                .into_iter()
                .find(|x| x.as_str() == s)
                .ok_or_else(|| {
                    t.bad(
                        i,
                        SPLIT,
                        format!("unknown split `{}` (train, val or test)", clip(s, 80)),
                    )
                })
        })
        .collect::<Result<_>>()?;
    let labels = texts(&t, &df, LABEL)?;
    let ys = ints(&t, &df, Y)?;
    for (i, (l, y)) in labels.iter().zip(&ys).enumerate() {
        if !matches!(*l, "m0" | "m1" | "m2") {
            return Err(t.bad(
                i,
                LABEL,
                format!("unknown label `{}` (m0, m1 or m2)", clip(l, 80)),
            ));
        }
        if *y != (*l == "m2") as i64 {
            return Err(t.bad(
                i,
                Y,
                format!("y = {y} but the label is {l} (y is 1 exactly when the label is m2)"),
            ));
        }
    }
    let features = FEATURE_NAMES
        .iter()
        .map(|f| floats(&t, &df, f))
        .collect::<Result<Vec<_>>>()?;
    let mut seen: HashMap<(i64, i64), usize> = HashMap::with_capacity(users.len());
    for (i, key) in users.iter().zip(&anchor_us).enumerate() {
        if let Some(first) = seen.insert((*key.0, *key.1), i) {
            return Err(t.bad(
                i,
                USER_ID,
                format!(
                    "user {} at {} appears twice (first on {}): one row per (user, anchor)",
                    key.0,
                    fmt_anchor(*key.1),
                    match kind {
                        Kind::Csv => format!("line {}", first + 2),
                        Kind::Parquet => format!("row {first}"),
                    }
                ),
            ));
        }
    }
    drop(seen);
    let plan = plan(&t, &anchor_us, &splits, window)?;

    let mut cols = vec![
        Column::new(USER_ID.into(), users.clone()),
        Column::new(ANCHOR.into(), anchor_us.clone())
            .cast(&anchor_dtype())
            .ctx(|| ANCHOR.into())?,
        Column::new(
            SPLIT.into(),
            splits.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(LABEL.into(), labels),
        Column::new(Y.into(), ys.iter().map(|&y| y as i32).collect::<Vec<_>>()),
    ];
    for (name, v) in FEATURE_NAMES.iter().zip(features) {
        cols.push(Column::new((*name).into(), v));
    }
    let df = DataFrame::new_infer_height(cols)
        .and_then(|d| d.sort([ANCHOR, USER_ID], SortMultipleOptions::default()))
        .ctx(|| "the feature table".into())?;
    let per_anchor = count_labels(&df, &plan)?;
    let distinct_users = {
        let mut u = users;
        u.sort_unstable();
        u.dedup();
        u.len() as u64
    };
    let (first, last) = (
        plan.anchors.first().map_or(0, |a| a.0),
        plan.anchors.last().map_or(0, |a| a.0),
    );
    let summary = LogSummary {
        files: files
            .into_iter()
            .map(|p| InputFile {
                size: std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
                path: p,
                format: match kind {
                    Kind::Csv => crate::engine::data::source::Format::Csv,
                    Kind::Parquet => crate::engine::data::source::Format::Parquet,
                },
            })
            .collect(),
        rows_read: 0,
        rows_in_scope: 0,
        duplicates: 0,
        events: 0,
        users: distinct_users,
        first_ts: first,
        last_ts: last,
        scope: Scope::default(),
        timings: vec![],
        feature_table: true,
    };
    Ok((
        summary,
        FeatureTable {
            df,
            plan,
            per_anchor,
            sample: None,
        },
    ))
}
