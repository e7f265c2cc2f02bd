//! `campaign import` (SPEC §7a.1): a campaign run elsewhere, registered from its assignment file
//! (`user_id,group[,tier]`, CSV or Parquet) and stored like a created one. Every row is checked
//! before anything is written: a user id that is no integer, a group other than `treatment` or
//! `control`, a bad tier, a user twice, or a user the logs do not have in the population at the
//! anchor (no event in the lookback before it) is an error naming the file and the line (CSV,
//! the header being line 1) or row (Parquet, from 0).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::assign::Group;
use super::create::{Target, check_name, check_name_free, insert};
use super::db::Sql;
use super::record::Campaign;
use crate::engine::data::{self, Scope};
use crate::engine::error::Location;
use crate::engine::io::file_kind::FileKind;
use crate::engine::label::anchors::{DataRange, Window};
use crate::engine::targeting::list::TargetRow;
use crate::engine::targeting::tiers::OVERALL_ROW;
use crate::engine::text::thousands;
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

/// The tier of a file without a `tier` column.
pub const ONE_TIER: &str = "campaign";

pub struct ImportRequest {
    pub name: String,
    pub anchor: i64,
    pub assignment: PathBuf,
    /// The logs the users must be in (the population at the anchor).
    pub data: Vec<String>,
    pub window: Window,
}

/// One row of an assignment file, with where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub user_id: i64,
    pub group: Group,
    pub tier: String,
    /// CSV line (header = 1) or Parquet row (from 0).
    pub at: u64,
}

#[derive(Debug)]
pub struct Imported {
    pub campaign: Campaign,
    /// (tier, treatment, control), tiers in first-seen order.
    pub counts: Vec<(String, usize, usize)>,
    /// Columns of the file other than user_id, group and tier, which were not read.
    pub ignored: Vec<String>,
}

fn place(path: &Path, csv: bool, at: u64, column: &str) -> Location {
    Location {
        file: Some(path.to_path_buf()),
        column: Some(column.to_string()),
        line: csv.then_some(at),
        row: (!csv).then_some(at),
    }
}

fn check_tier(path: &Path, csv: bool, at: u64, tier: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::input(
            place(path, csv, at, "tier"),
            format!("tier \"{}\" {why}", crate::engine::text::clip(tier, 100)),
        )
    };
    if tier.trim().is_empty() {
        return Err(bad("is empty: a tier names a group of offers"));
    }
    if tier.chars().count() > 100 || tier.chars().any(char::is_control) {
        return Err(bad("is not 1 to 100 printable characters"));
    }
    if tier == OVERALL_ROW {
        return Err(bad(
            "is reserved: `all` is the read-out's row of the whole campaign",
        ));
    }
    Ok(())
}

fn parse_group(path: &Path, csv: bool, at: u64, g: &str) -> Result<Group> {
    Group::parse(g.trim()).ok_or_else(|| {
        Error::input(
            place(path, csv, at, "group"),
            format!(
                "group \"{}\" is neither `treatment` nor `control`",
                crate::engine::text::clip(g, 60)
            ),
        )
    })
}

/// Read and check an assignment file's rows (no duplicates; not yet the population).
pub fn read_assignment(path: &Path) -> Result<(Vec<Assigned>, Vec<String>)> {
    let kind = FileKind::expect(path, &[FileKind::Csv, FileKind::Parquet], "assignment file")?;
    // A FIFO or device named `x.csv` would block or never end: only a regular file is read.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::in_file(
            path,
            "not a regular file: an assignment file is a CSV or Parquet file",
        ));
    }
    let (rows, ignored) = if kind == FileKind::Csv {
        read_csv(path)?
    } else {
        read_parquet(path)?
    };
    let csv = kind == FileKind::Csv;
    if rows.is_empty() {
        return Err(Error::in_file(path, "the assignment file has no rows"));
    }
    let mut seen: HashMap<i64, u64> = HashMap::with_capacity(rows.len());
    for r in &rows {
        if let Some(first) = seen.insert(r.user_id, r.at) {
            return Err(Error::input(
                place(path, csv, r.at, "user_id"),
                format!(
                    "user {} is assigned twice (first at {} {first}): a user is in one group",
                    r.user_id,
                    if csv { "line" } else { "row" }
                ),
            ));
        }
    }
    Ok((rows, ignored))
}

fn read_csv(path: &Path) -> Result<(Vec<Assigned>, Vec<String>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let headers = rdr
        .headers()
        .map_err(|e| Error::in_file(path, format!("cannot read the header: {e}")))?
        .clone();
    let pos = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(iu), Some(ig)) = (pos("user_id"), pos("group")) else {
        return Err(Error::in_file(
            path,
            "an assignment file has the columns user_id and group (and tier, if any)",
        ));
    };
    let it = pos("tier");
    let ignored = headers
        .iter()
        .filter(|h| !["user_id", "group", "tier"].contains(&h.trim()))
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line());
            Error::input(
                Location {
                    file: Some(path.to_path_buf()),
                    line,
                    ..Default::default()
                },
                format!("not a CSV row: {e}"),
            )
        })?;
        let at = rec.position().map_or(0, |p| p.line());
        let field = |i: usize| rec.get(i).unwrap_or("");
        let user = field(iu).trim();
        let user_id = user.parse::<i64>().map_err(|_| {
            Error::input(
                place(path, true, at, "user_id"),
                format!(
                    "user_id \"{}\" is not a whole number",
                    crate::engine::text::clip(user, 40)
                ),
            )
        })?;
        let group = parse_group(path, true, at, field(ig))?;
        let tier = match it {
            Some(i) => field(i).to_string(),
            None => ONE_TIER.to_string(),
        };
        check_tier(path, true, at, &tier)?;
        out.push(Assigned {
            user_id,
            group,
            tier,
            at,
        });
    }
    Ok((out, ignored))
}

fn read_parquet(path: &Path) -> Result<(Vec<Assigned>, Vec<String>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| Error::in_file(path, format!("not a readable Parquet file: {e}")))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let has = |n: &str| names.iter().any(|c| c == n);
    if !has("user_id") || !has("group") {
        return Err(Error::in_file(
            path,
            "an assignment file has the columns user_id and group (and tier, if any)",
        ));
    }
    let ignored = names
        .iter()
        .filter(|n| !["user_id", "group", "tier"].contains(&n.as_str()))
        .cloned()
        .collect();
    let col_err = |c: &str, e: PolarsError| {
        Error::input(
            Location {
                file: Some(path.to_path_buf()),
                column: Some(c.to_string()),
                ..Default::default()
            },
            format!("{e}"),
        )
    };
    let users = df.column("user_id").map_err(|e| col_err("user_id", e))?;
    if !users.dtype().is_integer() {
        return Err(Error::input(
            place(path, false, 0, "user_id").without_row(),
            format!("user_id is {}, not whole numbers", users.dtype()),
        ));
    }
    let users = users
        .cast(&DataType::Int64)
        .map_err(|e| col_err("user_id", e))?;
    let users = users.i64().map_err(|e| col_err("user_id", e))?;
    let text = |c: &str| -> Result<Option<Column>> {
        match df.column(c) {
            Ok(col) if col.dtype() == &DataType::String => Ok(Some(col.clone())),
            Ok(col) => Err(Error::input(
                place(path, false, 0, c).without_row(),
                format!("{c} is {}, not text", col.dtype()),
            )),
            Err(_) => Ok(None),
        }
    };
    let groups = text("group")?.ok_or_else(|| Error::in_file(path, "no group column"))?;
    let groups = groups.str().map_err(|e| col_err("group", e))?;
    let tiers = text("tier")?;
    let tiers = match &tiers {
        Some(t) => Some(t.str().map_err(|e| col_err("tier", e))?),
        None => None,
    };
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let at = i as u64;
        let user_id = users
            .get(i)
            .ok_or_else(|| Error::input(place(path, false, at, "user_id"), "user_id is empty"))?;
        let group = parse_group(path, false, at, groups.get(i).unwrap_or(""))?;
        let tier = match tiers {
            Some(t) => t.get(i).unwrap_or("").to_string(),
            None => ONE_TIER.to_string(),
        };
        check_tier(path, false, at, &tier)?;
        out.push(Assigned {
            user_id,
            group,
            tier,
            at,
        });
    }
    Ok((out, ignored))
}

/// The users with an event in `[anchor − L, anchor)` in `files` (in `scope`); an error when the
/// logs do not hold that whole window.
pub fn population(
    files: &[data::InputFile],
    scope: &Scope,
    anchor: i64,
    window: Window,
) -> Result<HashSet<i64>> {
    let from = anchor.saturating_sub(window.lookback_us());
    // One pass, batch by batch: only the users active in the lookback are held.
    let seen = data::activity::activity(files, scope, None, data::Within { from, to: anchor })?;
    let range = DataRange::of(seen.first_ts, seen.last_ts);
    if from < range.start || anchor > range.end {
        return Err(Error::Config(format!(
            "the anchor {}: its lookback [t − {}d, t) must lie inside the logs ({} – {})",
            fmt_anchor(anchor),
            window.lookback_days,
            fmt_anchor(range.start),
            fmt_anchor(range.end)
        )));
    }
    Ok(seen.active)
}

/// Check and store an imported campaign: all of it in one transaction, or nothing.
pub fn import(db: &mut dyn Sql, req: &ImportRequest) -> Result<Imported> {
    check_name(&req.name)?;
    let (rows, ignored) = read_assignment(&req.assignment)?;
    let files = data::resolve(&req.data)?;
    let scope = Scope::default();
    let known = population(&files, &scope, req.anchor, req.window)?;
    let unknown: Vec<&Assigned> = rows
        .iter()
        .filter(|r| !known.contains(&r.user_id))
        .collect();
    if let Some(first) = unknown.first() {
        let csv = FileKind::of(&req.assignment) == Some(FileKind::Csv);
        return Err(Error::input(
            place(&req.assignment, csv, first.at, "user_id"),
            format!(
                "user {} has no event in the {} days before the anchor {} in the logs ({} of \
                 the file's {} users are not there): only users in the population at the \
                 anchor have the features an uplift model learns from; nothing was stored",
                first.user_id,
                req.window.lookback_days,
                fmt_anchor(req.anchor),
                thousands(unknown.len() as u64),
                thousands(rows.len() as u64)
            ),
        )
        .hint("check the anchor and the logs, or leave those users out of the file"));
    }
    check_name_free(db, &req.name)?;
    let mut counts: Vec<(String, usize, usize)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let i = *index.entry(r.tier.clone()).or_insert_with(|| {
            counts.push((r.tier.clone(), 0, 0));
            counts.len() - 1
        });
        match r.group {
            Group::Treatment => counts[i].1 += 1,
            Group::Control => counts[i].2 += 1,
        }
    }
    let control = rows.iter().filter(|r| r.group == Group::Control).count();
    let campaign = Campaign {
        id: 0,
        name: req.name.clone(),
        created_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        run_id: IMPORTED.to_string(),
        model: String::new(),
        anchor: fmt_anchor(req.anchor),
        k_bp: 0,
        holdout_bp: ((control as u64 * 10_000 + rows.len() as u64 / 2) / rows.len() as u64) as u32,
        seed: 0,
        horizon_days: req.window.horizon_days,
        scope: serde_json::to_string(&scope).map_err(|e| Error::Config(format!("scope: {e}")))?,
        run_dir: String::new(),
    };
    let targets: Vec<Target> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Target {
            group: r.group,
            row: TargetRow {
                rank: i + 1,
                user_id: r.user_id,
                anchor: req.anchor,
                score: 0.0,
                tier: r.tier.clone(),
                offer: String::new(),
                reasons: Vec::new(),
                edited: false,
                uplift: None,
                reason_features: Vec::new(),
                beyond_tiers: false,
            },
        })
        .collect();
    let id = insert(db, &campaign, &targets, &mut |_| {})?;
    Ok(Imported {
        campaign: Campaign { id, ..campaign },
        counts,
        ignored,
    })
}

/// The `run_id` of an imported campaign: it was not made from a run.
pub const IMPORTED: &str = "imported";
