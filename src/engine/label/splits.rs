//! Train/val/test assignment of anchors with purge (SPEC §2).

use super::anchors::{AnchorChoice, DataRange, Window};
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];
    pub fn as_str(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which anchors are used, in which split, and which were purged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnchorPlan {
    /// Used anchors, ascending by time.
    pub anchors: Vec<(i64, Split)>,
    /// Eligible anchors dropped because their labels would look into a later split.
    pub purged: Vec<i64>,
    pub window: Window,
}

impl AnchorPlan {
    pub fn of_split(&self, split: Split) -> Vec<i64> {
        self.anchors
            .iter()
            .filter(|(_, s)| *s == split)
            .map(|(t, _)| *t)
            .collect()
    }
}

fn list(ts: &[i64]) -> String {
    if ts.is_empty() {
        "none".into()
    } else {
        ts.iter()
            .map(|t| fmt_anchor(*t))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The default rule: test = last eligible anchor; val = latest with `t + H ≤ test`; train =
/// every `t` with `t + H ≤ val`. Everything else is purged.
pub fn split_default(anchors: &[i64], w: &Window) -> Result<AnchorPlan> {
    let mut sorted = anchors.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let h = w.horizon_us();
    let empty = |split: &str| Error::EmptySplit {
        split: split.to_string(),
        why: format!(
            "; eligible anchors tried: {} (lookback {}d, horizon {}d)",
            list(&sorted),
            w.lookback_days,
            w.horizon_days
        ),
    };
    let test = *sorted.last().ok_or_else(|| empty("test"))?;
    let val = sorted
        .iter()
        .rev()
        .copied()
        .find(|t| t + h <= test)
        .ok_or_else(|| empty("val"))?;
    let train: Vec<i64> = sorted.iter().copied().filter(|t| t + h <= val).collect();
    if train.is_empty() {
        return Err(empty("train"));
    }
    let mut plan = AnchorPlan {
        anchors: Vec::new(),
        purged: Vec::new(),
        window: *w,
    };
    for t in sorted {
        if t == test {
            plan.anchors.push((t, Split::Test));
        } else if t == val {
            plan.anchors.push((t, Split::Val));
        } else if train.contains(&t) {
            plan.anchors.push((t, Split::Train));
        } else {
            plan.purged.push(t);
        }
    }
    Ok(plan)
}

/// Explicit assignment: an anchor whose label window ends after the first anchor of the next
/// split, as given, is purged.
pub fn split_assigned(train: &[i64], val: &[i64], test: &[i64], w: &Window) -> Result<AnchorPlan> {
    let h = w.horizon_us();
    let tried = |s: &[i64]| list(s);
    // A label window must end by the first anchor of every later split.
    let first_test = test.iter().min().copied();
    let first_val = val.iter().chain(test).min().copied();
    let mut plan = AnchorPlan {
        anchors: Vec::new(),
        purged: Vec::new(),
        window: *w,
    };
    for (split, given, next) in [
        (Split::Train, train, first_val),
        (Split::Val, val, first_test),
        (Split::Test, test, None),
    ] {
        let mut kept = 0;
        for &t in given {
            if next.is_some_and(|n| t + h > n) {
                plan.purged.push(t);
            } else {
                plan.anchors.push((t, split));
                kept += 1;
            }
        }
        if kept == 0 {
            return Err(Error::EmptySplit {
                split: split.to_string(),
                why: format!(
                    "; anchors tried: {} (purged: {})",
                    tried(given),
                    list(&plan.purged)
                ),
            });
        }
    }
    plan.anchors.sort_unstable();
    plan.anchors.dedup();
    plan.purged.sort_unstable();
    plan.purged.dedup();
    Ok(plan)
}

/// Choose anchors over a data range and split them.
pub fn plan(choice: &AnchorChoice, range: &DataRange, w: &Window) -> Result<AnchorPlan> {
    match choice {
        AnchorChoice::Monthly => {
            let anchors = range.monthly(w);
            if anchors.is_empty() {
                return Err(Error::Config(format!(
                    "the data ({} – {}) is too short for any monthly anchor with a {}-day lookback and a {}-day horizon",
                    fmt_anchor(range.start),
                    fmt_anchor(range.end),
                    w.lookback_days,
                    w.horizon_days
                )));
            }
            split_default(&anchors, w)
        }
        AnchorChoice::List(anchors) => {
            for &t in anchors {
                range.check(t, w)?;
            }
            split_default(anchors, w)
        }
        AnchorChoice::Assigned { train, val, test } => {
            for &t in train.iter().chain(val).chain(test) {
                range.check(t, w)?;
            }
            split_assigned(train, val, test, w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::parse_anchor;

    fn d(s: &str) -> i64 {
        parse_anchor(s).unwrap()
    }

    #[test]
    fn spec_example_oct_to_apr() {
        // Events from 2019-10-01 00:00 to 2020-04-30 23:59 (7 monthly files).
        let range = DataRange::of(d("2019-10-01"), d("2020-04-30 23:59:59"));
        let w = Window::default();
        let p = plan(&AnchorChoice::Monthly, &range, &w).unwrap();
        assert_eq!(
            p.anchors,
            vec![
                (d("2019-11-01"), Split::Train),
                (d("2019-12-01"), Split::Train),
                (d("2020-01-01"), Split::Train),
                (d("2020-03-01"), Split::Val),
                (d("2020-04-01"), Split::Test),
            ]
        );
        assert_eq!(p.purged, vec![d("2020-02-01")]);
    }

    #[test]
    fn eligibility_boundaries() {
        let range = DataRange::of(d("2019-10-01 12:00:00"), d("2019-12-30 08:00:00"));
        let w = Window::default();
        // start = Oct 1 00:00; end = Dec 31 00:00.
        assert!(range.is_eligible(d("2019-10-31"), &w)); // t − 30d = Oct 1 exactly
        assert!(!range.is_eligible(d("2019-10-30 23:59:59"), &w));
        assert!(range.is_eligible(d("2019-12-01"), &w)); // t + 30d = Dec 31 exactly
        assert!(!range.is_eligible(d("2019-12-01 00:00:01"), &w));
        assert!(range.check(d("2019-12-02"), &w).is_err());
    }

    #[test]
    fn explicit_assignment_purges_overlapping_labels() {
        let w = Window::default();
        let p = split_assigned(
            &[d("2019-11-01"), d("2019-12-01"), d("2019-12-15")],
            &[d("2020-01-01")],
            &[d("2020-02-01")],
            &w,
        )
        .unwrap();
        // Dec 15 + 30d = Jan 14 > Jan 1: purged. Dec 1 + 30d = Dec 31 <= Jan 1: kept.
        assert_eq!(p.purged, vec![d("2019-12-15")]);
        assert_eq!(
            p.of_split(Split::Train),
            vec![d("2019-11-01"), d("2019-12-01")]
        );
        let err = split_assigned(
            &[d("2019-12-15")],
            &[d("2020-01-01")],
            &[d("2020-02-01")],
            &w,
        )
        .unwrap_err();
        assert!(err.to_string().contains("train split is empty"), "{err}");
        assert!(err.is_empty_split());
        assert!(err.to_string().contains("2019-12-15T00:00:00Z"), "{err}");
        assert!(err.hint("a hint does not hide it").is_empty_split());
    }

    #[test]
    fn too_few_anchors_names_them() {
        let w = Window::default();
        let err = split_default(&[d("2019-11-01"), d("2019-12-01")], &w).unwrap_err();
        assert!(err.to_string().contains("train split is empty"), "{err}");
        assert!(err.is_empty_split());
        assert!(
            err.to_string()
                .contains("2019-11-01T00:00:00Z, 2019-12-01T00:00:00Z"),
            "{err}"
        );
    }
}
