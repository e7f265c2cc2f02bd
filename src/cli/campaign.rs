//! `churn-tui campaign …`: create a campaign with a holdout, read it out, list them.

use std::path::PathBuf;

use super::args::{CampaignCommand, absolute_inputs};
use super::show::shown_path;
use crate::engine::Result;
use crate::engine::campaign::create::{CreateRequest, Created, create};
use crate::engine::campaign::readout::{TierReadout, read_out};
use crate::engine::campaign::{self, Summary};
use crate::engine::eval::KPct;
use crate::engine::targeting::export::ExportFormat;
use crate::engine::text::{printable, thousands};

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
            let mut budget = a.budget;
            let (k, k_why) = match (a.k, a.tiers, saved.k) {
                _ if budget.is_some() => (None, "--budget"),
                (Some(k), _, _) => (Some(k), "--k"),
                (None, true, _) => (None, "every tier, --tiers"),
                (None, false, None) if saved.budget.is_some() => {
                    budget = saved.budget;
                    (None, "the budget set in the workbench")
                }
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
                    data: absolute_inputs(&a.data)?,
                    exec: a.exec.to_exec()?,
                    k: k.map(Into::into),
                    budget,
                    holdout_bp: a.holdout,
                    name: a.name.clone(),
                    seed: a.seed,
                    model,
                    uplift: a.rank.uplift_dir()?.map(std::path::Path::to_path_buf),
                    tiers: &tiers,
                    phrases: &phrases,
                    out,
                    on_rows: &mut |_| {},
                },
            )?;
            match created.budget {
                Some(b) => {
                    eprintln!(
                        "model {} ({model_why}), budget {} ({k_why}): {}",
                        printable(&created.campaign.model),
                        tiers.amount(b.budget, &phrases.lang),
                        crate::engine::targeting::list::Cut::Users(b.k).text(created.n)
                    );
                }
                None => eprintln!(
                    "model {} ({model_why}), top {}% ({k_why})",
                    printable(&created.campaign.model),
                    pct(created.campaign.k_bp)
                ),
            }
            print!("{}", created_text(&created, &db.describe()));
            if let Some(m) = &created.money {
                for line in m.lines(&tiers, &phrases.lang) {
                    println!("{line}");
                }
            }
            if let Some(p) = &a.out {
                eprintln!("wrote the treatment list to {}", shown_path(p));
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
            let data = absolute_inputs(&a.data)?;
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
                eprintln!("wrote the read-out to {}", shown_path(p));
            }
            Ok(())
        }
        CampaignCommand::Import(a) => {
            let mut db = a.db.open()?;
            let req = crate::engine::campaign::import::ImportRequest {
                name: a.name.clone(),
                anchor: a.anchor,
                assignment: a.assignment.clone(),
                data: absolute_inputs(&a.data)?,
                window: crate::engine::label::Window {
                    lookback_days: crate::engine::label::Window::default().lookback_days,
                    horizon_days: a.horizon,
                },
            };
            let done = crate::engine::campaign::import::import(db.as_mut(), &req)?;
            let k = &done.campaign;
            println!(
                "campaign {} `{}` imported into {}\n  anchor {}, horizon {} days, control {}%",
                k.id,
                printable(&k.name),
                db.describe(),
                k.anchor,
                k.horizon_days,
                pct(k.holdout_bp)
            );
            println!("  {:<16} {:>10} {:>10}", "tier", "treatment", "control");
            for (tier, t, c) in &done.counts {
                println!(
                    "  {:<16} {:>10} {:>10}",
                    printable(tier),
                    thousands(*t as u64),
                    thousands(*c as u64)
                );
            }
            if !done.ignored.is_empty() {
                eprintln!(
                    "note: columns not read: {}",
                    done.ignored
                        .iter()
                        .map(|c| printable(c).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
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
        return "no campaigns yet (`churn-tui campaign create --run DIR` makes one; `campaign import` registers one run elsewhere)\n".into();
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
