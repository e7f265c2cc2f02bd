//! `churn-tui campaign …`: create a campaign with a holdout, read it out, list them.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{ExecArgs, TargetArgs, anchor_arg, k_arg};
use crate::engine::Result;
use crate::engine::campaign::create::{CreateRequest, Created, create};
use crate::engine::campaign::db::DbUrl;
use crate::engine::campaign::readout::{TierReadout, read_out};
use crate::engine::campaign::{self, Summary};
use crate::engine::eval::KPct;
use crate::engine::targeting::export::ExportFormat;
use crate::engine::text::{printable, thousands};

/// Where campaigns go unless `--db` says otherwise: the same file for `campaign …` and the
/// workbench, whatever the workbench's `--out`.
pub const DEFAULT_DB: &str = "artifacts/campaigns.db";

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Target list at an anchor, split into treatment and a random control group per tier,
    /// stored in one transaction; the treatment list is exported with --out.
    Create(CreateArgs),
    /// After the horizon: dormant rates of treatment and control, and the uplift with its 90%
    /// interval, per tier and overall (stored, and printed).
    Readout(ReadoutArgs),
    /// Every campaign with its groups and status: waiting for data (the horizon is not over),
    /// due (it is; the read-out needs logs through the day shown) or read.
    List(DbArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// The campaign database: an SQLite file (sqlite:PATH or a path) or
    /// mysql://user:password@host:port/database (MySQL or MariaDB). The workbench's default too.
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: String,
}

impl DbArgs {
    pub fn open(&self) -> Result<Box<dyn crate::engine::campaign::db::Sql>> {
        let url = DbUrl::parse(&self.db)?;
        if self.db == DEFAULT_DB {
            url.make_folder()?;
        }
        campaign::db::open(&url)
    }
}

/// A holdout share in percent, 0 to 50, up to two decimals.
fn holdout_arg(s: &str) -> std::result::Result<u32, String> {
    crate::engine::campaign::create::parse_holdout(s).map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The run whose model, edits and window the campaign uses.
    #[arg(long)]
    pub run: PathBuf,
    /// The anchor to target at (default: the run's test anchor; a later one scores the log there).
    #[arg(long, value_parser = anchor_arg)]
    pub anchor: Option<i64>,
    /// Logs to score a later anchor from (default: the run's own inputs).
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<String>,
    /// Top K percent (default: the K set in the workbench for this run, else every tier).
    #[arg(long, value_parser = k_arg, conflicts_with = "tiers", allow_negative_numbers = true)]
    pub k: Option<KPct>,
    /// Every tier, down to the widest tier's share (the default when the workbench saved no K).
    #[arg(long)]
    pub tiers: bool,
    /// Control share of each tier in percent (0 to 50).
    #[arg(long, default_value = "10", value_parser = holdout_arg, allow_negative_numbers = true)]
    pub holdout: u32,
    /// The campaign's name (unique in the database); default from the run, anchor and K.
    #[arg(long)]
    pub name: Option<String>,
    /// Seed of the control draw.
    #[arg(long, default_value_t = 42, value_parser = super::whole_arg::<u64>, allow_negative_numbers = true)]
    pub seed: u64,
    /// Another model of the run than the chosen one (default: the model picked in the
    /// workbench for this run, else the run's chosen model).
    #[arg(long)]
    pub model: Option<String>,
    /// The treatment list (the coupon system's file): .csv, .json, .parquet or .xlsx.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, requires = "out")]
    pub format: Option<ExportFormat>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct ReadoutArgs {
    /// The campaign's name or id (`id:N` for an id only).
    #[arg(long)]
    pub campaign: String,
    /// Logs that cover the campaign's horizon; repeatable.
    #[arg(long = "data", value_name = "PATH", required = true)]
    pub data: Vec<String>,
    /// Also write the read-out as a Markdown report.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(cmd: CampaignCommand) -> Result<()> {
    match cmd {
        CampaignCommand::Create(a) => {
            let (tiers, phrases) = a.target.load()?;
            let out = match &a.out {
                Some(p) => Some((
                    p.clone(),
                    // A --format that contradicts the name's extension is refused (SPEC §6).
                    ExportFormat::for_path(p, a.format)?,
                )),
                None => None,
            };
            // The flags, else the model and K the workbench saved with the run, else the run's
            // choice and every tier; the line after says which. (A damaged edits file is
            // refused by `create`, naming it.)
            let saved = crate::engine::targeting::edits::Edits::load(&a.run).unwrap_or_default();
            let (model, model_why) = saved.model_choice(a.model.as_deref());
            let (k, k_why) = match (a.k, a.tiers, saved.k) {
                (Some(k), _, _) => (Some(k), "--k"),
                (None, true, _) => (None, "every tier, --tiers"),
                (None, false, Some(k)) => {
                    if k.bp > tiers.reach().bp {
                        return Err(crate::engine::Error::Config(format!(
                            "the K set in the workbench for this run, {k}%, reaches past the \
                             last tier (top {}%): users there would get no offer",
                            tiers.reach()
                        ))
                        .hint("give --k, or --tiers for every tier"));
                    }
                    (Some(k), "set in the workbench")
                }
                (None, false, None) => (None, "every tier, the default"),
            };
            let mut db = a.db.open()?;
            let created = create(
                db.as_mut(),
                &mut CreateRequest {
                    run_dir: a.run.clone(),
                    anchor: a.anchor,
                    data: super::absolute_inputs(&a.data)?,
                    exec: a.exec.to_exec()?,
                    k,
                    holdout_bp: a.holdout,
                    name: a.name.clone(),
                    seed: a.seed,
                    model,
                    tiers: &tiers,
                    phrases: &phrases,
                    out,
                    on_rows: &mut |_| {},
                },
            )?;
            eprintln!(
                "model {} ({model_why}), top {}% ({k_why})",
                printable(&created.campaign.model),
                pct(created.campaign.k_bp)
            );
            print!("{}", created_text(&created, &db.describe()));
            if let Some(p) = &a.out {
                eprintln!("wrote the treatment list to {}", super::shown_path(p));
            }
            Ok(())
        }
        CampaignCommand::Readout(a) => {
            // The read-out report is Markdown: a name that says otherwise is refused first.
            if let Some(p) = &a.report {
                crate::engine::io::file_kind::FileKind::expect(
                    p,
                    &[crate::engine::io::file_kind::FileKind::Markdown],
                    "read-out report",
                )?;
            }
            let mut db = a.db.open()?;
            let c = campaign::find(db.as_mut(), &a.campaign)?;
            let data = super::absolute_inputs(&a.data)?;
            if let Some(p) = &a.report {
                // Checked before anything is stored: the report may replace neither the
                // database nor the logs read.
                let mut keep: Vec<PathBuf> = db.file().into_iter().collect();
                keep.extend(
                    crate::engine::data::resolve(&data)?
                        .into_iter()
                        .map(|f| f.path),
                );
                crate::engine::run::files::guard_output(p, &keep)?;
            }
            let rows = read_out(db.as_mut(), &c, &data)?;
            let text = readout_text(&c, &rows);
            print!("{text}");
            if let Some(p) = &a.report {
                crate::engine::io::atomic::write_atomic(p, |w| {
                    std::io::Write::write_all(w, text.as_bytes())
                })?;
                eprintln!("wrote the read-out to {}", super::shown_path(p));
            }
            Ok(())
        }
        CampaignCommand::List(a) => {
            let mut db = a.open()?;
            let now = chrono::Utc::now().timestamp_micros();
            print!("{}", list_text(&campaign::summaries(db.as_mut(), now)?));
            Ok(())
        }
    }
}

pub fn created_text(c: &Created, db: &str) -> String {
    use std::fmt::Write;
    let k = &c.campaign;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "campaign {} `{}` stored in {db}\n  run {}, model {}, anchor {}, top {}%, holdout {}%, seed {}",
        k.id,
        printable(&k.name),
        printable(&k.run_id),
        printable(&k.model),
        k.anchor,
        pct(k.k_bp),
        pct(k.holdout_bp),
        k.seed
    );
    let _ = writeln!(s, "  {:<16} {:>10} {:>10}", "tier", "treatment", "control");
    let (mut t, mut ctl) = (0, 0);
    for (tier, nt, nc) in c.counts() {
        let _ = writeln!(
            s,
            "  {:<16} {:>10} {:>10}",
            printable(&tier),
            thousands(nt as u64),
            thousands(nc as u64)
        );
        t += nt;
        ctl += nc;
    }
    let _ = writeln!(
        s,
        "  {:<16} {:>10} {:>10}",
        "all",
        thousands(t as u64),
        thousands(ctl as u64)
    );
    if !c.dropped_edits.is_empty() {
        let _ = writeln!(
            s,
            "  {} hand-added user(s) not scored at this anchor were left out: {}",
            c.dropped_edits.len(),
            c.dropped_edits
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if ctl == 0 {
        let _ = writeln!(
            s,
            "  no control group: the read-out will give dormant rates but no uplift"
        );
    }
    s
}

fn pct(bp: u32) -> String {
    KPct::from_bp(bp).map_or_else(|_| format!("{bp}bp"), |k| k.to_string())
}

fn rate(x: u64, n: u64) -> String {
    if n == 0 {
        "—".into()
    } else {
        format!(
            "{}/{} = {:.1}%",
            thousands(x),
            thousands(n),
            100.0 * x as f64 / n as f64
        )
    }
}

fn uplift(r: &TierReadout) -> String {
    r.uplift_text().unwrap_or_else(|| "— (no control)".into())
}

pub fn readout_text(c: &campaign::Campaign, rows: &[TierReadout]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let end = crate::engine::time::fmt_anchor(c.horizon_end_us().unwrap_or(0));
    let _ = writeln!(
        s,
        "# Campaign {} `{}`: read-out\n\nAnchor {}, horizon {} days (to {end}), holdout {}%, \
         last event in the logs {}.\nDormant = no visit, cart or purchase in the horizon. Uplift = control's \
         dormant rate − treatment's (dormancy prevented per treated user), with its 90% \
         interval (Newcombe).\n",
        c.id,
        printable(&c.name),
        printable(&c.anchor),
        c.horizon_days,
        pct(c.holdout_bp),
        rows.first().map_or("?".into(), |r| printable(&r.data_end))
    );
    let _ = writeln!(
        s,
        "| tier | treatment dormant | control dormant | uplift [90% interval] |\n|---|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            printable(&r.tier),
            rate(r.dormant_treatment, r.n_treatment),
            rate(r.dormant_control, r.n_control),
            uplift(r)
        );
    }
    if let Some(all) = rows.iter().find(|r| r.tier == campaign::readout::ALL) {
        let _ = writeln!(s, "\n{}", campaign::readout::verdict(all));
    }
    s
}

pub fn list_text(all: &[Summary]) -> String {
    use std::fmt::Write;
    if all.is_empty() {
        return "no campaigns yet (`churn-tui campaign create --run DIR` makes one)\n".into();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>4}  {:<28} {:<20} {:>10} {:>8}  status",
        "id", "name", "anchor", "treatment", "control"
    );
    for c in all {
        // Read: the overall uplift; else what a read-out needs (the read-out's own rule).
        let status = match c.readout.iter().find(|r| r.tier == campaign::readout::ALL) {
            Some(all) => format!("{}, uplift (all) {}", c.status_text(), uplift(all)),
            None => c.status_text(),
        };
        let _ = writeln!(
            s,
            "{:>4}  {:<28} {:<20} {:>10} {:>8}  {status}",
            c.campaign.id,
            printable(&c.campaign.name),
            printable(&c.campaign.anchor),
            thousands(c.n_treatment),
            thousands(c.n_control),
        );
    }
    s
}
