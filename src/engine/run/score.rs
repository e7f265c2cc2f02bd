//! Scoring a new anchor with a saved run's chosen model: what a weekly cron job calls. No labels
//! are needed; the run's scope, window and feature order are reused.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::files::MODELS_DIR;
use super::format::{self, InputRecord};
use polars::prelude::*;

use crate::engine::data;
use crate::engine::data::schema::USER_ID;
use crate::engine::error::PolarsContext;
use crate::engine::eval::rank;
use crate::engine::features;
use crate::engine::features::columns::ANCHOR;
use crate::engine::features::matrix::Data;
use crate::engine::io::atomic::write_atomic;
use crate::engine::io::csv_out::{self, Fields};
use crate::engine::io::file_kind::FileKind;
use crate::engine::label::anchors::DataRange;
use crate::engine::label::{AnchorPlan, Split};
use crate::engine::models;
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

pub struct ScoreRequest {
    pub run_dir: PathBuf,
    /// Input files; the run's own inputs when empty.
    pub data: Vec<String>,
    pub anchor: i64,
    /// A model of the run other than the chosen one.
    pub model: Option<String>,
    /// In memory or out of core (a log larger than memory is scored bucket by bucket).
    pub exec: crate::engine::dataset::out_of_core::Exec,
}

pub struct Scored {
    pub model: String,
    pub anchor: i64,
    /// (rank from 1, user_id, score), best first.
    pub rows: Vec<(usize, i64, f64)>,
    /// The files scored (an output must not replace one).
    pub inputs: Vec<PathBuf>,
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::in_file(path, format!("not valid JSON: {e}")))
}

pub fn score(req: &ScoreRequest) -> Result<Scored> {
    let manifest = format::read_manifest(&req.run_dir)?;
    let name = match &req.model {
        Some(m) => m.clone(),
        None => manifest.chosen_model.clone(),
    };
    let mpath = req.run_dir.join(MODELS_DIR).join(format!("{name}.json"));
    let model = models::load(&name, &read_json(&mpath)?)
        .and_then(|m| m.check().map(|()| m))
        .map_err(|e| Error::in_file(&mpath, e.to_string()))?;
    let files = input_files(&manifest, &req.data)?;
    let cfg = &manifest.config.dataset;
    // Each unit's rows are scored as they are made, and only (user, anchor, score) is kept:
    // the features of a huge log's users are never all held.
    let mut scored = |df: DataFrame| -> Result<DataFrame> {
        let x = Data::from_table(&df, Split::Test)?;
        let scores = model.predict(&x)?;
        DataFrame::new_infer_height(vec![
            Column::new(USER_ID.into(), x.users),
            Column::new(ANCHOR.into(), x.anchors),
            Column::new(SCORE.into(), scores),
        ])
        .ctx(|| "scores".into())
    };
    let (_, table) = table_at_mapped(
        &files,
        &cfg.scope,
        cfg.window,
        req.anchor,
        model.reads_history(),
        &req.exec,
        &mut scored,
    )?;
    let column = |name: &str| table.df.column(name).ctx(|| name.to_string());
    let users: Vec<i64> = column(USER_ID)?
        .i64()
        .ctx(|| USER_ID.into())?
        .into_no_null_iter()
        .collect();
    let anchors: Vec<i64> = column(ANCHOR)?
        .i64()
        .ctx(|| ANCHOR.into())?
        .into_no_null_iter()
        .collect();
    let scores: Vec<f64> = column(SCORE)?
        .f64()
        .ctx(|| SCORE.into())?
        .into_no_null_iter()
        .collect();
    let order = rank(&scores, &users, &anchors);
    Ok(Scored {
        inputs: files.into_iter().map(|f| f.path).collect(),
        model: name,
        anchor: req.anchor,
        rows: order
            .iter()
            .enumerate()
            .map(|(r, &i)| (r + 1, users[i], scores[i]))
            .collect(),
    })
}

const SCORE: &str = "score";

/// The feature rows of every eligible user at `anchor`, built from `data` (the run's own
/// inputs when empty, which must be the very files it was trained on) with the run's scope and
/// window; and the files read. `history`: the rows are for a model that reads the visit
/// history (see `table_at`).
pub fn rows_at(
    manifest: &format::Manifest,
    data: &[String],
    anchor: i64,
    history: bool,
    exec: &crate::engine::dataset::out_of_core::Exec,
) -> Result<(Data, Vec<PathBuf>)> {
    let files = input_files(manifest, data)?;
    let cfg = &manifest.config;
    let (_, table) = table_at(
        &files,
        &cfg.dataset.scope,
        cfg.dataset.window,
        anchor,
        history,
        exec,
    )?;
    let x = Data::from_table(&table.df, Split::Test)?;
    Ok((x, files.into_iter().map(|f| f.path).collect()))
}

/// The files to score from: `data`, or the run's own inputs when empty (which must be the very
/// files it was trained on).
fn input_files(manifest: &format::Manifest, data: &[String]) -> Result<Vec<data::InputFile>> {
    let cfg = &manifest.config;
    if let (Some(table), true) = (&cfg.dataset.features, data.is_empty()) {
        return Err(Error::Config(format!(
            "the run learnt from a feature table made elsewhere ({}): it has no event log to \
             score from; pass --data with the log (the table's scope must be the log's), or \
             compute the scoring anchor's rows where the table was made",
            table.display()
        )));
    }
    let files = if data.is_empty() {
        let files = data::resolve(&cfg.dataset.data).map_err(|e| {
            Error::Config(format!(
                "the run's own inputs cannot be read ({e}); pass --data to score other files"
            ))
        })?;
        same_inputs(&manifest.inputs, &files)?;
        files
    } else {
        data::resolve(data)?
    };
    Ok(files)
}

/// The feature table of every eligible user at `anchor` (one test anchor), built from `files`
/// in `scope` with window `w`, in memory or out of core as `exec` says. Only the lookback has
/// to lie in the data: the horizon is what is predicted (the labels are right only where the
/// logs cover it, which the caller checks when it reads them). Only the events a row at
/// `anchor` reads are held: `[t − W, t + H)`, or with `history` (for a model that reads the
/// visit history, `Model::reads_history`) everything before `t + H`.
pub fn table_at(
    files: &[data::InputFile],
    scope: &data::Scope,
    w: crate::engine::label::Window,
    anchor: i64,
    history: bool,
    exec: &crate::engine::dataset::out_of_core::Exec,
) -> Result<(data::LogSummary, features::FeatureTable)> {
    table_at_mapped(files, scope, w, anchor, history, exec, &mut Ok)
}

/// `table_at`, with the rows as `map` makes them (out of core, unit by unit as they are made;
/// they keep `user_id` and `anchor`, by which they are then sorted).
fn table_at_mapped(
    files: &[data::InputFile],
    scope: &data::Scope,
    w: crate::engine::label::Window,
    anchor: i64,
    history: bool,
    exec: &crate::engine::dataset::out_of_core::Exec,
    map: &mut dyn FnMut(DataFrame) -> Result<DataFrame>,
) -> Result<(data::LogSummary, features::FeatureTable)> {
    let plan_of = |first: i64, last: i64| -> Result<AnchorPlan> {
        let range = DataRange::of(first, last);
        if anchor - w.lookback_us() < range.start || anchor > range.end {
            return Err(Error::Config(format!(
                "cannot score at {}: [t − {}d, t) must lie inside the data ({} – {})",
                fmt_anchor(anchor),
                w.lookback_days,
                fmt_anchor(range.start),
                fmt_anchor(range.end)
            )));
        }
        Ok(AnchorPlan {
            anchors: vec![(anchor, Split::Test)],
            purged: vec![],
            window: w,
        })
    };
    let within = data::Within {
        from: if history {
            i64::MIN
        } else {
            anchor.saturating_sub(w.lookback_us())
        },
        to: anchor.saturating_add(w.horizon_us()),
    };
    if crate::engine::dataset::out_of_core::out_of_core(files, exec) {
        let none = &|_: &'static str, _: u64, _: u64| {};
        crate::engine::dataset::out_of_core::build_within_mapped(
            files, scope, within, plan_of, exec, map, none,
        )
    } else {
        let mut plan = None;
        let log = data::load_within(files, scope, Some(within), |first, last| {
            plan = Some(plan_of(first, last)?);
            Ok(())
        })?;
        let plan = match plan {
            Some(p) => p,
            None => plan_of(log.summary.first_ts, log.summary.last_ts)?,
        };
        let mut table = features::build(&log, &plan)?;
        table.df = map(table.df)?;
        Ok((log.summary.clone(), table))
    }
}

/// Scoring with the run's own inputs must read the very files it was trained on: the same
/// paths with the same content hashes, or a clear error (never a quietly different log).
fn same_inputs(recorded: &[InputRecord], files: &[data::InputFile]) -> Result<()> {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let hint = "pass --data to score other files on purpose";
    if recorded.len() != files.len() {
        return Err(Error::Config(format!(
            "the run was trained on {} input file(s), its inputs now resolve to {}; {hint}",
            recorded.len(),
            files.len()
        )));
    }
    // Keyed by canonical path: one lookup per file, so many files stay linear.
    let by_path: std::collections::HashMap<PathBuf, &str> = recorded
        .iter()
        .map(|r| (abs(&r.path), r.hash.as_str()))
        .collect();
    for f in files {
        let hash = by_path.get(&abs(&f.path)).ok_or_else(|| {
            Error::Config(format!(
                "{} was not among the files the run was trained on; {hint}",
                f.path.display()
            ))
        })?;
        if format::content_hash(&f.path)? != *hash {
            return Err(Error::Config(format!(
                "{} changed since the run was trained (its content hash differs); {hint}",
                f.path.display()
            )));
        }
    }
    Ok(())
}

/// What `score` writes: the same four columns as CSV, Parquet or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreFormat {
    Csv,
    Parquet,
    Json,
}

impl ScoreFormat {
    const KINDS: [FileKind; 3] = [FileKind::Csv, FileKind::Parquet, FileKind::Json];

    fn kind(self) -> FileKind {
        match self {
            ScoreFormat::Csv => FileKind::Csv,
            ScoreFormat::Parquet => FileKind::Parquet,
            ScoreFormat::Json => FileKind::Json,
        }
    }

    /// The format for `path`: `flag` when given (it must agree with a known extension), else
    /// the extension's. Checked before any scoring, so a bad name costs nothing.
    pub fn for_path(path: &Path, flag: Option<ScoreFormat>) -> Result<ScoreFormat> {
        Ok(
            match FileKind::chosen(path, flag.map(Self::kind), &Self::KINDS, "scores file")? {
                FileKind::Parquet => ScoreFormat::Parquet,
                FileKind::Json => ScoreFormat::Json,
                _ => ScoreFormat::Csv,
            },
        )
    }
}

/// Write the scores in `format`, whole or not at all.
pub fn write(s: &Scored, path: &Path, format: ScoreFormat) -> Result<()> {
    super::files::guard_output(path, &s.inputs)?;
    match format {
        ScoreFormat::Csv => write_csv(s, path),
        ScoreFormat::Parquet => write_parquet(s, path),
        ScoreFormat::Json => write_json(s, path),
    }
}

/// `rank,user_id,anchor,score`, best first, written whole or not at all.
pub fn write_csv(s: &Scored, path: &Path) -> Result<()> {
    super::files::guard_output(path, &s.inputs)?;
    let anchor = fmt_anchor(s.anchor);
    write_atomic(path, |w| {
        let mut out = csv_out::writer(w);
        let (mut a, mut b, mut c) = (Fields::default(), Fields::default(), Fields::default());
        let io = csv_out::io;
        out.write_record(["rank", "user_id", "anchor", "score"])
            .map_err(io)?;
        for (rank, user, score) in &s.rows {
            let row: [&str; 4] = [a.show(rank), b.show(user), &anchor, c.show(score)];
            out.write_record(row).map_err(io)?;
        }
        out.flush()
    })
}

/// The scores as Parquet: rank and user_id as int64, anchor as a UTC timestamp (as the feature
/// table and exports write it), score as float64.
fn write_parquet(s: &Scored, path: &Path) -> Result<()> {
    use polars::prelude::*;
    let c = |e: PolarsError| Error::Polars {
        context: "building the scores file".into(),
        source: e,
    };
    let n = s.rows.len();
    let anchor = Series::new("anchor".into(), vec![s.anchor; n])
        .cast(&crate::engine::features::columns::anchor_dtype())
        .map_err(c)?;
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new(
                "rank".into(),
                s.rows.iter().map(|r| r.0 as i64).collect::<Vec<_>>(),
            ),
            Column::new(
                "user_id".into(),
                s.rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            anchor.into(),
            Column::new(
                "score".into(),
                s.rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(c)?;
    crate::engine::io::atomic::write_parquet(&mut df, path)
}

/// The scores as a JSON array of `{rank, user_id, anchor, score}`, best first.
fn write_json(s: &Scored, path: &Path) -> Result<()> {
    let anchor = fmt_anchor(s.anchor);
    let v: Vec<serde_json::Value> = s
        .rows
        .iter()
        .map(|(rank, user, score)| {
            serde_json::json!({"rank": rank, "user_id": user, "anchor": anchor, "score": score})
        })
        .collect();
    let text = serde_json::to_string_pretty(&v).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")
    })
}
