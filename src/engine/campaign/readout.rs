//! `campaign readout` (SPEC §7): with logs that cover the horizon `[t, t + H)`, each target is
//! dormant by the m2 rule (no event in the horizon, in the run's scope). Per tier and overall:
//! the dormant rates of treatment and control, the uplift `rate_control − rate_treatment`
//! (dormancy prevented per treated user) and its 90% interval (Newcombe's hybrid score).

use super::assign::Group;
use super::db::sql::{self, Sql, Val};
use super::interval::{Z90, newcombe};
use super::record::Campaign;
use crate::engine::data::{self, Scope};
use crate::engine::label::anchors::DataRange;
use crate::engine::text::{printable, thousands};
use crate::engine::time::{US_PER_DAY, fmt_anchor};
use crate::engine::{Error, Result};

/// The read-out of one tier, or of the whole campaign (`tier` = `all`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TierReadout {
    pub tier: String,
    pub n_treatment: u64,
    pub n_control: u64,
    pub dormant_treatment: u64,
    pub dormant_control: u64,
    /// `None` when a group is empty (a holdout of 0, or a tier too small for one).
    pub uplift: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The last event time of the logs read.
    pub data_end: String,
    pub read_at: String,
}

impl TierReadout {
    pub fn rate_treatment(&self) -> Option<f64> {
        (self.n_treatment > 0).then(|| self.dormant_treatment as f64 / self.n_treatment as f64)
    }
    pub fn rate_control(&self) -> Option<f64> {
        (self.n_control > 0).then(|| self.dormant_control as f64 / self.n_control as f64)
    }

    /// The uplift and its interval in percentage points (`+1.2 pts [-0.4, +2.8]`); `None`
    /// without a control group.
    pub fn uplift_text(&self) -> Option<String> {
        let (u, l, h) = (self.uplift?, self.ci_low?, self.ci_high?);
        Some(format!(
            "{:+.1} pts [{:+.1}, {:+.1}]",
            100.0 * u,
            100.0 * l,
            100.0 * h
        ))
    }
}

/// The name of the overall row (reserved in the tier config, which owns the name).
pub use crate::engine::targeting::tiers::OVERALL_ROW as ALL;

/// A target's tier and group, and whether it went dormant.
pub struct Outcome<'a> {
    pub tier: &'a str,
    pub group: Group,
    pub dormant: bool,
}

/// Counts, uplift and interval per tier (in the order tiers first appear) and overall.
pub fn tally(outcomes: &[Outcome], data_end: &str, read_at: &str) -> Vec<TierReadout> {
    let mut tiers: Vec<&str> = Vec::new();
    for o in outcomes {
        if !tiers.contains(&o.tier) {
            tiers.push(o.tier);
        }
    }
    let one = |name: &str, keep: &dyn Fn(&Outcome) -> bool| {
        let (mut nt, mut nc, mut dt, mut dc) = (0u64, 0u64, 0u64, 0u64);
        for o in outcomes.iter().filter(|o| keep(o)) {
            match o.group {
                Group::Treatment => {
                    nt += 1;
                    dt += u64::from(o.dormant);
                }
                Group::Control => {
                    nc += 1;
                    dc += u64::from(o.dormant);
                }
            }
        }
        let ci = newcombe(dc, nc, dt, nt, Z90);
        TierReadout {
            tier: name.to_string(),
            n_treatment: nt,
            n_control: nc,
            dormant_treatment: dt,
            dormant_control: dc,
            uplift: ci.map(|c| c.0),
            ci_low: ci.map(|c| c.1),
            ci_high: ci.map(|c| c.2),
            data_end: data_end.to_string(),
            read_at: read_at.to_string(),
        }
    };
    let mut out: Vec<TierReadout> = tiers
        .iter()
        .map(|t| one(t, &|o: &Outcome| o.tier == *t))
        .collect();
    out.push(one(ALL, &|_: &Outcome| true));
    out
}

/// A campaign's targets: (user, tier, group).
pub fn targets(db: &mut dyn Sql, c: &Campaign) -> Result<Vec<(i64, String, Group)>> {
    let source = db.describe();
    db.query(
        "SELECT user_id, tier, grp FROM campaign_targets WHERE campaign_id = ? ORDER BY `rank`, user_id",
        &[Val::Int(c.id)],
    )?
    .into_iter()
    .map(|r| {
        let bad = || {
            Error::Config(format!(
                "{source}: a campaign_targets row of campaign {} is missing or mistyped",
                c.id
            ))
        };
        let user = r.first().and_then(Val::int).ok_or_else(bad)?;
        let tier = r.get(1).and_then(Val::text).ok_or_else(bad)?.to_string();
        let group = r
            .get(2)
            .and_then(Val::text)
            .and_then(Group::parse)
            .ok_or_else(bad)?;
        Ok((user, tier, group))
    })
    .collect()
}

/// Read a campaign out from `data` (its logs must cover the horizon) and store the read-out,
/// replacing an earlier one. Logs that end too soon: an error naming the last day needed, the
/// logs' true last event and the days missing, and nothing stored. Logs that hold none of the
/// campaign's targets (another shop's, another scope's) are refused too: they would read as
/// every target dormant in both groups.
pub fn read_out(db: &mut dyn Sql, c: &Campaign, data: &[String]) -> Result<Vec<TierReadout>> {
    let name = format!("`{}`", printable(&c.name));
    let scope: Scope = serde_json::from_str(&c.scope).map_err(|e| {
        Error::Config(format!(
            "campaign {name}: its scope is not valid JSON ({e})"
        ))
    })?;
    let (t, end) = (c.anchor_us()?, c.horizon_end_us()?);
    let files = data::resolve(data)?;
    let targets = targets(db, c)?;
    if targets.is_empty() {
        return Err(Error::Config(format!(
            "campaign {name} has no targets in {}",
            db.describe()
        )));
    }
    // One streaming pass: the logs' range, the targets seen and those active in the horizon;
    // no event is held.
    let ids: Vec<i64> = targets.iter().map(|(u, _, _)| *u).collect();
    let log = data::activity::activity(
        &files,
        &scope,
        Some(&ids),
        data::Within { from: t, to: end },
    )?;
    let range = DataRange::of(log.first_ts, log.last_ts);
    if range.end < end {
        // The same rule `campaign list` states (`needs logs through …`), and the logs' real
        // last event: their range's end is the midnight after it, which reads as a day more.
        let missing = (end - range.end + US_PER_DAY - 1) / US_PER_DAY;
        return Err(Error::Config(format!(
            "campaign {name} needs logs through {} (its horizon runs to {}), but the last \
             event in the logs is at {}: {missing} day(s) of logs are missing; nothing was \
             stored",
            c.last_day_needed()?,
            fmt_anchor(end),
            fmt_anchor(log.last_ts),
        ))
        .hint("read it out again when the logs cover the horizon"));
    }
    if range.start > t {
        return Err(Error::Config(format!(
            "the logs start at {}, after campaign {name}'s anchor {}: a user's visit between \
             the two would be missed; nothing was stored",
            fmt_anchor(range.start),
            printable(&c.anchor)
        )));
    }
    if log.seen == 0 {
        return Err(Error::Config(format!(
            "none of campaign {name}'s {} targets has an event in these logs (overlap 0 of \
             {}, in the campaign's scope): they are not the logs of the campaign's users, and \
             would read as every target dormant; nothing was stored",
            thousands(targets.len() as u64),
            thousands(targets.len() as u64)
        ))
        .hint("give the logs the campaign's run was made from, extended past its horizon"));
    }
    let active = &log.active;
    let outcomes: Vec<Outcome> = targets
        .iter()
        .map(|(u, tier, g)| Outcome {
            tier,
            group: *g,
            dormant: !active.contains(u),
        })
        .collect();
    let read_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let rows = tally(&outcomes, &fmt_anchor(log.last_ts), &read_at);
    store(db, c.id, &rows)?;
    Ok(rows)
}

const READOUT_COLS: [&str; 11] = [
    "campaign_id",
    "tier",
    "n_treatment",
    "n_control",
    "dormant_treatment",
    "dormant_control",
    "uplift",
    "ci_low",
    "ci_high",
    "data_end",
    "read_at",
];

fn store(db: &mut dyn Sql, id: i64, rows: &[TierReadout]) -> Result<()> {
    let vals: Vec<Vec<Val>> = rows
        .iter()
        .map(|r| {
            vec![
                Val::Int(id),
                r.tier.as_str().into(),
                Val::Int(r.n_treatment as i64),
                Val::Int(r.n_control as i64),
                Val::Int(r.dormant_treatment as i64),
                Val::Int(r.dormant_control as i64),
                r.uplift.into(),
                r.ci_low.into(),
                r.ci_high.into(),
                r.data_end.as_str().into(),
                r.read_at.as_str().into(),
            ]
        })
        .collect();
    sql::transaction(db, |db| {
        db.exec(
            "DELETE FROM campaign_readouts WHERE campaign_id = ?",
            &[Val::Int(id)],
        )?;
        sql::insert_rows(db, "campaign_readouts", &READOUT_COLS, &vals)
    })
}

/// The stored read-out of a campaign (empty when it was never read), tiers first, `all` last.
pub fn stored(db: &mut dyn Sql, c: &Campaign) -> Result<Vec<TierReadout>> {
    let source = db.describe();
    let rows = db.query(
        &format!(
            "SELECT {} FROM campaign_readouts WHERE campaign_id = ?",
            READOUT_COLS[1..].join(", ")
        ),
        &[Val::Int(c.id)],
    )?;
    let order = db.query(
        "SELECT tier, MIN(`rank`) FROM campaign_targets WHERE campaign_id = ? GROUP BY tier",
        &[Val::Int(c.id)],
    )?;
    let mut out = rows
        .iter()
        .map(|r| {
            let bad = || Error::Config(format!("{source}: a campaign_readouts row is mistyped"));
            let n = |i: usize| {
                r.get(i)
                    .and_then(Val::int)
                    .map(|v| v as u64)
                    .ok_or_else(bad)
            };
            let text = |i: usize| {
                r.get(i)
                    .and_then(Val::text)
                    .map(str::to_string)
                    .ok_or_else(bad)
            };
            Ok(TierReadout {
                tier: text(0)?,
                n_treatment: n(1)?,
                n_control: n(2)?,
                dormant_treatment: n(3)?,
                dormant_control: n(4)?,
                uplift: r.get(5).and_then(Val::real),
                ci_low: r.get(6).and_then(Val::real),
                ci_high: r.get(7).and_then(Val::real),
                data_end: text(8)?,
                read_at: text(9)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let rank_of = |tier: &str| {
        if tier == ALL {
            return i64::MAX;
        }
        order
            .iter()
            .find(|r| r.first().and_then(Val::text) == Some(tier))
            .and_then(|r| r.get(1).and_then(Val::int))
            .unwrap_or(i64::MAX - 1)
    };
    out.sort_by_key(|r| rank_of(&r.tier));
    Ok(out)
}

/// The overall read-out in one plain sentence.
pub fn verdict(all: &TierReadout) -> String {
    match (all.ci_low, all.ci_high) {
        (Some(l), _) if l > 0.0 => {
            "The campaign prevented dormancy: the whole interval lies above zero.".into()
        }
        (_, Some(h)) if h < 0.0 => {
            "Treated users went dormant more often than the control: the whole interval lies \
             below zero."
                .into()
        }
        (Some(_), Some(_)) => "The interval straddles zero: this read-out cannot tell the \
                               campaign's effect from chance (a larger holdout or list narrows it)."
            .into(),
        _ => "No control group: there is no uplift to read.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_by_tier_and_overall() {
        use Group::{Control as C, Treatment as T};
        let o = |tier, group, dormant| Outcome {
            tier,
            group,
            dormant,
        };
        let outcomes = [
            o("A", T, true),
            o("A", T, false),
            o("A", C, true),
            o("B", T, false),
            o("B", C, false),
            o("B", C, true),
        ];
        let r = tally(&outcomes, "e", "r");
        assert_eq!(
            r.iter().map(|r| r.tier.as_str()).collect::<Vec<_>>(),
            ["A", "B", ALL]
        );
        // A: treatment 1 of 2 dormant, control 1 of 1 → uplift 1 − 0.5.
        assert_eq!((r[0].n_treatment, r[0].dormant_treatment), (2, 1));
        assert_eq!((r[0].n_control, r[0].dormant_control), (1, 1));
        assert_eq!(r[0].uplift, Some(0.5));
        // All: treatment 1/3, control 2/3 → 1/3.
        assert!((r[2].uplift.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        let (lo, hi) = (r[2].ci_low.unwrap(), r[2].ci_high.unwrap());
        assert!(lo < 1.0 / 3.0 && 1.0 / 3.0 < hi);
        // No control at all: no uplift.
        let r = tally(&[o("A", T, true)], "e", "r");
        assert_eq!(r[0].uplift, None);
    }
}
