//! From bucket files to the feature table: consecutive buckets, packed into units that fit the
//! budget, go through the very in-memory pipeline (exact de-duplication, labels, features,
//! visit history). Units hold ascending user ranges, so the table is each anchor's rows of unit
//! 1, unit 2, …: `write_features` streams it to the output that way without holding it. Every
//! feature is per user: the table is the in-memory path's, row for row.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::budget::{
    BYTES_PER_EVENT, Exec, MAX_BUCKETS, SPILL_PREFIX, UNIT_SHARE, events_upper_bound,
};
use super::spill::{PassProgress, profile, release_freed, spill, spill_root};
use crate::engine::data::log::{event_log, no_input, nothing_in_scope};
use crate::engine::data::schema::*;
use crate::engine::data::{EventLog, InputFile, LogSummary, Scope, Within};
use crate::engine::error::PolarsContext;
use crate::engine::features::columns::ANCHOR;
use crate::engine::features::table::{
    AnchorCounts, FeatureTable, accumulate_counts, check_splits, rows,
};
use crate::engine::features::write::{csv_header, csv_rows, spec_columns};
use crate::engine::io::atomic::WorkDir;
use crate::engine::io::atomic::write_atomic;
use crate::engine::label::AnchorPlan;
use crate::engine::{Error, Result};

/// Spill `files` and hand `f` each unit's table rows (sorted by anchor, then user; units in
/// ascending user order), with the plan. Returns the log's summary and the plan.
#[allow(clippy::too_many_arguments)] // the pass's inputs, each of its own kind
fn for_each_unit(
    files: &[InputFile],
    scope: &Scope,
    within: Option<Within>,
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
        within,
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
        return Err(no_input());
    }
    // Scoped events exist (their range is known) but none in the span: the plan's own check
    // of the range says why first.
    let any_in_scope = spilled.first_ts <= spilled.last_ts;
    let no_events = || nothing_in_scope(scope, within.filter(|_| any_in_scope), spilled.rows_read);
    if !any_in_scope {
        return Err(no_events());
    }
    let plan = plan_of(spilled.first_ts, spilled.last_ts)?;
    if spilled.rows_in_scope == 0 {
        return Err(no_events());
    }

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
        // Not rechunked: the de-duplication reads the buckets' chunks as they are.
        let Some(df) = df else { continue };
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
    build_inner(files, scope, None, plan_of, exec, Keep::All, progress)
}

/// `build`, spilling only the events `within` a span (one anchor's lookback and horizon).
pub fn build_within(
    files: &[InputFile],
    scope: &Scope,
    within: Within,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    progress: PassProgress,
) -> Result<(LogSummary, FeatureTable)> {
    build_inner(
        files,
        scope,
        Some(within),
        plan_of,
        exec,
        Keep::All,
        progress,
    )
}

/// `build_within`, keeping of each unit's rows what `map` makes of them (a model's scores,
/// say): the table is the mapped rows, sorted by `anchor`, then `user_id` (which `map` keeps),
/// and the features are never all held.
pub fn build_within_mapped(
    files: &[InputFile],
    scope: &Scope,
    within: Within,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    map: &mut dyn FnMut(DataFrame) -> Result<DataFrame>,
    progress: PassProgress,
) -> Result<(LogSummary, FeatureTable)> {
    build_inner(
        files,
        scope,
        Some(within),
        plan_of,
        exec,
        Keep::Mapped(map),
        progress,
    )
}

/// What is kept of each unit's rows.
enum Keep<'a> {
    All,
    /// What the sampler keeps (label counts are still of all rows).
    Sampled(crate::engine::features::row_sample::Sampler),
    Mapped(&'a mut dyn FnMut(DataFrame) -> Result<DataFrame>),
}

/// `build`, keeping of each unit's rows only what `sampler` keeps (label counts are of all
/// rows): what is held is the sample, never the whole table.
pub fn build_sampled(
    files: &[InputFile],
    scope: &Scope,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    sampler: Option<crate::engine::features::row_sample::Sampler>,
    progress: PassProgress,
) -> Result<(LogSummary, FeatureTable)> {
    let keep = sampler.map_or(Keep::All, Keep::Sampled);
    build_inner(files, scope, None, plan_of, exec, keep, progress)
}

fn build_inner(
    files: &[InputFile],
    scope: &Scope,
    within: Option<Within>,
    plan_of: impl FnOnce(i64, i64) -> Result<AnchorPlan>,
    exec: &Exec,
    mut keep: Keep,
    progress: PassProgress,
) -> Result<(LogSummary, FeatureTable)> {
    let work = WorkDir::new(&spill_root(exec)?, SPILL_PREFIX)?;
    let mut parts: Vec<DataFrame> = Vec::new();
    let (summary, plan, counts) = for_each_unit(
        files,
        scope,
        within,
        plan_of,
        exec,
        &work,
        progress,
        |_, df| {
            match &mut keep {
                Keep::Sampled(s) => return s.push(df),
                Keep::Mapped(map) => parts.push(map(df)?),
                Keep::All => parts.push(df),
            }
            Ok(())
        },
    )?;
    let clock = std::time::Instant::now();
    let df = match keep {
        Keep::Sampled(s) => s.finish()?,
        Keep::All | Keep::Mapped(_) => {
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
    let (summary, plan, counts) = for_each_unit(
        files,
        scope,
        None,
        plan_of,
        exec,
        &work,
        progress,
        |_, df| {
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
        },
    )?;
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
