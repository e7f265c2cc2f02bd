//! The spill pass: a first streaming pass over `user_id` cuts the ids into B ranges holding about
//! as many users each; a second reads every file, checks every row, applies the scope and
//! spills each user's events into the bucket file of its range, in a locked temp directory.
//! Exact duplicates share a user, so they meet in one bucket.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::budget::{Exec, FLUSH_BYTES, events_upper_bound};
use super::rows::{Layout, append};
use crate::engine::data::batches::each_batch;
use crate::engine::data::log::{bad_input, scope_expr};
use crate::engine::data::scan::bad_expr;
use crate::engine::data::schema::*;
use crate::engine::data::{InputFile, Scope, Within};
use crate::engine::error::PolarsContext;
use crate::engine::{Error, Result};

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

/// Distinct user ids of the input, sorted (one pass over that column, batch by batch): all
/// of them, or for a large input a pseudo-random 1 in `every` (by a multiplicative hash of the
/// id, so ids with a stride are sampled evenly). Any ranges give the same table; the sample only
/// keeps the buckets about equal.
fn user_ids(files: &[InputFile], every: u64) -> Result<Vec<i64>> {
    const P: i64 = 2_147_483_647;
    let every = every.max(1) as i64;
    let mut users: Vec<i64> = Vec::new();
    let mut distinct = 0usize;
    each_batch(files, &[USER_ID], |_, df| {
        let ids = df
            .column(USER_ID)
            .and_then(|c| c.i64())
            .ctx(|| USER_ID.into())?;
        users.extend(
            ids.iter()
                .flatten()
                .filter(|u| every == 1 || (u.rem_euclid(P) * 48_271 % P) % every == 0),
        );
        // Duplicates dropped as they pile up: the held ids follow the distinct ones.
        if users.len() > 2 * distinct + (1 << 20) {
            users.sort_unstable();
            users.dedup();
            distinct = users.len();
        }
        Ok(false)
    })?;
    users.sort_unstable();
    users.dedup();
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

struct Bucket {
    file: Option<File>,
    /// Encoded rows not yet written (see `rows`).
    buf: Vec<u8>,
    events: u64,
}

struct PassState {
    /// The `__bad` and `__keep` flags, computed batch by batch.
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
    /// Only these events are spilled (the time range is still of every scoped event).
    within: Option<Within>,
    bad_file: Option<usize>,
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

    /// Take one batch of file `file`: check it, scope it, spread its rows over the buckets.
    /// Returns whether to stop (a bad row was found).
    fn take(&mut self, file: usize, df: DataFrame) -> Result<bool> {
        self.rows_read += df.height() as u64;
        let df = df
            .lazy()
            .with_columns(self.checks.clone())
            .collect()
            .ctx(|| "checking events".into())?;
        let bad = df.column(BAD).and_then(|c| c.bool()).ctx(|| BAD.into())?;
        if bad.any() {
            self.bad_file = Some(self.bad_file.map_or(file, |f| f.min(file)));
            return Ok(true);
        }
        let keep = df.column(KEEP).and_then(|c| c.bool()).ctx(|| KEEP.into())?;
        let mut kept = df
            .filter(keep)
            .and_then(|d| d.select(SPILLED))
            .ctx(|| "scoping events".into())?;
        if kept.height() == 0 {
            return Ok(false);
        }
        let ts = kept.column(TS).and_then(|c| c.i64()).ctx(|| TS.into())?;
        if let (Some(lo), Some(hi)) = (ts.min(), ts.max()) {
            self.first_ts = self.first_ts.min(lo);
            self.last_ts = self.last_ts.max(hi);
        }
        if let Some(w) = self.within {
            let inside: BooleanChunked = ts
                .iter()
                .map(|t| t.is_some_and(|t| w.contains(t)))
                .collect();
            kept = kept
                .filter(&inside)
                .ctx(|| "keeping the events in the span".into())?;
            if kept.height() == 0 {
                return Ok(false);
            }
        }
        self.rows_in_scope += kept.height() as u64;
        let users = kept
            .column(USER_ID)
            .and_then(|c| c.i64())
            .ctx(|| USER_ID.into())?;
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
pub(super) struct Spilled {
    /// How the bucket files encode their rows (`None`: no row was spilled).
    pub(super) layout: Option<Layout>,
    /// (bucket file, events in it) for the buckets that got any, in user order.
    pub(super) files: Vec<(PathBuf, u64)>,
    pub(super) rows_read: u64,
    pub(super) rows_in_scope: u64,
    pub(super) first_ts: i64,
    pub(super) last_ts: i64,
}

#[allow(clippy::too_many_arguments)] // the pass's inputs, each of its own kind
pub(super) fn spill(
    files: &[InputFile],
    scope: &Scope,
    within: Option<Within>,
    n_buckets: usize,
    user_sample: Option<u64>,
    budget: u64,
    dir: &Path,
    progress: PassProgress,
) -> Result<Spilled> {
    let keep = scope_expr(files, scope)?;
    progress("reading user ids", 0, 0);
    let clock = std::time::Instant::now();
    // Users are at most the events; sample when even that bound is far above what ranges need.
    let every = user_sample
        .unwrap_or(events_upper_bound(files) / SAMPLED_USERS)
        .max(1);
    let ranges = Buckets::even(&user_ids(files, every)?, n_buckets);
    profile("user ids", clock);
    let n_buckets = ranges.len();
    let flush_bytes = ((budget / 8) as usize / n_buckets).clamp(FLUSH_BYTES.0, FLUSH_BYTES.1);
    let mut st = PassState {
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
        within,
        bad_file: None,
    };
    // Batch by batch, file by file in order: a batch's rows are spread before the next is
    // taken, and the one after it is being decoded meanwhile.
    each_batch(files, &SPILLED, |i, df| {
        let clock = std::time::Instant::now();
        let stop = st.take(i, df);
        st.in_take += clock.elapsed().as_secs_f64();
        progress("scanning events", st.rows_read, 0);
        stop
    })?;
    if crate::engine::profiling() {
        tracing::info!(
            target: crate::engine::PROFILE,
            "out-of-core spill batches {:.2}s, of which writing {:.2}s",
            st.in_take, st.in_flush
        );
    }
    if let Some(f) = st.bad_file {
        return Err(bad_input(files, f));
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

/// Hand memory freed by a finished phase back to the system (glibc keeps it otherwise, and the
/// next phase's peak would stack on it).
pub(super) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// With profiling on (`CHURN_PROFILE_FEATURES`): a phase's time and the peak RSS so far.
pub(super) fn profile(phase: &str, since: std::time::Instant) {
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

/// Where this run spills: `--spill-dir` (made if missing; it must be a directory) or the
/// system temp directory. A file given there is named as such, not as `File exists`.
pub(super) fn spill_root(exec: &Exec) -> Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
