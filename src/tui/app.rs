//! The workbench's state and its one state-changing function, `App::update(action)`. `App`
//! holds what is global (tab, theme, the loaded run, training, notice, popup, input box) and
//! each tab's own state, and hands tab-scoped actions to the tab on screen. It does no I/O: file
//! writes come back as `Effect::Write` for the loop (`effects::perform`). Drawing reads the
//! state (`&App`); keys become actions in `keymap`; the engine's messages arrive via
//! `App::engine`. Tests drive this directly: actions in, screen out.

use std::path::PathBuf;

use crate::engine::dataset::stats::RunStats;
use crate::engine::run::Progress;
use crate::engine::run::open::{LoadedRun, ModelView};
use crate::engine::targeting::TierRule;
use crate::engine::targeting::edits::{Edit, Edits};
use crate::engine::targeting::list::{ListSpec, TargetRow, target_rows};
use crate::engine::targeting::phrases::{Phrases, english};

use super::action::{Action, Tab};
use super::input::{Input, InputKind};
use super::shared::Shared;
use super::tabs::Scroll;
use super::tabs::campaigns::Campaigns;
use super::tabs::curves::Curves;
use super::tabs::features::Features;
use super::tabs::help::Help;
use super::tabs::labels::Labels;
use super::tabs::leaderboard::Leaderboard;
use super::tabs::targets::{Reply, Targets};
use super::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// The last status message, wrapped.
    Message,
    /// A test row of the workbench.
    User(usize),
}

/// What the engine thread tells the UI.
#[derive(Debug)]
pub enum EngineMsg {
    Progress(Progress),
    /// The run finished and was saved in this directory, or failed with this message.
    Finished(Result<Box<LoadedRun>, String>),
}

/// What the loop must do after an update: `App` changes only its own state, so training and
/// every file write are done by the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    StartTraining,
    CancelTraining,
    Quit,
    /// Write a file (`effects::perform`), then hand the outcome back with `App::done`.
    Write(Write),
    /// Read or write the campaign database (`effects::campaign`).
    Campaign(CampaignOp),
}

/// What the workbench asks of the campaign database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignOp {
    /// Read the campaigns for the Campaigns tab.
    Load,
    /// Store a campaign of the Targets list as it stands.
    Create { name: String, holdout_bp: u32 },
    /// Read a campaign out from these logs, store the read-out and show it.
    Readout { id: i64, data: Vec<String> },
}

/// The files the workbench writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// The target list, in the format the path's extension names.
    Export(PathBuf),
    /// The campaign report, into the run directory.
    Report,
    /// One change of the hand edits (or of the targeting model or K), merged into the run
    /// directory's saved edits; `what` starts the notice (empty: said only if it fails).
    Edits { what: String, edit: Edit },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Training {
    pub stage: String,
    pub model: Option<String>,
    pub step: (usize, usize),
    pub models_done: usize,
    pub models_total: usize,
    /// Seconds the running model has worked (its heartbeat), shown while steps are slow.
    pub working: Option<u64>,
}

impl Training {
    /// Overall progress in [0, 1]: finished models plus the running one's share.
    pub fn ratio(&self) -> f64 {
        if self.models_total == 0 {
            return 0.0;
        }
        let part = if self.step.1 > 0 {
            self.step.0 as f64 / self.step.1 as f64
        } else {
            0.0
        };
        ((self.models_done as f64 + part) / self.models_total as f64).clamp(0.0, 1.0)
    }
}

/// A message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

pub struct App {
    /// The tab on screen.
    pub tab: Tab,
    pub theme: Theme,
    /// The run shown (none while the first training runs).
    pub run: Option<LoadedRun>,
    /// The training run's progress, while one runs.
    pub training: Option<Training>,
    /// The status line's message, cleared by the next key.
    pub notice: Option<Notice>,
    /// The last message shown, kept after the status line is cleared (`m` shows it whole).
    pub last_notice: Option<Notice>,
    /// Messages shown so far (the loop logs each new one).
    pub notices: u64,
    pub popup: Option<Popup>,
    /// Scroll of the open popup.
    pub popup_scroll: Scroll,
    /// The open input box (search, K, export path, user id).
    pub input: Option<Input>,
    pub quit: bool,
    /// Targeting's tiers and offers, and the language of reasons and FAQ.
    pub tiers: TierRule,
    pub phrases: Phrases,
    /// Each tab's own state.
    pub labels: Labels,
    pub features: Features,
    pub leaderboard: Leaderboard,
    pub curves: Curves,
    pub targets: Targets,
    pub help: Help,
    pub campaigns: Campaigns,
    /// Where campaigns are stored (`--db`); none in tests that do not ask for one.
    pub campaign_db: Option<String>,
    /// `--budget`: each run shown starts with K following it (not saved with the run).
    pub start_budget: Option<f64>,
    /// The new run's data summary and feature statistics while its models still fit (the
    /// Labels and Features tabs show them before the run is saved).
    pub early_stats: Option<RunStats>,
    /// The campaign whose logs are being asked for.
    readout_id: Option<i64>,
    /// The name typed for a campaign while its holdout is asked for.
    campaign_name: Option<String>,
    models_planned: usize,
}

impl App {
    pub fn new(theme: Theme, models_planned: usize) -> App {
        App {
            tab: Tab::Labels,
            theme,
            run: None,
            training: None,
            notice: None,
            last_notice: None,
            notices: 0,
            popup: None,
            popup_scroll: Scroll::default(),
            input: None,
            quit: false,
            tiers: TierRule::default(),
            phrases: english().clone(),
            labels: Labels::default(),
            features: Features::default(),
            leaderboard: Leaderboard::default(),
            curves: Curves::default(),
            targets: Targets::default(),
            help: Help::default(),
            campaigns: Campaigns::default(),
            campaign_db: None,
            start_budget: None,
            campaign_name: None,
            readout_id: None,
            early_stats: None,
            models_planned,
        }
    }

    /// Show a loaded run with its saved hand edits, or the error that kept them from loading
    /// (the caller reads them: `effects::open`). Keeps the current tab.
    pub fn show_run(&mut self, run: LoadedRun, edits: crate::engine::Result<Edits>) {
        let edits = edits.map_err(|e| {
            self.notify(format!("hand edits not loaded: {e}"), true);
            e.to_string()
        });
        self.targets.open(&run, edits);
        if let Some(b) = self.start_budget {
            self.targets.budget = Some(b);
            self.targets.follow = true;
        }
        self.leaderboard.ties = crate::engine::targeting::order::first_k_ties(&run)
            .into_iter()
            .map(|(m, t)| (m, t.taken, t.tied))
            .collect();
        self.run = Some(run);
        self.leaderboard.sel = 0;
        self.curves.sel = 0;
    }

    pub fn notify(&mut self, text: impl Into<String>, error: bool) {
        self.done(Notice {
            text: text.into(),
            error,
        });
    }

    /// The outcome of an effect the loop carried out (a file written or not), for the status
    /// line.
    pub fn done(&mut self, outcome: Notice) {
        // A quiet save (K moved key by key) that worked says nothing.
        if outcome.text.is_empty() {
            return;
        }
        self.last_notice = Some(outcome.clone());
        self.notices += 1;
        self.notice = Some(outcome);
    }

    /// What the tabs read of the global state when drawing.
    pub fn shared(&self) -> Shared<'_> {
        Shared {
            theme: &self.theme,
            run: self.run.as_ref(),
            // A run in training shows its own data, not the run shown before it.
            stats: self
                .early_stats
                .as_ref()
                .or(self.run.as_ref().map(|w| &w.stats)),
            training: self.training.is_some(),
            tiers: &self.tiers,
            phrases: &self.phrases,
            target: self.targeting_model(),
            k: self.targets.cut(),
        }
    }

    /// The list's money for a report: its ledger, what it costs (and what the budget bought),
    /// the plan's table with the read-out's uplifts as the Campaigns tab last read them.
    pub fn money_for_outputs(&self) -> crate::engine::targeting::money::Money {
        use crate::engine::targeting::money::{ListMoney, Money, PlanTable, group_names};
        let mut money = Money::default();
        let (Some(run), Some(m)) = (self.run.as_ref(), self.targeting_model()) else {
            return money;
        };
        match &self.targets.money.ledger {
            None => {}
            Some(Err(e)) => money.why_not = Some(e.clone()),
            Some(Ok(l)) => {
                let names = group_names(&self.tiers, &self.phrases);
                let k = self.targets.cut().k_of(m.n());
                let bought = self.targets.budget.map(|b| l.budget_k(b));
                money.list = Some(ListMoney::of(l, k, bought, &names));
                let uplifts = match &self.campaigns.list {
                    Some(Ok(all)) => crate::engine::campaign::uplifts::latest(
                        all,
                        &run.run_id,
                        &self.campaigns.db,
                    ),
                    Some(Err(e)) => Err(format!("the campaign database did not open: {e}")),
                    None => Err("the campaigns were not read (open the Campaigns tab)".into()),
                };
                money.plan = Some(PlanTable::new(
                    l,
                    names,
                    uplifts,
                    self.targets.budget,
                    &self.tiers,
                ));
                money.ledger = Some(l.as_ref().clone());
            }
        }
        money
    }

    /// The model the Targets tab ranks by.
    pub fn targeting_model(&self) -> Option<&ModelView> {
        self.targets.model_in(self.run.as_ref())
    }

    /// Rows in the current Top-K.
    pub fn k_rows(&self) -> usize {
        self.targets.k_rows(self.run.as_ref())
    }

    /// Rows of the Targets list: the top k, then users added by hand from below it.
    pub fn list_len(&self) -> usize {
        self.targets.list_len(self.run.as_ref())
    }

    /// The current target list as an export would write it.
    pub fn target_list(&self) -> crate::engine::Result<Vec<TargetRow>> {
        let (run, spec) = self
            .list_spec()
            .ok_or_else(|| crate::engine::Error::Config("no run loaded".into()))?;
        target_rows(run, &spec)
    }

    /// What the current target list is made of: the targeting model, K, tiers, edits, language.
    pub fn list_spec(&self) -> Option<(&LoadedRun, ListSpec<'_>)> {
        let (run, m) = (self.run.as_ref()?, self.targeting_model()?);
        Some((
            run,
            ListSpec {
                model: &m.name,
                cut: self.targets.cut(),
                tiers: &self.tiers,
                edits: &self.targets.edits,
                phrases: &self.phrases,
                rank: &self.targets.rank,
            },
        ))
    }

    /// Typing into an open input box.
    pub fn type_char(&mut self, c: char) {
        if let Some(i) = &mut self.input {
            i.key(
                ratatui::crossterm::event::KeyCode::Char(c),
                ratatui::crossterm::event::KeyModifiers::NONE,
            );
        }
    }

    /// An editing key in the open input box (`false` when it is none).
    pub fn edit_input(
        &mut self,
        code: ratatui::crossterm::event::KeyCode,
        mods: ratatui::crossterm::event::KeyModifiers,
    ) -> bool {
        self.input.as_mut().is_some_and(|i| i.key(code, mods))
    }

    /// In the export box, Tab swaps the file extension: .csv → .json → .parquet → .xlsx.
    pub fn cycle_export_format(&mut self) {
        if let Some(i) = &mut self.input {
            i.cycle_export_format();
        }
    }

    pub fn backspace(&mut self) {
        self.edit_input(
            ratatui::crossterm::event::KeyCode::Backspace,
            ratatui::crossterm::event::KeyModifiers::NONE,
        );
    }

    /// Handle one engine message.
    pub fn engine(&mut self, msg: EngineMsg) -> Option<LoadedRun> {
        match msg {
            EngineMsg::Progress(p) => {
                let t = self.training.get_or_insert_with(Training::default);
                if t.models_total == 0 {
                    t.models_total = self.models_planned;
                }
                match p {
                    Progress::Stage(s) => {
                        t.stage = s.to_string();
                        t.step = (0, 0);
                        t.model = None;
                        t.working = None;
                    }
                    Progress::Model { model, done, total } => {
                        t.stage = "models".into();
                        t.model = Some(model);
                        t.step = (done, total);
                    }
                    Progress::ModelDone { .. } => {
                        t.models_done += 1;
                        t.step = (0, 0);
                        t.working = None;
                    }
                    Progress::Pass { pass, done, total } => {
                        t.stage = format!("features · {pass}");
                        t.step = (done as usize, total as usize);
                    }
                    Progress::Working { model, seconds } => {
                        // A stage's heartbeat (features) is no model.
                        if !(t.model.is_none() && t.stage.starts_with(model.as_str())) {
                            t.model = Some(model);
                        }
                        t.working = Some(seconds);
                    }
                    Progress::Stats(s) => self.early_stats = Some(*s),
                    Progress::ModelFailed { model, error } => {
                        t.models_done += 1;
                        t.working = None;
                        self.notify(format!("{model} failed: {error}"), true);
                    }
                }
                None
            }
            EngineMsg::Finished(Ok(run)) => {
                self.training = None;
                self.early_stats = None;
                self.notify(format!("run saved to {}", run.dir.display()), false);
                Some(*run)
            }
            EngineMsg::Finished(Err(e)) => {
                self.training = None;
                self.early_stats = None;
                self.notify(format!("training failed: {e}"), true);
                None
            }
        }
    }

    /// Start of a training run the loop has launched.
    pub fn training_started(&mut self) {
        self.training = Some(Training {
            stage: "starting".into(),
            models_total: self.models_planned,
            ..Default::default()
        });
    }

    /// Apply one action; returns what the loop must do.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::ForceQuit {
            self.quit = true;
            return vec![Effect::CancelTraining, Effect::Quit];
        }
        if self.input.is_some() {
            match action {
                Action::Esc => self.input = None,
                Action::Enter => return self.submit_input(),
                _ => {}
            }
            return vec![];
        }
        if self.popup.is_some() {
            match action {
                Action::Esc | Action::Help | Action::Enter => self.popup = None,
                Action::Quit => {
                    self.quit = true;
                    return vec![Effect::CancelTraining, Effect::Quit];
                }
                // Movement keys scroll the popup (a page is the Targets list's).
                other => {
                    self.popup_scroll.update(other, self.targets.page);
                }
            }
            return vec![];
        }
        self.notice = None;
        match action {
            Action::Quit | Action::ForceQuit => {
                self.quit = true;
                return vec![Effect::CancelTraining, Effect::Quit];
            }
            Action::Help => {
                self.popup_scroll.reset();
                self.popup = Some(Popup::Help)
            }
            Action::Message => {
                if self.last_notice.is_some() {
                    self.popup_scroll.reset();
                    self.popup = Some(Popup::Message);
                } else {
                    self.notify("no message yet", false);
                }
            }
            Action::NextTab => {
                return self.go(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]);
            }
            Action::PrevTab => {
                return self.go(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]);
            }
            Action::GoTab(t) => return self.go(t),
            // Esc is bound everywhere: outside a box or popup it closes the plan view, else
            // ends the Targets search.
            Action::Esc if self.tab == Tab::Targets && self.targets.plan_open => {
                self.targets.plan_open = false;
            }
            Action::Esc => self.targets.search = None,
            Action::Retrain => {
                if self.training.is_some() {
                    self.notify("a training run is already going", false);
                } else {
                    return vec![Effect::StartTraining];
                }
            }
            _ => return self.on_tab(action),
        }
        vec![]
    }

    /// Show `tab`; the Campaigns tab reads the database each time it is shown (a read-out made
    /// from the shell since shows at once).
    fn go(&mut self, tab: Tab) -> Vec<Effect> {
        self.tab = tab;
        if tab == Tab::Campaigns {
            return vec![Effect::Campaign(CampaignOp::Load)];
        }
        vec![]
    }

    /// An action scoped to a tab goes to the tab on screen (the keymap binds it there).
    fn on_tab(&mut self, action: Action) -> Vec<Effect> {
        let run = self.run.as_ref();
        // A page is the rows the Targets list shows; the scrolling tabs page by it too.
        let page = self.targets.page;
        match self.tab {
            Tab::Labels => self.labels.update(action, page),
            Tab::Features => self.features.update(action, page),
            Tab::Help => self.help.update(action, page),
            Tab::Campaigns if action == Action::Readout => match self.campaigns.selected() {
                Some(c) => {
                    // The run's own logs when the campaign is of the run shown and it read
                    // one file or glob (a path with spaces stays whole in the box).
                    let own = self
                        .run
                        .as_ref()
                        .filter(|w| w.run_id == c.campaign.run_id)
                        .map(|w| w.config.dataset.data.clone())
                        .filter(|d| d.len() == 1)
                        .and_then(|d| d.into_iter().next())
                        .unwrap_or_default();
                    self.readout_id = Some(c.campaign.id);
                    self.input = Some(Input::new(InputKind::ReadoutData, own));
                }
                None => self.notify("no campaign to read out", true),
            },
            Tab::Campaigns => self.campaigns.update(action, page),
            Tab::Curves if !self.curves.offers(action) => {
                // `v` is off the key bar here; pressed anyway, it says why.
                self.notify(
                    "gain and lift are drawn on test only; v switches the PR curves",
                    false,
                );
            }
            Tab::Curves => self.curves.update(action, run, page),
            Tab::Leaderboard => {
                if let Some(name) = self.leaderboard.update(action, run, page) {
                    // Saved with the run's edits, so a restart and `export` use it too.
                    self.targets.pick(name.clone());
                    return vec![Effect::Write(Write::Edits {
                        what: format!("targeting now uses {name}"),
                        edit: Edit::Model(name),
                    })];
                }
            }
            Tab::Targets if action == Action::Campaign => {
                if self.list_spec().is_none() {
                    self.notify("no target list yet: a campaign needs a run", true);
                } else {
                    let name = self.campaign_default_name();
                    self.input = Some(Input::new(InputKind::CampaignName, name));
                }
            }
            Tab::Targets => {
                let reply = self.targets.update(action, run);
                let mut effects = self.reply(reply);
                // The plan takes its uplifts from the campaigns as stored now.
                if action == Action::Plan && self.targets.plan_open {
                    effects.push(Effect::Campaign(CampaignOp::Load));
                }
                return effects;
            }
        }
        vec![]
    }

    /// Carry out what the Targets tab asked for.
    fn reply(&mut self, reply: Reply) -> Vec<Effect> {
        match reply {
            Reply::Nothing => {}
            Reply::Note { text, error } => self.notify(text, error),
            Reply::Edited { what, edit } => {
                return vec![Effect::Write(Write::Edits { what, edit })];
            }
            Reply::Open(row) => {
                self.popup_scroll.reset();
                self.popup = Some(Popup::User(row));
            }
            Reply::Ask(kind, text) => self.input = Some(Input::new(kind, text)),
            Reply::Report => return vec![Effect::Write(Write::Report)],
        }
        vec![]
    }

    fn submit_input(&mut self) -> Vec<Effect> {
        let Some(input) = self.input.take() else {
            return vec![];
        };
        let run = self.run.as_ref();
        let reply = match input.kind {
            InputKind::Search => self.targets.search_for(run, &input.text),
            InputKind::K => self.targets.set_k_text(run, &input.text),
            InputKind::Budget => {
                self.targets
                    .set_budget_text(run, &self.tiers, &self.phrases.lang, &input.text)
            }
            InputKind::AddUser => self.targets.add_user(run, &input.text),
            InputKind::CampaignName => {
                let name = input.text.trim();
                if name.is_empty() {
                    Reply::Note {
                        text: "no name given: no campaign made".into(),
                        error: true,
                    }
                } else {
                    self.campaign_name = Some(name.to_string());
                    Reply::Ask(InputKind::CampaignHoldout, "10".into())
                }
            }
            InputKind::ReadoutData => {
                let data = input.text.trim();
                match self.readout_id.take() {
                    Some(id) if !data.is_empty() => {
                        return vec![Effect::Campaign(CampaignOp::Readout {
                            id,
                            data: vec![data.to_string()],
                        })];
                    }
                    _ => Reply::Note {
                        text: "no logs given: nothing read out".into(),
                        error: true,
                    },
                }
            }
            InputKind::CampaignHoldout => {
                let name = self.campaign_name.take().unwrap_or_default();
                match crate::engine::campaign::create::parse_holdout(&input.text) {
                    Ok(holdout_bp) => {
                        return vec![Effect::Campaign(CampaignOp::Create { name, holdout_bp })];
                    }
                    Err(e) => Reply::Note {
                        text: format!("{e}; no campaign made"),
                        error: true,
                    },
                }
            }
            InputKind::ExportPath => {
                let p = input.text.trim();
                if p.is_empty() {
                    Reply::Note {
                        text: "no path given: nothing exported".into(),
                        error: true,
                    }
                } else {
                    return vec![Effect::Write(Write::Export(PathBuf::from(p)))];
                }
            }
        };
        self.reply(reply)
    }

    /// The name a new campaign is offered: the targeting model, K and the test anchor's day.
    fn campaign_default_name(&self) -> String {
        let Some((run, spec)) = self.list_spec() else {
            return String::new();
        };
        let day = run
            .test_anchor()
            .map(|t| crate::engine::time::fmt_anchor(t)[..10].to_string())
            .unwrap_or_default();
        let n = run.model(spec.model).map_or(0, |m| m.n());
        format!("{day} {} {}", spec.model, spec.cut.text(n))
    }

    /// Before each draw: fit the Targets list to the page and fill the risk-reason cache for
    /// the rows about to be shown (the list's on the Targets tab, the user popup's). A cache
    /// fill, no I/O; too slow to do while drawing from `&App`.
    pub fn fill_reasons(&mut self) {
        let popup_row = match self.popup {
            Some(Popup::User(r)) => Some(r),
            _ => None,
        };
        let (tiers, phrases, campaigns) = (&self.tiers, &self.phrases, &self.campaigns);
        let run = self.run.as_ref();
        self.targets.prepare_money(
            run,
            tiers,
            || crate::engine::targeting::money::group_names(tiers, phrases),
            || match (&campaigns.list, run) {
                (Some(Ok(all)), Some(run)) => {
                    crate::engine::campaign::uplifts::latest(all, &run.run_id, &campaigns.db)
                }
                (Some(Err(e)), _) => Err(format!("the campaign database did not open: {e}")),
                _ => Err("reading the campaigns…".into()),
            },
        );
        self.targets
            .fill_reasons(self.run.as_ref(), self.tab == Tab::Targets, popup_row);
    }
}
