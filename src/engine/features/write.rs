//! Writing the feature table: CSV with shortest round-trip floats, or Parquet. Always whole or
//! not at all (temp file in the target directory, then rename).

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use super::FEATURE_NAMES;
use super::columns::{ANCHOR, SPLIT};
use crate::engine::atomic::write_atomic;
use crate::engine::data::schema::USER_ID;
use crate::engine::label::dormancy::{LABEL, Y};
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

pub fn write_table(df: &DataFrame, path: &Path) -> Result<()> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".csv") {
        write_csv(df, path)
    } else if name.ends_with(".parquet") {
        write_parquet(df, path)
    } else {
        Err(Error::Config(format!(
            "{}: unknown output type: expected .csv or .parquet",
            path.display()
        )))
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
    let mut header = vec![USER_ID, ANCHOR, SPLIT, LABEL, Y];
    header.extend(FEATURE_NAMES);
    writeln!(w, "{}", header.join(","))
}

/// The rows of `df` as CSV lines (no header): a table written in parts is the same bytes.
pub fn csv_rows(df: &DataFrame, w: &mut dyn Write) -> std::io::Result<()> {
    let io = |e: Error| std::io::Error::other(e.to_string());
    let c = |e: PolarsError| Error::Polars {
        context: "writing the feature table".into(),
        source: e,
    };
    let users = df
        .column(USER_ID)
        .and_then(|c| c.i64())
        .map_err(c)
        .map_err(io)?;
    let anchors = df
        .column(ANCHOR)
        .and_then(|a| a.cast(&DataType::Int64))
        .map_err(c)
        .map_err(io)?;
    let anchors = anchors.i64().map_err(c).map_err(io)?;
    let splits = df
        .column(SPLIT)
        .and_then(|c| c.str())
        .map_err(c)
        .map_err(io)?;
    let labels = df
        .column(LABEL)
        .and_then(|c| c.str())
        .map_err(c)
        .map_err(io)?;
    let ys = df.column(Y).and_then(|c| c.i32()).map_err(c).map_err(io)?;
    let feats = FEATURE_NAMES
        .iter()
        .map(|f| df.column(f).and_then(|c| c.f64()))
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(c)
        .map_err(io)?;
    {
        let mut line = String::with_capacity(256);
        for i in 0..df.height() {
            line.clear();
            let opt = |v: Option<String>| v.unwrap_or_default();
            line.push_str(&opt(users.get(i).map(|v| v.to_string())));
            line.push(',');
            line.push_str(&opt(anchors.get(i).map(fmt_anchor)));
            line.push(',');
            line.push_str(splits.get(i).unwrap_or(""));
            line.push(',');
            line.push_str(labels.get(i).unwrap_or(""));
            line.push(',');
            line.push_str(&opt(ys.get(i).map(|v| v.to_string())));
            for f in &feats {
                line.push(',');
                // Rust's `{}` for f64 is the shortest string that reads back to the same value.
                line.push_str(&opt(f.get(i).map(|v| format!("{v}"))));
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }
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
    let mut df = spec_columns(df)?;
    write_atomic(path, |w| {
        ParquetWriter::new(w)
            .finish(&mut df)
            .map(|_| ())
            .map_err(std::io::Error::other)
    })
}
