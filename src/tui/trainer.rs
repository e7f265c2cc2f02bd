//! The training thread: runs the engine's `train`, saves the run, and reports typed progress and
//! the outcome over the UI's channel. Cancelling sets a flag the engine checks between steps.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use crate::engine::run::save::save_new;
use crate::engine::run::{self, TrainConfig};

use super::app::EngineMsg;
use super::event::Event;

/// The training thread's name; the TUI's panic hook recognises it.
pub const THREAD_NAME: &str = "churn-train";

pub struct Trainer {
    cancel: Arc<AtomicBool>,
    pub handle: JoinHandle<()>,
}

impl Trainer {
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// Start training `cfg` in the background; the run is saved under `out`.
pub fn spawn(cfg: TrainConfig, out: PathBuf, tx: Sender<Event>) -> Trainer {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let body = move || {
        let progress = |p| {
            let _ = tx.send(Event::Engine(EngineMsg::Progress(p)));
        };
        // A panic inside a model crate must end this run, not the workbench: it becomes an
        // error message (the TUI's panic hook leaves the screen alone on this thread). The new
        // run is also loaded here, so the UI thread never blocks on reading it.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Saving opens the run as the workbench does, before it gets its name.
            run::train(&cfg, &progress, &flag)
                .and_then(|report| {
                    progress(run::Progress::Stage("saving the run"));
                    save_new(&report, &out)
                })
                .map(|(_, run)| Box::new(run))
                .map_err(|e| e.to_string())
        }))
        .unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("training crashed: {what}"))
        });
        let _ = tx.send(Event::Engine(EngineMsg::Finished(result)));
    };
    let handle = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(body)
        .unwrap_or_else(|_| std::thread::spawn(|| {}));
    Trainer { cancel, handle }
}
