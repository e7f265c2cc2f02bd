//! The command-line face: one named function per command over the engine, as ripgrep lays
//! its commands out. `args` holds what clap reads, `show` what is printed; each family of
//! commands has its file (`data`, `train`, `targets`, `campaign`, `bench`). The engine prints
//! nothing: every line on stdout or stderr is written here or in the TUI.

pub mod args;
pub mod bench;
pub mod campaign;
pub mod data;
pub mod show;
pub mod targets;
pub mod train;
pub mod uplift;

use std::process::ExitCode;

use clap::Parser;

use crate::engine::Result;
use args::TuiArgs;
pub use args::{Cli, Command};

/// glibc gives each thread that allocates its own heap arena (up to 8 per core), and polars'
/// threads leave them fragmented: measured on a 35.5M-event log out of core with `--memory
/// 4GB`, peak RSS 4.25 GB with the default and 2.77 GB with two arenas, the same time. Two
/// arenas keep memory near what is in use, so a budget means something.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs before any thread is spawned.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

pub fn main() -> ExitCode {
    limit_malloc_arenas();
    show::install_error_report();
    let cli = Cli::parse();
    crate::engine::io::atomic::remove_live_on_signal();
    let result = run(cli);
    // A worker thread may still be writing (the TUI closed mid-training): its temp files go.
    crate::engine::io::atomic::remove_live();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {:?}", show::report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The command's function.
pub fn run(cli: Cli) -> Result<()> {
    // The workbench logs to its own file (it owns the screen); commands to stderr.
    if !matches!(cli.command, None | Some(Command::Tui(_))) {
        crate::logging::to_stderr();
    }
    match cli.command {
        None => tui(cli.tui),
        Some(Command::Tui(t)) => tui(t),
        Some(Command::Summary { data }) => data::summary(data),
        Some(Command::Sql(q)) => data::sql(q),
        Some(Command::Features { data, out }) => data::features(data, out),
        Some(Command::Gen(g)) => data::generate(g),
        Some(Command::Train(t)) => train::train(t),
        Some(Command::Score(s)) => train::score(s),
        Some(Command::Export(e)) => targets::export(e),
        Some(Command::Report(r)) => targets::report(r),
        Some(Command::Plan(p)) => targets::plan(p),
        Some(Command::Campaign(c)) => campaign::run(c),
        Some(Command::Uplift(u)) => uplift::run(u),
        Some(Command::Bench(b)) => bench::bench(b),
    }
}

/// The workbench.
fn tui(t: TuiArgs) -> Result<()> {
    use crate::tui::{TuiOptions, run, theme::Theme};
    let no_color = t.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (tiers, phrases) = t.target.load()?;
    crate::logging::to_file(&t.run_args.out.join("churn-tui.log"));
    run(TuiOptions {
        tiers,
        phrases,
        train: t.run_args.to_config()?,
        run: t.run,
        out: t.run_args.out.clone(),
        campaign_db: t.db.clone(),
        budget: t.budget,
        uplift: t.uplift,
        theme: Theme {
            color: !no_color,
            ascii: t.ascii,
        },
    })
}
