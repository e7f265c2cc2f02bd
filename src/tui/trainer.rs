//! The training thread: runs the engine's `train`, saves the run, and reports typed progress and
//! the outcome over the UI's channel. Cancelling sets a flag the engine checks between steps.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use crate::engine::artifacts::save_new;
use crate::engine::run::{self, TrainConfig};

use super::Event;
use super::app::EngineMsg;

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
    let handle = std::thread::spawn(move || {
        let progress = |p| {
            let _ = tx.send(Event::Engine(EngineMsg::Progress(p)));
        };
        let result = run::train(&cfg, &progress, &flag)
            .and_then(|report| save_new(&report, &out))
            .map_err(|e| e.to_string());
        let _ = tx.send(Event::Engine(EngineMsg::Finished(result)));
    });
    Trainer { cancel, handle }
}
