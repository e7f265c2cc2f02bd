//! The run directory's JSON files as types (SPEC §6), used by the writer (`artifacts`) and by
//! every reader (`loaded_run`, `score`, `find_run`), so the two cannot drift apart. A reader
//! meeting a file with a missing or mistyped field stops with an error naming the file and the
//! field; a manifest of another `format_version` is refused before anything else is read.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::engine::data::Format;
use crate::engine::eval::choice::Choice;
use crate::engine::eval::{AtK, SplitEval};
use crate::engine::label::Split;
use crate::engine::models::scaler::Scaler;
use crate::engine::run::{ModelIntervals, TrainConfig};
use crate::engine::{Error, Result};

/// The run format this build writes and reads. 2: the first versioned format (typed files,
/// `test_scores.parquet` always written; the `scores.csv`-only layout of earlier runs is no
/// longer read).
pub const FORMAT_VERSION: u32 = 2;

pub const MANIFEST: &str = "manifest.json";
pub const EVAL_FILE: &str = "eval.json";
pub const CURVES_FILE: &str = "pr_curves.json";
pub const FEATURES_FILE: &str = "features.json";

/// `manifest.json`: what the run is, what it read, what it chose.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    #[serde(rename = "crate")]
    pub made_by: MadeBy,
    pub run_id: String,
    pub config: TrainConfig,
    pub inputs: Vec<InputRecord>,
    pub seed: u64,
    pub chosen_model: String,
    pub failed_models: Vec<FailedModel>,
    pub anchors: Vec<AnchorRecord>,
    pub purged: Vec<String>,
    pub timings_seconds: Vec<StageTime>,
    pub models: Vec<ModelRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MadeBy {
    pub name: String,
    pub version: String,
}

impl MadeBy {
    pub fn this_build() -> MadeBy {
        MadeBy {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// An input file with its content hash (`score` checks the run's own inputs against it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputRecord {
    pub path: PathBuf,
    pub format: Format,
    pub bytes: u64,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedModel {
    pub name: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnchorRecord {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub anchor: String,
    pub split: Split,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRecord {
    pub name: String,
    pub params: serde_json::Value,
    pub fit_seconds: f64,
}

/// `eval.json` (SPEC §6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalFile {
    pub models: Vec<ModelEval>,
    pub choice: Choice,
    pub bootstrap: BootstrapRecord,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEval {
    pub name: String,
    pub splits: SplitsRecord,
    /// Per K in `at_k`'s order; `*_vs_chosen`: this model minus the chosen one, paired.
    pub intervals: ModelIntervals,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitsRecord {
    pub val: SplitRecord,
    pub test: SplitRecord,
}

/// One split's metrics as `eval.json` holds them (the confusion counts follow from k, n and
/// the precision, so they are left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitRecord {
    pub n: usize,
    pub prevalence: Option<f64>,
    pub pr_auc: Option<f64>,
    pub at_k: Vec<AtKRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AtKRecord {
    /// An integer when whole (5), else a decimal (7.25).
    #[serde(serialize_with = "whole_as_integer")]
    pub k_pct: f64,
    pub k: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub lift: Option<f64>,
    pub lift_ceiling: Option<f64>,
}

fn whole_as_integer<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(v) {
        s.serialize_u64(*v as u64)
    } else {
        s.serialize_f64(*v)
    }
}

impl From<&SplitEval> for SplitRecord {
    fn from(e: &SplitEval) -> SplitRecord {
        SplitRecord {
            n: e.n,
            prevalence: e.prevalence,
            pr_auc: e.pr_auc,
            at_k: e
                .at_k
                .iter()
                .map(|a| AtKRecord {
                    k_pct: a.k_pct,
                    k: a.k,
                    precision: a.precision,
                    recall: a.recall,
                    lift: a.lift,
                    lift_ceiling: a.lift_ceiling,
                })
                .collect(),
        }
    }
}

impl From<SplitRecord> for SplitEval {
    /// The confusion counts are worked back from k, n, the precision and the prevalence.
    fn from(r: SplitRecord) -> SplitEval {
        let n = r.n;
        let positives = r.prevalence.map_or(0, |p| (p * n as f64).round() as usize);
        SplitEval {
            n: r.n,
            prevalence: r.prevalence,
            pr_auc: r.pr_auc,
            at_k: r
                .at_k
                .into_iter()
                .map(|a| {
                    let tp = a.precision.map_or(0, |p| (p * a.k as f64).round() as usize);
                    let fn_ = positives.saturating_sub(tp);
                    AtK {
                        k_pct: a.k_pct,
                        k: a.k,
                        precision: a.precision,
                        recall: a.recall,
                        lift: a.lift,
                        lift_ceiling: a.lift_ceiling,
                        tp,
                        fp: a.k.saturating_sub(tp),
                        fn_,
                        tn: n.saturating_sub(a.k).saturating_sub(fn_),
                    }
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootstrapRecord {
    pub resamples: usize,
    pub level: f64,
    pub seed: u64,
}

/// `pr_curves.json`: per model (in the run's order), its val and test PR curves as
/// (recall, precision) points.
pub type CurvesFile = IndexMap<String, CurvePair>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurvePair {
    pub val: Vec<(f64, f64)>,
    pub test: Vec<(f64, f64)>,
}

/// `features.json`: the feature order models expect and the scaler fit on train.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeaturesFile {
    pub order: Vec<String>,
    pub scaler: Scaler,
}

/// Read a run file as `T`; a missing or mistyped field is an error naming the file and field.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::in_file(path, describe(&e)))
}

fn describe(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => format!("not as this run format has it: {e}"),
        _ => format!("not valid JSON: {e}"),
    }
}

/// Read a run directory's manifest, refusing any format but this build's before reading on.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    #[derive(Deserialize)]
    struct Version {
        format_version: Option<serde_json::Value>,
    }
    let v: Version = read(&path).map_err(|e| match &e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => e.hint(
            "a run directory is one `churn-tui train` (or the workbench) saved, under \
             artifacts/ unless --out said otherwise",
        ),
        _ => e,
    })?;
    match v.format_version {
        None => {
            return Err(Error::in_file(
                &path,
                format!(
                    "no format_version: the run was written by an older churn-tui, whose \
                     layout this one ({}) no longer reads; train it again",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION as u64) => {}
        Some(other) => {
            return Err(Error::in_file(
                &path,
                format!(
                    "format_version {other} is not one this churn-tui ({}) reads (it reads \
                     {FORMAT_VERSION}); open the run with the churn-tui that wrote it",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
    }
    read(&path)
}

/// Write `value` pretty-printed (or compact, for big files) with a final newline.
pub fn to_text<T: Serialize>(value: &T, pretty: bool) -> Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.map(|t| t + "\n")
        .map_err(|e| Error::Config(format!("could not serialise a run file: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_pct_is_an_integer_when_whole() {
        let a = |k_pct| AtKRecord {
            k_pct,
            k: 1,
            precision: None,
            recall: None,
            lift: None,
            lift_ceiling: None,
        };
        let text = serde_json::to_string(&[a(5.0), a(7.25)]).unwrap();
        assert!(text.contains("\"k_pct\":5,"), "{text}");
        assert!(text.contains("\"k_pct\":7.25,"), "{text}");
    }

    #[test]
    fn a_manifest_of_another_version_or_none_is_refused_by_name() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(MANIFEST);
        std::fs::write(&p, r#"{"run_id": "x"}"#).unwrap();
        let e = read_manifest(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("manifest.json") && e.contains("no format_version"),
            "{e}"
        );
        std::fs::write(&p, r#"{"format_version": 99}"#).unwrap();
        let e = read_manifest(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("format_version 99") && e.contains("reads 2"),
            "{e}"
        );
        std::fs::write(&p, r#"{"format_version": "2"}"#).unwrap();
        let e = read_manifest(d.path()).unwrap_err().to_string();
        assert!(e.contains("format_version \"2\""), "{e}");
        // The right version with a field missing: the error names the field.
        std::fs::write(&p, r#"{"format_version": 2, "run_id": "x"}"#).unwrap();
        let e = read_manifest(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("manifest.json") && e.contains("missing field"),
            "{e}"
        );
    }
}
