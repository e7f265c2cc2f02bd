//! The terminal face: one event channel (keys, resizes, ticks, engine messages), keys mapped to
//! actions, `App::update` as the only state change, and a draw of `&App` per event. What an
//! update asks of the world comes back as effects: file writes and campaign operations are
//! carried out by `effects::apply` (the one path the tests drive too, their outcome handed back
//! with `App::done`); training, which runs on its own thread with a cancel flag so every tab
//! stays usable while it trains, and quitting are the loop's own.

pub mod action;
pub mod app;
pub mod effects;
pub mod event;
pub mod input;
pub mod keymap;
pub mod shared;
pub mod tabs;
pub mod theme;
pub mod trainer;
pub mod ui;
pub mod widgets;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use ratatui::crossterm::event::{
    self as ct, Event as CtEvent, KeyCode, KeyEventKind, KeyModifiers,
};

use crate::engine::run::TrainConfig;
use crate::engine::run::open::LoadedRun;
use crate::engine::run::open::find_run;
use crate::engine::{Error, Result};

use action::Action;
use app::{App, Effect, EngineMsg};
use event::Event;
use theme::Theme;

pub struct TuiOptions {
    pub train: TrainConfig,
    /// Open this saved run instead of finding or training one.
    pub run: Option<PathBuf>,
    /// Where runs are saved and looked for.
    pub out: PathBuf,
    pub theme: Theme,
    pub tiers: crate::engine::targeting::TierRule,
    pub phrases: crate::engine::targeting::phrases::Phrases,
    /// Where campaigns are stored (an SQLite file or a MySQL URL).
    pub campaign_db: String,
    /// Start the Targets list at the K this budget buys (`--budget`; for this session).
    pub budget: Option<f64>,
    /// The uplift folder to offer (`--uplift`); else the newest in `out`, if any.
    pub uplift: Option<PathBuf>,
}

/// Restores the terminal however the loop ends (return, `?`, panic unwinding).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

fn input_thread(tx: mpsc::Sender<Event>) {
    std::thread::spawn(move || {
        loop {
            match ct::poll(Duration::from_millis(200)) {
                Ok(true) => {
                    let ev = match ct::read() {
                        Ok(CtEvent::Key(k)) if k.kind == KeyEventKind::Press => Event::Key(k),
                        Ok(CtEvent::Resize(..)) => Event::Resize,
                        Ok(_) => continue,
                        Err(_) => return,
                    };
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
}

/// A key while an input box is open: text goes into the box, not to the keymap.
fn typing(app: &mut App, k: &ct::KeyEvent) -> Option<Action> {
    match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            Some(Action::ForceQuit)
        }
        KeyCode::Tab => {
            app.cycle_export_format();
            None
        }
        KeyCode::Enter => Some(Action::Enter),
        KeyCode::Esc => Some(Action::Esc),
        code => {
            app.edit_input(code, k.modifiers);
            None
        }
    }
}

/// A training run on its own thread, its progress shown from now on.
fn start_training(opts: &TuiOptions, tx: &mpsc::Sender<Event>, app: &mut App) -> trainer::Trainer {
    let t = trainer::spawn(opts.train.clone(), opts.out.clone(), tx.clone());
    app.training_started();
    t
}

pub fn run(opts: TuiOptions) -> Result<()> {
    // Temp runs of killed processes go; those another live process is writing stay.
    crate::engine::run::files::clean_stale_runs(&opts.out);
    let mut app = App::new(opts.theme, opts.train.models.len());
    app.tiers = opts.tiers.clone();
    app.phrases = opts.phrases.clone();
    app.campaign_db = Some(opts.campaign_db.clone());
    app.start_budget = opts.budget;
    app.campaigns.db = crate::engine::campaign::db::DbUrl::parse(&opts.campaign_db)?.redacted();
    // Load before taking over the screen, so an error prints normally. A folder found
    // without being asked for is offered only if it loads.
    let uplift = match &opts.uplift {
        Some(dir) => Some(crate::engine::uplift::UpliftModel::load(dir)?),
        None => crate::engine::uplift::apply::newest_in(&opts.out).and_then(|d| {
            crate::engine::uplift::UpliftModel::load(&d)
                .map_err(|e| tracing::warn!("uplift folder {} not offered: {e}", d.display()))
                .ok()
        }),
    };
    app.targets.uplift = uplift.map(tabs::targets::state::UpliftSource::new);
    let initial = match &opts.run {
        Some(dir) => Some(LoadedRun::load(dir)?),
        None => find_run(&opts.out, &opts.train).and_then(|d| match LoadedRun::load(&d) {
            Ok(run) => Some(run),
            Err(e) => {
                tracing::warn!("cannot reopen {}: {e}", d.display());
                None
            }
        }),
    };
    let (tx, rx) = mpsc::channel::<Event>();
    let mut trainer: Option<trainer::Trainer> = None;
    match initial {
        Some(run) => {
            tracing::info!("opened run {}", run.dir.display());
            effects::open(&mut app, run);
        }
        None => {
            // Missing files and empty globs are reported before the screen is taken.
            match &opts.train.dataset.features {
                Some(table) if !table.exists() => {
                    return Err(Error::in_file(table, "no such feature table"));
                }
                Some(_) => {}
                None => {
                    crate::engine::data::resolve(&opts.train.dataset.data)?;
                }
            }
            tracing::info!("no saved run for these settings: training");
            trainer = Some(start_training(&opts, &tx, &mut app));
        }
    }
    let mut terminal = ratatui::try_init().map_err(|e| Error::io("terminal", e))?;
    let _restore = Restore;
    // ratatui's hook restores the terminal on any panic; a panic on the training thread is
    // caught there and reported, so it must not tear the screen down: log it instead.
    let restore_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(trainer::THREAD_NAME) {
            tracing::error!("panic on the training thread: {info}");
        } else {
            restore_hook(info);
        }
    }));
    input_thread(tx.clone());
    loop {
        let size = terminal.size().map_err(|e| Error::io("terminal", e))?;
        app.targets.page = ui::target_page(size.height);
        app.fill_reasons();
        terminal
            .draw(|f| ui::render(&app, f))
            .map_err(|e| Error::io("terminal", e))?;
        let ev = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(ev) => ev,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let said = app.notices;
        let fx = match ev {
            Event::Key(k) => {
                let action = if app.input.is_some() {
                    typing(&mut app, &k)
                } else {
                    keymap::action_for(app.tab, &k)
                };
                // Writes and campaign operations are carried out in `apply`, as the tests
                // drive them; what comes back is the loop's own (training, quitting).
                action
                    .map(|a| effects::apply(&mut app, a))
                    .unwrap_or_default()
            }
            Event::Resize => vec![],
            Event::Engine(msg) => {
                if let EngineMsg::Finished(r) = &msg {
                    match r {
                        Ok(run) => tracing::info!("training finished: {}", run.dir.display()),
                        Err(e) => tracing::error!("training failed: {e}"),
                    }
                    trainer = None;
                }
                if let Some(run) = app.engine(msg) {
                    effects::open_retrained(&mut app, run);
                }
                vec![]
            }
        };
        for e in fx {
            match e {
                // Carried out by `effects::apply` already.
                Effect::Write(_) | Effect::Campaign(_) => {}
                Effect::Quit => {}
                Effect::CancelTraining => {
                    if let Some(t) = &trainer {
                        // The thread stops at its next check; the process does not wait for it.
                        t.cancel();
                        tracing::info!("training cancelled");
                    }
                }
                Effect::StartTraining => {
                    tracing::info!("retraining");
                    trainer = Some(start_training(&opts, &tx, &mut app));
                }
            }
        }
        // Every message the status line shows goes to the log too, whole (the line may cut it).
        if app.notices != said
            && let Some(n) = &app.last_notice
        {
            if n.error {
                tracing::error!("{}", n.text);
            } else {
                tracing::info!("{}", n.text);
            }
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}
