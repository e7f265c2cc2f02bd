//! Where each campaign stands (waiting for its horizon, due, read out), with its group sizes
//! and latest read-out: what `campaign list` and the Campaigns tab show.

use super::db::Sql;
use super::readout;
use super::record::{Campaign, campaigns};
use crate::engine::Result;

/// What a campaign stands at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The horizon has not passed yet (by the clock): no log can cover it.
    WaitingForData,
    /// The horizon is over by the clock. Whether logs that cover it exist is not known here
    /// (`list` reads no logs), so this promises no read-out: it is due once they do.
    Due,
    /// Read out at least once.
    Read,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::WaitingForData => "waiting for data",
            Status::Due => "due",
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

impl Summary {
    /// The status as `campaign list` shows it: an unread campaign says what its read-out needs,
    /// the read-out's own rule (SPEC §7), never that logs are there.
    pub fn status_text(&self) -> String {
        match (self.status, self.campaign.last_day_needed()) {
            (Status::Read, _) => self.status.label().to_string(),
            (s, Ok(day)) => format!("{}: needs logs through {day}", s.label()),
            (s, Err(_)) => s.label().to_string(),
        }
    }
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
            Status::Due
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
