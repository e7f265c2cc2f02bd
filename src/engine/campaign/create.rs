//! `campaign create`: the target list at an anchor, split into treatment and control inside each
//! tier, written to the database in one transaction. The treatment list is written first into a
//! hidden work folder beside its target and moved into place only after COMMIT, so a coupon file
//! never exists for a campaign that was not stored, and a failed create leaves an existing file
//! as it was.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::assign::{Group, controls};
use super::db::sql::{self, Sql, Val};
use super::record::Campaign;
use crate::engine::eval::KPct;
use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::edits::Edits;
use crate::engine::targeting::export::{ExportFormat, export};
use crate::engine::targeting::list::{Cut, ListSpec, TargetRow, target_rows};
use crate::engine::targeting::money::{BudgetCut, Ledger, ListMoney, group_names};
use crate::engine::targeting::phrases::Phrases;
use crate::engine::targeting::ranking::{Ranking, UpliftRank};
use crate::engine::targeting::tiers::TierRule;
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

pub struct CreateRequest<'a> {
    pub run_dir: PathBuf,
    /// Another anchor than the run's test anchor: scores the run's log (or `data`) there.
    pub anchor: Option<i64>,
    pub data: Vec<String>,
    pub exec: crate::engine::dataset::out_of_core::Exec,
    /// Top K (a share, or a number of users); `None` targets every tier.
    pub k: Option<Cut>,
    /// A budget instead of K: the longest prefix of the list whose offers it pays (SPEC §5.2).
    pub budget: Option<f64>,
    pub holdout_bp: u32,
    pub name: Option<String>,
    pub seed: u64,
    pub model: Option<String>,
    /// Rank by the uplift this folder predicts (SPEC §7a.3) instead of by the model's risk.
    pub uplift: Option<PathBuf>,
    pub tiers: &'a TierRule,
    pub phrases: &'a Phrases,
    /// The treatment list's file, if one is wanted.
    pub out: Option<(PathBuf, ExportFormat)>,
    /// Called after each batch of target rows is written, with the rows written so far (a
    /// progress hook; the tests kill the process from it to show nothing half-written stays).
    pub on_rows: &'a mut dyn FnMut(usize),
}

/// One target of a campaign.
#[derive(Debug, Clone)]
pub struct Target {
    pub row: TargetRow,
    pub group: Group,
}

#[derive(Debug)]
pub struct Created {
    pub campaign: Campaign,
    pub targets: Vec<Target>,
    /// Hand-added users the anchor's scoring does not have (a later anchor), left out.
    pub dropped_edits: Vec<i64>,
    /// What the budget bought, when the list was cut by one.
    pub budget: Option<BudgetCut>,
    /// Users scored at the anchor.
    pub n: usize,
    /// What the list costs (and what the budget bought), when the tiers have costs.
    pub money: Option<ListMoney>,
}

impl Created {
    /// (tier, treatment, control) in tier order.
    pub fn counts(&self) -> Vec<(String, usize, usize)> {
        let mut out: Vec<(String, usize, usize)> = Vec::new();
        for t in &self.targets {
            let i = match out.iter().position(|(n, _, _)| *n == t.row.tier) {
                Some(i) => i,
                None => {
                    out.push((t.row.tier.clone(), 0, 0));
                    out.len() - 1
                }
            };
            match t.group {
                Group::Treatment => out[i].1 += 1,
                Group::Control => out[i].2 += 1,
            }
        }
        out
    }
}

/// Largest holdout: beyond half, most of the list would get nothing.
pub const MAX_HOLDOUT_BP: u32 = 5_000;

/// A holdout in percent (`10`, `12.5%`, `0`): 0 to 50, up to two decimals, as basis points.
pub fn parse_holdout(text: &str) -> Result<u32> {
    let t = text.trim().trim_end_matches('%');
    let bad = || {
        Error::Config(format!(
            "holdout `{}`: expected a percentage from 0 to 50 (up to two decimals)",
            text.trim()
        ))
    };
    if !t.is_empty() && t.chars().all(|c| c == '0' || c == '.') && t.matches('.').count() <= 1 {
        return Ok(0);
    }
    let k = KPct::parse(t).map_err(|_| bad())?;
    if k.bp > MAX_HOLDOUT_BP {
        return Err(bad());
    }
    Ok(k.bp)
}

pub fn create(db: &mut dyn Sql, req: &mut CreateRequest) -> Result<Created> {
    if req.holdout_bp > MAX_HOLDOUT_BP {
        return Err(Error::Config(format!(
            "--holdout {}%: a holdout is between 0% and 50%",
            KPct::from_bp(req.holdout_bp)
                .map_or_else(|_| req.holdout_bp.to_string(), |k| k.to_string())
        )));
    }
    if i64::try_from(req.seed).is_err() {
        return Err(Error::Config(format!(
            "--seed {}: a campaign's seed is stored as a signed 64-bit integer (at most {})",
            req.seed,
            i64::MAX
        )));
    }
    if !req.run_dir.is_dir() {
        return Err(Error::Config(format!(
            "the run directory {} does not exist (any more)",
            req.run_dir.display()
        ))
        .hint("`ls artifacts` lists the runs there are"));
    }
    let reach = req.tiers.reach();
    if let Some(Cut::Share(k)) = req.k
        && k.bp > reach.bp
    {
        return Err(Error::Config(format!(
            "--k {k}% reaches past the last tier (top {reach}%): users there would get no offer"
        ))
        .hint("lower --k, or widen the tiers with --config"));
    }
    let run = LoadedRun::load(&req.run_dir)?;
    let model = req.model.clone().unwrap_or_else(|| run.chosen.clone());
    if run.model(&model).is_none() {
        return Err(Error::Config(format!("the run has no model `{model}`")));
    }
    // Before any log is read: a bad uplift folder is refused at once.
    let uplift = req
        .uplift
        .as_deref()
        .map(crate::engine::uplift::UpliftModel::load)
        .transpose()?;
    let mut edits = Edits::load_for(&run)?;
    let test_anchor = run
        .test_anchor()
        .ok_or_else(|| Error::Config("the run has no test rows".into()))?;
    let anchor = req.anchor.unwrap_or(test_anchor);
    let mut inputs: Vec<PathBuf> = Vec::new();
    let run = if anchor == test_anchor && req.data.is_empty() {
        run
    } else {
        let manifest = crate::engine::run::format::read_manifest(&req.run_dir)?;
        let fitted = run.fitted(&model).ok_or_else(|| {
            Error::Config(format!("the run's saved {model} model could not be loaded"))
        })?;
        // The runner-up breaks the model's ties at the new anchor as at the test anchor
        // (SPEC §5); should it fail to score there, recency does.
        let runner_up = crate::engine::targeting::order::runner_up(&run, &model)
            .and_then(|r| Some((r.to_string(), run.fitted(r)?)));
        let history =
            fitted.reads_history() || runner_up.as_ref().is_some_and(|r| r.1.reads_history());
        let (rows, files) =
            crate::engine::run::score::rows_at(&manifest, &req.data, anchor, history, &req.exec)?;
        let scores = fitted.predict(&rows)?;
        let others: Vec<(String, Vec<f64>)> = runner_up
            .and_then(|(r, m)| Some((r, m.predict(&rows).ok()?)))
            .into_iter()
            .collect();
        inputs = files;
        run.rescored(&model, rows, scores, others)?
    };
    if let Some((out, _)) = &req.out {
        // Nor the database the campaign is being written to.
        inputs.extend(db.file());
        crate::engine::run::files::guard_output(out, &inputs)?;
    }
    // Hand-added users the new anchor did not score are left out, and said so.
    let scored: HashSet<i64> = run.test.users.iter().copied().collect();
    let dropped_edits: Vec<i64> = edits
        .added
        .iter()
        .copied()
        .filter(|u| !scored.contains(u))
        .collect();
    edits.added.retain(|u| scored.contains(u));

    let n = run.model(&model).map_or(0, |m| m.n());
    let rank = match uplift {
        Some(u) => Ranking::Uplift(std::sync::Arc::new(UpliftRank::of(&run, u)?)),
        None => Ranking::Risk,
    };
    // The money of the list: needed for a budget (a tier without a cost is then an error),
    // shown whenever the tiers have costs.
    let ledger = Ledger::of_list(&run, &model, &rank, req.tiers, &edits, req.budget.is_some())?
        .and_then(|l| l.ok());
    let mut budget = None;
    let cut = match (req.budget, req.k) {
        (Some(b), _) => {
            let bought = ledger
                .as_ref()
                .ok_or_else(|| Error::Config("a budget needs the tiers' costs".into()))?
                .budget_k(b);
            budget = Some(bought);
            Cut::Users(bought.k)
        }
        (None, Some(Cut::Users(k))) if k > reach.k_of(n) => {
            return Err(Error::Config(format!(
                "the top {} users reach past the last tier (top {reach}%): users there would \
                 get no offer",
                crate::engine::text::thousands(k as u64)
            )));
        }
        (None, Some(c)) => c,
        (None, None) => Cut::Share(reach),
    };
    let rows = target_rows(
        &run,
        &ListSpec {
            model: &model,
            cut,
            tiers: req.tiers,
            edits: &edits,
            phrases: req.phrases,
            rank: &rank,
        },
    )?;
    if rows.is_empty() {
        let why = match budget {
            Some(b) => format!(
                ": the budget of {} buys no offer{}",
                req.tiers.amount(b.budget, &req.phrases.lang),
                b.next.map_or(String::new(), |c| format!(
                    " (the first costs {})",
                    req.tiers.amount(c, &req.phrases.lang)
                ))
            ),
            None => String::new(),
        };
        return Err(Error::Config(format!(
            "the {} at {} holds no users{why}: nothing to send",
            cut.text(n),
            fmt_anchor(anchor)
        )));
    }
    let money = ledger
        .as_ref()
        .map(|l| ListMoney::of(l, cut.k_of(n), budget, &group_names(req.tiers, req.phrases)));
    let targets = split(&rows, req.holdout_bp, req.seed);
    let name = req.name.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-top{}",
            run.run_id,
            &fmt_anchor(anchor)[..10],
            cut.slug().replace('.', "_")
        )
    });
    check_name(&name)?;
    let campaign = Campaign {
        id: 0,
        name,
        created_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        run_id: run.run_id.clone(),
        model,
        anchor: fmt_anchor(anchor),
        // A number of users is stored as the share it is of those scored, rounded up.
        k_bp: match cut {
            Cut::Share(k) => k.bp,
            Cut::Users(k) if n > 0 => (k as u64 * 10_000).div_ceil(n as u64).min(10_000) as u32,
            Cut::Users(_) => 0,
        },
        holdout_bp: req.holdout_bp,
        seed: req.seed as i64,
        horizon_days: run.config.dataset.window.horizon_days,
        scope: serde_json::to_string(&run.config.dataset.scope)
            .map_err(|e| Error::Config(format!("scope: {e}")))?,
        run_dir: std::path::absolute(&req.run_dir)
            .unwrap_or_else(|_| req.run_dir.clone())
            .display()
            .to_string(),
    };
    check_name_free(db, &campaign.name)?;
    let id = write(db, &campaign, &targets, req.tiers, &req.out, req.on_rows)?;
    Ok(Created {
        campaign: Campaign { id, ..campaign },
        targets,
        dropped_edits,
        budget,
        n,
        money,
    })
}

/// A campaign name is unique in its database: a taken one is refused before anything is written.
pub(super) fn check_name_free(db: &mut dyn Sql, name: &str) -> Result<()> {
    let taken = db.query("SELECT id FROM campaigns WHERE name = ?", &[name.into()])?;
    if !taken.is_empty() {
        return Err(Error::Config(format!(
            "a campaign named `{}` is already in {}",
            crate::engine::text::printable(name),
            db.describe()
        ))
        .hint("choose another --name"));
    }
    Ok(())
}

pub(super) fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::Config(format!(
            "--name \"{}\": a campaign name is 1 to 200 printable characters",
            crate::engine::text::clip(name, 200)
        )));
    }
    // `--campaign 7` means id 7: a name that reads as an id would make it ambiguous.
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    if digits(name) || name.strip_prefix("id:").is_some_and(digits) {
        return Err(Error::Config(format!(
            "--name {name}: a campaign name may not read as an id (`{name}` is how `--campaign` \
             names campaign {})",
            name.trim_start_matches("id:")
        ))
        .hint("choose a name with a letter in it, e.g. spring-1"));
    }
    Ok(())
}

/// Control and treatment inside each tier (SPEC §7), the list order kept.
pub fn split(rows: &[TargetRow], holdout_bp: u32, seed: u64) -> Vec<Target> {
    let mut by_tier: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for r in rows {
        by_tier.entry(&r.tier).or_default().push(r.user_id);
    }
    let control: HashSet<i64> = by_tier
        .iter()
        .flat_map(|(tier, users)| controls(users, tier, holdout_bp, seed))
        .collect();
    rows.iter()
        .map(|r| Target {
            group: if control.contains(&r.user_id) {
                Group::Control
            } else {
                Group::Treatment
            },
            row: r.clone(),
        })
        .collect()
}

const TARGET_COLS: [&str; 9] = [
    "campaign_id",
    "user_id",
    "`rank`",
    "score",
    "tier",
    "offer",
    "grp",
    "reasons",
    "edited",
];

/// Rows per progress step.
const BATCH: usize = 1_000;

fn write(
    db: &mut dyn Sql,
    c: &Campaign,
    targets: &[Target],
    tiers: &TierRule,
    out: &Option<(PathBuf, ExportFormat)>,
    on_rows: &mut dyn FnMut(usize),
) -> Result<i64> {
    // The coupon file, staged before BEGIN: if it cannot be written, nothing is stored; if the
    // process dies or the transaction fails, only the hidden work folder is left (removed on
    // failure here, and by the next create into that folder after a kill).
    let staged = match out {
        Some((path, format)) => {
            let treated: Vec<TargetRow> = targets
                .iter()
                .filter(|t| t.group == Group::Treatment)
                .map(|t| t.row.clone())
                .collect();
            Some(Staged::write(&treated, tiers, *format, path)?)
        }
        None => None,
    };
    let id = insert(db, c, targets, on_rows)?;
    if let Some(s) = staged {
        s.publish().map_err(|e| {
            Error::Config(format!(
                "campaign {id} `{}` is stored in {}, but its treatment list could not be put in \
                 place: {e}",
                crate::engine::text::printable(&c.name),
                db.describe()
            ))
        })?;
    }
    Ok(id)
}

/// The campaign and its targets in one transaction; the new campaign's id.
pub(super) fn insert(
    db: &mut dyn Sql,
    c: &Campaign,
    targets: &[Target],
    on_rows: &mut dyn FnMut(usize),
) -> Result<i64> {
    sql::transaction(db, |db| {
        db.exec(
            "INSERT INTO campaigns (name, created_at, run_id, model, anchor, k_bp, holdout_bp, \
             seed, horizon_days, scope, run_dir) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            &[
                c.name.as_str().into(),
                c.created_at.as_str().into(),
                c.run_id.as_str().into(),
                c.model.as_str().into(),
                c.anchor.as_str().into(),
                Val::Int(c.k_bp.into()),
                Val::Int(c.holdout_bp.into()),
                Val::Int(c.seed),
                Val::Int(c.horizon_days.into()),
                c.scope.as_str().into(),
                c.run_dir.as_str().into(),
            ],
        )?;
        let id = db
            .query(
                "SELECT id FROM campaigns WHERE name = ?",
                &[c.name.as_str().into()],
            )?
            .first()
            .and_then(|r| r.first())
            .and_then(Val::int)
            .ok_or_else(|| {
                Error::Config(format!("{}: the new campaign has no id", db.describe()))
            })?;
        let mut done = 0;
        for chunk in targets.chunks(BATCH) {
            let rows: Vec<Vec<Val>> = chunk
                .iter()
                .map(|t| {
                    vec![
                        Val::Int(id),
                        Val::Int(t.row.user_id),
                        Val::Int(t.row.rank as i64),
                        t.row.score.into(),
                        t.row.tier.as_str().into(),
                        t.row.offer.as_str().into(),
                        t.group.as_str().into(),
                        serde_json::to_string(&t.row.reasons)
                            .unwrap_or_else(|_| "[]".into())
                            .into(),
                        Val::Int(t.row.edited.into()),
                    ]
                })
                .collect();
            sql::insert_rows(db, "campaign_targets", &TARGET_COLS, &rows)?;
            done += chunk.len();
            on_rows(done);
        }
        Ok(id)
    })
}

/// Work folders of staged coupon files are named `.churn-tui-campaign-XXXXXX.tmp`.
const STAGE_PREFIX: &str = ".churn-tui-campaign-";

/// A coupon file written in a hidden work folder beside its target, waiting for COMMIT.
struct Staged {
    /// Removed with what is still in it when dropped.
    dir: crate::engine::io::atomic::WorkDir,
    file: PathBuf,
    /// Where it goes (a symlink's target resolved), and the path as the user gave it.
    target: PathBuf,
    shown: PathBuf,
}

impl Staged {
    fn write(
        rows: &[TargetRow],
        tiers: &TierRule,
        format: ExportFormat,
        path: &Path,
    ) -> Result<Staged> {
        use crate::engine::io::atomic::{WorkDir, dir_of, resolve_target};
        let target = resolve_target(path)?;
        let folder = dir_of(&target);
        // WorkDir would make a missing folder; an export never does.
        if !folder.is_dir() {
            return Err(Error::in_file(
                path,
                format!("its folder {} does not exist", folder.display()),
            ));
        }
        let name = target
            .file_name()
            .ok_or_else(|| Error::in_file(path, "not a file name"))?;
        let dir = WorkDir::new(&folder, STAGE_PREFIX)?;
        let file = dir.path().join(name);
        export(rows, tiers, format, &file).map_err(|e| match e {
            // Said of the file the user named, not of the work folder.
            Error::Io { source, .. } => Error::io(path, source),
            e => e,
        })?;
        // A replaced file keeps its mode, as `write_atomic` keeps it.
        if let Ok(m) = std::fs::metadata(&target) {
            let _ = std::fs::set_permissions(&file, m.permissions());
        }
        Ok(Staged {
            dir,
            file,
            target,
            shown: path.to_path_buf(),
        })
    }

    /// Move the file into place (one rename in one folder), then drop the work folder.
    fn publish(self) -> Result<()> {
        // Re-checked right before: a FIFO or folder put there meanwhile is not replaced.
        crate::engine::io::atomic::resolve_target(&self.target)?;
        std::fs::rename(&self.file, &self.target).map_err(|e| Error::io(&self.shown, e))?;
        drop(self.dir);
        Ok(())
    }
}
