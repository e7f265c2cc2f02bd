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
