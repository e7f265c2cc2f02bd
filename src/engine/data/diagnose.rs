//! The slow, exact path for bad input: when the fast polars scan fails or flags a row, re-read
//! the file to name the first offending line (CSV) or row (Parquet) and column.

use chrono::NaiveDateTime;
use polars::prelude::*;

use super::scan::{scan_raw, ts_expr};
use super::schema::*;
use super::source::{Format, InputFile};
use super::text_file::{BoundedLines, LineTooLong, open_text};
use crate::engine::error::{Location, PolarsContext};
use crate::engine::text::clip;
use crate::engine::{Error, Result};

/// The most characters of an input value a message shows.
pub const MAX_SHOWN: usize = 80;

/// What is wrong with one value of a column, if anything (SPEC §1).
pub fn check_value(column: &str, value: Option<&str>) -> Option<String> {
    let required = matches!(
        column,
        EVENT_TIME | EVENT_TYPE | PRODUCT_ID | CATEGORY_ID | PRICE | USER_ID
    );
    let v = match value {
        None | Some("") if required => return Some("missing value".into()),
        None | Some("") => return None,
        Some(v) => v,
    };
    // A value is shown cut and escaped: a 20 MB field must not be echoed whole, nor a control
    // character reach the terminal.
    let shown = clip(v, MAX_SHOWN);
    match column {
        EVENT_TIME => {
            let text = v.strip_suffix(UTC_SUFFIX).unwrap_or(v);
            // Round-trip through the format, so only the exact fixed-width form passes (as in polars).
            let ok = text.len() == TIME_LEN
                && NaiveDateTime::parse_from_str(text, TIME_FORMAT)
                    .is_ok_and(|dt| dt.format(TIME_FORMAT).to_string() == text);
            (!ok).then(|| format!("unparsable time `{shown}` (expected `YYYY-MM-DD HH:MM:SS UTC`)"))
        }
        EVENT_TYPE => (!EVENT_TYPES.contains(&v)).then(|| {
            format!(
                "unknown event_type `{shown}` (expected view, cart, remove_from_cart or purchase)"
            )
        }),
        PRODUCT_ID | CATEGORY_ID | USER_ID => match v.parse::<i64>() {
            Ok(_) => None,
            Err(e)
                if matches!(
                    e.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ) =>
            {
                Some(format!(
                    "`{shown}` is out of range: ids must fit a signed 64-bit integer"
                ))
            }
            Err(_) => Some(format!("`{shown}` is not an integer")),
        },
        PRICE => match v.parse::<f64>() {
            Err(_) => Some(format!("`{shown}` is not a number")),
            Ok(p) if p.is_nan() => Some(format!("`{shown}` is not a number")),
            Ok(p) if p < 0.0 => Some(format!("negative price {shown}")),
            Ok(p) if p.is_infinite() || p > MAX_PRICE => Some(format!(
                "price `{shown}` is out of range: prices must be finite and at most {MAX_PRICE:e}"
            )),
            Ok(_) => None,
        },
        _ => None,
    }
}

fn loc(file: &InputFile, line: Option<u64>, row: Option<u64>, column: Option<&str>) -> Location {
    Location {
        file: Some(file.path.clone()),
        column: column.map(str::to_string),
        line,
        row,
    }
}

/// The first problem in a CSV file, by reading it record by record.
pub fn diagnose_csv(file: &InputFile) -> Result<Option<Error>> {
    // Records end at `\n` alone: with CRLF as the terminator the csv crate dates a record
    // from its `\r`, one line too early. A trailing `\r` is taken off the last field below.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(LastByte::new(BoundedLines::new(open_text(file)?)));
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let what = match e.kind() {
                csv::ErrorKind::Io(io) => read_failure(file, io),
                _ => format!("cannot read: {e}"),
            };
            return Ok(Some(Error::input(loc(file, Some(1), None, None), what)));
        }
    };
    let header_names: Vec<String> = headers
        .iter()
        .map(|h| h.strip_suffix(b"\r").unwrap_or(h))
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string()
        })
        .collect();
    let idx: Vec<(usize, &str)> = COLUMNS
        .iter()
        .filter_map(|c| header_names.iter().position(|h| h == c).map(|i| (i, *c)))
        .collect();
    let mut record = csv::ByteRecord::new();
    let mut last_line = 1;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(last_line + 1);
                let what = match e.kind() {
                    csv::ErrorKind::Io(io) => read_failure(file, io),
                    other => format!("cannot parse: {other:?}"),
                };
                return Ok(Some(Error::input(loc(file, Some(line), None, None), what)));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(last_line + 1);
        last_line = line;
        if record.len() != headers.len() {
            // The last line without its line end: the file was cut there (a copy or a
            // download that stopped), which says more than a field count.
            let mut next = csv::ByteRecord::new();
            let at_end = matches!(rdr.read_byte_record(&mut next), Ok(false));
            let msg = if at_end && !rdr.get_ref().ended_in_newline() {
                format!(
                    "the file ends in the middle of this line ({} of {} fields, no line end): \
                     is it truncated?",
                    record.len(),
                    headers.len()
                )
            } else {
                format!("expected {} fields, found {}", headers.len(), record.len())
            };
            return Ok(Some(Error::input(loc(file, Some(line), None, None), msg)));
        }
        for (i, name) in &idx {
            let mut bytes = record.get(*i).unwrap_or_default();
            if *i + 1 == record.len() {
                bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            }
            let value = match std::str::from_utf8(bytes) {
                Ok(v) => v,
                Err(_) => {
                    return Ok(Some(Error::input(
                        loc(file, Some(line), None, Some(name)),
                        "invalid UTF-8 bytes",
                    )));
                }
            };
            if let Some(msg) = check_value(name, Some(value)) {
                return Ok(Some(Error::input(
                    loc(file, Some(line), None, Some(name)),
                    msg,
                )));
            }
        }
        // Columns outside the schema still have to be text.
        for (i, field) in record.iter().enumerate() {
            if std::str::from_utf8(field).is_err() {
                let name = header_names.get(i).map(|s| clip(s, MAX_SHOWN));
                return Ok(Some(Error::input(
                    loc(file, Some(line), None, name.as_deref()),
                    "invalid UTF-8 bytes",
                )));
            }
        }
    }
}

/// What a failed read of a CSV file's bytes says: a gzip stream cut short, a line too long, or
/// the I/O error.
fn read_failure(file: &InputFile, io: &std::io::Error) -> String {
    if let Some(msg) = io.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>()) {
        return msg.to_string();
    }
    let gz = file.format == Format::CsvGz;
    match io.kind() {
        std::io::ErrorKind::UnexpectedEof if gz => {
            "the gzip stream ends early (truncated file?)".to_string()
        }
        std::io::ErrorKind::UnexpectedEof => "the file ends early (truncated file?)".to_string(),
        // flate2 says "corrupt deflate stream" or "invalid gzip header".
        _ if gz => format!("the gzip stream cannot be read: {io} (truncated or corrupt file?)"),
        _ => format!("cannot read: {io}"),
    }
}

/// Remembers the last byte read, to tell a file whose last line lacks its line end.
struct LastByte<R> {
    inner: R,
    last: Option<u8>,
}

impl<R> LastByte<R> {
    fn new(inner: R) -> Self {
        LastByte { inner, last: None }
    }

    fn ended_in_newline(&self) -> bool {
        self.last == Some(b'\n')
    }
}

impl<R: std::io::Read> std::io::Read for LastByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }
}

/// The first bad row of a Parquet file.
pub fn diagnose_parquet(file: &InputFile) -> Result<Option<Error>> {
    let (lf, time_dtype) = scan_raw(file)?;
    let time_is_text = matches!(time_dtype, DataType::String);
    // Streamed batch by batch, in order, until the first bad row: a bad row in the last row
    // group of a 57M-row file is found without ever holding the file (an in-memory query
    // decoded all of it, 8 GB).
    let found: std::sync::Arc<std::sync::Mutex<Option<DataFrame>>> = Default::default();
    let sink = found.clone();
    let cb = PlanCallback::new(move |df: DataFrame| -> PolarsResult<bool> {
        let bad = df
            .lazy()
            .with_column(ts_expr(&time_dtype).alias(TS))
            .with_column(super::scan::bad_expr().alias(BAD))
            .filter(col(BAD))
            .limit(1)
            .collect()?;
        if bad.height() == 0 {
            return Ok(false);
        }
        if let Ok(mut slot) = sink.lock() {
            *slot = Some(bad);
        }
        Ok(true)
    });
    lf.with_row_index("__row", None)
        .sink_batches(cb, true, None)
        .and_then(|q| q.collect_with_engine(Engine::Streaming))
        .ctx(|| format!("{}: cannot read", file.path.display()))?;
    let first = match found.lock().ok().and_then(|mut f| f.take()) {
        Some(df) => df,
        None => return Ok(None),
    };
    let row = first
        .column("__row")
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<u64>());
    let text = |name: &str| -> Option<String> {
        let v = first.column(name).ok()?.get(0).ok()?;
        if v.is_null() {
            None
        } else {
            Some(match v.get_str() {
                Some(s) => s.to_string(),
                None => v.to_string(),
            })
        }
    };
    let ts_null = first
        .column(TS)
        .ok()
        .and_then(|c| c.get(0).ok())
        .is_none_or(|v| v.is_null());
    for name in [
        EVENT_TIME,
        EVENT_TYPE,
        PRODUCT_ID,
        CATEGORY_ID,
        PRICE,
        USER_ID,
    ] {
        let value = text(name);
        let msg = if name == EVENT_TIME {
            if !ts_null {
                None
            } else if time_is_text {
                check_value(name, value.as_deref())
            } else {
                Some("missing value".into())
            }
        } else {
            check_value(name, value.as_deref())
        };
        // Null after the cast to the schema's type, but not in the file: the value does not
        // fit (an unsigned id above 2^63, say), which is not "missing".
        let msg = match (msg, value.is_none(), row) {
            (Some(m), true, Some(r)) => Some(raw_value(file, name, r)?.map_or(m, |(v, dt)| {
                format!(
                    "`{}` ({dt} in the file) is out of range for this column",
                    clip(&v, MAX_SHOWN)
                )
            })),
            (m, _, _) => m,
        };
        if let Some(msg) = msg {
            return Ok(Some(Error::input(loc(file, None, row, Some(name)), msg)));
        }
    }
    Ok(Some(Error::input(
        loc(file, None, row, None),
        "invalid row",
    )))
}

/// A Parquet value as stored (before any cast), with its type; None when it is null there too.
fn raw_value(file: &InputFile, column: &str, row: u64) -> Result<Option<(String, DataType)>> {
    let path = file.path.to_string_lossy();
    let df = LazyFrame::scan_parquet(
        PlRefPath::new(&*path),
        ScanArgsParquet {
            glob: false,
            ..Default::default()
        },
    )
    .and_then(|lf| {
        // A slice reads only the row group that holds the row.
        lf.slice(row as i64, 1).select([col(column)]).collect()
    })
    .ctx(|| format!("{}: cannot read", file.path.display()))?;
    let Ok(c) = df.column(column) else {
        return Ok(None);
    };
    let dt = c.dtype().clone();
    Ok(c.get(0)
        .ok()
        .filter(|v| !v.is_null())
        .map(|v| (v.to_string(), dt)))
}

/// The first problem in a file, or None if this check finds nothing wrong.
pub fn diagnose(file: &InputFile) -> Result<Option<Error>> {
    match file.format {
        Format::Csv | Format::CsvGz => diagnose_csv(file),
        Format::Parquet => diagnose_parquet(file),
    }
}

/// Turn a failed polars query over `files` into the clearest error we can find: the first file
/// with a diagnosable problem, else the polars error with its context.
pub fn explain_failure(files: &[InputFile], context: &str, err: PolarsError) -> Error {
    for f in files {
        match diagnose(f) {
            Ok(Some(e)) => return e,
            Ok(None) => {}
            Err(e) => return e,
        }
    }
    Error::Polars {
        context: context.to_string(),
        source: err,
    }
}
