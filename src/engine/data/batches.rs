//! Input files read in batches of bounded size, each as canonical columns: what a streaming
//! pass out of core reads. Parquet row group by row group (a group larger than a batch in
//! slices of it), CSV and CSV.gz through a buffered reader cut at record ends. Never a
//! whole-file map or a whole-file decompression, so a pass's memory follows the batch, not the
//! file (polars' CSV scan maps the file, and a 10 GB file showed 10 GB resident; its streaming
//! Parquet scan held decoded row groups of several files at once).

use std::fs::File;
use std::io::{Cursor, Read};
use std::sync::Arc;

use polars::prelude::*;

use super::diagnose::explain_failure;
use super::scan::{ScanKey, canonical_col, raw_col, scan_key};
use super::schema::*;
use super::source::InputFile;
use super::text_file::{BoundedLines, LineTooLong, open_text};
use crate::engine::{Error, Result};

/// Rows of a Parquet batch, at most (row groups are joined up to it, or cut into it).
pub const BATCH_ROWS: usize = 1 << 18;
/// Bytes of CSV text parsed at once: about as many events as a Parquet batch.
const CSV_BYTES: usize = 32 << 20;

/// Read `files` in order, batch by batch, as the canonical `columns` (`ts` and the others of
/// the nine), handing each batch with the index of its file to `take` until it returns true.
/// The next batch is decoded on another thread while `take` works on this one, so at most
/// three batches are held.
pub fn each_batch(
    files: &[InputFile],
    columns: &[&str],
    take: impl FnMut(usize, DataFrame) -> Result<bool>,
) -> Result<()> {
    each_batch_sized(files, columns, Sizes::DEFAULT, take)
}

/// How large a batch is: Parquet rows, CSV text bytes.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    rows: usize,
    csv_bytes: usize,
}

impl Sizes {
    const DEFAULT: Sizes = Sizes {
        rows: BATCH_ROWS,
        csv_bytes: CSV_BYTES,
    };
}

fn each_batch_sized(
    files: &[InputFile],
    columns: &[&str],
    sizes: Sizes,
    mut take: impl FnMut(usize, DataFrame) -> Result<bool>,
) -> Result<()> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(usize, DataFrame)>>(1);
        s.spawn(move || {
            for (i, f) in files.iter().enumerate() {
                let mut emit = |df: DataFrame| tx.send(Ok((i, df))).is_ok();
                match read_file(f, columns, sizes, &mut emit) {
                    Ok(true) => {}
                    // The receiver stopped: nothing more is wanted.
                    Ok(false) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        for batch in rx {
            let (i, df) = batch?;
            if take(i, df)? {
                break;
            }
        }
        Ok(())
    })
}

/// One file's batches into `emit`; false when `emit` wants no more.
fn read_file(
    file: &InputFile,
    columns: &[&str],
    sizes: Sizes,
    emit: &mut dyn FnMut(DataFrame) -> bool,
) -> Result<bool> {
    let key = scan_key(file)?;
    let raw: Vec<&str> = columns
        .iter()
        .map(|&c| if c == TS { EVENT_TIME } else { c })
        .collect();
    let time_dtype = key.time_dtype();
    let to_canonical = |df: DataFrame| -> Result<DataFrame> {
        df.lazy()
            .select(raw.iter().map(|c| raw_col(&key, c)).collect::<Vec<_>>())
            .select(
                columns
                    .iter()
                    .map(|c| canonical_col(c, &time_dtype))
                    .collect::<Vec<_>>(),
            )
            .collect()
            .map_err(|e| fail(file, e))
    };
    let mut each = |df: DataFrame| to_canonical(df).map(&mut *emit);
    match &key {
        ScanKey::Parquet(_) => parquet_batches(file, &raw, sizes.rows, &mut each),
        ScanKey::Csv(_, schema) => csv_batches(file, schema, &raw, sizes.csv_bytes, &mut each),
    }
}

fn fail(file: &InputFile, e: PolarsError) -> Error {
    match explain_failure(std::slice::from_ref(file), "reading the event log", e) {
        // Not located by the diagnosis: polars' own words, clipped (a CSV parse error quotes
        // the rest of its chunk, megabytes of it).
        Error::Polars { source, .. } => Error::in_file(
            &file.path,
            format!(
                "cannot be read: {}",
                crate::engine::text::clip(&source.to_string(), 300)
            ),
        ),
        other => other,
    }
}

/// Where a `"` opens a field that the text never closes (after the text's last record end,
/// as `last_record_end` reads quotes).
fn unclosed_quote(text: &[u8]) -> Option<usize> {
    let mut open = None;
    for (i, &b) in text.iter().enumerate() {
        if b == b'"' {
            open = if open.is_some() { None } else { Some(i) };
        }
    }
    open
}

/// (first row, rows) of each batch of a file with row groups of these sizes: consecutive
/// groups joined while they fit in `max` rows, a larger group cut into pieces of `max`.
fn slices(groups: &[usize], max: usize) -> Vec<(usize, usize)> {
    let max = max.max(1);
    let mut out = Vec::new();
    let (mut start, mut len) = (0usize, 0usize);
    for &g in groups {
        if len > 0 && len + g > max {
            out.push((start, len));
            start += len;
            len = 0;
        }
        if g > max {
            let mut at = 0;
            while at < g {
                let k = max.min(g - at);
                out.push((start + at, k));
                at += k;
            }
            start += g;
        } else {
            len += g;
        }
    }
    if len > 0 {
        out.push((start, len));
    }
    out
}

fn parquet_batches(
    file: &InputFile,
    raw: &[&str],
    max_rows: usize,
    emit: &mut dyn FnMut(DataFrame) -> Result<bool>,
) -> Result<bool> {
    let mut h = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let metadata = ParquetReader::new(&mut h)
        .get_metadata()
        .map_err(|e| Error::in_file(&file.path, format!("not a readable Parquet file: {e}")))?
        .clone();
    let groups: Vec<usize> = metadata.row_groups.iter().map(|g| g.num_rows()).collect();
    let names: Vec<String> = raw.iter().map(|c| c.to_string()).collect();
    for (first, rows) in slices(&groups, max_rows) {
        let mut reader = ParquetReader::new(&mut h);
        reader.set_metadata(metadata.clone());
        let df = reader
            .with_columns(Some(names.clone()))
            .with_slice(Some((first, rows)))
            .finish()
            .map_err(|e| fail(file, e))?;
        if !emit(df)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Where the text's last whole record ends (after its `\n`), with `"` quoting as polars reads
/// it (a `\n` inside quotes is part of a field); 0 when no record ends in it.
fn last_record_end(text: &[u8]) -> usize {
    if !text.contains(&b'"') {
        return text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    }
    let mut quoted = false;
    let mut end = 0;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => end = i + 1,
            _ => {}
        }
    }
    end
}

fn csv_batches(
    file: &InputFile,
    schema: &Schema,
    raw: &[&str],
    csv_bytes: usize,
    emit: &mut dyn FnMut(DataFrame) -> Result<bool>,
) -> Result<bool> {
    let mut text = BoundedLines::new(open_text(file)?);
    let schema = Arc::new(schema.clone());
    let names: Arc<[PlSmallStr]> = raw.iter().map(|c| PlSmallStr::from(*c)).collect();
    let mut buf: Vec<u8> = Vec::with_capacity(csv_bytes);
    // Line 1 is the header (already read and checked by `scan_key`).
    let mut line = 1u64;
    let mut in_header = true;
    let mut eof = false;
    while !eof || !buf.is_empty() {
        if !eof {
            eof = fill(&mut text, &mut buf, csv_bytes)
                .map_err(|(at, e)| read_error(file, line + newlines(&buf[..at]), e))?;
        }
        if in_header {
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    buf.drain(..=i);
                    in_header = false;
                    line += 1;
                }
                None if eof => return Ok(true),
                // `scan_key` read the header whole: it is not longer than a batch.
                None => return Err(Error::in_file(&file.path, "no end of the header line")),
            }
        }
        let cut = if eof {
            if let Some(at) = unclosed_quote(&buf) {
                return Err(Error::input(
                    crate::engine::error::Location {
                        file: Some(file.path.clone()),
                        line: Some(line + newlines(&buf[..at])),
                        ..Default::default()
                    },
                    "a quoted field opens here and is never closed (a stray `\"`?)",
                ));
            }
            buf.len()
        } else {
            last_record_end(&buf)
        };
        if cut == 0 {
            if eof {
                break;
            }
            // A record runs on past this text (a quoted field over many lines: `BoundedLines`
            // bounds a line): read on, up to a bound.
            if buf.len() >= 4 * csv_bytes {
                return Err(Error::input(
                    crate::engine::error::Location {
                        file: Some(file.path.clone()),
                        line: Some(line),
                        ..Default::default()
                    },
                    format!(
                        "a quoted field opens in this record and does not close within {} MB \
                         (a stray `\"`?)",
                        (4 * csv_bytes) >> 20
                    ),
                ));
            }
            let want = buf.len() + csv_bytes;
            eof = fill(&mut text, &mut buf, want).map_err(|(_, e)| read_error(file, line, e))?;
            continue;
        }
        let df = CsvReadOptions::default()
            .with_has_header(false)
            .with_schema(Some(schema.clone()))
            .with_columns(Some(names.clone()))
            .map_parse_options(|o| o.with_missing_is_null(true))
            .into_reader_with_file_handle(Cursor::new(&buf[..cut]))
            .finish()
            .map_err(|e| fail(file, e))?;
        line += newlines(&buf[..cut]);
        buf.drain(..cut);
        if df.height() > 0 && !emit(df)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Read `text` on into `buf` until it holds `want` bytes or the text ends (true). A failed read
/// gives the bytes held before it.
fn fill(
    text: &mut impl Read,
    buf: &mut Vec<u8>,
    want: usize,
) -> std::result::Result<bool, (usize, std::io::Error)> {
    while buf.len() < want {
        let at = buf.len();
        buf.resize(at + (1 << 20).min(want - at), 0);
        match text.read(&mut buf[at..]) {
            Ok(0) => {
                buf.truncate(at);
                return Ok(true);
            }
            Ok(n) => buf.truncate(at + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(at),
            Err(e) => {
                buf.truncate(at);
                return Err((at, e));
            }
        }
    }
    Ok(false)
}

fn newlines(text: &[u8]) -> u64 {
    text.iter().filter(|&&b| b == b'\n').count() as u64
}

/// A read of the text that failed at `line`: a line too long, or a broken gzip stream.
fn read_error(file: &InputFile, line: u64, e: std::io::Error) -> Error {
    let msg = if let Some(long) = e.get_ref().filter(|x| x.is::<LineTooLong>()) {
        long.to_string()
    } else if file.format == super::source::Format::CsvGz {
        format!("the gzip stream cannot be read: {e} (truncated or corrupt file?)")
    } else {
        format!("cannot read: {e}")
    };
    Error::input(
        crate::engine::error::Location {
            file: Some(file.path.clone()),
            line: Some(line),
            ..Default::default()
        },
        msg,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::data::scan::scan_file;
    use crate::engine::data::source::Format;

    /// Every batch, concatenated, as the canonical columns; the number of batches and the
    /// largest.
    fn batched(file: &InputFile, sizes: Sizes) -> (DataFrame, usize, usize) {
        let mut all: Option<DataFrame> = None;
        let (mut n, mut most) = (0, 0);
        each_batch_sized(std::slice::from_ref(file), &CANONICAL, sizes, |i, df| {
            assert_eq!(i, 0);
            n += 1;
            most = most.max(df.height());
            match &mut all {
                Some(a) => {
                    a.vstack_mut(&df).unwrap();
                }
                None => all = Some(df),
            }
            Ok(false)
        })
        .unwrap();
        (all.unwrap(), n, most)
    }

    /// Polars' own scan of the whole file, the independent reading.
    fn scanned(file: &InputFile) -> DataFrame {
        scan_file(file)
            .unwrap()
            .select(CANONICAL.iter().map(|c| col(*c)).collect::<Vec<_>>())
            .collect()
            .unwrap()
    }

    fn input(path: &std::path::Path, format: Format) -> InputFile {
        InputFile {
            path: path.to_path_buf(),
            format,
            size: std::fs::metadata(path).unwrap().len(),
        }
    }

    /// Tricky CSV text: a byte order mark, CRLF and LF endings, quoted fields holding commas,
    /// doubled quotes and newlines, empty fields quoted and not, no newline at the end.
    fn tricky_csv(rows: usize) -> String {
        let mut t = String::from(
            "\u{feff}event_time,event_type,product_id,category_id,\
                                  category_code,brand,price,user_id,user_session\r\n",
        );
        for i in 0..rows {
            let code = match i % 4 {
                0 => String::new(),
                1 => "\"\"".to_string(),
                2 => format!("\"multi\nline {i}\""),
                _ => format!("a.b{i}"),
            };
            let brand = if i % 5 == 0 { "\"x\"\"y, z\"" } else { "apple" };
            let end = if i % 3 == 0 { "\r\n" } else { "\n" };
            t.push_str(&format!(
                "2019-10-{:02} 00:00:{:02} UTC,view,{i},{},{code},{brand},{}.25,{},s{i}{end}",
                1 + i % 28,
                i % 60,
                i * 7,
                i,
                i % 9
            ));
        }
        t.push_str("2019-10-02 10:00:00 UTC,cart,1,2,,,3.5,4,");
        t
    }

    #[test]
    fn csv_batches_read_what_polars_scans_whole() {
        let d = tempfile::tempdir().unwrap();
        let text = tricky_csv(60);
        let csv = d.path().join("t.csv");
        std::fs::write(&csv, &text).unwrap();
        let gz = d.path().join("t.csv.gz");
        let mut e =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
        e.finish().unwrap();
        let plain = input(&csv, Format::Csv);
        let want = scanned(&plain);
        assert_eq!(want.height(), 61);
        for (file, bytes) in [
            (plain.clone(), 200),
            (plain.clone(), 1 << 20),
            (input(&gz, Format::CsvGz), 150),
        ] {
            let sizes = Sizes {
                rows: 1,
                csv_bytes: bytes,
            };
            let (got, n, _) = batched(&file, sizes);
            assert!(got.equals_missing(&want), "{bytes}: {got} {want}");
            if bytes < 1000 {
                assert!(n > 10, "{bytes}: cut into many batches: {n}");
            }
        }
    }

    #[test]
    fn a_stray_quote_and_a_cut_gzip_are_named_with_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let mut text = tricky_csv(5);
        text.push_str("\n2019-10-02 10:00:00 UTC,cart,1,2,\"open,,3.5,4,s\n");
        for _ in 0..100 {
            text.push_str("2019-10-02 10:00:00 UTC,cart,1,2,,,3.5,4,s\n");
        }
        let csv = d.path().join("q.csv");
        std::fs::write(&csv, &text).unwrap();
        let sizes = Sizes {
            rows: 1,
            csv_bytes: 200,
        };
        let e = each_batch_sized(&[input(&csv, Format::Csv)], &CANONICAL, sizes, |_, _| {
            Ok(false)
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("q.csv") && e.contains("does not close"), "{e}");
        // Near the end of the file: named at its line (header 1, six rows on seven lines, then this one).
        let e = each_batch_sized(
            &[input(&csv, Format::Csv)],
            &CANONICAL,
            Sizes::DEFAULT,
            |_, _| Ok(false),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("q.csv, line 9") && e.contains("never closed"),
            "{e}"
        );

        let gz = d.path().join("cut.csv.gz");
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, tricky_csv(2000).as_bytes()).unwrap();
        let bytes = z.finish().unwrap();
        std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        let e = each_batch_sized(&[input(&gz, Format::CsvGz)], &CANONICAL, sizes, |_, _| {
            Ok(false)
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("cut.csv.gz") && e.contains("line "), "{e}");
    }

    #[test]
    fn parquet_batches_follow_the_row_groups() {
        let d = tempfile::tempdir().unwrap();
        let n = 100usize;
        let mut df = polars::df!(
            EVENT_TIME => (0..n).map(|i| format!("2019-10-01 00:{:02}:00 UTC", i % 60)).collect::<Vec<_>>(),
            EVENT_TYPE => vec!["view"; n],
            PRODUCT_ID => (0..n as i32).collect::<Vec<_>>(),
            CATEGORY_ID => vec![3i64; n],
            CATEGORY_CODE => (0..n).map(|i| (i % 3 > 0).then(|| format!("c{i}"))).collect::<Vec<_>>(),
            BRAND => (0..n).map(|i| if i % 2 == 0 { "" } else { "b" }).collect::<Vec<_>>(),
            PRICE => (0..n).map(|i| i as f32 / 4.0).collect::<Vec<_>>(),
            USER_ID => (0..n as i64).map(|i| i % 11).collect::<Vec<_>>(),
            USER_SESSION => vec!["s"; n],
            "extra" => vec![1u8; n]
        )
        .unwrap();
        let path = d.path().join("t.parquet");
        ParquetWriter::new(File::create(&path).unwrap())
            .with_row_group_size(Some(7))
            .finish(&mut df)
            .unwrap();
        let file = input(&path, Format::Parquet);
        let groups: Vec<usize> = ParquetReader::new(File::open(&path).unwrap())
            .get_metadata()
            .unwrap()
            .row_groups
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert!(groups.len() > 5, "{groups:?}");
        let want = scanned(&file);
        assert_eq!(want.height(), n);
        for rows in [5, 7, 10, 1000] {
            let (got, k, most) = batched(&file, Sizes { rows, csv_bytes: 1 });
            assert!(got.equals_missing(&want), "{rows}");
            assert_eq!(k, slices(&groups, rows).len(), "{rows}: {groups:?}");
            assert!(most <= rows, "{rows}: {most}");
        }
    }

    #[test]
    fn row_groups_are_joined_up_to_a_batch_and_cut_when_larger() {
        assert_eq!(slices(&[3, 3, 3], 7), vec![(0, 6), (6, 3)]);
        assert_eq!(slices(&[10], 4), vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(
            slices(&[2, 10, 1], 4),
            vec![(0, 2), (2, 4), (6, 4), (10, 2), (12, 1)]
        );
        assert_eq!(slices(&[], 4), Vec::<(usize, usize)>::new());
        assert_eq!(slices(&[0, 0], 4), Vec::<(usize, usize)>::new());
    }

    #[test]
    fn records_end_outside_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne"), 8);
        assert_eq!(last_record_end(b"a,\"x\ny\"\nc,\"d\n"), 8);
        assert_eq!(last_record_end(b"a,\"x\ny"), 0);
        assert_eq!(last_record_end(b"a,\"\"\"\"\n"), 7);
        assert_eq!(last_record_end(b"no end"), 0);
    }
}
