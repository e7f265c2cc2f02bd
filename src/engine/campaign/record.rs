//! A campaign as stored (one row of `campaigns`), and finding campaigns by id or name.

use super::db::{Sql, Val};
use crate::engine::text::{clip, printable};
use crate::engine::time::{fmt_anchor, parse_anchor};
use crate::engine::{Error, Result};

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
                printable(&self.name),
                printable(&self.anchor)
            ))
        })
    }

    /// The end of the horizon, `anchor + H`, in µs.
    pub fn horizon_end_us(&self) -> Result<i64> {
        Ok(self.anchor_us()? + i64::from(self.horizon_days) * crate::engine::time::US_PER_DAY)
    }

    /// The last day a read-out needs logs of (`YYYY-MM-DD`): the day of the horizon's last
    /// moment, `t + H − 1 µs`. Logs whose last event falls on it or later cover the horizon
    /// (SPEC §2: a log's range runs to the day after its last event).
    pub fn last_day_needed(&self) -> Result<String> {
        Ok(fmt_anchor(self.horizon_end_us()? - 1)[..10].to_string())
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

/// A campaign by id or by name (`id:N` for an id only); a clear error naming the ones there are
/// when neither matches, and a refusal when the text is one campaign's id and another's name.
pub fn find(db: &mut dyn Sql, id_or_name: &str) -> Result<Campaign> {
    let all = campaigns(db)?;
    let shown = clip(id_or_name, 100);
    let explicit_id = id_or_name
        .strip_prefix("id:")
        .and_then(|n| n.parse::<i64>().ok());
    let by_id = explicit_id
        .or_else(|| id_or_name.parse::<i64>().ok())
        .and_then(|id| all.iter().find(|c| c.id == id));
    let by_name = if explicit_id.is_some() {
        None
    } else {
        all.iter().find(|c| c.name == id_or_name)
    };
    match (by_id, by_name) {
        (Some(i), Some(n)) if i.id != n.id => {
            // A number given by hand could mean either: reading out the wrong campaign would
            // store a read-out under it, so neither is guessed.
            return Err(Error::Config(format!(
                "--campaign `{shown}` is ambiguous in {}: it is the id of campaign {} `{}` and \
                 the name of campaign {}",
                db.describe(),
                i.id,
                printable(&i.name),
                n.id
            ))
            .hint(format!(
                "say which by id: `--campaign id:{}` for `{}`, `--campaign id:{}` for the one \
                 named `{shown}`",
                i.id,
                printable(&i.name),
                n.id
            )));
        }
        (Some(c), _) | (None, Some(c)) => return Ok(c.clone()),
        (None, None) => {}
    }
    let known: Vec<String> = all
        .iter()
        .rev()
        .take(10)
        .map(|c| format!("{} ({})", c.id, clip(&c.name, 60)))
        .collect();
    let e = Error::Config(format!("no campaign `{shown}` in {}", db.describe()));
    Err(if known.is_empty() {
        e.hint("it holds no campaigns yet: `churn-tui campaign create --run DIR` makes one")
    } else {
        e.hint(format!(
            "its campaigns (newest first): {}",
            known.join(", ")
        ))
    })
}

/// The campaign with this id.
pub fn find_id(db: &mut dyn Sql, id: i64) -> Result<Campaign> {
    find(db, &format!("id:{id}"))
}
