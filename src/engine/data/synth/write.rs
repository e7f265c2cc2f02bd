//! A generated event as a row, and events written as CSV, CSV.gz or Parquet (row groups as
//! polars cuts them), in memory or streamed.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use polars::prelude::*;

use crate::engine::data::source::Format;
use crate::engine::io::atomic::write_atomic;
use crate::engine::io::csv_out;
use crate::engine::{Error, Result};

/// One generated row.
#[derive(Debug, Clone)]
pub struct Event {
    pub ts: i64,
    pub event_type: &'static str,
    pub product_id: i64,
    pub category_id: i64,
    pub category_code: Option<&'static str>,
    pub brand: Option<&'static str>,
    pub price: f64,
    pub user_id: i64,
    pub session: Option<u128>,
    /// Index in the generator's catalog (what a spilled event is rebuilt from).
    pub product: u32,
}

fn fmt_time(ts: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(ts) {
        Some(dt) => dt.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => String::new(),
    }
}

fn fmt_session(s: u128) -> String {
    let h = format!("{s:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The events as REES46 CSV text (header included).
pub fn write_csv(events: &[Event], w: &mut dyn Write) -> std::io::Result<()> {
    let mut it = events.iter().cloned().map(Ok);
    write_csv_stream(&mut it, events.len(), w)
}

fn write_csv_row(e: &Event, out: &mut csv::Writer<&mut dyn Write>) -> std::io::Result<()> {
    let row: [&str; 9] = [
        &fmt_time(e.ts),
        e.event_type,
        &e.product_id.to_string(),
        &e.category_id.to_string(),
        e.category_code.unwrap_or(""),
        e.brand.unwrap_or(""),
        &format!("{:.2}", e.price),
        &e.user_id.to_string(),
        &e.session.map(fmt_session).unwrap_or_default(),
    ];
    out.write_record(row).map_err(csv_out::io)
}

/// The events as a DataFrame in the REES46 schema, `event_time` a UTC timestamp.
pub fn to_frame(events: &[Event]) -> PolarsResult<DataFrame> {
    let ts: Vec<i64> = events.iter().map(|e| e.ts).collect();
    let time = Series::new("event_time".into(), ts).cast(&DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))?;
    let price: Vec<f64> = events
        .iter()
        .map(|e| (e.price * 100.0).round() / 100.0)
        .collect();
    DataFrame::new_infer_height(vec![
        time.into(),
        Column::new(
            "event_type".into(),
            events.iter().map(|e| e.event_type).collect::<Vec<_>>(),
        ),
        Column::new(
            "product_id".into(),
            events.iter().map(|e| e.product_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "category_id".into(),
            events.iter().map(|e| e.category_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "category_code".into(),
            events.iter().map(|e| e.category_code).collect::<Vec<_>>(),
        ),
        Column::new(
            "brand".into(),
            events.iter().map(|e| e.brand).collect::<Vec<_>>(),
        ),
        Column::new("price".into(), price),
        Column::new(
            "user_id".into(),
            events.iter().map(|e| e.user_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "user_session".into(),
            events
                .iter()
                .map(|e| e.session.map(fmt_session))
                .collect::<Vec<_>>(),
        ),
    ])
}

pub(super) fn format_of(path: &Path) -> Result<Format> {
    Format::of(path).ok_or_else(|| {
        Error::Config(format!(
            "{}: unknown output type: expected .csv, .csv.gz or .parquet",
            path.display()
        ))
    })
}

/// Write events to one file; the format follows the extension.
pub fn write_file(events: &[Event], path: &Path) -> Result<()> {
    let n = events.len();
    let mut it = events.iter().cloned().map(Ok);
    write_stream(&mut it, n, path)
}

/// Rows per Parquet row group, as polars' `ParquetWriter::finish` splits a one-chunk frame of
/// `n` rows (groups of `n / (n / 2^18)` rows, the last one taking the rest), so a log written
/// group by group has the bytes of one written whole.
fn row_groups(n: usize) -> Vec<usize> {
    const TARGET: usize = 512 * 512;
    let parts = n / TARGET;
    if parts <= 1 {
        return vec![n];
    }
    let size = n / parts;
    let mut out = vec![size; parts - 1];
    out.push(n - size * (parts - 1));
    out
}

pub(super) type EventStream<'a> = dyn Iterator<Item = std::io::Result<Event>> + 'a;

/// Write the next `n` events of `events` to `path` (atomically; the format follows the
/// extension), holding at most one Parquet row group.
pub(super) fn write_stream(events: &mut EventStream<'_>, n: usize, path: &Path) -> Result<()> {
    let format = format_of(path)?;
    let mut take = move |w: &mut dyn Write| -> std::io::Result<()> {
        match format {
            Format::Csv => write_csv_stream(events, n, w),
            Format::CsvGz => {
                // gzip header without a timestamp, so the same seed gives the same bytes.
                let mut gz = GzEncoder::new(w, Compression::new(6));
                write_csv_stream(events, n, &mut gz)?;
                gz.finish().map(|_| ())
            }
            Format::Parquet => write_parquet_stream(events, n, w),
        }
    };
    write_atomic(path, |w| take(w))
}

fn write_csv_stream(
    events: &mut EventStream<'_>,
    n: usize,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let mut no_flush = csv_out::NoFlush(w);
    let mut out = csv_out::writer(&mut no_flush as &mut dyn Write);
    out.write_record([
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "user_id",
        "user_session",
    ])
    .map_err(csv_out::io)?;
    for _ in 0..n {
        let e = next_event(events)?;
        write_csv_row(&e, &mut out)?;
    }
    out.flush()
}

fn next_event(events: &mut EventStream<'_>) -> std::io::Result<Event> {
    events
        .next()
        .unwrap_or_else(|| Err(std::io::Error::other("the generated log ended early")))
}

fn write_parquet_stream(
    events: &mut EventStream<'_>,
    n: usize,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    if n == 0 {
        let mut df = to_frame(&[]).map_err(std::io::Error::other)?;
        let schema = df.schema().clone();
        return crate::engine::io::parquet_out::writer(w, &schema)
            .finish(&mut df)
            .map(|_| ())
            .map_err(std::io::Error::other);
    }
    let mut writer = None;
    for size in row_groups(n) {
        let group = (0..size)
            .map(|_| next_event(events))
            .collect::<std::io::Result<Vec<_>>>()?;
        let df = to_frame(&group).map_err(std::io::Error::other)?;
        if writer.is_none() {
            writer = Some(
                crate::engine::io::parquet_out::writer(&mut *w, df.schema())
                    .batched(df.schema())
                    .map_err(std::io::Error::other)?,
            );
        }
        if let Some(b) = writer.as_mut() {
            b.write_batch(&df).map_err(std::io::Error::other)?;
        }
    }
    if let Some(b) = writer {
        b.finish().map_err(std::io::Error::other)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_groups_split_as_polars_does() {
        // n / 2^18 parts of n / parts rows, the last taking the rest; under two parts, one.
        assert_eq!(row_groups(0), vec![0]);
        assert_eq!(row_groups(262_143), vec![262_143]);
        assert_eq!(row_groups(524_287), vec![524_287]);
        assert_eq!(row_groups(524_288), vec![262_144, 262_144]);
        assert_eq!(row_groups(786_433), vec![262_144, 262_144, 262_145]);
        assert_eq!(row_groups(1_000_000), vec![333_333, 333_333, 333_334]);
    }
}
