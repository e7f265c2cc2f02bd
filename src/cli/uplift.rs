//! `churn-tui uplift train`: the uplift learners on a campaign's users, judged on a held-out fold
//! against the risk ranking and random, written to a folder.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::args::{UpliftCommand, UpliftTrainArgs, absolute_inputs};
use super::show::shown_path;
use crate::engine::campaign::db::DbUrl;
use crate::engine::campaign::{self, readout};
use crate::engine::uplift::Method;
use crate::engine::uplift::evaluate::Estimate;
use crate::engine::uplift::train::{self, UpliftReport, UpliftRequest};
use crate::engine::{Error, Result};

pub fn run(cmd: UpliftCommand) -> Result<()> {
    match cmd {
        UpliftCommand::Train(a) => train_cmd(a),
    }
}

fn train_cmd(a: UpliftTrainArgs) -> Result<()> {
    let url = DbUrl::parse(&a.db.db)?;
    if let DbUrl::Sqlite(p) = &url
        && !p.exists()
    {
        return Err(Error::Config(format!(
            "no campaign database at {}",
            crate::engine::text::printable(&p.display().to_string())
        ))
        .hint("`campaign create` or `campaign import` makes one; --db names another"));
    }
    let mut db = crate::engine::campaign::db::open(&url)?;
    let c = campaign::find(db.as_mut(), &a.campaign)?;
    let targets = readout::targets(db.as_mut(), &c)?;
    drop(db);
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("artifacts/uplift-c{}-s{}", c.id, a.seed)));
    if out.exists() {
        return Err(Error::Config(format!(
            "{} already exists: an uplift folder is never replaced",
            out.display()
        ))
        .hint("choose another --out, or remove that folder"));
    }
    let data = absolute_inputs(&a.data)?;
    let methods = if a.method.is_empty() {
        Method::ALL.to_vec()
    } else {
        a.method.clone()
    };
    let cancel = AtomicBool::new(false);
    let bar = super::show::progress_bar();
    let progress = |what: &str| bar.set_message(what.to_string());
    let clock = std::time::Instant::now();
    let trained = train::train(&UpliftRequest {
        campaign: c,
        targets,
        data,
        exec: a.exec.to_exec()?,
        methods,
        seed: a.seed,
        run: a.run.clone(),
        cancel: &cancel,
        progress: &progress,
    });
    bar.finish_and_clear();
    let trained = trained?;
    crate::engine::uplift::output::write(&trained, &out)?;
    print!("{}", report_text(&trained.report));
    eprintln!(
        "wrote {} in {:.1} s",
        shown_path(&out),
        clock.elapsed().as_secs_f64()
    );
    Ok(())
}

fn est(e: &Estimate, digits: usize) -> String {
    match (e.low, e.high) {
        (Some(lo), Some(hi)) => format!("{:.digits$} [{lo:.digits$}, {hi:.digits$}]", e.value),
        _ => format!("{:.digits$} [–]", e.value),
    }
}

/// What `uplift train` prints: the folds, each ranking's figures on the evaluation fold, the
/// choice and the chosen method against risk and random.
pub fn report_text(r: &UpliftReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "uplift of campaign {} `{}` (anchor {}, horizon {} days), seed {}",
        r.campaign_id,
        crate::engine::text::printable(&r.campaign),
        r.anchor,
        r.horizon_days,
        r.seed
    );
    let _ = writeln!(
        s,
        "  users: {} learn ({} of them val), {} eval{}",
        crate::engine::text::thousands(r.folds.learn as u64),
        crate::engine::text::thousands(r.folds.val as u64),
        crate::engine::text::thousands(r.folds.eval as u64),
        if r.folds.without_features > 0 {
            format!(
                "; {} campaign users have no event in the lookback and are left out",
                crate::engine::text::thousands(r.folds.without_features as u64)
            )
        } else {
            String::new()
        }
    );
    let risk = match (&r.risk.kind[..], &r.risk.model) {
        ("run", Some(m)) => format!("the run's {m}"),
        _ => "the control group's dormancy model".to_string(),
    };
    let _ = writeln!(s, "  risk ranking: {risk}");
    let k30 = train::KS_BP.iter().position(|&b| b == 3000).unwrap_or(0);
    let _ = writeln!(
        s,
        "\n  eval fold (90% intervals)   {:<22} {:<22} {:<22}",
        "Qini coefficient", "AUUC", "uplift@30%"
    );
    for j in &r.eval {
        let mark = if j.name == r.choice.chosen.name() {
            "*"
        } else {
            " "
        };
        let at = j
            .eval
            .at_k
            .get(k30)
            .and_then(|a| a.uplift)
            .map_or("–".to_string(), |u| est(&u, 3));
        let _ = writeln!(
            s,
            "  {mark} {:<25} {:<22} {:<22} {:<22}",
            j.name,
            est(&j.eval.qini, 3),
            est(&j.eval.auuc, 3),
            at
        );
    }
    let _ = writeln!(
        s,
        "\n  chosen: {} — {}",
        r.choice.chosen.name(),
        r.choice.why
    );
    for v in &r.versus {
        let kept = v
            .kept
            .iter()
            .find(|(k, _)| (*k - 30.0).abs() < 1e-9)
            .and_then(|(_, e)| *e);
        let _ = writeln!(
            s,
            "  {} vs {}: Qini {}; users kept in the top 30% {}",
            r.choice.chosen.name(),
            v.other,
            est(&v.qini, 3),
            kept.map_or("–".to_string(), |e| est(&e, 0))
        );
    }
    s
}
