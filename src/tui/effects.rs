//! The file I/O the workbench asks for, done outside `App` so its update only changes state:
//! reading a run's hand edits when it opens, and writing exports, reports and edits. The loop
//! runs `perform` for each `Effect::Write` and hands the outcome back with `App::done`; tests
//! drive the same path with `apply`.

use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::edits::{Edit, Edits};
use crate::engine::targeting::export::{ExportFormat, export};
use crate::engine::targeting::list::target_list;
use crate::engine::targeting::report::{report, write_report};
use crate::engine::text::thousands;

use super::action::Action;
use super::action::Tab;
use super::app::{App, CampaignOp, Effect, Notice, Write};

fn ok(text: String) -> Notice {
    Notice { text, error: false }
}

fn failed(text: String) -> Notice {
    Notice { text, error: true }
}

/// Write what `w` names from the app's current state; the outcome is the status line's
/// message. Saving an edit also takes in the edits as saved (another workbench's merged in).
pub fn perform(app: &mut App, w: &Write) -> Notice {
    match w {
        Write::Export(path) => {
            let res = ExportFormat::of_path(path).and_then(|f| {
                let (run, spec) = app
                    .list_spec()
                    .ok_or_else(|| crate::engine::Error::Config("no run loaded".into()))?;
                let list = target_list(run, &spec)?;
                export(&list.rows, &app.tiers, f, path)?;
                Ok((list.rows.len(), list.tie_note(spec.cut)))
            });
            match res {
                Ok((n, tie)) => ok(format!(
                    "wrote {} rows to {}{}",
                    thousands(n as u64),
                    path.display(),
                    tie.map_or(String::new(), |t| format!("; {t}"))
                )),
                Err(e) => failed(format!("export failed: {e}")),
            }
        }
        Write::Report => {
            let Some((run, spec)) = app.list_spec() else {
                return failed("no run loaded".into());
            };
            let path = run.dir.join(format!("report-top{}.md", spec.cut.slug()));
            let money = app.money_for_outputs();
            match report(run, &spec, &money).and_then(|text| write_report(&text, &path)) {
                Ok(()) => ok(format!("report written to {}", path.display())),
                Err(e) => failed(format!("report failed: {e}")),
            }
        }
        Write::Edits { what, edit } => {
            let what = if what.is_empty() {
                "the targeting choice".to_string()
            } else {
                what.clone()
            };
            let Some(run) = &app.run else {
                return failed(format!("{what}, but NOT saved: no run loaded"));
            };
            // A file that did not load is never overwritten (editing is off then).
            if let Some(e) = &app.targets.edits_error {
                return failed(format!(
                    "{what}, but NOT saved: the saved edits did not load ({e})"
                ));
            }
            // Merged under the run's lock into the file as it is now: another workbench's
            // edits saved since this one read it stay.
            match Edits::update(&run.dir, |e| e.apply(edit)) {
                Ok(saved) => {
                    let mut mine = app.targets.edits.clone();
                    mine.apply(edit);
                    let others = !saved.same_users(&mine);
                    app.targets.adopt(app.run.as_ref(), saved);
                    let quiet = matches!(w, Write::Edits { what, .. } if what.is_empty());
                    if quiet && !others {
                        return ok(String::new());
                    }
                    ok(format!(
                        "{what} — saved{}",
                        if others {
                            " (with edits another workbench saved meanwhile)"
                        } else {
                            ""
                        }
                    ))
                }
                Err(e) => failed(format!("{what}, but NOT saved: {e}")),
            }
        }
    }
}

/// One action as the loop applies it, minus the loop's logging: update, then every write
/// performed and its outcome handed back. Returns the effects only the loop can carry out
/// (training, quitting).
pub fn apply(app: &mut App, action: Action) -> Vec<Effect> {
    let mut rest = Vec::new();
    for e in app.update(action) {
        match e {
            Effect::Write(w) => {
                let outcome = perform(app, &w);
                app.done(outcome);
            }
            Effect::Campaign(op) => campaign(app, &op),
            other => rest.push(other),
        }
    }
    rest
}

/// The campaign database of the workbench, opened (a missing SQLite file is no campaigns yet,
/// and is made only when a campaign is stored).
fn campaign_db(
    app: &App,
    create: bool,
) -> crate::engine::Result<Option<Box<dyn crate::engine::campaign::db::Sql>>> {
    use crate::engine::campaign::{self, db::DbUrl};
    let Some(url) = &app.campaign_db else {
        return Err(crate::engine::Error::Config(
            "no campaign database was given".into(),
        ));
    };
    let url = DbUrl::parse(url)?;
    if let DbUrl::Sqlite(p) = &url
        && !p.exists()
    {
        if !create {
            return Ok(None);
        }
        url.make_folder()?;
    }
    campaign::db::open(&url).map(Some)
}

/// A file name's worth of a campaign name: letters, digits, `-` and `_`; the rest `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// Read the campaigns for the Campaigns tab, or store one of the Targets list as it stands
/// (with its treatment list as a CSV in the run directory) and show it there.
pub fn campaign(app: &mut App, op: &CampaignOp) {
    use crate::engine::campaign::create::{CreateRequest, create};
    match op {
        CampaignOp::Load => {
            let now = chrono::Utc::now().timestamp_micros();
            let list = campaign_db(app, false).and_then(|db| match db {
                Some(mut db) => crate::engine::campaign::summaries(db.as_mut(), now),
                None => Ok(Vec::new()),
            });
            app.campaigns.set(list.map_err(|e| e.to_string()));
        }
        CampaignOp::Readout { id, data } => {
            let read = campaign_db(app, false).and_then(|db| {
                let mut db = db.ok_or_else(|| {
                    crate::engine::Error::Config("the campaign database does not exist".into())
                })?;
                let c = crate::engine::campaign::find_id(db.as_mut(), *id)?;
                let rows = crate::engine::campaign::readout::read_out(db.as_mut(), &c, data)?;
                Ok((c, rows))
            });
            match read {
                Ok((c, rows)) => {
                    let all = rows
                        .iter()
                        .find(|r| r.tier == crate::engine::campaign::readout::ALL);
                    let up = match all.and_then(|r| r.uplift_text()) {
                        Some(t) => format!("uplift {t}"),
                        None => "no uplift (no control group)".into(),
                    };
                    app.notify(
                        format!("campaign {} `{}` read out: {up}", c.id, c.name),
                        false,
                    );
                    campaign(app, &CampaignOp::Load);
                }
                Err(e) => app.notify(format!("no read-out: {e}"), true),
            }
        }
        CampaignOp::Create { name, holdout_bp } => {
            let Some((run, spec)) = app.list_spec() else {
                app.notify("no run loaded: no campaign made", true);
                return;
            };
            let (run_dir, k, model) = (run.dir.clone(), spec.cut, spec.model.to_string());
            // The list on screen: ranked by uplift when `u` turned that on.
            let uplift = spec.rank.uplift().map(|u| u.model.dir.clone());
            let out = run_dir.join(format!("campaign-{}-treatment.csv", file_safe(name)));
            let made = campaign_db(app, true).and_then(|db| {
                let mut db = db.ok_or_else(|| {
                    crate::engine::Error::Config("the campaign database did not open".into())
                })?;
                let c = create(
                    db.as_mut(),
                    &mut CreateRequest {
                        run_dir,
                        anchor: None,
                        data: vec![],
                        exec: Default::default(),
                        k: Some(k),
                        budget: None,
                        holdout_bp: *holdout_bp,
                        name: Some(name.clone()),
                        seed: 42,
                        model: Some(model),
                        uplift,
                        tiers: &app.tiers,
                        phrases: &app.phrases,
                        out: Some((out.clone(), ExportFormat::Csv)),
                        on_rows: &mut |_| {},
                    },
                )?;
                Ok((c, db.describe()))
            });
            match made {
                Ok((c, db)) => {
                    let (t, ctl) = c
                        .counts()
                        .iter()
                        .fold((0, 0), |a, r| (a.0 + r.1, a.1 + r.2));
                    app.notify(
                        format!(
                            "campaign {} `{}` stored in {db}: {} treatment, {} control; \
                             coupon list {}",
                            c.campaign.id,
                            c.campaign.name,
                            thousands(t as u64),
                            thousands(ctl as u64),
                            out.display()
                        ),
                        false,
                    );
                    app.tab = Tab::Campaigns;
                    campaign(app, &CampaignOp::Load);
                }
                Err(e) => app.notify(format!("no campaign made: {e}"), true),
            }
        }
    }
}

/// Show `run` with the hand edits saved in its directory (each id checked against the users
/// it scored).
pub fn open(app: &mut App, run: LoadedRun) {
    let edits = Edits::load_for(&run);
    app.show_run(run, edits);
}

/// Show a run trained from the workbench. The analyst's hand edits, targeting model and K on
/// the run shown before it carry over (the edits are saved into the new run at once), and
/// edits naming users the new run does not score are listed in the notice, not dropped
/// silently. With no run shown before, it opens as any run does.
pub fn open_retrained(app: &mut App, run: LoadedRun) {
    let before = app.run.as_ref().map(|old| {
        (
            old.run_id.clone(),
            app.targets.edits.clone(),
            app.targets.edits_error.is_some(),
            app.targets.model.clone(),
            app.targets.k,
        )
    });
    let Some((old_id, edits, locked, model, k)) = before else {
        return open(app, run);
    };
    let saved_to = app
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    let mut said = vec![saved_to];
    let scored: std::collections::HashSet<i64> = run.test.users.iter().copied().collect();
    let gone: Vec<i64> = edits
        .excluded
        .iter()
        .chain(&edits.added)
        .copied()
        .filter(|u| !scored.contains(u))
        .collect();
    let kept = Edits {
        excluded: edits
            .excluded
            .iter()
            .copied()
            .filter(|u| scored.contains(u))
            .collect(),
        added: edits
            .added
            .iter()
            .copied()
            .filter(|u| scored.contains(u))
            .collect(),
        model: None,
        k: None,
        budget: None,
    };
    // Edits that did not load on the old run stay off: nothing is carried from them.
    let carry = !locked && !kept.is_empty();
    app.show_run(
        run,
        Ok(if carry {
            kept.clone()
        } else {
            Edits::default()
        }),
    );
    let mut carried: Vec<Edit> = Vec::new();
    if let Some(m) = model.filter(|m| app.run.as_ref().is_some_and(|w| w.model(m).is_some())) {
        if Some(&m) != app.run.as_ref().map(|w| &w.chosen) {
            said.push(format!("targeting still by {m}"));
        }
        app.targets.pick(m.clone());
        carried.push(Edit::Model(m));
    }
    app.targets.k = k;
    app.targets.edits.k = Some(k);
    carried.push(Edit::K(k));
    let mut error = false;
    // The new run's saved edits: the users kept, the model and K (unless its edits are off).
    if !locked && let Some(run) = &app.run {
        let n = kept.excluded.len() + kept.added.len();
        let saved = Edits::update(&run.dir, |e| {
            for ed in kept
                .excluded
                .iter()
                .map(|&u| Edit::Exclude(u))
                .chain(kept.added.iter().map(|&u| Edit::Add(u)))
                .chain(carried)
            {
                e.apply(&ed);
            }
        });
        match saved {
            Ok(_) if carry => said.push(format!(
                "{} hand edit{} carried over from run {old_id} — saved",
                thousands(n as u64),
                if n == 1 { "" } else { "s" }
            )),
            Ok(_) => {}
            Err(e) => {
                error = true;
                said.push(format!(
                    "the hand edits, model and K of run {old_id}, but NOT saved: {e}"
                ));
            }
        }
    }
    if !gone.is_empty() {
        let list: Vec<String> = gone.iter().take(5).map(|u| u.to_string()).collect();
        said.push(format!(
            "{} edit{} no longer appl{} (not scored at the new test anchor: user {}{})",
            thousands(gone.len() as u64),
            if gone.len() == 1 { "" } else { "s" },
            if gone.len() == 1 { "ies" } else { "y" },
            list.join(", "),
            if gone.len() > 5 { ", …" } else { "" }
        ));
    }
    app.notify(said.join(" · "), error);
}
