//! Writing the feature table: CSV with shortest round-trip floats, or Parquet. Always whole or
//! not at all (temp file in the target directory, then rename).

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use super::columns::FEATURE_NAMES;
use super::columns::{ANCHOR, SPLIT};
use crate::engine::data::schema::USER_ID;
use crate::engine::io::atomic::write_atomic;
use crate::engine::io::csv_out;
use crate::engine::io::file_kind::FileKind;
use crate::engine::label::dormancy::{LABEL, Y};
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

/// What a feature table is written as (and read from).
pub const TABLE_KINDS: [FileKind; 2] = [FileKind::Csv, FileKind::Parquet];

pub fn write_table(df: &DataFrame, path: &Path) -> Result<()> {
    match FileKind::expect(path, &TABLE_KINDS, "feature table")? {
        FileKind::Csv => write_csv(df, path),
        _ => write_parquet(df, path),
    }
}

pub fn write_csv(df: &DataFrame, path: &Path) -> Result<()> {
    write_atomic(path, |w| {
        csv_header(w)?;
        csv_rows(df, w)
    })
}

/// The CSV header line of the feature table.
pub fn csv_header(w: &mut dyn Write) -> std::io::Result<()> {
    let mut out = csv_out::writer(w);
    let head = [USER_ID, ANCHOR, SPLIT, LABEL, Y];
    out.write_record(head.iter().chain(FEATURE_NAMES.iter()))
        .map_err(csv_out::io)?;
    out.flush()
}

/// The rows of `df` as CSV lines (no header): a table written in parts is the same bytes.
pub fn csv_rows(df: &DataFrame, w: &mut dyn Write) -> std::io::Result<()> {
    let bad = |e: PolarsError| std::io::Error::other(format!("writing the feature table: {e}"));
    let users = df.column(USER_ID).and_then(|c| c.i64()).map_err(bad)?;
    let anchors = df
        .column(ANCHOR)
        .and_then(|a| a.cast(&DataType::Int64))
        .map_err(bad)?;
    let anchors = anchors.i64().map_err(bad)?;
    let text = |name: &str| df.column(name).and_then(|c| c.str()).map_err(bad);
    let (splits, labels) = (text(SPLIT)?, text(LABEL)?);
    let ys = df.column(Y).and_then(|c| c.i32()).map_err(bad)?;
    let feats = FEATURE_NAMES
        .iter()
        .map(|f| df.column(f).and_then(|c| c.f64()))
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(bad)?;
    let mut out = csv_out::writer(w);
    let mut f = csv_out::Fields::default();
    let field = |out: &mut csv::Writer<&mut dyn Write>, v: Option<&str>| {
        out.write_field(v.unwrap_or("")).map_err(csv_out::io)
    };
    for i in 0..df.height() {
        field(&mut out, users.get(i).map(|v| f.show(v)))?;
        field(&mut out, anchors.get(i).map(fmt_anchor).as_deref())?;
        field(&mut out, splits.get(i))?;
        field(&mut out, labels.get(i))?;
        field(&mut out, ys.get(i).map(|v| f.show(v)))?;
        for col in &feats {
            field(&mut out, col.get(i).map(|v| f.show(v)))?;
        }
        out.write_record(None::<&[u8]>).map_err(csv_out::io)?;
    }
    out.flush()
}

/// The SPEC §6 columns of the table; in-memory extras (`__…`) stay behind.
pub fn spec_columns(df: &DataFrame) -> Result<DataFrame> {
    let mut cols = vec![USER_ID, ANCHOR, SPLIT, LABEL, Y];
    cols.extend(FEATURE_NAMES);
    df.select(cols).map_err(|e| Error::Polars {
        context: "writing the feature table".into(),
        source: e,
    })
}

pub fn write_parquet(df: &DataFrame, path: &Path) -> Result<()> {
    crate::engine::io::atomic::write_parquet(&mut spec_columns(df)?, path)
}
