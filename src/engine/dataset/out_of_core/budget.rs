//! How much memory the out-of-core path may use, and whether a log needs it: `--memory` parsed,
//! the memory available, and an upper bound on a log's events from file sizes and footers, so
//! the choice between in memory and out of core is made before anything is read.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use polars::prelude::*;

use crate::engine::data::InputFile;
use crate::engine::data::source::Format;
use crate::engine::{Error, Result};

/// Memory one event costs in the in-memory pipeline (measured: a 12.2M-event log peaked at
/// 3.0 GB in `features`, about 245 bytes an event).
pub const BYTES_PER_EVENT: u64 = 250;
/// The share of the budget one unit of buckets may take; the rest holds the rows made so far,
/// the spill buffers and polars' own.
pub(super) const UNIT_SHARE: f64 = 0.5;
/// At most this many bucket files are open at once (file descriptors).
pub(super) const MAX_BUCKETS: usize = 256;
/// Bytes of encoded rows held per bucket before they are written: an eighth of the budget over
/// all buckets, within these bounds.
pub(super) const FLUSH_BYTES: (usize, usize) = (64 << 10, 8 << 20);
/// Temp directories of the spill are `<dir>/.churn-spill-XXXXXX.tmp/`.
pub const SPILL_PREFIX: &str = ".churn-spill-";

/// How the feature table is computed: in memory, out of core, or as the budget decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Auto,
    InMemory,
    OutOfCore,
}

/// Execution settings: they change how the table is computed, never what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exec {
    pub mode: Mode,
    /// Memory budget in bytes; `None`: half of the memory available now.
    pub memory: Option<u64>,
    /// Where spills go; `None`: the system temp directory.
    pub spill_dir: Option<PathBuf>,
    /// Force this many buckets (tests); `None`: as the budget needs.
    pub buckets: Option<usize>,
    /// Sample 1 in this many user ids for the bucket ranges (tests); `None`: as the input's
    /// size needs.
    pub user_sample: Option<u64>,
}

impl Exec {
    pub fn budget(&self) -> u64 {
        self.memory.unwrap_or_else(|| available_memory() / 2)
    }
}

/// `4GB`, `512MB`, `1.5G`, `800M`, `65536` (bytes). Binary units: 1 GB = 2^30 bytes.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_uppercase();
    let bad = || {
        Error::Config(format!(
            "bad size `{s}`: expected a number with MB or GB, e.g. 512MB or 4GB"
        ))
    };
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t.as_str(), ""),
    };
    let mult: u64 = match unit {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(bad()),
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !v.is_finite() || v <= 0.0 {
        return Err(bad());
    }
    let bytes = v * mult as f64;
    if bytes < (64u64 << 20) as f64 {
        return Err(Error::Config(format!(
            "--memory {s} is too small: at least 64MB"
        )));
    }
    Ok(bytes as u64)
}

/// `MemAvailable` from /proc/meminfo; 4 GB where it cannot be read.
pub fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(4 << 30, |kb| kb << 10)
}

/// At most this many events in `files`, as far as can be told cheaply: a Parquet file's row
/// count from its footer; a CSV file's bytes over the fewest an event line takes; a gzip file's
/// text measured, not its compressed size (a 1.7 MB `.csv.gz` held 4.8M rows and was taken
/// for 170k events, then loaded in memory at 1.1 GB under a 256 MB budget). An estimate errs
/// towards spilling.
pub fn events_upper_bound(files: &[InputFile]) -> u64 {
    files.iter().map(file_events_bound).sum()
}

/// The fewest bytes an event line of CSV takes (nine fields, a 23-byte time).
const MIN_LINE: u64 = 60;
/// Text of a gzip file decompressed to measure its ratio: tens of milliseconds, and the whole
/// of any file small enough to load in memory at a glance.
const GZ_SAMPLE: u64 = 32 << 20;

fn file_events_bound(f: &InputFile) -> u64 {
    type Key = (PathBuf, u64, Option<std::time::SystemTime>);
    static SEEN: Mutex<Option<std::collections::HashMap<Key, u64>>> = Mutex::new(None);
    let key: Key = (
        f.path.clone(),
        f.size,
        std::fs::metadata(&f.path).and_then(|m| m.modified()).ok(),
    );
    if let Ok(seen) = SEEN.lock()
        && let Some(n) = seen.as_ref().and_then(|s| s.get(&key))
    {
        return *n;
    }
    let n = match f.format {
        Format::Csv => f.size / MIN_LINE,
        Format::CsvGz => gz_text_bytes(&f.path).unwrap_or(f.size.saturating_mul(100)) / MIN_LINE,
        Format::Parquet => File::open(&f.path)
            .ok()
            .and_then(|h| ParquetReader::new(h).num_rows().ok())
            .map_or(f.size / 5, |n| n as u64),
    };
    if let Ok(mut seen) = SEEN.lock() {
        seen.get_or_insert_default().insert(key, n);
    }
    n
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// The text bytes in a gzip file: exact when it decompresses within `GZ_SAMPLE`, else the
/// sample's ratio times the file's size, with a quarter more for safety. (The trailer's
/// ISIZE is the size mod 2^32 of the last member only: no help.) None when unreadable: the
/// read itself will say why.
fn gz_text_bytes(path: &Path) -> Option<u64> {
    use std::io::Read;
    let size = std::fs::metadata(path).ok()?.len();
    let raw = Counted {
        inner: File::open(path).ok()?,
        n: 0,
    };
    let mut z = flate2::bufread::MultiGzDecoder::new(std::io::BufReader::with_capacity(4096, raw));
    let mut buf = vec![0u8; 1 << 16];
    let mut out = 0u64;
    while out < GZ_SAMPLE {
        match z.read(&mut buf) {
            Ok(0) => return Some(out),
            Ok(k) => out += k as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Some(out.max(size)),
        }
    }
    let reader = z.get_ref();
    let consumed = reader
        .get_ref()
        .n
        .saturating_sub(reader.buffer().len() as u64)
        .max(1);
    Some((out as f64 / consumed as f64 * size as f64 * 1.25) as u64)
}

/// Should these files go out of core under `exec`?
pub fn out_of_core(files: &[InputFile], exec: &Exec) -> bool {
    match exec.mode {
        Mode::InMemory => false,
        Mode::OutOfCore => true,
        Mode::Auto => {
            events_upper_bound(files).saturating_mul(BYTES_PER_EVENT)
                > (exec.budget() as f64 * UNIT_SHARE) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 29, item 19: a gzip of many alike rows is a few kB but millions of events; its
    /// bound comes from its text, so a small budget sends it out of core. A Parquet file's
    /// bound is its row count.
    #[test]
    fn compressed_inputs_are_sized_by_content() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let rows = 300_000u64;
        let row = b"2019-10-01 10:00:00 UTC,view,1,2,,b,1.5,7,s\n";
        let path = d.path().join("alike.csv.gz");
        let mut e = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::best(),
        );
        e.write_all(b"event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n").unwrap();
        for _ in 0..rows {
            e.write_all(row).unwrap();
        }
        e.finish().unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < 200_000, "{size}");
        let files = vec![InputFile {
            path: path.clone(),
            format: Format::CsvGz,
            size,
        }];
        // 44 bytes a row, over the 60 bytes the bound assumes at least.
        let bound = events_upper_bound(&files);
        assert!(bound >= rows * 44 / 60, "{bound}");
        let exec = Exec {
            memory: Some(64 << 20),
            ..Default::default()
        };
        // 300,000 × 44 / 60 × 250 bytes is 55 MB, over half of 64 MB.
        assert!(out_of_core(&files, &exec));

        let mut df = polars::df!("a" => vec![1i64; 50_000]).unwrap();
        let pq = d.path().join("alike.parquet");
        ParquetWriter::new(File::create(&pq).unwrap())
            .finish(&mut df)
            .unwrap();
        let size = std::fs::metadata(&pq).unwrap().len();
        let files = vec![InputFile {
            path: pq,
            format: Format::Parquet,
            size,
        }];
        assert_eq!(events_upper_bound(&files), 50_000);
    }

    #[test]
    fn sizes_parse_in_binary_units_and_refuse_nonsense() {
        assert_eq!(parse_size("4GB").unwrap(), 4 << 30);
        assert_eq!(parse_size("512mb").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        for bad in ["", "GB", "-1GB", "nanGB", "4XB", "1KB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
