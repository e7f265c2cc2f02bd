//! Hand edits to the target list: users excluded from or added to it, and the targeting model
//! and K chosen in the workbench (so `export`, `report` and `campaign create` make the list the
//! analyst saw). Saved in the run directory (`edits.json`) on every change, whole or not at
//! all, so an edit shown as saved survives a crash or a kill. Two workbenches may edit one run:
//! each change re-reads the file under a lock and applies itself to what is there, so neither
//! overwrites the other's edits.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::eval::KPct;
use crate::engine::io::atomic::write_atomic;
use crate::engine::run::files::{EDITS_FILE, EDITS_LOCK};
use crate::engine::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Edits {
    /// Users taken out of the list even when ranked inside the top K.
    pub excluded: BTreeSet<i64>,
    /// Users put on the list even when ranked below the top K, in the order they were added.
    pub added: Vec<i64>,
    /// The targeting model picked in the workbench (none: the run's chosen model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The K set in the workbench, in percent (none: the run's first K).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "k_pct",
        with = "k_pct"
    )]
    pub k: Option<KPct>,
    /// The budget typed in the workbench (SPEC §5.2). K follows it unless `k` was set after it,
    /// when the list is the top K and the budget is what it is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "budget")]
    pub budget: Option<f64>,
}

/// A budget in the file, checked as a typed one is.
mod budget {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_f64(*b),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        v.map(|v| {
            crate::engine::targeting::money::costs::parse_budget(&v.to_string())
                .map_err(|e| serde::de::Error::custom(e.to_string()))
        })
        .transpose()
    }
}

/// K as a number of percent (`7.5`) in the file, exact to the basis point.
mod k_pct {
    use crate::engine::eval::KPct;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &Option<KPct>, s: S) -> Result<S::Ok, S::Error> {
        match k {
            Some(k) => s.serialize_f64(k.as_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KPct>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        v.map(|v| {
            KPct::parse(&v.to_string()).map_err(|e| serde::de::Error::custom(format!("k_pct: {e}")))
        })
        .transpose()
    }
}

/// One change to the edits, applied to whatever the file holds when it is saved.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Take a user off the list (a user added by hand just loses the addition).
    Exclude(i64),
    /// Take back a user's exclusion.
    Include(i64),
    /// Put a user on the list (lifting any exclusion).
    Add(i64),
    /// Target by this model.
    Model(String),
    /// Target the top K.
    K(KPct),
    /// Cut the list by a budget (K follows it), or drop the budget.
    Budget(Option<f64>),
    /// Drop the budget; K stays where the budget had put it.
    ClearBudget(KPct),
}

// A budget is never NaN (it is checked when typed and when read), so equality is total.
impl Eq for Edit {}

impl Edits {
    /// The model a list is made with, and why in words: `flag` (--model), else the model picked
    /// in the workbench, else `None` (the run's choice). Every command that makes a list says it.
    pub fn model_choice(&self, flag: Option<&str>) -> (Option<String>, &'static str) {
        match (flag, &self.model) {
            (Some(m), _) => (Some(m.to_string()), "--model"),
            (None, Some(m)) => (Some(m.clone()), "chosen in the workbench"),
            (None, None) => (None, "the run's choice"),
        }
    }

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
    pub fn load_for(run: &crate::engine::run::open::LoadedRun) -> Result<Edits> {
        let e = Edits::load(&run.dir)?;
        if e.is_empty() && e.model.is_none() {
            return Ok(e);
        }
        if let Some(m) = e.model.as_deref().filter(|m| run.model(m).is_none()) {
            return Err(Error::in_file(
                Edits::path(&run.dir),
                format!("the targeting model `{m}` is not among the run's models"),
            ));
        }
        let scored: std::collections::HashSet<i64> = run.test.users.iter().copied().collect();
        if let Some(u) = e
            .excluded
            .iter()
            .chain(&e.added)
            .find(|u| !scored.contains(u))
        {
            return Err(Error::in_file(
                Edits::path(&run.dir),
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

    /// Change the run's saved edits by `f`: under an exclusive lock on `edits.lock`, the file
    /// is read again, changed, and written back whole; the edits as saved are returned. Another
    /// workbench's edits saved since this one read the file are kept, not overwritten.
    pub fn update(run_dir: &Path, f: impl FnOnce(&mut Edits)) -> Result<Edits> {
        let lock_path = run_dir.join(EDITS_LOCK);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        // Blocks while another process changes the file: a read, a change and a small write.
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        let mut e = Edits::load(run_dir)?;
        f(&mut e);
        e.save(run_dir)?;
        // Dropping the file releases the lock.
        drop(lock);
        Ok(e)
    }

    /// No user excluded or added (a saved model or K is no hand edit of the list).
    pub fn is_empty(&self) -> bool {
        self.excluded.is_empty() && self.added.is_empty()
    }

    /// The same users excluded and added.
    pub fn same_users(&self, other: &Edits) -> bool {
        self.excluded == other.excluded && self.added == other.added
    }

    /// Apply one change.
    pub fn apply(&mut self, edit: &Edit) {
        match edit {
            Edit::Exclude(u) => {
                // Excluding an added user just takes the addition back.
                if let Some(i) = self.added.iter().position(|a| a == u) {
                    self.added.remove(i);
                } else {
                    self.excluded.insert(*u);
                }
            }
            Edit::Include(u) => {
                self.excluded.remove(u);
            }
            Edit::Add(u) => {
                self.excluded.remove(u);
                if !self.added.contains(u) {
                    self.added.push(*u);
                }
            }
            Edit::Model(m) => self.model = Some(m.clone()),
            Edit::K(k) => self.k = Some(*k),
            Edit::ClearBudget(k) => {
                self.budget = None;
                self.k = Some(*k);
            }
            Edit::Budget(b) => {
                self.budget = *b;
                // K follows a new budget; without one, the K on screen stays.
                if b.is_some() {
                    self.k = None;
                }
            }
        }
    }

    /// The change that excludes a user, or takes back their exclusion or addition, as `x` does.
    pub fn toggle_edit(&self, user: i64) -> Edit {
        if self.excluded.contains(&user) {
            Edit::Include(user)
        } else {
            Edit::Exclude(user)
        }
    }

    /// Exclude a user, or take back their exclusion; returns whether they are now excluded.
    pub fn toggle_exclude(&mut self, user: i64) -> bool {
        self.apply(&self.toggle_edit(user));
        self.excluded.contains(&user)
    }

    /// Add a user to the list (and lift any exclusion). False when already added.
    pub fn add(&mut self, user: i64) -> bool {
        let new = !self.added.contains(&user);
        self.apply(&Edit::Add(user));
        new
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
    fn the_targeting_choice_round_trips_and_old_files_still_load() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(EDITS_FILE),
            "{\"excluded\": [3], \"added\": []}",
        )
        .unwrap();
        let e = Edits::load(d.path()).unwrap();
        assert_eq!((e.model.as_deref(), e.k), (None, None));
        let e = Edits::update(d.path(), |e| {
            e.apply(&Edit::Model("gbdt".into()));
            e.apply(&Edit::K(KPct { bp: 725 }));
        })
        .unwrap();
        let text = std::fs::read_to_string(d.path().join(EDITS_FILE)).unwrap();
        assert!(
            text.contains("\"model\": \"gbdt\"") && text.contains("\"k_pct\": 7.25"),
            "{text}"
        );
        assert_eq!(Edits::load(d.path()).unwrap(), e);
        assert_eq!(e.excluded.iter().copied().collect::<Vec<_>>(), [3]);
        std::fs::write(
            d.path().join(EDITS_FILE),
            "{\"excluded\": [], \"added\": [], \"k_pct\": 0.001}",
        )
        .unwrap();
        let err = Edits::load(d.path()).unwrap_err().to_string();
        assert!(err.contains(EDITS_FILE) && err.contains("k_pct"), "{err}");
    }

    #[test]
    fn interleaved_edits_from_two_threads_all_survive() {
        // Two editors, each with its own view, change one run's edits at once: every change
        // is applied to the file as it is then, so none is lost.
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let editor = |base: i64| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let edit = if i % 2 == 0 {
                        Edit::Exclude(base + i)
                    } else {
                        Edit::Add(base + i)
                    };
                    Edits::update(&dir, |e| e.apply(&edit)).unwrap();
                }
            })
        };
        let (a, b) = (editor(1_000), editor(2_000));
        a.join().unwrap();
        b.join().unwrap();
        let e = Edits::load(&dir).unwrap();
        let want_excluded: BTreeSet<i64> = (0..40)
            .filter(|i| i % 2 == 0)
            .flat_map(|i| [1_000 + i, 2_000 + i])
            .collect();
        assert_eq!(e.excluded, want_excluded);
        let mut added = e.added.clone();
        added.sort();
        let mut want_added: Vec<i64> = (0..40)
            .filter(|i| i % 2 == 1)
            .flat_map(|i| [1_000 + i, 2_000 + i])
            .collect();
        want_added.sort();
        assert_eq!(added, want_added);
    }

    #[test]
    fn a_saved_budget_round_trips_and_a_bad_one_is_an_error_naming_file_and_key() {
        let d = tempfile::tempdir().unwrap();
        let e = Edits::update(d.path(), |e| e.apply(&Edit::Budget(Some(5000.5)))).unwrap();
        assert_eq!(Edits::load(d.path()).unwrap(), e);
        assert_eq!(e.budget, Some(5000.5));
        for bad in ["-5", "1e13", "\"abc\"", "true"] {
            std::fs::write(
                d.path().join(EDITS_FILE),
                format!("{{\"excluded\": [], \"added\": [], \"budget\": {bad}}}"),
            )
            .unwrap();
            let err = Edits::load(d.path()).unwrap_err().to_string();
            assert!(err.contains(EDITS_FILE), "{bad}: {err}");
        }
    }

    #[test]
    fn a_corrupt_edits_file_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(EDITS_FILE), "{\"excluded\": [").unwrap();
        let e = Edits::load(d.path()).unwrap_err().to_string();
        assert!(e.contains(EDITS_FILE), "{e}");
    }
}
