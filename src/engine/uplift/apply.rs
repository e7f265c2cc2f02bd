//! An uplift folder put to use (SPEC §7a.3): its chosen method scores any users from their 14
//! features, and says which features drive a user's uplift, so a target list can rank by it.

use std::path::{Path, PathBuf};

use super::learners::{Fitted, Method};
use super::output::{MODELS_FILE, REPORT_FILE};
use super::train::UpliftReport;
use crate::engine::features::matrix::{Data, N_FEATURES};
use crate::engine::text::printable;
use crate::engine::{Error, Result};

/// A loaded uplift folder.
#[derive(Debug, Clone)]
pub struct UpliftModel {
    pub dir: PathBuf,
    pub report: UpliftReport,
    fitted: Fitted,
}

/// Read and parse one JSON file of the folder, naming it on any failure.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    // Only a regular file is read: a FIFO or device named models.json would block or stream.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Config(format!(
            "{}: not a regular file",
            printable(&path.display().to_string())
        )));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_reader(std::io::BufReader::new(f)).map_err(|e| {
        Error::Config(format!(
            "{}: not an uplift file written by `uplift train`: {e}",
            printable(&path.display().to_string())
        ))
    })
}

impl UpliftModel {
    /// The folder `uplift train` wrote: its report and models, checked to hold the chosen
    /// method's models.
    pub fn load(dir: &Path) -> Result<UpliftModel> {
        let shown = dir.display().to_string();
        let shown = printable(&shown);
        if !dir.is_dir() {
            return Err(Error::Config(format!(
                "--uplift {shown}: no such folder (an uplift folder is what `uplift train \
                 --out DIR` writes)"
            )));
        }
        let report: UpliftReport = read_json(&dir.join(REPORT_FILE))?;
        let fitted: Fitted = read_json(&dir.join(MODELS_FILE))?;
        let chosen = report.choice.chosen;
        let has = match chosen {
            Method::TLearner => fitted.mu0.is_some() && fitted.mu1.is_some(),
            Method::XLearner => fitted.tau0.is_some() && fitted.tau1.is_some(),
            Method::TransformedOutcome => fitted.direct.is_some(),
        };
        if !has {
            return Err(Error::Config(format!(
                "{}: the chosen method {} has no fitted models in {MODELS_FILE}",
                shown,
                chosen.name()
            )));
        }
        // A damaged or hand-edited model (a child out of range, a split on feature 99) is an
        // error naming the file here, never a panic while scoring.
        let models = dir.join(MODELS_FILE);
        for m in [
            &fitted.mu0,
            &fitted.mu1,
            &fitted.tau0,
            &fitted.tau1,
            &fitted.direct,
        ]
        .into_iter()
        .flatten()
        {
            crate::engine::models::Model::check(m)
                .map_err(|e| Error::in_file(&models, e.to_string()))?;
        }
        Ok(UpliftModel {
            dir: dir.to_path_buf(),
            report,
            fitted,
        })
    }

    pub fn method(&self) -> Method {
        self.report.choice.chosen
    }

    /// The propensity the X-learner weighs its two effect models by for users outside the
    /// campaign: the campaign's share treated (older folders: the tiers' mean share).
    pub fn treated_share(&self) -> f64 {
        self.report.treated_share.unwrap_or_else(|| {
            let p = &self.report.propensity;
            if p.is_empty() {
                0.5
            } else {
                p.values().sum::<f64>() / p.len() as f64
            }
        })
    }

    /// "x_learner of campaign 3 `spring`"
    pub fn label(&self) -> String {
        format!(
            "{} of campaign {} `{}`",
            self.method().name(),
            self.report.campaign_id,
            printable(&self.report.campaign)
        )
    }

    /// Each row's predicted uplift: the fall in the probability of going dormant when treated.
    pub fn predict(&self, x: &Data) -> Result<Vec<f64>> {
        let e = vec![self.treated_share(); x.n()];
        let u = self.fitted.predict(self.method(), x, &e)?;
        if let Some(i) = u.iter().position(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "{}: the uplift of user {} is not a number",
                printable(&self.dir.display().to_string()),
                x.users.get(i).copied().unwrap_or_default()
            )));
        }
        Ok(u)
    }

    /// What drives each of `rows`' uplift: its uplift minus the uplift with one feature set to
    /// `baseline` (occlusion, as the risk reasons of models without their own attributions).
    pub fn drivers(
        &self,
        x: &Data,
        rows: &[usize],
        baseline: &[f64; N_FEATURES],
    ) -> Option<Vec<[f64; N_FEATURES]>> {
        crate::engine::targeting::reasons::occlusion_by(x, rows, baseline, |d| self.predict(d).ok())
    }
}

/// The newest uplift folder `uplift train` wrote into `dir` (`uplift-*` holding an uplift
/// report, by the report's modification time, then name): the one the workbench offers when
/// not told which.
pub fn newest_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("uplift-"))
        .filter_map(|e| {
            let report = e.path().join(REPORT_FILE);
            let meta = std::fs::metadata(&report).ok().filter(|m| m.is_file())?;
            Some((meta.modified().ok()?, e.path()))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture folder with one node of the chosen method's first tree edited.
    fn damaged(edit: impl Fn(&mut serde_json::Value)) -> tempfile::TempDir {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/uplift_model");
        let d = tempfile::tempdir().unwrap();
        std::fs::copy(from.join(REPORT_FILE), d.path().join(REPORT_FILE)).unwrap();
        let text = std::fs::read_to_string(from.join(MODELS_FILE)).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(&mut v["direct"]["trees"][0]["nodes"][0]);
        std::fs::write(d.path().join(MODELS_FILE), v.to_string()).unwrap();
        d
    }

    #[test]
    fn a_damaged_model_is_refused_naming_its_file() {
        assert!(UpliftModel::load(damaged(|_| {}).path()).is_ok());
        for (what, edit) in [
            (
                "child",
                (|n: &mut serde_json::Value| n["left"] = 100_000.into()) as fn(&mut _),
            ),
            ("feature", |n| n["feature"] = 99.into()),
        ] {
            let d = damaged(edit);
            let e = UpliftModel::load(d.path())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(MODELS_FILE) && e.contains(what), "{what}: {e}");
        }
    }
}
