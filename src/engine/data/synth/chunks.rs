//! `gen` in bounded memory: users generated in chunks, each chunk's events sorted and spilled as
//! a run in a locked work directory, the runs merged in time order into the output files.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::engine::time::next_month_start;
use crate::engine::{Error, Result};

use super::behaviour::{Behaviour, GenConfig};
use super::campaign::{CampaignSim, Effect, TruthRow};

use super::merge::{Merge, write_run};
use super::users::Generator;
use super::write::{Event, EventStream, format_of, write_stream};

/// What `gen` wrote.
pub struct GenReport {
    pub files: Vec<(PathBuf, usize)>,
    pub events: usize,
    pub users: u32,
}

impl fmt::Display for GenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "generated {} events for {} users",
            self.events, self.users
        )?;
        for (p, n) in &self.files {
            writeln!(f, "  {} ({} events)", p.display(), n)?;
        }
        Ok(())
    }
}

/// Users generated and sorted in memory at a time: about 5.5 events each, ~130 bytes per
/// event, so well under 1 GB.
pub const CHUNK_USERS: u32 = 1_000_000;

/// How far `gen` is: users generated so far, then events written.
#[derive(Debug, Clone, Copy)]
pub enum GenProgress {
    Users { done: u32, total: u32 },
    Written { done: usize, total: usize },
}

/// Generate and write: one file, or one per month when the name holds `{month}`.
pub fn generate_to(cfg: &GenConfig, out: &Path) -> Result<GenReport> {
    generate_to_with(cfg, out, CHUNK_USERS, &mut |_| {})
}

/// `generate_to` in bounded memory: `chunk_users` users at a time are generated, sorted and
/// spilled to a run file beside the output; the runs are merged by (time, user) into the
/// output files. Users of different runs never tie, and each run keeps a user's own order, so
/// the bytes are those of `generate` + `write_file` for any chunk size.
pub fn generate_to_with(
    cfg: &GenConfig,
    out: &Path,
    chunk_users: u32,
    progress: &mut dyn FnMut(GenProgress),
) -> Result<GenReport> {
    let g = Generator::new(cfg, &Behaviour::default());
    drive(g, cfg, out, chunk_users, progress).map(|(r, _)| r)
}

/// `generate_to_with` with a simulated campaign (SPEC §7a.1): the log, then the truth of the
/// campaign's users (`user_id, group, p_dormant_control, p_dormant_treated, true_uplift`, by
/// user) in `truth` (Parquet or CSV), each written whole or not at all.
pub fn generate_campaign_to(
    cfg: &GenConfig,
    sim: &CampaignSim,
    out: &Path,
    truth: &Path,
    chunk_users: u32,
    progress: &mut dyn FnMut(GenProgress),
) -> Result<(GenReport, usize)> {
    sim.check(cfg)?;
    let kind = crate::engine::io::file_kind::FileKind::expect(
        truth,
        &[
            crate::engine::io::file_kind::FileKind::Parquet,
            crate::engine::io::file_kind::FileKind::Csv,
        ],
        "--truth",
    )?;
    let g = Generator::new(cfg, &Behaviour::default()).with_campaign(*sim, Effect::default());
    let (report, rows) = drive(g, cfg, out, chunk_users, progress)?;
    let n = rows.len();
    super::campaign::write_truth(&rows, kind, truth)?;
    Ok((report, n))
}

fn drive(
    mut g: Generator,
    cfg: &GenConfig,
    out: &Path,
    chunk_users: u32,
    progress: &mut dyn FnMut(GenProgress),
) -> Result<(GenReport, Vec<TruthRow>)> {
    let name = out.to_string_lossy().to_string();
    let monthly = name.contains("{month}");
    // Refuse a bad name before any work.
    format_of(&PathBuf::from(name.replace("{month}", "m")))?;
    let chunk_users = chunk_users.max(1);
    // Events per month (keyed by the month's start), for file names and Parquet row groups.
    let mut months: std::collections::BTreeMap<i64, usize> = Default::default();
    let count_months = |events: &[Event], months: &mut std::collections::BTreeMap<i64, usize>| {
        let mut i = 0;
        while i < events.len() {
            let first = crate::engine::time::month_start(events[i].ts).unwrap_or(events[i].ts);
            let next = next_month_start(events[i].ts).unwrap_or(i64::MAX);
            let j = i + events[i..].partition_point(|e| e.ts < next);
            *months.entry(first).or_default() += j - i;
            i = j;
        }
    };
    let work_root = crate::engine::io::atomic::dir_of(out);
    // A killed gen's work directory (and temp files) go now, whether or not this run needs
    // one of its own: a small run after a killed large one left gigabytes of runs behind.
    crate::engine::io::atomic::clean_stale_dirs(&work_root, GEN_TMP_PREFIX);
    let mut work = None;
    let mut runs: Vec<PathBuf> = Vec::new();
    let mut held: Vec<Event> = Vec::new();
    let mut from = 0u32;
    while from < cfg.users || (from == 0 && cfg.users == 0) {
        let to = from.saturating_add(chunk_users).min(cfg.users);
        let events = g.users(from, to);
        count_months(&events, &mut months);
        if from == 0 && to == cfg.users {
            held = events;
        } else {
            if work.is_none() {
                work = Some(crate::engine::io::atomic::WorkDir::new(
                    &work_root,
                    GEN_TMP_PREFIX,
                )?);
            }
            let dir = work
                .as_ref()
                .map(|w| w.path().to_path_buf())
                .unwrap_or_default();
            let path = dir.join(format!("run-{:05}.bin", runs.len()));
            write_run(&events, &g.catalog, &path).map_err(|e| Error::io(&path, e))?;
            runs.push(path);
        }
        progress(GenProgress::Users {
            done: to,
            total: cfg.users,
        });
        if to >= cfg.users {
            break;
        }
        from = to;
    }
    let total: usize = months.values().sum();
    let truth = std::mem::take(&mut g.truth);
    let mut stream: Box<EventStream<'_>> = if runs.is_empty() {
        Box::new(held.into_iter().map(Ok))
    } else {
        Box::new(Merge::open(&runs, &g.catalog, g.rekey_at)?)
    };
    let mut files = Vec::new();
    let mut written = 0usize;
    if monthly {
        for (&start, &n) in &months {
            let month = DateTime::<Utc>::from_timestamp_micros(start)
                .map(|d| d.format("%Y-%b").to_string())
                .unwrap_or_default();
            let path = PathBuf::from(name.replace("{month}", &month));
            write_stream(&mut *stream, n, &path)?;
            written += n;
            progress(GenProgress::Written {
                done: written,
                total,
            });
            files.push((path, n));
        }
    } else {
        write_stream(&mut *stream, total, out)?;
        progress(GenProgress::Written { done: total, total });
        files.push((out.to_path_buf(), total));
    }
    drop(work);
    Ok((
        GenReport {
            files,
            events: total,
            users: cfg.users,
        },
        truth,
    ))
}

/// Work directories of `gen`'s sorted runs are named `.churn-gen-XXXXXX.tmp`.
pub const GEN_TMP_PREFIX: &str = ".churn-gen-";
