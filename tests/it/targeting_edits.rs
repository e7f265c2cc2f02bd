//! Hand edits in the workbench (SPEC §5): saved as made and kept through a kill, a stray temp
//! file, a retrain and a second workbench on the same run; the targeting model and K chosen
//! there survive a restart and drive `export`, `report` and `campaign create`; writes are asked
//! for by `update` and done by `perform`, and a failed export changes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use churn_tui::engine::eval::KPct;
use churn_tui::engine::run::open::LoadedRun;
use churn_tui::engine::targeting::edits::{Edit, Edits};
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::{Effect, Write};
use churn_tui::tui::effects::{self, apply};

use crate::common::targeting::*;
use crate::common::{bin, copy_dir, fixture_run, run_copy};

#[test]
fn edits_are_saved_as_made_and_survive_a_kill() {
    let (_d, run) = run_copy();
    let model = LoadedRun::load(&run).unwrap().chosen;
    let r = ranked(&run, &model);
    let mut app = app_on(&run);
    // Exclude ranks 2 and 4, add the user at rank 150 (below the 5% cut).
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Exclude);
    assert!(app.notice.as_ref().unwrap().text.ends_with("— saved"));
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Exclude);
    apply(&mut app, Action::AddUser);
    for c in r[149].0.to_string().chars() {
        app.type_char(c);
    }
    apply(&mut app, Action::Enter);
    // Each edit is on disk the moment it is shown as saved: read the file now, while the app
    // still lives, then drop the app without any shutdown (what a kill leaves behind).
    let on_disk = Edits::load(&run).unwrap();
    assert_eq!(on_disk.excluded, BTreeSet::from([r[1].0, r[3].0]));
    assert_eq!(on_disk.added, vec![r[149].0]);
    drop(app);

    let mut again = app_on(&run);
    assert_eq!(again.targets.edits, on_disk, "reloaded intact");
    let k = (500 * r.len()).div_ceil(10_000);
    assert_eq!(
        again.list_len(),
        k + 1,
        "top k rows shown (2 marked) plus the added one"
    );
    let rows = again.target_list().unwrap();
    assert_eq!(rows.len(), k - 2 + 1);
    assert_eq!(
        rows.iter()
            .map(|x| (x.rank, x.user_id, x.edited))
            .collect::<Vec<_>>(),
        expected(&run, &model, 500, &on_disk)
    );
    // Including a user again is an edit too.
    apply(&mut again, Action::Top);
    apply(&mut again, Action::Down);
    apply(&mut again, Action::Exclude);
    assert_eq!(
        Edits::load(&run).unwrap().excluded,
        BTreeSet::from([r[3].0])
    );
}

#[test]
fn the_export_popup_writes_the_chosen_format() {
    let (_d, run) = run_copy();
    let mut app = app_on(&run);
    apply(&mut app, Action::Export);
    let default = app.input.as_ref().unwrap().text.clone();
    assert!(default.ends_with("targets-top5.csv"), "{default}");
    // Tab cycles the extension: csv → json → parquet → xlsx.
    for _ in 0..3 {
        app.cycle_export_format();
    }
    let path = app.input.as_ref().unwrap().text.clone();
    assert!(path.ends_with("targets-top5.xlsx"), "{path}");
    apply(&mut app, Action::Enter);
    let note = app.notice.clone().unwrap();
    assert!(
        !note.error && note.text.contains("targets-top5.xlsx"),
        "{note:?}"
    );
    use calamine::{Reader, Xlsx, open_workbook};
    let mut x: Xlsx<_> = open_workbook(&path).unwrap();
    let k = app.k_rows();
    assert_eq!(x.worksheet_range("targets").unwrap().height(), k + 1);
}

#[test]
fn update_only_asks_for_writes_and_perform_does_them() {
    let (_d, run) = run_copy();
    let mut app = app_on(&run);
    let before = Edits::load(&run).unwrap();
    // An edit comes back as a write for the loop; the file is untouched until it is performed.
    let fx = app.update(Action::Exclude);
    let user = *app.targets.edits.excluded.first().unwrap();
    let w = Write::Edits {
        what: format!("user {user} excluded"),
        edit: Edit::Exclude(user),
    };
    assert_eq!(fx, vec![Effect::Write(w.clone())]);
    assert_eq!(
        Edits::load(&run).unwrap(),
        before,
        "update alone writes nothing"
    );
    let outcome = effects::perform(&mut app, &w);
    assert!(
        !outcome.error && outcome.text.ends_with("— saved"),
        "{outcome:?}"
    );
    assert_eq!(Edits::load(&run).unwrap(), app.targets.edits);
    app.done(outcome.clone());
    assert_eq!(app.notice, Some(outcome));

    // The export path typed comes back as a write; nothing exists until it is performed.
    app.update(Action::Export);
    let path = PathBuf::from(&app.input.as_ref().unwrap().text);
    let fx = app.update(Action::Enter);
    assert_eq!(fx, vec![Effect::Write(Write::Export(path.clone()))]);
    assert!(!path.exists());
    let outcome = effects::perform(&mut app, &Write::Export(path.clone()));
    assert!(!outcome.error, "{outcome:?}");
    assert!(path.exists());

    // So does the report.
    assert_eq!(
        app.update(Action::Report),
        vec![Effect::Write(Write::Report)]
    );
    let report = run.join("report-top5.md");
    assert!(!report.exists());
    let outcome = effects::perform(&mut app, &Write::Report);
    assert!(!outcome.error, "{outcome:?}");
    assert!(report.exists());
}

#[test]
fn an_export_whose_write_fails_shows_a_notice_and_changes_nothing() {
    let (d, run) = run_copy();
    let mut app = app_on(&run);
    app.update(Action::GoTab(Tab::Targets));
    // The export's name is taken by a directory with something in it.
    let taken = d.path().join("taken.csv");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), "kept").unwrap();
    let listing = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let (outside, inside) = (listing(d.path()), listing(&run));
    let (k, edits, sel) = (app.targets.k, app.targets.edits.clone(), app.targets.sel);

    app.update(Action::Export);
    app.input.as_mut().unwrap().text = taken.display().to_string();
    let rest = apply(&mut app, Action::Enter);
    assert!(rest.is_empty());
    let notice = app.notice.clone().expect("a notice");
    assert!(
        notice.error && notice.text.starts_with("export failed"),
        "{notice:?}"
    );
    // Nothing moved: the directory and its file, the run, no temp file left, the list as it was.
    assert!(taken.is_dir());
    assert_eq!(
        std::fs::read_to_string(taken.join("keep.txt")).unwrap(),
        "kept"
    );
    assert_eq!(listing(d.path()), outside);
    assert_eq!(listing(&run), inside);
    assert_eq!(
        (app.targets.k, &app.targets.edits, app.targets.sel),
        (k, &edits, sel)
    );
}

#[test]
fn a_stray_temp_file_from_a_killed_save_does_not_hide_the_saved_edits() {
    let (_d, run) = run_copy();
    let mut e = Edits::default();
    e.toggle_exclude(7);
    e.save(&run).unwrap();
    // A save killed before its rename leaves a partial temp file beside edits.json.
    std::fs::write(run.join(".churn-tui-x.tmp"), "{\"excluded\": [8").unwrap();
    assert_eq!(Edits::load(&run).unwrap(), e);
}

/// A run trained from the workbench keeps the analyst's work: the hand edits (saved into the
/// new run at once), the targeting model and K; an edit naming a user the new run does not
/// score is listed in the notice, not dropped silently.
#[test]
fn retraining_carries_the_edits_and_the_targeting_choice_over() {
    let (d, run) = run_copy();
    let mut app = app_on(&run);
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Exclude);
    let excluded = *app.targets.edits.excluded.first().unwrap();
    // A user no new run will score (edits are checked on load, so put it in by hand).
    app.targets.edits.added.push(999_999_999);
    app.targets.pick("tree".into());
    app.targets.k = KPct { bp: 1250 };

    // The "new" run: the same fixture in another directory, no edits of its own.
    let new_dir = d.path().join("new-run");
    copy_dir(&fixture_run(), &new_dir);
    effects::open_retrained(&mut app, LoadedRun::load(&new_dir).unwrap());

    assert_eq!(app.run.as_ref().unwrap().dir, new_dir);
    assert!(app.targets.edits.excluded.contains(&excluded));
    assert!(!app.targets.edits.added.contains(&999_999_999));
    assert_eq!(
        Edits::load(&new_dir).unwrap(),
        app.targets.edits,
        "saved at once"
    );
    assert_eq!(app.targets.model.as_deref(), Some("tree"));
    assert_eq!(app.targets.k, KPct { bp: 1250 });
    let notice = app.notice.clone().unwrap();
    assert!(!notice.error, "{notice:?}");
    assert!(
        notice.text.contains("1 hand edit carried over from run"),
        "{notice:?}"
    );
    assert!(
        notice.text.contains("targeting still by tree"),
        "{notice:?}"
    );
    assert!(
        notice.text.contains("1 edit no longer applies") && notice.text.contains("999999999"),
        "{notice:?}"
    );
}

/// The targeting model picked with Enter and K set on Targets are saved with the edits: a
/// restart shows them, and `export`, `report` and `campaign create` use them when no flag
/// says otherwise, saying which they used and why.
#[test]
fn the_model_and_k_chosen_in_the_workbench_survive_a_restart_and_drive_the_commands() {
    let (d, run) = run_copy();
    let mut app = app_on(&run);
    app.update(Action::GoTab(Tab::Leaderboard));
    // The board is sorted by val PR-AUC: logreg, then gbdt.
    apply(&mut app, Action::Down);
    apply(&mut app, Action::Enter);
    assert_eq!(app.targets.model.as_deref(), Some("gbdt"));
    let note = app.notice.clone().unwrap();
    assert!(
        note.text.contains("gbdt") && note.text.ends_with("— saved"),
        "{note:?}"
    );
    app.update(Action::GoTab(Tab::Targets));
    apply(&mut app, Action::KPlus1);
    assert_eq!(app.targets.k, KPct { bp: 600 });
    assert!(app.notice.is_none(), "a K step saves quietly");
    let saved = Edits::load(&run).unwrap();
    assert_eq!(
        (saved.model.as_deref(), saved.k),
        (Some("gbdt"), Some(KPct { bp: 600 }))
    );
    drop(app);

    let again = app_on(&run);
    assert_eq!(again.targets.model.as_deref(), Some("gbdt"));
    assert_eq!(again.targets.k, KPct { bp: 600 });
    // ceil(6 · 496 / 100) = 30 rows.
    assert_eq!(again.k_rows(), 30);

    let out = d.path().join("t.csv");
    let o = bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("model gbdt (chosen in the workbench), top 6% (set in the workbench)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 31);
    let o = bin()
        .args(["export", "--model", "logreg", "--k", "5", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("model logreg (--model), top 5% (--k)"),
        "{err}"
    );
    let md = d.path().join("r.md");
    let o = bin()
        .args(["report", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&md)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("model gbdt (chosen in the workbench)"));
    assert!(std::fs::read_to_string(&md).unwrap().contains("top 6%"));
    let db = d.path().join("c.db");
    let o = bin()
        .args(["campaign", "create", "--name", "x", "--db"])
        .arg(&db)
        .arg("--run")
        .arg(&run)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("model gbdt (chosen in the workbench), top 6% (set in the workbench)"),
        "{err}"
    );
    // A saved model the run lacks is refused, naming the file.
    std::fs::write(
        run.join("edits.json"),
        "{\"excluded\": [], \"added\": [], \"model\": \"nope\"}",
    )
    .unwrap();
    let o = bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("edits.json") && err.contains("nope"),
        "{err}"
    );
}

/// Two workbenches on one run: each edit is merged into the file as it is when saved, so
/// neither overwrites the other's; the next save shows the other's edits too.
#[test]
fn two_workbenches_on_one_run_keep_both_editors_edits() {
    let (_d, run) = run_copy();
    let mut a = app_on(&run);
    let mut b = app_on(&run);
    apply(&mut a, Action::Exclude);
    let ua = *a.targets.edits.excluded.first().unwrap();
    apply(&mut b, Action::Down);
    apply(&mut b, Action::Down);
    apply(&mut b, Action::Exclude);
    let ub = *b.targets.edits.excluded.iter().find(|&&u| u != ua).unwrap();
    assert_eq!(
        Edits::load(&run).unwrap().excluded,
        BTreeSet::from([ua, ub]),
        "A's exclusion survives B's save"
    );
    assert!(
        b.notice
            .as_ref()
            .unwrap()
            .text
            .contains("another workbench"),
        "{:?}",
        b.notice
    );
    // A's next edit brings B's exclusion onto A's list.
    apply(&mut a, Action::Down);
    apply(&mut a, Action::Exclude);
    assert!(a.targets.edits.excluded.contains(&ub));
    assert_eq!(Edits::load(&run).unwrap().excluded.len(), 3);
    assert_eq!(Edits::load(&run).unwrap(), {
        let mut e = a.targets.edits.clone();
        e.model = None;
        e.k = None;
        e
    });
}
