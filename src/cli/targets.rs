//! The target-list commands: `export` (the Top-K list as a file) and `report` (the campaign
//! report), over the run's hand edits and the workbench's choices.

use super::args::{ExportArgs, ListArgs, ReportArgs};
use super::show::shown_path;
use crate::engine::eval::KPct;
use crate::engine::run::files::guard_output;
use crate::engine::targeting::export::ExportFormat;
use crate::engine::targeting::list::{ListSpec, target_list};
use crate::engine::text::printable;
use crate::engine::{Error, Result};

/// `export`: the list, hand edits applied, as CSV, JSON, Parquet or XLSX.
pub fn export(e: ExportArgs) -> Result<()> {
    use crate::engine::targeting::export::export;
    let format = ExportFormat::for_path(&e.out, e.format)?;
    guard_output(&e.out, &[])?;
    with_list(&e.list, e.tiers, |run, spec| {
        let list = target_list(run, spec)?;
        let rows = &list.rows;
        export(rows, spec.tiers, format, &e.out)?;
        eprintln!(
            "wrote {} rows (top {}% by {}, {} excluded, {} added by hand) to {}",
            rows.len(),
            spec.k,
            printable(spec.model),
            spec.edits.excluded.len(),
            rows.iter().filter(|r| r.edited).count(),
            shown_path(&e.out)
        );
        if let Some(note) = list.tie_note(spec.k) {
            eprintln!("  {note} (SPEC §5)");
        }
        Ok(())
    })
}

/// `report`: the campaign report, Markdown or XLSX.
pub fn report(r: ReportArgs) -> Result<()> {
    use crate::engine::targeting::report::{ReportFormat, write_report_file};
    // Both refusals come before the run is loaded: a path no output may take, then an
    // extension that is no report format.
    guard_output(&r.out, &[])?;
    ReportFormat::of_path(&r.out)?;
    with_list(&r.list, false, |run, spec| {
        write_report_file(run, spec, &r.out)?;
        eprintln!("wrote the report to {}", shown_path(&r.out));
        Ok(())
    })
}

/// Open the run of `a` with its hand edits, tiers and language, and hand `f` the target list's
/// spec: the chosen (or named) model at K, or down to the widest tier with `all_tiers`.
fn with_list<T>(
    a: &ListArgs,
    all_tiers: bool,
    f: impl FnOnce(&crate::engine::run::open::LoadedRun, &ListSpec) -> Result<T>,
) -> Result<T> {
    let (tiers, phrases) = a.target.load()?;
    let run = crate::engine::run::open::LoadedRun::load(&a.run)?;
    let edits = crate::engine::targeting::edits::Edits::load_for(&run)?;
    // The flags first, then what the workbench saved with the run, then the run's own: the
    // list made here is the one the analyst saw, and the line below says which it is.
    let (model, model_why) = edits.model_choice(a.model.as_deref());
    let model = model.unwrap_or_else(|| run.chosen.clone());
    let (k, k_why) = match (all_tiers, a.k, edits.k) {
        (true, _, _) => (tiers.reach(), "every tier, --tiers"),
        (false, Some(k), _) => (k, "--k"),
        (false, None, Some(k)) => (k, "set in the workbench"),
        (false, None, None) => (
            run.ks.first().copied().unwrap_or(KPct { bp: 500 }),
            "the run's first K",
        ),
    };
    if run.model(&model).is_none() {
        // Names from a run's files: shown escaped by `report`.
        let names: Vec<&str> = run.models.iter().map(|m| m.name.as_str()).collect();
        return Err(Error::Config(format!("the run has no model `{model}`"))
            .hint(format!("its models are {}", names.join(", "))));
    }
    eprintln!(
        "model {} ({model_why}), top {k}% ({k_why})",
        printable(&model)
    );
    f(
        &run,
        &ListSpec {
            model: &model,
            k,
            tiers: &tiers,
            edits: &edits,
            phrases: &phrases,
        },
    )
}
