//! From input files to the feature table: the first half of every run, shared by the CLI, the
//! TUI and the benchmarks.

pub mod out_of_core;
pub mod stats;

use std::fmt::Write as _;

use crate::engine::Result;
use crate::engine::data::{self, EventLog, LogSummary, Scope};
use crate::engine::features::{self, FeatureTable};
use crate::engine::label::anchors::DataRange;
use crate::engine::label::{AnchorChoice, Split, Window, splits};
use crate::engine::text::thousands;
use crate::engine::time::fmt_anchor;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DatasetConfig {
    /// Paths or globs.
    pub data: Vec<String>,
    pub scope: Scope,
    pub window: Window,
    pub anchors: AnchorChoice,
    /// A feature table made elsewhere (SPEC §6 columns), used instead of a log: `data`,
    /// `scope` and `anchors` are then not used (the table holds their outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<std::path::PathBuf>,
    /// How to compute it (in memory or out of core): never what it holds, so not recorded.
    #[serde(skip)]
    pub exec: crate::engine::dataset::out_of_core::Exec,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub log: LogSummary,
    pub table: FeatureTable,
}

/// Read the log and build the feature table.
pub fn build(cfg: &DatasetConfig) -> Result<Dataset> {
    build_with(cfg, &|_, _, _| {})
}

/// Read the log and build the feature table, in memory or out of core as `cfg.exec` and the
/// input's size decide, reporting each pass of the out-of-core path.
pub fn build_with(cfg: &DatasetConfig, progress: out_of_core::PassProgress) -> Result<Dataset> {
    if let Some(path) = &cfg.features {
        let (log, table) = features::import::load(path, &cfg.window)?;
        return Ok(Dataset { log, table });
    }
    let files = data::resolve(&cfg.data)?;
    if out_of_core::out_of_core(&files, &cfg.exec) {
        let plan_of = |first: i64, last: i64| {
            splits::plan(&cfg.anchors, &DataRange::of(first, last), &cfg.window)
        };
        let (log, table) = out_of_core::build(&files, &cfg.scope, plan_of, &cfg.exec, progress)?;
        return Ok(Dataset { log, table });
    }
    let log = data::load(&files, &cfg.scope)?;
    build_from_log(&log, cfg)
}

/// At most `train` and `val` rows of those splits (0: all), chosen by a hash seeded with `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCaps {
    pub train: usize,
    pub val: usize,
    pub seed: u64,
}

impl RowCaps {
    fn sampler(&self) -> features::row_sample::Sampler {
        features::row_sample::Sampler::new(self.train, self.val, self.seed)
    }

    fn needed(&self, table: &FeatureTable) -> bool {
        let over =
            |cap: usize, split: Split| cap > 0 && table.split_counts(split).rows > cap as u64;
        over(self.train, Split::Train) || over(self.val, Split::Val)
    }
}

/// The dataset a model run learns from: the table with train and val sampled down to `caps`
/// when larger (every test row kept, label counts of all rows). Out of core the sample is
/// drawn unit by unit, so the whole table is never held; in memory it is drawn from the table.
/// Either way the same rows.
pub fn build_for_training(
    cfg: &DatasetConfig,
    caps: RowCaps,
    progress: out_of_core::PassProgress,
) -> Result<Dataset> {
    let mut ds = if cfg.features.is_some() {
        let mut ds = build_with(cfg, progress)?;
        if caps.needed(&ds.table) {
            let mut s = caps.sampler();
            s.push(std::mem::take(&mut ds.table.df))?;
            ds.table.df = s.finish()?;
        }
        ds
    } else if out_of_core::out_of_core(&data::resolve(&cfg.data)?, &cfg.exec) {
        let files = data::resolve(&cfg.data)?;
        let plan_of = |first: i64, last: i64| {
            splits::plan(&cfg.anchors, &DataRange::of(first, last), &cfg.window)
        };
        let (log, table) = out_of_core::build_sampled(
            &files,
            &cfg.scope,
            plan_of,
            &cfg.exec,
            Some(caps.sampler()),
            progress,
        )?;
        Dataset { log, table }
    } else {
        let log = data::load(&data::resolve(&cfg.data)?, &cfg.scope)?;
        let mut ds = build_from_log(&log, cfg)?;
        drop(log);
        if caps.needed(&ds.table) {
            let mut s = caps.sampler();
            s.push(std::mem::take(&mut ds.table.df))?;
            ds.table.df = s.finish()?;
        }
        ds
    };
    if caps.needed(&ds.table) {
        let held = |split: Split| -> Result<u64> {
            let c = features::table::count_labels(&ds.table.df, &ds.table.plan)?;
            Ok(c.iter().filter(|a| a.split == split).map(|a| a.rows).sum())
        };
        ds.table.sample = Some(features::table::RowSample {
            seed: caps.seed,
            train: (
                held(Split::Train)?,
                ds.table.split_counts(Split::Train).rows,
            ),
            val: (held(Split::Val)?, ds.table.split_counts(Split::Val).rows),
        });
    }
    Ok(ds)
}

/// Build the feature table of `cfg` and write it to `out` (`.csv` or `.parquet`). Out of core
/// the rows are streamed to the file and never held: the returned table then has no rows,
/// only the plan and the label counts (what `summary` prints).
pub fn write_features(
    cfg: &DatasetConfig,
    out: &std::path::Path,
    progress: out_of_core::PassProgress,
) -> Result<Dataset> {
    let files = data::resolve(&cfg.data)?;
    if out_of_core::out_of_core(&files, &cfg.exec) {
        let plan_of = |first: i64, last: i64| {
            splits::plan(&cfg.anchors, &DataRange::of(first, last), &cfg.window)
        };
        let (log, plan, per_anchor) =
            out_of_core::write_features(&files, &cfg.scope, plan_of, &cfg.exec, out, progress)?;
        return Ok(Dataset {
            log,
            table: FeatureTable {
                df: polars::prelude::DataFrame::empty(),
                plan,
                per_anchor,
                sample: None,
            },
        });
    }
    let log = data::load(&files, &cfg.scope)?;
    let ds = build_from_log(&log, cfg)?;
    features::write::write_table(&ds.table.df, out)?;
    Ok(ds)
}

/// The feature table of an already loaded log.
pub fn build_from_log(log: &EventLog, cfg: &DatasetConfig) -> Result<Dataset> {
    let range = DataRange::of(log.summary.first_ts, log.summary.last_ts);
    let plan = splits::plan(&cfg.anchors, &range, &cfg.window)?;
    let t = std::time::Instant::now();
    let table = features::build(log, &plan)?;
    let mut log_summary = log.summary.clone();
    log_summary
        .timings
        .push(("features", t.elapsed().as_secs_f64()));
    Ok(Dataset {
        log: log_summary,
        table,
    })
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

fn day(t: i64) -> String {
    fmt_anchor(t)[..10].to_string()
}

/// A short human summary: files, events, users, time range, anchors per split, purged anchors,
/// label shares per split.
pub fn summary(ds: &Dataset) -> String {
    let mut s = log_summary(&ds.log);
    let w = &ds.table.plan.window;
    let _ = writeln!(
        s,
        "window:      lookback {}d, horizon {}d",
        w.lookback_days, w.horizon_days
    );
    for split in Split::ALL {
        let anchors = ds.table.plan.of_split(split);
        let c = ds.table.split_counts(split);
        let _ = writeln!(
            s,
            "{:<6} {} anchor(s) [{}]: {} rows; m0 {}  m1 {}  m2 {} (dormant)",
            format!("{split}:"),
            anchors.len(),
            anchors
                .iter()
                .map(|t| day(*t))
                .collect::<Vec<_>>()
                .join(", "),
            thousands(c.rows),
            pct(c.m0, c.rows),
            pct(c.m1, c.rows),
            pct(c.m2, c.rows)
        );
    }
    if ds.table.plan.purged.is_empty() {
        let _ = writeln!(s, "purged:      none");
    } else {
        let _ = writeln!(
            s,
            "purged:      {} (their labels would look into a later split)",
            ds.table
                .plan
                .purged
                .iter()
                .map(|t| day(*t))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(line) = ds.table.sample.as_ref().map(sample_line) {
        let _ = writeln!(s, "sampled:     {line}");
    }
    s
}

/// When no split can be made: what would make one on this log. The window is shortened until
/// three anchors fit, each a horizon after the one before (train, val, test) with the lookback
/// before the first; `None` when not even one day of horizon fits.
pub fn split_suggestion(l: &LogSummary, w: &Window) -> Option<String> {
    use crate::engine::time::US_PER_DAY;
    let range = DataRange::of(l.first_ts, l.last_ts);
    let days = (range.end - range.start) / US_PER_DAY;
    // The lookback stays when a week or more of horizon still fits; else both shrink.
    let lookback = match i64::from(w.lookback_days) {
        l if (days - l) / 3 >= 7 => l,
        l => l.min(days / 4),
    };
    let horizon = i64::from(w.horizon_days).min((days - lookback) / 3);
    if horizon < 1 || lookback < 1 {
        return None;
    }
    let t1 = range.start + lookback * US_PER_DAY;
    let at = |i: i64| fmt_anchor(t1 + i * horizon * US_PER_DAY)[..10].to_string();
    Some(format!(
        "{days} days of log hold no three anchors a {}-day horizon apart after a {}-day \
         lookback; for example: --lookback-days {lookback} --horizon-days {horizon} \
         --train-anchors {} --val-anchors {} --test-anchors {}",
        w.horizon_days,
        w.lookback_days,
        at(0),
        at(1),
        at(2)
    ))
}

/// The event counts in the order they happen: read, kept by the scope (duplicates still in),
/// exact duplicates dropped, used. One wording for `summary`, the Labels tab and the report, which
/// once called different numbers "in scope".
pub fn events_counts(read: u64, duplicates: u64, used: u64) -> String {
    format!(
        "{} read, {} in scope, {} duplicate{} dropped, {} used",
        thousands(read),
        thousands(used + duplicates),
        thousands(duplicates),
        if duplicates == 1 { "" } else { "s" },
        thousands(used)
    )
}

/// The log's part of the summary: files, events, users, time range.
pub fn log_summary(l: &LogSummary) -> String {
    let mut s = String::new();
    let bytes: u64 = l.files.iter().map(|f| f.size).sum();
    let _ = writeln!(
        s,
        "files:       {} ({:.1} MB)",
        l.files.len(),
        bytes as f64 / 1e6
    );
    // Thousands of files are a listing nobody reads (and a screenful per run): the first
    // ones, how many more, and the last.
    const SHOWN: usize = 12;
    let n = l.files.len();
    for (i, f) in l.files.iter().enumerate() {
        if n > SHOWN && i == SHOWN - 2 {
            let _ = writeln!(
                s,
                "             … {} more files",
                thousands((n - SHOWN + 1) as u64)
            );
        }
        if n <= SHOWN || i < SHOWN - 2 || i == n - 1 {
            let _ = writeln!(s, "             {}", f.path.display());
        }
    }
    if l.feature_table {
        let _ = writeln!(
            s,
            "a feature table made elsewhere: the log's events and time range are not known here"
        );
        let _ = writeln!(s, "users:       {}", thousands(l.users));
    } else {
        let _ = writeln!(
            s,
            "events:      {}",
            events_counts(l.rows_read, l.duplicates, l.events)
        );
        let _ = writeln!(s, "scope:       {}", l.scope.describe());
        let _ = writeln!(s, "users:       {}", thousands(l.users));
        let _ = writeln!(s, "time range:  {}", l.time_range());
    }
    s
}

/// What a run learnt from when the table was sampled.
pub fn sample_line(r: &features::table::RowSample) -> String {
    format!(
        "train {} of {} rows, val {} of {} (smallest hashes of user and anchor, seed {}); every test row",
        r.train.0, r.train.1, r.val.0, r.val.1, r.seed
    )
}

/// The train, val and test rows of a feature table made elsewhere (`train --features`): what
/// the timing tools in `examples/` fit and score.
pub fn table_splits(
    path: std::path::PathBuf,
) -> Result<(
    crate::engine::features::matrix::Data,
    crate::engine::features::matrix::Data,
    crate::engine::features::matrix::Data,
)> {
    let ds = build(&DatasetConfig {
        features: Some(path),
        ..Default::default()
    })?;
    crate::engine::features::matrix::Data::splits(&ds.table.df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data::{Format, InputFile, Scope};

    fn summary_of(n: usize) -> String {
        let l = LogSummary {
            files: (0..n)
                .map(|i| InputFile {
                    path: format!("/d/f{i}.csv").into(),
                    format: Format::Csv,
                    size: 1_000_000,
                })
                .collect(),
            rows_read: 0,
            rows_in_scope: 0,
            duplicates: 0,
            events: 0,
            users: 0,
            first_ts: 0,
            last_ts: 0,
            scope: Scope::default(),
            timings: vec![],
            feature_table: false,
        };
        log_summary(&l)
    }

    #[test]
    fn many_files_are_listed_first_and_last_with_the_count_between() {
        // Twelve are listed whole.
        let s = summary_of(12);
        assert!(s.starts_with("files:       12 (12.0 MB)\n"), "{s}");
        assert_eq!(s.matches("/d/f").count(), 12);
        assert!(!s.contains("more files"));
        // 1,000: f0 to f9, then the 989 not shown (1,000 − 11), then f999.
        let s = summary_of(1000);
        assert_eq!(s.matches("/d/f").count(), 11, "{s}");
        assert!(
            s.contains("/d/f9.csv\n             … 989 more files\n             /d/f999.csv\n"),
            "{s}"
        );
    }
}
