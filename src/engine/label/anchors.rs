//! Anchor times and their eligibility.

use crate::engine::time::{US_PER_DAY, floor_day, fmt_anchor, month_start, next_month_start};
use crate::engine::{Error, Result};

/// Lookback `W` and horizon `H`, in whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub lookback_days: u32,
    pub horizon_days: u32,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            lookback_days: 30,
            horizon_days: 30,
        }
    }
}

impl Window {
    pub fn lookback_us(&self) -> i64 {
        self.lookback_days as i64 * US_PER_DAY
    }
    pub fn horizon_us(&self) -> i64 {
        self.horizon_days as i64 * US_PER_DAY
    }
    /// `W/2`, exactly (W = 31 gives 15.5 days).
    pub fn half_lookback_us(&self) -> i64 {
        self.lookback_days as i64 * US_PER_DAY / 2
    }
}

/// How anchors are chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AnchorChoice {
    /// 00:00 UTC on the 1st of every month that is eligible.
    #[default]
    Monthly,
    /// These anchors, split by the default rule.
    List(Vec<i64>),
    /// These anchors, split as given.
    Assigned {
        train: Vec<i64>,
        val: Vec<i64>,
        test: Vec<i64>,
    },
}

/// The data's time range as eligibility sees it: `[first day 00:00, day after the last event)`.
#[derive(Debug, Clone, Copy)]
pub struct DataRange {
    pub start: i64,
    pub end: i64,
}

impl DataRange {
    pub fn of(first_ts: i64, last_ts: i64) -> Self {
        DataRange {
            start: floor_day(first_ts),
            end: floor_day(last_ts).saturating_add(US_PER_DAY),
        }
    }

    /// `[t − W, t + H)` lies inside the data's range.
    pub fn is_eligible(&self, t: i64, w: &Window) -> bool {
        self.start <= t.saturating_sub(w.lookback_us())
            && t.saturating_add(w.horizon_us()) <= self.end
    }

    /// Every monthly anchor that is eligible, ascending.
    pub fn monthly(&self, w: &Window) -> Vec<i64> {
        let mut out = Vec::new();
        let mut t = month_start(self.start);
        while let Some(a) = t {
            if a > self.end {
                break;
            }
            if self.is_eligible(a, w) {
                out.push(a);
            }
            t = next_month_start(a);
        }
        out
    }

    /// An explicitly given anchor that is not eligible is an error.
    pub fn check(&self, t: i64, w: &Window) -> Result<()> {
        if self.is_eligible(t, w) {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "anchor {} is not eligible: [t − {}d, t + {}d) must lie inside the data's range {} – {}",
                fmt_anchor(t),
                w.lookback_days,
                w.horizon_days,
                fmt_anchor(self.start),
                fmt_anchor(self.end)
            )))
        }
    }
}
