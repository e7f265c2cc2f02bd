//! Campaigns (SPEC §7): a target list split into treatment and a randomised control group,
//! stored where a CRM can read it, and read out a horizon later: what did the offer prevent?

pub mod assign;
pub mod create;
pub mod interval;
mod mysql;
pub mod readout;
mod sqlite;
pub mod store;

use crate::engine::time::parse_anchor;
use crate::engine::{Error, Result};
use store::{Sql, Val};

/// One row of `campaigns`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, UTC.
    pub created_at: String,
    pub run_id: String,
    pub model: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, UTC.
    pub anchor: String,
    pub k_bp: u32,
    pub holdout_bp: u32,
    pub seed: i64,
    pub horizon_days: u32,
    /// The run's scope (JSON): the read-out counts events in the same scope.
    pub scope: String,
    pub run_dir: String,
}

impl Campaign {
    /// The anchor in µs.
    pub fn anchor_us(&self) -> Result<i64> {
        parse_anchor(&self.anchor).ok_or_else(|| {
            Error::Config(format!(
                "campaign {}: its anchor `{}` is not a time",
                self.name, self.anchor
            ))
        })
    }

    /// The end of the horizon, `anchor + H`, in µs.
    pub fn horizon_end_us(&self) -> Result<i64> {
        Ok(self.anchor_us()? + i64::from(self.horizon_days) * crate::engine::time::US_PER_DAY)
    }
}

const CAMPAIGN_COLS: &str = "id, name, created_at, run_id, model, anchor, k_bp, holdout_bp, \
                             seed, horizon_days, scope, run_dir";

fn campaign_of(r: &[Val], source: &str) -> Result<Campaign> {
    let bad =
        |what: &str| Error::Config(format!("{source}: campaigns.{what} is missing or mistyped"));
    let int = |i: usize, what: &str| r.get(i).and_then(Val::int).ok_or_else(|| bad(what));
    let text = |i: usize, what: &str| {
        r.get(i)
            .and_then(Val::text)
            .map(str::to_string)
            .ok_or_else(|| bad(what))
    };
    let small = |i: usize, what: &str| -> Result<u32> {
        u32::try_from(int(i, what)?).map_err(|_| bad(what))
    };
    Ok(Campaign {
        id: int(0, "id")?,
        name: text(1, "name")?,
        created_at: text(2, "created_at")?,
        run_id: text(3, "run_id")?,
        model: text(4, "model")?,
        anchor: text(5, "anchor")?,
        k_bp: small(6, "k_bp")?,
        holdout_bp: small(7, "holdout_bp")?,
        seed: int(8, "seed")?,
        horizon_days: small(9, "horizon_days")?,
        scope: text(10, "scope")?,
        run_dir: text(11, "run_dir")?,
    })
}

/// Every campaign, oldest first.
pub fn campaigns(db: &mut dyn Sql) -> Result<Vec<Campaign>> {
    let source = db.describe();
    db.query(
        &format!("SELECT {CAMPAIGN_COLS} FROM campaigns ORDER BY id"),
        &[],
    )?
    .iter()
    .map(|r| campaign_of(r, &source))
    .collect()
}

/// A campaign by id or by name; a clear error naming the ones there are when neither matches.
pub fn find(db: &mut dyn Sql, id_or_name: &str) -> Result<Campaign> {
    let all = campaigns(db)?;
    let by_name = all.iter().find(|c| c.name == id_or_name);
    let by_id = id_or_name
        .parse::<i64>()
        .ok()
        .and_then(|id| all.iter().find(|c| c.id == id));
    if let Some(c) = by_name.or(by_id) {
        return Ok(c.clone());
    }
    let known: Vec<String> = all
        .iter()
        .rev()
        .take(10)
        .map(|c| format!("{} ({})", c.id, c.name))
        .collect();
    let e = Error::Config(format!("no campaign `{id_or_name}` in {}", db.describe()));
    Err(if known.is_empty() {
        e.hint("it holds no campaigns yet: `churn-tui campaign create --run DIR` makes one")
    } else {
        e.hint(format!(
            "its campaigns (newest first): {}",
            known.join(", ")
        ))
    })
}

/// What a campaign stands at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The horizon has not passed yet (by the clock).
    WaitingForData,
    /// The horizon is over: logs that cover it can be read out.
    Ready,
    /// Read out at least once.
    Read,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::WaitingForData => "waiting for data",
            Status::Ready => "ready",
            Status::Read => "read",
        }
    }
}

/// A campaign with its group sizes, status and latest read-out, for lists.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub campaign: Campaign,
    pub n_treatment: u64,
    pub n_control: u64,
    pub status: Status,
    pub readout: Vec<readout::TierReadout>,
}

/// Every campaign with its status; `now_us` decides whether a horizon is over.
pub fn summaries(db: &mut dyn Sql, now_us: i64) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    let sizes = db.query(
        "SELECT campaign_id, grp, COUNT(*) FROM campaign_targets GROUP BY campaign_id, grp",
        &[],
    )?;
    for c in campaigns(db)? {
        let size = |g: &str| {
            sizes
                .iter()
                .find(|r| r[0].int() == Some(c.id) && r[1].text() == Some(g))
                .and_then(|r| r[2].int())
                .unwrap_or(0) as u64
        };
        let readout = readout::stored(db, &c)?;
        let status = if !readout.is_empty() {
            Status::Read
        } else if c.horizon_end_us()? <= now_us {
            Status::Ready
        } else {
            Status::WaitingForData
        };
        out.push(Summary {
            n_treatment: size("treatment"),
            n_control: size("control"),
            campaign: c,
            status,
            readout,
        });
    }
    Ok(out)
}

/// Open a database and bring its tables up to date.
pub fn open(url: &store::DbUrl) -> Result<Box<dyn Sql>> {
    let mut db = store::connect(url)?;
    store::migrate(db.as_mut())?;
    Ok(db)
}
