//! Lazy scans of one input file, normalised to the canonical columns plus `ts` (µs, UTC) and a
//! `__bad` flag for rows that break the schema. Nothing here materialises the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use polars::prelude::*;

use super::schema::*;
use super::source::{Format, InputFile};
use super::text_file::{BoundedLines, LineTooLong, open_text};
use crate::engine::error::PolarsContext;
use crate::engine::{Error, Result};

fn path_str(file: &InputFile) -> Result<&str> {
    file.path
        .to_str()
        .ok_or_else(|| Error::in_file(&file.path, "file name is not valid UTF-8"))
}

/// Longest header line read: a "header" longer than this is not one (a binary file, say).
const MAX_HEADER: u64 = 1 << 20;

/// The header of a CSV file (line 1), checked for UTF-8; names trimmed, a UTF-8 byte order
/// mark dropped.
pub fn csv_header(file: &InputFile) -> Result<Vec<String>> {
    let mut reader = BufReader::new(open_text(file)?).take(MAX_HEADER);
    let mut line = Vec::new();
    let at_line1 = |msg: String| {
        Error::input(
            crate::engine::error::Location {
                file: Some(file.path.clone()),
                line: Some(1),
                ..Default::default()
            },
            msg,
        )
    };
    reader.read_until(b'\n', &mut line).map_err(|e| {
        Error::input(
            crate::engine::error::Location {
                file: Some(file.path.clone()),
                line: Some(1),
                ..Default::default()
            },
            format!("cannot read the header: {e}"),
        )
    })?;
    if line.is_empty() {
        return Err(Error::in_file(&file.path, "file is empty: no header line"));
    }
    let body = line.strip_suffix(b"\n").unwrap_or(&line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if body.contains(&b'\r') {
        return Err(at_line1(
            "lines end in a lone carriage return (CR, old Mac style): convert them to LF or CRLF"
                .into(),
        ));
    }
    if !line.ends_with(b"\n") && line.len() as u64 >= MAX_HEADER {
        return Err(at_line1(format!(
            "no end of the header line in the first {} MB: is this a CSV file?",
            MAX_HEADER >> 20
        )));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_slice());
    let mut rec = csv::StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => Ok(rec
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = if i == 0 {
                    s.trim_start_matches('\u{feff}')
                } else {
                    s
                };
                s.trim().to_string()
            })
            .collect()),
        Ok(false) => Err(Error::in_file(&file.path, "file is empty: no header line")),
        Err(e) => Err(Error::input(
            crate::engine::error::Location {
                file: Some(file.path.clone()),
                line: Some(1),
                ..Default::default()
            },
            format!("unreadable header: {e}"),
        )),
    }
}

/// Bytes of a CSV file's text read ahead of polars to check its lines: enough to meet a "line"
/// of gigabytes (polars would hold it whole, with no word) while costing milliseconds.
const LINE_PROBE: u64 = 4 << 20;

/// Refuse a CSV file whose first lines (up to `LINE_PROBE` bytes of text) hold one longer
/// than `text_file::MAX_LINE`, naming the file and the line; a gzip stream that ends within
/// them is named too.
fn check_lines(file: &InputFile) -> Result<()> {
    // Checked once per file and version: a command scans a file several times.
    type Key = (std::path::PathBuf, u64, Option<std::time::SystemTime>);
    static PASSED: std::sync::Mutex<Option<std::collections::HashSet<Key>>> =
        std::sync::Mutex::new(None);
    let key: Key = (
        file.path.clone(),
        file.size,
        std::fs::metadata(&file.path)
            .and_then(|m| m.modified())
            .ok(),
    );
    if PASSED
        .lock()
        .is_ok_and(|p| p.as_ref().is_some_and(|p| p.contains(&key)))
    {
        return Ok(());
    }
    check_lines_now(file)?;
    if let Ok(mut p) = PASSED.lock() {
        p.get_or_insert_default().insert(key);
    }
    Ok(())
}

fn check_lines_now(file: &InputFile) -> Result<()> {
    let mut r = BoundedLines::new(open_text(file)?.take(LINE_PROBE));
    let mut buf = vec![0u8; 1 << 16];
    let mut line = 1u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let long = e.get_ref().is_some_and(|x| x.is::<LineTooLong>());
                let msg = if long {
                    e.get_ref().map(|x| x.to_string()).unwrap_or_default()
                } else if file.format == Format::CsvGz
                    && e.kind() == std::io::ErrorKind::UnexpectedEof
                {
                    "the gzip stream ends early (truncated file?)".to_string()
                } else if file.format == Format::CsvGz {
                    format!("the gzip stream cannot be read: {e} (truncated or corrupt file?)")
                } else {
                    format!("cannot read: {e}")
                };
                return Err(Error::input(
                    crate::engine::error::Location {
                        file: Some(file.path.clone()),
                        line: Some(line),
                        ..Default::default()
                    },
                    msg,
                ));
            }
        }
    }
}

/// Fail with a clear message if a required column is missing.
fn require_columns<'a>(
    file: &InputFile,
    have: impl Iterator<Item = &'a str> + Clone,
) -> Result<()> {
    for want in COLUMNS {
        if !have.clone().any(|h| h == want) {
            // What the file has, so a renamed or misspelt header is seen at once (at most 12
            // names: a wide warehouse export says how many more).
            let found: Vec<&str> = have.clone().collect();
            let shown: Vec<String> = found
                .iter()
                .take(12)
                .map(|h| format!("`{}`", crate::engine::text::clip(h, 80)))
                .collect();
            let more = found.len().saturating_sub(12);
            let listed = if found.is_empty() {
                "no columns".to_string()
            } else if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            };
            return Err(Error::input(
                crate::engine::error::Location {
                    file: Some(file.path.clone()),
                    column: Some(want.to_string()),
                    line: matches!(file.format, Format::Csv | Format::CsvGz).then_some(1),
                    ..Default::default()
                },
                format!(
                    "missing column (the file has {listed}; the REES46 columns are {})",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The typed columns polars parses directly; everything else stays text.
fn csv_dtypes() -> Schema {
    let mut s = Schema::default();
    for (name, dt) in [
        (EVENT_TIME, DataType::String),
        (EVENT_TYPE, DataType::String),
        (PRODUCT_ID, DataType::Int64),
        (CATEGORY_ID, DataType::Int64),
        (CATEGORY_CODE, DataType::String),
        (BRAND, DataType::String),
        (PRICE, DataType::Float64),
        (USER_ID, DataType::Int64),
        (USER_SESSION, DataType::String),
    ] {
        s.with_column(name.into(), dt);
    }
    s
}

/// Can polars (as built here) read a Parquet column of this Arrow type? It panics on the
/// ones it cannot, even in a column nobody reads, so every column is checked first.
fn readable(dt: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    match dt {
        A::Null
        | A::Boolean
        | A::Int8
        | A::Int16
        | A::Int32
        | A::Int64
        | A::UInt8
        | A::UInt16
        | A::UInt32
        | A::UInt64
        | A::Float32
        | A::Float64
        | A::Date32
        | A::Date64
        | A::Utf8
        | A::LargeUtf8
        | A::Utf8View
        | A::Binary
        | A::LargeBinary
        | A::BinaryView
        | A::FixedSizeBinary(_)
        | A::Decimal(..)
        | A::Decimal32(..)
        | A::Decimal64(..)
        | A::Decimal256(..) => true,
        A::Timestamp(_, tz) => TimeZone::opt_try_new(tz.clone()).is_ok(),
        A::List(f) | A::LargeList(f) => readable(&f.dtype),
        A::Dictionary(_, v, _) => matches!(v.as_ref(), A::Utf8 | A::LargeUtf8 | A::Utf8View),
        _ => false,
    }
}

/// Refuse a Parquet file with a column type that cannot be read, naming the column.
fn check_parquet_types(file: &InputFile) -> Result<()> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let schema = ParquetReader::new(f)
        .schema()
        .map_err(|e| Error::in_file(&file.path, format!("not a readable Parquet file: {e}")))?;
    for field in schema.iter_values() {
        if !readable(&field.dtype) {
            return Err(Error::input(
                crate::engine::error::Location {
                    file: Some(file.path.clone()),
                    column: Some(crate::engine::text::clip(&field.name, 80)),
                    ..Default::default()
                },
                format!(
                    "has the Parquet type {:?}, which churn-tui cannot read: cast it to a \
                     number, text or timestamp, or drop the column",
                    field.dtype
                ),
            ));
        }
    }
    Ok(())
}

/// How a checked file is scanned; files with equal keys are read by one polars scan.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanKey {
    /// CSV or CSV.gz, with the schema made from its header.
    Csv(Format, Schema),
    /// Parquet, with its schema.
    Parquet(Schema),
}

/// Check a file (header, lines, columns and types) and say how it is scanned.
pub fn scan_key(file: &InputFile) -> Result<ScanKey> {
    path_str(file)?;
    match file.format {
        Format::Csv | Format::CsvGz => {
            let header = csv_header(file)?;
            check_lines(file)?;
            require_columns(file, header.iter().map(|s| s.as_str()))?;
            // The schema by position, under the trimmed names: polars would otherwise take
            // ` price` (a stray space) for another column than `price`.
            let dtypes = csv_dtypes();
            let mut schema = Schema::default();
            for (i, name) in header.iter().enumerate() {
                if schema.contains(name) && COLUMNS.contains(&name.as_str()) {
                    return Err(Error::input(
                        crate::engine::error::Location {
                            file: Some(file.path.clone()),
                            column: Some(name.clone()),
                            line: Some(1),
                            ..Default::default()
                        },
                        "the header names this column twice",
                    ));
                }
                let key = if name.is_empty() || schema.contains(name) {
                    format!("__extra_{i}")
                } else {
                    name.clone()
                };
                let dt = dtypes.get(name).cloned().unwrap_or(DataType::String);
                schema.with_column(key.into(), dt);
            }
            Ok(ScanKey::Csv(file.format, schema))
        }
        Format::Parquet => {
            check_parquet_types(file)?;
            let mut lf = LazyFrame::scan_parquet(
                PlRefPath::new(path_str(file)?),
                ScanArgsParquet {
                    glob: false,
                    ..Default::default()
                },
            )
            .ctx(|| format!("{}: cannot scan", file.path.display()))?;
            let schema = lf.collect_schema().map_err(|e| {
                Error::in_file(&file.path, format!("not a readable Parquet file: {e}"))
            })?;
            let names: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
            require_columns(file, names.iter().map(|s| s.as_str()))?;
            match schema.get(EVENT_TIME) {
                Some(DataType::Datetime(_, _) | DataType::String) => {}
                other => {
                    return Err(Error::input(
                        crate::engine::error::Location {
                            file: Some(file.path.clone()),
                            column: Some(EVENT_TIME.into()),
                            ..Default::default()
                        },
                        format!(
                            "has type {}; expected a timestamp or text",
                            other.cloned().unwrap_or(DataType::Null)
                        ),
                    ));
                }
            }
            Ok(ScanKey::Parquet(schema.as_ref().clone()))
        }
    }
}

/// A raw lazy scan of `files` (checked, all of scan key `key`) with the nine columns, typed as
/// polars reads them; and the type of `event_time`.
fn scan_raw_key(files: &[InputFile], key: &ScanKey) -> Result<(LazyFrame, DataType)> {
    let paths = files
        .iter()
        .map(|f| path_str(f).map(PlRefPath::new))
        .collect::<Result<Vec<_>>>()?;
    let first = files
        .first()
        .map(|f| f.path.display().to_string())
        .unwrap_or_default();
    match key {
        ScanKey::Csv(_, schema) => {
            let lf = LazyCsvReader::new_paths(paths.into())
                .with_has_header(true)
                // Already resolved: a name with `[` or `*` is a file, not a pattern.
                .with_glob(false)
                .with_schema(Some(Arc::new(schema.clone())))
                .with_missing_is_null(true)
                .finish()
                .ctx(|| format!("{first}: cannot scan"))?;
            let lf = lf.select(COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>());
            Ok((lf, DataType::String))
        }
        ScanKey::Parquet(_) => {
            let lf = LazyFrame::scan_parquet_files(
                paths.into(),
                ScanArgsParquet {
                    glob: false,
                    ..Default::default()
                },
            )
            .ctx(|| format!("{first}: cannot scan"))?;
            let lf = lf.select(COLUMNS.iter().map(|c| raw_col(key, c)).collect::<Vec<_>>());
            Ok((lf, key.time_dtype()))
        }
    }
}

impl ScanKey {
    /// The type `event_time` is read as.
    pub fn time_dtype(&self) -> DataType {
        match self {
            ScanKey::Csv(..) => DataType::String,
            ScanKey::Parquet(schema) => schema.get(EVENT_TIME).cloned().unwrap_or(DataType::Null),
        }
    }
}

/// An input column as read under `key`, in the type the canonical frame takes it (a CSV
/// file's schema types it already; a Parquet file's may hold any integer, float or text).
pub(super) fn raw_col(key: &ScanKey, name: &str) -> Expr {
    let to = match (key, name) {
        (ScanKey::Csv(..), _) | (_, EVENT_TIME) => return col(name),
        (_, PRODUCT_ID | CATEGORY_ID | USER_ID) => DataType::Int64,
        (_, PRICE) => DataType::Float64,
        _ => DataType::String,
    };
    col(name).cast(to)
}

/// A raw lazy scan of the file with the nine columns, typed as polars reads them.
pub fn scan_raw(file: &InputFile) -> Result<(LazyFrame, DataType)> {
    let key = scan_key(file)?;
    scan_raw_key(std::slice::from_ref(file), &key)
}

/// The files as few polars scans as their keys allow: runs of consecutive files with the same
/// key share one multi-file scan, as (index of the run's first file, canonical frame without
/// the `__bad` flag). A union of one scan per file made polars' streaming graph quadratic in
/// files (1,000 one-event files took 63 s); a multi-file scan is one node.
pub fn scan_runs(files: &[InputFile]) -> Result<Vec<(usize, LazyFrame)>> {
    let keys = files.iter().map(scan_key).collect::<Result<Vec<_>>>()?;
    let mut out = Vec::new();
    let mut start = 0;
    while start < files.len() {
        let mut end = start + 1;
        while end < files.len() && keys[end] == keys[start] {
            end += 1;
        }
        let (lf, time_dtype) = scan_raw_key(&files[start..end], &keys[start])?;
        out.push((start, canonical(lf, &time_dtype)));
        start = end;
    }
    Ok(out)
}

/// Event time as µs since the epoch; null where the text is not `YYYY-MM-DD HH:MM:SS[ UTC]`.
pub fn ts_expr(time_dtype: &DataType) -> Expr {
    match time_dtype {
        DataType::Datetime(_, _) => col(EVENT_TIME).dt().timestamp(TimeUnit::Microseconds),
        _ => {
            let text = col(EVENT_TIME).str().strip_suffix(lit(UTC_SUFFIX));
            let opts = StrptimeOptions {
                format: Some(TIME_FORMAT.into()),
                strict: false,
                exact: true,
                cache: true,
            };
            when(text.clone().str().len_bytes().eq(lit(TIME_LEN as u32)))
                .then(
                    text.str()
                        .to_datetime(Some(TimeUnit::Microseconds), None, opts, lit("raise"))
                        .dt()
                        .timestamp(TimeUnit::Microseconds),
                )
                .otherwise(lit(NULL).cast(DataType::Int64))
        }
    }
}

fn event_types() -> Series {
    Series::new("event_types".into(), EVENT_TYPES)
}

/// True for a row that breaks SPEC §1: a null required value, an unknown event type, an
/// unparsable time, a price that is negative, not finite or above `MAX_PRICE`.
pub fn bad_expr() -> Expr {
    col(TS)
        .is_null()
        .or(col(EVENT_TYPE)
            .is_in(lit(event_types()).implode(false), false)
            .not())
        .or(col(EVENT_TYPE).is_null())
        .or(col(PRODUCT_ID).is_null())
        .or(col(CATEGORY_ID).is_null())
        .or(col(USER_ID).is_null())
        .or(col(PRICE).is_null())
        // Catches NaN and ±inf too: both are false here.
        .or(col(PRICE)
            .gt_eq(lit(0.0))
            .and(col(PRICE).lt_eq(lit(MAX_PRICE)))
            .not())
}

/// The canonical lazy frame of a file: the nine columns with `event_time` replaced by `ts`,
/// plus the `__bad` flag.
pub fn scan_file(file: &InputFile) -> Result<LazyFrame> {
    Ok(scan_file_unchecked(file)?.with_column(bad_expr().alias(BAD)))
}

/// `scan_file` without the `__bad` flag, for a streaming pass that checks each batch itself:
/// the flag's `is_in` makes polars' streaming engine hold a file's decoded rows (its input is
/// split in two, and one branch waits for the other), so a 57M-event file took 8 GB.
pub fn scan_file_unchecked(file: &InputFile) -> Result<LazyFrame> {
    let (lf, time_dtype) = scan_raw(file)?;
    Ok(canonical(lf, &time_dtype))
}

/// The nine raw columns as the canonical ones: `ts` for `event_time`, empty text as null.
fn canonical(lf: LazyFrame, time_dtype: &DataType) -> LazyFrame {
    lf.select(
        std::iter::once(TS)
            .chain(COLUMNS[1..].iter().copied())
            .map(|c| canonical_col(c, time_dtype))
            .collect::<Vec<_>>(),
    )
}

/// A canonical column (`ts` or one of the other eight) from the raw ones.
pub(super) fn canonical_col(name: &str, time_dtype: &DataType) -> Expr {
    if name == TS {
        ts_expr(time_dtype).alias(TS)
    } else if NULLABLE.contains(&name) {
        // An empty text field is no value, quoted (`""`, as Python's QUOTE_ALL writes) or not.
        when(col(name).eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(col(name))
            .alias(name)
    } else {
        col(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data::Scope;

    /// Issue 29, item 20: alike files are one polars scan, so the streaming graph does not grow
    /// with the number of files (a union of one scan per file was quadratic).
    #[test]
    fn alike_files_share_one_scan() {
        let d = tempfile::tempdir().unwrap();
        let head = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n";
        let mut files = Vec::new();
        for i in 0..300 {
            let p = d.path().join(format!("f{i:03}.csv"));
            let text = format!("{head}2019-10-01 10:00:00 UTC,view,{i},2,,b,1.5,{i},s\n");
            std::fs::write(&p, &text).unwrap();
            files.push(InputFile {
                path: p,
                format: Format::Csv,
                size: text.len() as u64,
            });
        }
        // Another header order starts a second run.
        let p = d.path().join("other.csv");
        let text = "user_id,event_time,event_type,product_id,category_id,category_code,brand,price,user_session\n7,2019-10-02 10:00:00 UTC,view,1,2,,b,1.5,s\n";
        std::fs::write(&p, text).unwrap();
        files.push(InputFile {
            path: p,
            format: Format::Csv,
            size: text.len() as u64,
        });
        let runs = crate::engine::data::scan::scan_runs(&files).unwrap();
        assert_eq!(runs.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 300]);
        let log = crate::engine::data::load(&files, &Scope::default()).unwrap();
        assert_eq!(log.summary.events, 301);
        assert_eq!(log.summary.users, 300, "user 7 appears twice");
    }
}
