//! The file I/O the workbench asks for, done outside `App` so its update only changes state:
//! reading a run's hand edits when it opens, and writing exports, reports and edits. The loop
//! runs `perform` for each `Effect::Write` and hands the outcome back with `App::done`; tests
//! drive the same path with `apply`.

use crate::engine::loaded_run::LoadedRun;
use crate::engine::targeting::edits::Edits;
use crate::engine::targeting::export::{ExportFormat, export};
use crate::engine::targeting::report::{report, write_report};

use super::action::Action;
use super::app::{App, Effect, Notice, Write};

fn ok(text: String) -> Notice {
    Notice { text, error: false }
}

fn failed(text: String) -> Notice {
    Notice { text, error: true }
}

/// Write what `w` names from the app's current state; the outcome is the status line's
/// message.
pub fn perform(app: &App, w: &Write) -> Notice {
    match w {
        Write::Export(path) => {
            let res = ExportFormat::of_path(path).and_then(|f| {
                let rows = app.target_list()?;
                export(&rows, &app.tiers, f, path).map(|_| rows.len())
            });
            match res {
                Ok(n) => ok(format!("wrote {n} rows to {}", path.display())),
                Err(e) => failed(format!("export failed: {e}")),
            }
        }
        Write::Report => {
            let Some((wb, spec)) = app.list_spec() else {
                return failed("no run loaded".into());
            };
            let path = wb.dir.join(format!("report-top{}.md", spec.k));
            match report(wb, &spec).and_then(|text| write_report(&text, &path)) {
                Ok(()) => ok(format!("report written to {}", path.display())),
                Err(e) => failed(format!("report failed: {e}")),
            }
        }
        Write::Edits { what } => {
            let Some(wb) = &app.wb else {
                return failed(format!("{what}, but NOT saved: no run loaded"));
            };
            match app.targets.edits.save(&wb.dir) {
                Ok(()) => ok(format!("{what} — saved")),
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
            other => rest.push(other),
        }
    }
    rest
}

/// Show `wb` with the hand edits saved in its directory (each id checked against the users
/// it scored).
pub fn open(app: &mut App, wb: LoadedRun) {
    let edits = Edits::load_for(&wb);
    app.set_workbench(wb, edits);
}

/// Show a run trained from the workbench. The analyst's hand edits, targeting model and K on
/// the run shown before it carry over (the edits are saved into the new run at once), and
/// edits naming users the new run does not score are listed in the notice, not dropped
/// silently. With no run shown before, it opens as any run does.
pub fn open_retrained(app: &mut App, wb: LoadedRun) {
    let before = app.wb.as_ref().map(|old| {
        (
            old.run_id.clone(),
            app.targets.edits.clone(),
            app.targets.edits_error.is_some(),
            app.targets.model.clone(),
            app.targets.k,
        )
    });
    let Some((old_id, edits, locked, model, k)) = before else {
        return open(app, wb);
    };
    let saved_to = app
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    let mut said = vec![saved_to];
    let scored: std::collections::HashSet<i64> = wb.test.users.iter().copied().collect();
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
    };
    // Edits that did not load on the old run stay off: nothing is carried from them.
    let carry = !locked && !kept.is_empty();
    app.set_workbench(
        wb,
        Ok(if carry {
            kept.clone()
        } else {
            Edits::default()
        }),
    );
    if let Some(m) = model.filter(|m| app.wb.as_ref().is_some_and(|w| w.model(m).is_some())) {
        if Some(&m) != app.wb.as_ref().map(|w| &w.chosen) {
            said.push(format!("targeting still by {m}"));
        }
        app.targets.pick(m);
    }
    app.targets.k = k;
    let mut error = false;
    if carry {
        let n = kept.excluded.len() + kept.added.len();
        let what = format!(
            "{n} hand edit{} carried over from run {old_id}",
            if n == 1 { "" } else { "s" }
        );
        let outcome = perform(app, &Write::Edits { what });
        error |= outcome.error;
        said.push(outcome.text);
    }
    if !gone.is_empty() {
        let list: Vec<String> = gone.iter().take(5).map(|u| u.to_string()).collect();
        said.push(format!(
            "{} edit{} no longer appl{} (not scored at the new test anchor: user {}{})",
            gone.len(),
            if gone.len() == 1 { "" } else { "s" },
            if gone.len() == 1 { "ies" } else { "y" },
            list.join(", "),
            if gone.len() > 5 { ", …" } else { "" }
        ));
    }
    app.notify(said.join(" · "), error);
}
