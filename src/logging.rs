//! Where log and profile lines go. The engine emits `tracing` events and knows nothing of
//! where they end up; the face installs one subscriber: stderr for commands, a file for the
//! workbench (which owns the screen, so nothing may print to it).
//!
//! `CHURN_LOG` takes a filter (`info`, `churn_tui=debug`, …; default `warn`);
//! `CHURN_PROFILE_FEATURES=1` (or its older name `CHURN_PROFILE_POLARS=1`) turns the profile
//! lines on.

use std::path::Path;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

pub use crate::engine::PROFILE;

fn filter(default: &str) -> EnvFilter {
    let base = std::env::var("CHURN_LOG").unwrap_or_else(|_| default.to_string());
    let mut f = EnvFilter::try_new(&base).unwrap_or_else(|_| EnvFilter::new(default));
    let profiling = ["CHURN_PROFILE_FEATURES", "CHURN_PROFILE_POLARS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if profiling && let Ok(d) = format!("{PROFILE}=info").parse() {
        f = f.add_directive(d);
    }
    f
}

/// Commands: lines on stderr, bare (no time or level), as a person reads them.
pub fn to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("warn"))
        .with_writer(std::io::stderr)
        .without_time()
        .with_level(false)
        .with_target(false)
        .try_init();
}

/// UTC seconds, as the rest of the project writes times.
struct UtcSeconds;

impl FormatTime for UtcSeconds {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// The workbench: appended to `path` with times and levels. Only ever a regular file: opening
/// a FIFO someone left there would block the workbench; then nothing is logged.
pub fn to_file(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("info"))
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_timer(UtcSeconds)
        .with_target(false)
        .try_init();
}
