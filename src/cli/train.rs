//! The model commands: `train` (the leaderboard, saved as a run) and `score` (a saved run at a
//! new anchor).

use super::args::{ScoreArgs, TrainArgs};
use super::show::{progress_bar, say, show_pass, shown, shown_path};
use crate::engine::Result;
use crate::engine::dataset;
use crate::engine::run::files::guard_output;
use crate::engine::text::printable;

/// `train`: every model on the time split, the choice, and the run saved.
pub fn train(t: TrainArgs) -> Result<()> {
    use crate::engine::run::{self, Progress};
    use std::sync::atomic::AtomicBool;

    let cfg = t.run.to_config()?;
    let bar = progress_bar();
    let progress = |p: Progress| match p {
        Progress::Stage(s) => {
            bar.set_message(s.to_string());
            bar.set_length(0);
            bar.set_position(0);
        }
        Progress::Model { model, done, total } => {
            bar.set_message(model);
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Progress::ModelFailed { model, error } => say(
            &bar,
            shown(&format!("! {model} failed and is left out: {error}")),
        ),
        // The bar's own clock shows the time; a script's log needs no line a second.
        Progress::Working { model, .. } => bar.set_message(model),
        // The summary is printed with the results.
        Progress::Stats(_) => {}
        Progress::Pass { pass, done, total } => show_pass(&bar, pass, done, total),
        Progress::ModelDone { model, seconds } => {
            say(&bar, format!("· {model}: fit in {seconds:.2}s"))
        }
    };
    let cancel = AtomicBool::new(false);
    let report = run::train(&cfg, &progress, &cancel);
    bar.finish_and_clear();
    let report = report?;
    let (dir, _) = crate::engine::run::save::save_new(&report, &t.run.out)?;
    if t.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&crate::engine::run::save::eval_file(&report))
                .unwrap_or_default()
        );
    } else {
        eprint!("{}", shown(&dataset::summary(&report.dataset)));
        println!("{}", shown(&crate::engine::run::save::leaderboard(&report)));
    }
    eprintln!("run saved to {}", shown_path(&dir));
    Ok(())
}

/// `score`: a saved run's model on users at a new anchor.
pub fn score(s: ScoreArgs) -> Result<()> {
    use crate::engine::run::score;
    let anchor = s.anchor;
    guard_output(&s.out, &[])?;
    let format = score::ScoreFormat::for_path(&s.out, s.format)?;
    let scored = score::score(&score::ScoreRequest {
        run_dir: s.run,
        data: s.data,
        anchor,
        model: s.model,
        exec: s.exec.to_exec()?,
    })?;
    score::write(&scored, &s.out, format)?;
    eprintln!(
        "scored {} users at {} with {} -> {}",
        scored.rows.len(),
        crate::engine::time::fmt_anchor(anchor),
        printable(&scored.model),
        shown_path(&s.out)
    );
    Ok(())
}
