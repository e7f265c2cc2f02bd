//! The run directory's JSON files as types (SPEC §6), used by the writer (`save`) and by
//! every reader (`open`, `score`, `find_run`), so the two cannot drift apart. A reader
//! meeting a file with a missing or mistyped field stops with an error naming the file and the
//! field; a manifest of another `format_version` is refused before anything else is read.

use std::io::Read;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::config::TrainConfig;
use super::files::MANIFEST;
use super::train::ModelIntervals;
use crate::engine::data::Format;
use crate::engine::eval::SplitEval;
use crate::engine::eval::choice::Choice;
use crate::engine::label::Split;
use crate::engine::models::scaler::Scaler;
use crate::engine::{Error, Result};

/// The run format this build writes and reads. 2: the first versioned format (typed files,
/// `test_scores.parquet` always written; the `scores.csv`-only layout of earlier runs is no
/// longer read).
pub const FORMAT_VERSION: u32 = 2;

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

/// A model's val and test metrics (`AtK` leaves its confusion counts out of the file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitsRecord {
    pub val: SplitEval,
    pub test: SplitEval,
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

/// A file's content hash as the manifest records it.
pub fn content_hash(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("xxh3-128:{:032x}", h.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
