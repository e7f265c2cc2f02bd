//! Hand edits to the target list: users excluded from or added to it. Saved in the run
//! directory (`edits.json`) on every change, whole or not at all, so an edit shown as saved
//! survives a crash or a kill.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::atomic::write_atomic;
use crate::engine::{Error, Result};

pub const EDITS_FILE: &str = "edits.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Edits {
    /// Users taken out of the list even when ranked inside the top K.
    pub excluded: BTreeSet<i64>,
    /// Users put on the list even when ranked below the top K, in the order they were added.
    pub added: Vec<i64>,
}

impl Edits {
    pub fn path(run_dir: &Path) -> PathBuf {
        run_dir.join(EDITS_FILE)
    }

    /// The run's saved edits; none when the file does not exist.
    pub fn load(run_dir: &Path) -> Result<Edits> {
        let p = Edits::path(run_dir);
        match std::fs::read_to_string(&p) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::in_file(&p, format!("not valid edits JSON: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Edits::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    /// The run's saved edits, each id checked against the users scored at the test anchor: a
    /// hand-edited file naming someone else is refused, naming the file.
    pub fn load_for(wb: &crate::engine::loaded_run::LoadedRun) -> Result<Edits> {
        let e = Edits::load(&wb.dir)?;
        if e.is_empty() {
            return Ok(e);
        }
        let scored: std::collections::HashSet<i64> = wb.test.users.iter().copied().collect();
        if let Some(u) = e
            .excluded
            .iter()
            .chain(&e.added)
            .find(|u| !scored.contains(u))
        {
            return Err(Error::in_file(
                Edits::path(&wb.dir),
                format!(
                    "user {u} is not among the {} users scored at the test anchor",
                    scored.len()
                ),
            ));
        }
        Ok(e)
    }

    /// Write the edits (temp file + fsync + rename).
    pub fn save(&self, run_dir: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Config(format!("edits: {e}")))?;
        write_atomic(&Edits::path(run_dir), |w| {
            w.write_all(text.as_bytes())?;
            w.write_all(b"\n")
        })
    }

    pub fn is_empty(&self) -> bool {
        self.excluded.is_empty() && self.added.is_empty()
    }

    /// Exclude a user, or take back their exclusion; returns whether they are now excluded.
    pub fn toggle_exclude(&mut self, user: i64) -> bool {
        if self.excluded.remove(&user) {
            false
        } else {
            // Excluding an added user just takes the addition back.
            if let Some(i) = self.added.iter().position(|&u| u == user) {
                self.added.remove(i);
                return false;
            }
            self.excluded.insert(user);
            true
        }
    }

    /// Add a user to the list (and lift any exclusion). False when already added.
    pub fn add(&mut self, user: i64) -> bool {
        self.excluded.remove(&user);
        if self.added.contains(&user) {
            return false;
        }
        self.added.push(user);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_and_missing_file_is_empty() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(Edits::load(d.path()).unwrap(), Edits::default());
        let mut e = Edits::default();
        assert!(e.toggle_exclude(7));
        assert!(e.add(9));
        assert!(!e.add(9));
        e.save(d.path()).unwrap();
        assert_eq!(Edits::load(d.path()).unwrap(), e);
        assert!(!e.toggle_exclude(7), "second toggle includes again");
        assert!(
            !e.toggle_exclude(9),
            "excluding an added user removes the addition"
        );
        assert!(e.is_empty());
    }

    #[test]
    fn a_corrupt_edits_file_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(EDITS_FILE), "{\"excluded\": [").unwrap();
        let e = Edits::load(d.path()).unwrap_err().to_string();
        assert!(e.contains(EDITS_FILE), "{e}");
    }
}
