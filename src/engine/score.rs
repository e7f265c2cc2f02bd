//! Scoring a new anchor with a saved run's chosen model: what a weekly cron job calls. No labels
//! are needed; the run's scope, window and feature order are reused.

use std::path::{Path, PathBuf};

use crate::engine::atomic::write_atomic;
use crate::engine::csv_out::{self, Fields};
use crate::engine::data;
use crate::engine::eval::rank;
use crate::engine::features;
use crate::engine::label::anchors::DataRange;
use crate::engine::label::{AnchorPlan, Split};
use crate::engine::models::{self, Data};
use crate::engine::run_format::{self, InputRecord};
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
    pub exec: crate::engine::spill::Exec,
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
    let manifest = run_format::read_manifest(&req.run_dir)?;
    let name = match &req.model {
        Some(m) => m.clone(),
        None => manifest.chosen_model.clone(),
    };
    let mpath = req.run_dir.join("models").join(format!("{name}.json"));
    let model = models::load(&name, &read_json(&mpath)?)
        .and_then(|m| m.check().map(|()| m))
        .map_err(|e| Error::in_file(&mpath, e.to_string()))?;
    let (x, inputs) = rows_at(&manifest, &req.data, req.anchor, &req.exec)?;
    let scores = model.predict(&x)?;
    let order = rank(&scores, &x.users, &x.anchors);
    Ok(Scored {
        inputs,
        model: name,
        anchor: req.anchor,
        rows: order
            .iter()
            .enumerate()
            .map(|(r, &i)| (r + 1, x.users[i], scores[i]))
            .collect(),
    })
}

/// The feature rows of every eligible user at `anchor`, built from `data` (the run's own
/// inputs when empty, which must be the very files it was trained on) with the run's scope and
/// window; and the files read.
pub fn rows_at(
    manifest: &run_format::Manifest,
    data: &[String],
    anchor: i64,
    exec: &crate::engine::spill::Exec,
) -> Result<(Data, Vec<PathBuf>)> {
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
    let w = cfg.dataset.window;
    let plan_of = |first: i64, last: i64| -> Result<AnchorPlan> {
        let range = DataRange::of(first, last);
        // Only the lookback has to lie in the data: the horizon is what we predict.
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
    let table = if crate::engine::spill::out_of_core(&files, exec) {
        let none = &|_: &'static str, _: u64, _: u64| {};
        crate::engine::spill::build(&files, &cfg.dataset.scope, plan_of, exec, none)?.1
    } else {
        let log = data::load(&files, &cfg.dataset.scope)?;
        let plan = plan_of(log.summary.first_ts, log.summary.last_ts)?;
        features::build(&log, &plan)?
    };
    let x = Data::from_table(&table.df, Split::Test)?;
    Ok((x, files.into_iter().map(|f| f.path).collect()))
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
    for f in files {
        let hash = &recorded
            .iter()
            .find(|r| abs(&r.path) == abs(&f.path))
            .ok_or_else(|| {
                Error::Config(format!(
                    "{} was not among the files the run was trained on; {hint}",
                    f.path.display()
                ))
            })?
            .hash;
        if crate::engine::artifacts::content_hash(&f.path)? != *hash {
            return Err(Error::Config(format!(
                "{} changed since the run was trained (its content hash differs); {hint}",
                f.path.display()
            )));
        }
    }
    Ok(())
}

/// `rank,user_id,anchor,score`, best first, written whole or not at all.
pub fn write_csv(s: &Scored, path: &Path) -> Result<()> {
    crate::engine::artifacts::guard_output(path, &s.inputs)?;
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
