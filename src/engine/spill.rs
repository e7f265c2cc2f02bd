//! The out-of-core path: the feature table of a log larger than memory, in a memory budget.
//!
//! A first streaming pass over `user_id` cuts the ids into B ranges holding about as many
//! users each. A second reads every file, checks every row, applies the scope and spills each
//! user's events into the bucket file of its range, in a locked temp directory; the data's time
//! range comes out of it, so every bucket is labelled at the same anchors. Consecutive buckets,
//! packed into units that fit the budget, then go through the very in-memory pipeline (exact
//! de-duplication, labels, features, visit history). Units hold ascending user ranges, so the
//! table is each anchor's rows of unit 1, unit 2, …: `write_features` streams it to the output
//! that way without holding it. Exact duplicates share a user, so they meet in one bucket, and
//! every feature is per user: the table is the in-memory path's, row for row.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use crate::engine::data::log::{bad_input, event_log, scan_all, scope_expr};
use crate::engine::data::scan::{bad_expr, scan_file_unchecked};
use crate::engine::data::schema::*;
use crate::engine::data::source::Format;
use crate::engine::data::{EventLog, InputFile, LogSummary, Scope};
use crate::engine::error::PolarsContext;
use crate::engine::features::columns::ANCHOR;
use crate::engine::features::table::{
    AnchorCounts, FeatureTable, accumulate_counts, check_splits, rows,
};
use crate::engine::features::write::{csv_header, csv_rows, spec_columns};
use crate::engine::io::atomic::WorkDir;
use crate::engine::io::atomic::write_atomic;
use crate::engine::label::AnchorPlan;
use crate::engine::spill_rows::{Layout, append};
use crate::engine::{Error, Result};

/// Memory one event costs in the in-memory pipeline (measured: a 12.2M-event log peaked at
/// 3.0 GB in `features`, about 245 bytes an event).
pub const BYTES_PER_EVENT: u64 = 250;
/// The share of the budget one unit of buckets may take; the rest holds the rows made so far,
/// the spill buffers and polars' own.
const UNIT_SHARE: f64 = 0.5;
/// At most this many bucket files are open at once (file descriptors).
const MAX_BUCKETS: usize = 256;
/// Bytes of encoded rows held per bucket before they are written: an eighth of the budget over
/// all buckets, within these bounds.
const FLUSH_BYTES: (usize, usize) = (64 << 10, 8 << 20);
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

/// What a pass reports: its name, work done and the total (0 when not known ahead).
pub type PassProgress<'a> = &'a (dyn Fn(&'static str, u64, u64) + Sync);

/// User buckets: ranges of ids, ascending. `bounds[i]` is the first id of bucket i + 1.
struct Buckets {
    bounds: Vec<i64>,
}

impl Buckets {
    fn of(&self, user: i64) -> usize {
        self.bounds.partition_point(|&b| b <= user)
    }

    fn len(&self) -> usize {
        self.bounds.len() + 1
    }

    /// At most `n` ranges with about as many of `users` (sorted, distinct) each.
    fn even(users: &[i64], n: usize) -> Buckets {
        let n = n.clamp(1, users.len().max(1));
        let mut bounds: Vec<i64> = (1..n).map(|i| users[i * users.len() / n]).collect();
        bounds.dedup();
        Buckets { bounds }
    }
}

/// Distinct user ids sampled for the bucket ranges: about this many at most. (Ranges only need
/// quantiles; holding every id of a 400M-event log would take gigabytes.)
const SAMPLED_USERS: u64 = 4_000_000;

/// Distinct user ids of the input, sorted (one streaming pass over that column): all of them,
/// or for a large input a pseudo-random 1 in `every` (by a multiplicative hash of the id, so ids
/// with a stride are sampled evenly). Any ranges give the same table; the sample only keeps the
/// buckets about equal.
fn user_ids(all: &LazyFrame, files: &[InputFile], every: u64) -> Result<Vec<i64>> {
    let mut ids = all
        .clone()
        .select([col(USER_ID)])
        .filter(col(USER_ID).is_not_null());
    if every > 1 {
        const P: i64 = 2_147_483_647;
        let h = (col(USER_ID) % lit(P)) * lit(48_271i64) % lit(P);
        ids = ids.filter((h % lit(every as i64)).eq(lit(0i64)));
    }
    let df = ids
        .unique(None, UniqueKeepStrategy::Any)
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| {
            crate::engine::data::diagnose::explain_failure(files, "reading user ids", e)
        })?;
    let mut users: Vec<i64> = df
        .column(USER_ID)
        .and_then(|c| c.i64())
        .ctx(|| USER_ID.into())?
        .into_no_null_iter()
        .collect();
    users.sort_unstable();
    Ok(users)
}

/// The spill columns: the nine parsed columns (`ts` for the time), all that exact
/// de-duplication compares.
const SPILLED: [&str; 9] = [
    USER_ID,
    TS,
    EVENT_TYPE,
    PRODUCT_ID,
    CATEGORY_ID,
    CATEGORY_CODE,
    BRAND,
    PRICE,
    USER_SESSION,
];
const KEEP: &str = "__keep";

struct Bucket {
    file: Option<File>,
    /// Encoded rows not yet written (see `spill_rows`).
    buf: Vec<u8>,
    events: u64,
}

struct PassState {
    /// The `__bad` and `__keep` flags, computed batch by batch (see `scan_file_unchecked`).
    checks: [Expr; 2],
    /// A bucket's buffer is written once it holds this many bytes.
    flush_bytes: usize,
    /// Seconds spent in `take` and, of that, in `flush` (for CHURN_PROFILE_FEATURES).
    in_take: f64,
    in_flush: f64,
    dir: PathBuf,
    ranges: Buckets,
    layout: Option<Layout>,
    buckets: Vec<Bucket>,
    rows_read: u64,
    rows_in_scope: u64,
    first_ts: i64,
    last_ts: i64,
    bad_file: Option<usize>,
    failed: Option<Error>,
}

impl PassState {
    fn path(&self, b: usize) -> PathBuf {
        self.dir.join(format!("bucket-{b:04}.rows"))
    }

    fn flush(&mut self, b: usize) -> Result<()> {
        let clock = std::time::Instant::now();
        let path = self.path(b);
        let bucket = &mut self.buckets[b];
        let r = append(&path, &mut bucket.file, &mut bucket.buf);
        self.in_flush += clock.elapsed().as_secs_f64();
        r
    }

    /// Take one streamed batch: check it, scope it, spread its rows over the buckets. Returns
    /// whether to stop (a bad row was found).
    fn take(&mut self, df: DataFrame) -> Result<bool> {
        self.rows_read += df.height() as u64;
        let df = df
            .lazy()
            .with_columns(self.checks.clone())
            .collect()
            .ctx(|| "checking events".into())?;
        let bad = df.column(BAD).and_then(|c| c.bool()).ctx(|| BAD.into())?;
        if let Some(i) = bad.iter().position(|v| v == Some(true)) {
            let file = df
                .column(FILE_IDX)
                .ctx(|| FILE_IDX.into())?
                .get(i)
                .ok()
                .and_then(|v| v.extract::<usize>())
                .unwrap_or(0);
            self.bad_file = Some(self.bad_file.map_or(file, |f| f.min(file)));
            return Ok(true);
        }
        let keep = df.column(KEEP).and_then(|c| c.bool()).ctx(|| KEEP.into())?;
        let kept = df
            .filter(keep)
            .and_then(|d| d.select(SPILLED))
            .ctx(|| "scoping events".into())?;
        if kept.height() == 0 {
            return Ok(false);
        }
        self.rows_in_scope += kept.height() as u64;
        let users = kept
            .column(USER_ID)
            .and_then(|c| c.i64())
            .ctx(|| USER_ID.into())?;
        let ts = kept.column(TS).and_then(|c| c.i64()).ctx(|| TS.into())?;
        if let (Some(lo), Some(hi)) = (ts.min(), ts.max()) {
            self.first_ts = self.first_ts.min(lo);
            self.last_ts = self.last_ts.max(hi);
        }
        let b_of: Vec<u32> = users
            .iter()
            .map(|u| self.ranges.of(u.unwrap_or(0)) as u32)
            .collect();
        let layout = self.layout.get_or_insert_with(|| Layout::of(&kept));
        let mut bufs: Vec<Vec<u8>> = self
            .buckets
            .iter_mut()
            .map(|b| std::mem::take(&mut b.buf))
            .collect();
        let encoded = layout.encode(&kept, &b_of, &mut bufs);
        for (bucket, buf) in self.buckets.iter_mut().zip(bufs) {
            bucket.buf = buf;
        }
        encoded?;
        for &b in &b_of {
            self.buckets[b as usize].events += 1;
        }
        for b in 0..self.buckets.len() {
            if self.buckets[b].buf.len() >= self.flush_bytes {
                self.flush(b)?;
            }
        }
        Ok(false)
    }
}

/// The scoped log spilled into bucket files, and what the pass counted.
struct Spilled {
    /// How the bucket files encode their rows (`None`: no row was spilled).
    layout: Option<Layout>,
    /// (bucket file, events in it) for the buckets that got any, in user order.
    files: Vec<(PathBuf, u64)>,
    rows_read: u64,
    rows_in_scope: u64,
    first_ts: i64,
    last_ts: i64,
}

fn spill(
    files: &[InputFile],
    scope: &Scope,
    n_buckets: usize,
    user_sample: Option<u64>,
    budget: u64,
    dir: &Path,
    progress: PassProgress,
) -> Result<Spilled> {
    let all = scan_all(files)?;
    let keep = scope_expr(&all, files, scope)?;
    progress("reading user ids", 0, 0);
    let clock = std::time::Instant::now();
    // Users are at most the events; sample when even that bound is far above what ranges need.
    let every = user_sample
        .unwrap_or(events_upper_bound(files) / SAMPLED_USERS)
        .max(1);
    let ranges = Buckets::even(&user_ids(&all, files, every)?, n_buckets);
    profile("user ids", clock);
    let n_buckets = ranges.len();
    let mut cols: Vec<Expr> = SPILLED.iter().map(|c| col(*c)).collect();
    cols.push(col(FILE_IDX));
    let flush_bytes = ((budget / 8) as usize / n_buckets).clamp(FLUSH_BYTES.0, FLUSH_BYTES.1);
    let state = Arc::new(Mutex::new(PassState {
        checks: [bad_expr().alias(BAD), keep.alias(KEEP)],
        flush_bytes,
        in_take: 0.0,
        in_flush: 0.0,
        dir: dir.to_path_buf(),
        ranges,
        layout: None,
        buckets: (0..n_buckets)
            .map(|_| Bucket {
                file: None,
                buf: Vec::new(),
                events: 0,
            })
            .collect(),
        rows_read: 0,
        rows_in_scope: 0,
        first_ts: i64::MAX,
        last_ts: i64::MIN,
        bad_file: None,
        failed: None,
    }));
    // One query per input file, in order: a union of all files streams them side by side,
    // and each scan then holds its own decoded batches (seven 1 GB monthly files took 7.7 GB).
    let mut result = Ok(());
    for (i, f) in files.iter().enumerate() {
        let file = scan_file_unchecked(f)?.with_column(lit(i as u32).alias(FILE_IDX));
        result = spill_one(file, cols.clone(), &state, progress)?;
        let stop = state
            .lock()
            .map(|st| st.failed.is_some() || st.bad_file.is_some())
            .unwrap_or(true);
        if stop || result.is_err() {
            break;
        }
    }
    let mut st = state
        .lock()
        .map_err(|_| Error::Config("the spill pass crashed".into()))?;
    if crate::engine::profiling() {
        tracing::info!(
            target: crate::engine::PROFILE,
            "out-of-core spill callback {:.2}s, of which writing {:.2}s",
            st.in_take, st.in_flush
        );
    }
    if let Some(f) = st.bad_file {
        return Err(bad_input(files, f));
    }
    if let Some(e) = st.failed.take() {
        return Err(e);
    }
    if let Err(e) = result {
        return Err(crate::engine::data::diagnose::explain_failure(
            files,
            "reading the event log",
            e,
        ));
    }
    let mut out = Vec::new();
    for b in 0..st.buckets.len() {
        st.flush(b)?;
        let path = st.path(b);
        // Closed here: the file is whole once its last buffer is written.
        if st.buckets[b].file.take().is_some() {
            out.push((path, st.buckets[b].events));
        }
    }
    Ok(Spilled {
        layout: st.layout.take(),
        files: out,
        rows_read: st.rows_read,
        rows_in_scope: st.rows_in_scope,
        first_ts: st.first_ts,
        last_ts: st.last_ts,
    })
}

/// Stream one query's batches into the spill `state` (the callback runs on polars' threads:
/// progress goes through a channel to this one).
fn spill_one(
    query: LazyFrame,
    cols: Vec<Expr>,
    state: &Arc<Mutex<PassState>>,
    progress: PassProgress,
) -> Result<std::result::Result<(), PolarsError>> {
    let sink = state.clone();
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let tx = Mutex::new(tx);
    let cb = PlanCallback::new(move |df: DataFrame| -> PolarsResult<bool> {
        let Ok(mut st) = sink.lock() else {
            return Ok(true);
        };
        if st.failed.is_some() {
            return Ok(true);
        }
        let clock = std::time::Instant::now();
        let taken = st.take(df);
        st.in_take += clock.elapsed().as_secs_f64();
        match taken {
            Ok(stop) => {
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(st.rows_read);
                }
                Ok(stop)
            }
            Err(e) => {
                st.failed = Some(e);
                Ok(true)
            }
        }
    });
    let query = query
        .select(cols)
        .sink_batches(cb, false, None)
        .ctx(|| "spilling".into())?;
    let result = std::thread::scope(|s| {
        let run = s.spawn(move || query.collect_with_engine(Engine::Streaming));
        while !run.is_finished() {
            if let Ok(n) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
                progress("scanning events", n, 0);
            }
        }
        run.join()
    });
    let result = result.map_err(|_| Error::Config("the spill pass crashed".into()))?;
    Ok(result.map(|_| ()))
}

/// Hand memory freed by a finished phase back to the system (glibc keeps it otherwise, and the
/// next phase's peak would stack on it).
fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// With profiling on (`CHURN_PROFILE_FEATURES`): a phase's time and the peak RSS so far.
fn profile(phase: &str, since: std::time::Instant) {
    if !crate::engine::profiling() {
        return;
    }
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    tracing::info!(
        target: crate::engine::PROFILE,
        "out-of-core {phase}: {:.2}s, peak RSS so far {hwm}",
        since.elapsed().as_secs_f64()
    );
}

/// Spill `files` and hand `f` each unit's table rows (sorted by anchor, then user; units in
/// ascending user order), with the plan. Returns the log's summary and the plan.
fn for_each_unit(
    files: &[InputFile],
    scope: &Scope,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    work: &WorkDir,
    progress: PassProgress,
    mut f: impl FnMut(&AnchorPlan, DataFrame) -> Result<()>,
) -> Result<(LogSummary, AnchorPlan, Vec<AnchorCounts>)> {
    // Every unit's label counts are added up here: both consumers report all rows' counts.
    let mut counts: Vec<AnchorCounts> = Vec::new();
    let budget = exec.budget();
    let capacity = ((budget as f64 * UNIT_SHARE) as u64 / BYTES_PER_EVENT).max(1);
    let n_buckets = exec.buckets.unwrap_or_else(|| {
        // Four buckets per unit the upper bound needs, so units can be packed evenly.
        let units = events_upper_bound(files).div_ceil(capacity).max(1);
        (units as usize).saturating_mul(4).clamp(1, MAX_BUCKETS)
    });
    let mut timings = Vec::new();
    let clock = std::time::Instant::now();
    let spilled = spill(
        files,
        scope,
        n_buckets.max(1),
        exec.user_sample,
        budget,
        work.path(),
        progress,
    )?;
    timings.push(("spill", clock.elapsed().as_secs_f64()));
    release_freed();
    profile(&format!("spill into {n_buckets} buckets"), clock);
    if spilled.rows_read == 0 {
        return Err(Error::Config(
            "the input holds no events (only headers or empty files)".into(),
        ));
    }
    if spilled.rows_in_scope == 0 {
        return Err(Error::Config(format!(
            "no events left after the scope filters ({}); {} events were read",
            scope.describe(),
            spilled.rows_read
        )));
    }
    let plan = plan_of(spilled.first_ts, spilled.last_ts)?;

    // Consecutive buckets packed into units of at most `capacity` events (a bucket larger
    // than that is a unit of its own).
    let mut units: Vec<Vec<&PathBuf>> = Vec::new();
    let mut load = u64::MAX;
    for (path, events) in &spilled.files {
        if load.saturating_add(*events) > capacity {
            units.push(Vec::new());
            load = 0;
        }
        load += events;
        if let Some(u) = units.last_mut() {
            u.push(path);
        }
    }
    let clock = std::time::Instant::now();
    let (mut events, mut users) = (0u64, 0u64);
    let total = units.len() as u64;
    for (i, unit) in units.iter().enumerate() {
        progress("features by bucket", i as u64, total);
        let Some(layout) = &spilled.layout else {
            break;
        };
        // The unit's buckets are decoded side by side, then stacked in user order.
        let parts: Vec<DataFrame> = {
            use rayon::prelude::*;
            unit.par_iter()
                .map(|path| layout.decode(path))
                .collect::<Result<Vec<_>>>()?
        };
        for path in unit {
            // Read back: the bucket file is no longer needed.
            let _ = std::fs::remove_file(path);
        }
        let mut df: Option<DataFrame> = None;
        for part in parts {
            match &mut df {
                None => df = Some(part),
                Some(d) => {
                    d.vstack_mut(&part).ctx(|| "reading back buckets".into())?;
                }
            }
        }
        let Some(mut df) = df else { continue };
        df.rechunk_mut();
        let step = std::time::Instant::now();
        let lap = |what: &str| {
            if crate::engine::profiling() {
                tracing::info!(
                    target: crate::engine::PROFILE,
                    "  {what}: {:.2}s",
                    step.elapsed().as_secs_f64()
                );
            }
        };
        lap("read back");
        let log: EventLog = event_log(df, files, scope, 0)?;
        lap("event log");
        events += log.summary.events;
        users += log.summary.users;
        let part = rows(&log, &plan)?;
        drop(log);
        lap("rows");
        accumulate_counts(&mut counts, &part, &plan)?;
        f(&plan, part)?;
        lap("taken");
        release_freed();
        profile(
            &format!("unit {}/{total} ({} buckets)", i + 1, unit.len()),
            clock,
        );
    }
    progress("features by bucket", total, total);
    timings.push(("features", clock.elapsed().as_secs_f64()));
    let summary = LogSummary {
        files: files.to_vec(),
        rows_read: spilled.rows_read,
        rows_in_scope: spilled.rows_in_scope,
        duplicates: spilled.rows_in_scope - events,
        events,
        users,
        first_ts: spilled.first_ts,
        last_ts: spilled.last_ts,
        scope: scope.clone(),
        timings,
        feature_table: false,
    };
    Ok((summary, plan, counts))
}

/// Where this run spills: `--spill-dir` (made if missing; it must be a directory) or the
/// system temp directory. A file given there is named as such, not as `File exists`.
fn spill_root(exec: &Exec) -> Result<PathBuf> {
    let Some(dir) = exec.spill_dir.clone() else {
        return Ok(std::env::temp_dir());
    };
    let flag = |why: String| {
        Error::Config(format!(
            "--spill-dir {}: {why}",
            crate::engine::text::printable(&dir.to_string_lossy())
        ))
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(flag(
            "is not a directory (give a directory for the spill files)".into(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&dir).map_err(|e| flag(format!("cannot be made: {e}")))?;
            Ok(dir)
        }
        Err(e) => Err(flag(format!("cannot be used: {e}"))),
    }
}

/// The log and the feature table computed out of core: the same as `data::load` and
/// `features::build` give in memory, in `exec`'s budget (the table itself is held: see
/// `write_features` for a table larger than memory).
pub fn build(
    files: &[InputFile],
    scope: &Scope,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    progress: PassProgress,
) -> Result<(LogSummary, FeatureTable)> {
    build_sampled(files, scope, plan_of, exec, None, progress)
}

/// `build`, keeping of each unit's rows only what `sampler` keeps (label counts are of all
/// rows): what is held is the sample, never the whole table.
pub fn build_sampled(
    files: &[InputFile],
    scope: &Scope,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    mut sampler: Option<crate::engine::features::sample::Sampler>,
    progress: PassProgress,
) -> Result<(LogSummary, FeatureTable)> {
    let work = WorkDir::new(&spill_root(exec)?, SPILL_PREFIX)?;
    let mut parts: Vec<DataFrame> = Vec::new();
    let (summary, plan, counts) = for_each_unit(
        files,
        scope,
        plan_of,
        exec,
        &work,
        progress,
        |_, df| match &mut sampler {
            Some(s) => s.push(df),
            None => {
                parts.push(df);
                Ok(())
            }
        },
    )?;
    let clock = std::time::Instant::now();
    let df = match sampler {
        Some(s) => s.finish()?,
        None => {
            if parts.is_empty() {
                return Err(Error::Config("no events in any bucket".into()));
            }
            let mut first = parts.remove(0);
            for p in &parts {
                first.vstack_mut(p).ctx(|| "merging buckets".into())?;
            }
            drop(parts);
            first
                .sort([ANCHOR, USER_ID], SortMultipleOptions::default())
                .ctx(|| "merging buckets".into())?
        }
    };
    profile("merge", clock);
    if counts.is_empty() {
        return Err(Error::Config("no events in any bucket".into()));
    }
    check_splits(&plan, &counts)?;
    drop(work);
    Ok((
        summary,
        FeatureTable {
            df,
            plan,
            per_anchor: counts,
            sample: None,
        },
    ))
}

/// Compute the feature table out of core and write it to `out` (`.csv` or `.parquet`) as it
/// is made, without ever holding it: each unit's rows are spilled, then written anchor by
/// anchor, unit by unit. Returns the summary, the plan and the label counts.
pub fn write_features(
    files: &[InputFile],
    scope: &Scope,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    out: &Path,
    progress: PassProgress,
) -> Result<(LogSummary, AnchorPlan, Vec<AnchorCounts>)> {
    let csv = crate::engine::io::file_kind::FileKind::expect(
        out,
        &crate::engine::features::write::TABLE_KINDS,
        "feature table",
    )? == crate::engine::io::file_kind::FileKind::Csv;
    let work = WorkDir::new(&spill_root(exec)?, SPILL_PREFIX)?;
    let mut unit_files: Vec<PathBuf> = Vec::new();
    let (summary, plan, counts) =
        for_each_unit(files, scope, plan_of, exec, &work, progress, |_, df| {
            let mut df = spec_columns(&df)?;
            let path = work
                .path()
                .join(format!("unit-{:04}.parquet", unit_files.len()));
            let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
            ParquetWriter::new(f)
                .with_compression(ParquetCompression::Lz4Raw)
                .finish(&mut df)
                .ctx(|| format!("spilling to {}", path.display()))?;
            unit_files.push(path);
            Ok(())
        })?;
    check_splits(&plan, &counts)?;
    let clock = std::time::Instant::now();
    // One anchor of one unit at a time: what is held is that slice.
    let slice = |unit: &Path, t: i64| -> Result<DataFrame> {
        LazyFrame::scan_parquet(
            PlRefPath::new(&*unit.to_string_lossy()),
            ScanArgsParquet {
                glob: false,
                ..Default::default()
            },
        )
        .and_then(|lf| {
            lf.filter(col(ANCHOR).cast(DataType::Int64).eq(lit(t)))
                .collect()
        })
        .ctx(|| format!("reading back {}", unit.display()))
    };
    let io = |e: Error| std::io::Error::other(e.to_string());
    let n = (plan.anchors.len() * unit_files.len()) as u64;
    let first = unit_files
        .first()
        .ok_or_else(|| Error::Config("no events in any bucket".into()))?;
    let schema = LazyFrame::scan_parquet(
        PlRefPath::new(&*first.to_string_lossy()),
        ScanArgsParquet {
            glob: false,
            ..Default::default()
        },
    )
    .and_then(|mut lf| lf.collect_schema())
    .ctx(|| format!("reading back {}", first.display()))?;
    let mut done = 0u64;
    let mut each = |put: &mut dyn FnMut(&DataFrame) -> std::io::Result<()>| {
        for (t, _) in &plan.anchors {
            for unit in &unit_files {
                let mut df = slice(unit, *t).map_err(io)?;
                // The batched writer needs the columns' chunks aligned.
                df.rechunk_mut();
                put(&df)?;
                done += 1;
                progress("writing the table", done, n);
            }
        }
        Ok(())
    };
    write_atomic(out, |w| {
        if csv {
            csv_header(w)?;
            return each(&mut |df| csv_rows(df, w));
        }
        let mut writer = crate::engine::io::parquet_out::writer(&mut *w, &schema)
            .batched(&schema)
            .map_err(std::io::Error::other)?;
        each(&mut |df| writer.write_batch(df).map_err(std::io::Error::other))?;
        writer.finish().map_err(std::io::Error::other)?;
        Ok(())
    })?;
    profile("write", clock);
    drop(work);
    Ok((summary, plan, counts))
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

    #[test]
    fn sizes_parse_in_binary_units_and_refuse_nonsense() {
        assert_eq!(parse_size("4GB").unwrap(), 4 << 30);
        assert_eq!(parse_size("512mb").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        for bad in ["", "GB", "-1GB", "nanGB", "4XB", "1KB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets_are_ascending_ranges_of_about_as_many_users() {
        let users: Vec<i64> = (0..1000).map(|k| k * k).collect();
        let b = Buckets::even(&users, 8);
        assert_eq!(b.len(), 8);
        let mut per = vec![0; b.len()];
        let mut last = 0;
        for &u in &users {
            let i = b.of(u);
            assert!(i >= last, "ascending");
            last = i;
            per[i] += 1;
        }
        assert!(per.iter().all(|&c| c == 125), "{per:?}");
        // Fewer users than buckets: one bucket each, none empty.
        assert_eq!(Buckets::even(&[5, 9], 8).len(), 2);
        assert_eq!(Buckets::even(&[], 8).len(), 1);
    }
}
