//! The uplift per tier a plan takes its return from (SPEC §5.3): the read-out of a named
//! campaign, or of the latest campaign of the run that has one. When there is none, the reason
//! says which campaign would give it, and how; no uplift is ever made up.

use super::db::Sql;
use super::readout::{self, ALL, TierReadout};
use super::record::{Campaign, find};
use super::status::{Summary, summaries};
use crate::engine::Result;
use crate::engine::targeting::money::plan::{TierUplift, Uplifts};
use crate::engine::text::printable;

/// The uplifts of a read-out's rows, tiers only (the overall row and tiers without a control
/// group give none); `None` when the campaign was never read out.
pub fn of_readout(c: &Campaign, rows: &[TierReadout]) -> Option<Uplifts> {
    let first = rows.first()?;
    let tiers = rows
        .iter()
        .filter(|r| r.tier != ALL)
        .filter_map(|r| {
            Some(TierUplift {
                tier: r.tier.clone(),
                uplift: r.uplift?,
                low: r.ci_low?,
                high: r.ci_high?,
                n_treatment: r.n_treatment,
                n_control: r.n_control,
            })
        })
        .collect();
    Some(Uplifts {
        campaign_id: c.id,
        campaign: c.name.clone(),
        data_end: first.data_end.clone(),
        tiers,
    })
}

/// What would give a run's plan its uplifts, said when none of its campaigns has a read-out.
fn readout_hint(c: &Campaign) -> String {
    let day = c
        .last_day_needed()
        .unwrap_or_else(|_| "its horizon's end".into());
    format!(
        "campaign `{}` (id {}) has no read-out yet: `churn-tui campaign readout --campaign \
         id:{} --data LOGS`, with logs through {day}, gives the uplift per tier",
        printable(&c.name),
        c.id,
        c.id
    )
}

/// The uplifts of run `run_id`'s latest read-out campaign among `all`, or what would give them
/// (`db` names the database in the message).
pub fn latest(all: &[Summary], run_id: &str, db: &str) -> std::result::Result<Uplifts, String> {
    let mut mine: Vec<&Summary> = all.iter().filter(|s| s.campaign.run_id == run_id).collect();
    mine.sort_by_key(|s| std::cmp::Reverse(s.campaign.id));
    if let Some(u) = mine
        .iter()
        .find_map(|s| of_readout(&s.campaign, &s.readout))
    {
        return Ok(u);
    }
    Err(match mine.first() {
        Some(s) => readout_hint(&s.campaign),
        None => format!(
            "no campaign of this run in {db}: `churn-tui campaign create --run DIR` (with a \
             holdout), read out a horizon later, gives the uplift per tier"
        ),
    })
}

/// The uplifts a plan of run `run_id` uses: `which` campaign's (a name or an id), else the
/// latest read-out campaign of the run. `Err(why)` inside says what would give them.
pub fn for_run(
    db: &mut dyn Sql,
    run_id: &str,
    which: Option<&str>,
) -> Result<std::result::Result<Uplifts, String>> {
    if let Some(w) = which {
        let c = find(db, w)?;
        let rows = readout::stored(db, &c)?;
        return Ok(of_readout(&c, &rows).ok_or_else(|| readout_hint(&c)));
    }
    let now = chrono::Utc::now().timestamp_micros();
    let all = summaries(db, now)?;
    Ok(latest(&all, run_id, &db.describe()))
}
