//! The workbench's state and its one state-changing function, `App::update(action)`. Drawing
//! reads the state (`&App`); keys become actions in `keymap`; the engine's messages arrive via
//! `App::engine`. Tests drive this directly: actions in, screen out.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use crate::engine::eval::KPct;
use crate::engine::loaded_run::{LoadedRun, ModelView};
use crate::engine::run::Progress;
use crate::engine::targeting::TierRule;
use crate::engine::targeting::edits::Edits;
use crate::engine::targeting::export::{ExportFormat, export};
use crate::engine::targeting::list::reasons_batch;
use crate::engine::targeting::list::{ListSpec, added_positions, target_rows};
use crate::engine::targeting::phrases::{Phrases, english};
use crate::engine::targeting::reasons::Reason;
use crate::engine::targeting::report::{report, write_report};

use super::action::{Action, Tab};
use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveMode {
    Pr,
    Gain,
    Lift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Search,
    K,
    ExportPath,
    AddUser,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
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

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    StartTraining,
    CancelTraining,
    Quit,
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
    pub tab: Tab,
    pub theme: Theme,
    pub wb: Option<LoadedRun>,
    pub training: Option<Training>,
    pub notice: Option<Notice>,
    pub popup: Option<Popup>,
    pub input: Option<Input>,
    pub quit: bool,
    pub tiers: TierRule,
    // Leaderboard
    pub board_sel: usize,
    pub sort_col: usize,
    pub sort_desc: bool,
    pub sort_test: bool,
    // Curves
    pub curve_sel: usize,
    pub hidden: BTreeSet<String>,
    pub curve_mode: CurveMode,
    pub curve_test: bool,
    // Features
    pub features_view: usize,
    pub scroll: u16,
    // Targets
    pub k: KPct,
    pub target_model: Option<String>,
    /// Selected position in the ranking (0 = rank 1).
    pub sel: usize,
    /// First ranking position shown.
    pub offset: usize,
    /// Rows the target list shows (set from the terminal size before each frame).
    pub page: usize,
    pub search: Option<String>,
    /// Hand edits of the loaded run (saved in its directory on every change).
    pub edits: Edits,
    /// Why the run's saved edits could not be loaded: editing is off then, so the file on
    /// disk is never overwritten by an empty list.
    pub edits_error: Option<String>,
    /// Ranking positions (≥ k) of users added by hand, ascending; refreshed by `prepare`.
    pub added_pos: Vec<usize>,
    /// Ranking position of each user id, for the targeting model.
    pos_of: HashMap<i64, usize>,
    pos_model: String,
    pub phrases: Phrases,
    /// Scroll of the open popup.
    pub popup_scroll: u16,
    reasons: HashMap<usize, Vec<Reason>>,
    models_planned: usize,
}

/// Leaderboard columns after the model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    PrAuc,
    Lift(usize),
    Precision(usize),
    Recall(usize),
    FitSeconds,
}

impl App {
    pub fn new(theme: Theme, models_planned: usize) -> App {
        App {
            tab: Tab::Labels,
            theme,
            wb: None,
            training: None,
            notice: None,
            popup: None,
            input: None,
            quit: false,
            tiers: TierRule::default(),
            board_sel: 0,
            sort_col: 1,
            sort_desc: true,
            sort_test: false,
            curve_sel: 0,
            hidden: BTreeSet::new(),
            curve_mode: CurveMode::Pr,
            curve_test: false,
            features_view: 0,
            scroll: 0,
            k: KPct { bp: 500 },
            target_model: None,
            sel: 0,
            offset: 0,
            page: 10,
            search: None,
            edits: Edits::default(),
            edits_error: None,
            added_pos: Vec::new(),
            pos_of: HashMap::new(),
            pos_model: String::new(),
            phrases: english().clone(),
            popup_scroll: 0,
            reasons: HashMap::new(),
            models_planned,
        }
    }

    /// Show a loaded run (keeps the current K and tab).
    pub fn set_workbench(&mut self, wb: LoadedRun) {
        self.k = wb.ks.first().copied().unwrap_or(self.k);
        (self.edits, self.edits_error) = match Edits::load_for(&wb) {
            Ok(e) => (e, None),
            Err(e) => {
                self.notify(format!("hand edits not loaded: {e}"), true);
                (Edits::default(), Some(e.to_string()))
            }
        };
        self.pos_model.clear();
        self.target_model = Some(wb.chosen.clone());
        self.wb = Some(wb);
        self.reasons.clear();
        self.sel = 0;
        self.offset = 0;
        self.board_sel = 0;
        self.curve_sel = 0;
    }

    pub fn notify(&mut self, text: impl Into<String>, error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            error,
        });
    }

    /// The model the Targets tab ranks by.
    pub fn targeting_model(&self) -> Option<&ModelView> {
        let wb = self.wb.as_ref()?;
        self.target_model
            .as_deref()
            .and_then(|m| wb.model(m))
            .or_else(|| wb.models.first())
    }

    /// Rows in the current Top-K.
    pub fn k_rows(&self) -> usize {
        self.targeting_model()
            .map(|m| self.k.k_of(m.n()))
            .unwrap_or(0)
    }

    /// Rows of the Targets list: the top k, then users added by hand from below it.
    pub fn list_len(&self) -> usize {
        self.k_rows() + self.added_pos.len()
    }

    /// The ranking position shown at list position `i`, and whether it was added by hand.
    pub fn list_row(&self, i: usize) -> Option<(usize, bool)> {
        let k = self.k_rows();
        if i < k {
            Some((i, false))
        } else {
            self.added_pos.get(i - k).map(|&p| (p, true))
        }
    }

    /// Build the user → rank map of the target model, if it is not that model's already.
    fn ensure_positions(&mut self) {
        let Some(m) = self.targeting_model() else {
            return;
        };
        if self.pos_model != m.name {
            let name = m.name.clone();
            let Some(wb) = &self.wb else { return };
            let map: HashMap<i64, usize> = m
                .ranking()
                .iter()
                .enumerate()
                .map(|(p, &r)| (wb.test.users[r], p))
                .collect();
            self.pos_of = map;
            self.pos_model = name;
        }
    }

    /// Refresh the user → rank map and the added rows (after a model, K or edit change).
    fn refresh_list(&mut self) {
        // Without edits the map is not needed: a run of millions of test rows opens without it.
        if self.edits.is_empty() {
            self.added_pos.clear();
            return;
        }
        self.ensure_positions();
        let (k, n) = (self.k_rows(), self.targeting_model().map_or(0, |m| m.n()));
        // The engine's rule, so the list shown is the list exported. It cannot fail here: saved
        // edits are checked against the scored users when loaded, and `add_user` against the
        // ranking; should it, the export reports the user.
        self.added_pos = added_positions(k, n, &self.edits, |u| self.pos_of.get(&u).copied())
            .unwrap_or_default();
    }

    /// Excluded users ranked inside the top k (the exclusions that shorten the list).
    pub fn excluded_in_top_k(&self) -> usize {
        if self.edits.excluded.is_empty() {
            return 0;
        }
        let k = self.k_rows();
        self.edits
            .excluded
            .iter()
            .filter(|u| self.pos_of.get(u).is_some_and(|&p| p < k))
            .count()
    }

    /// The user id at list position `i`.
    pub fn list_user(&self, i: usize) -> Option<i64> {
        let (p, _) = self.list_row(i)?;
        let (wb, m) = (self.wb.as_ref()?, self.targeting_model()?);
        m.ranking().get(p).map(|&r| wb.test.users[r])
    }

    fn save_edits(&mut self, what: String) {
        let Some(wb) = &self.wb else { return };
        match self.edits.save(&wb.dir) {
            Ok(()) => self.notify(format!("{what} — saved"), false),
            Err(e) => self.notify(format!("{what}, but NOT saved: {e}"), true),
        }
    }

    /// Refuse to edit over a saved edits file that did not load.
    fn edits_locked(&mut self) -> bool {
        if let Some(e) = &self.edits_error {
            self.notify(
                format!(
                    "editing is off: the saved edits did not load ({e}); fix or remove the file"
                ),
                true,
            );
            return true;
        }
        false
    }

    fn toggle_exclude(&mut self) {
        if self.edits_locked() {
            return;
        }
        let Some(u) = self.list_user(self.sel) else {
            return;
        };
        let now = self.edits.toggle_exclude(u);
        self.refresh_list();
        self.clamp_targets();
        self.save_edits(if now {
            format!("user {u} excluded")
        } else {
            format!("user {u} back on the list")
        });
    }

    fn add_user(&mut self, text: &str) {
        if self.edits_locked() {
            return;
        }
        let Ok(u) = text.trim().parse::<i64>() else {
            self.notify(format!("`{}` is not a user id", text.trim()), true);
            return;
        };
        self.refresh_list();
        self.ensure_positions();
        let Some(&p) = self.pos_of.get(&u) else {
            self.notify(format!("user {u} was not scored at the test anchor"), true);
            return;
        };
        if p < self.k_rows() && !self.edits.excluded.contains(&u) {
            self.notify(
                format!("user {u} is already on the list (rank {})", p + 1),
                false,
            );
            return;
        }
        self.edits.add(u);
        self.refresh_list();
        self.save_edits(format!("user {u} (rank {}) added", p + 1));
        if let Some(i) = (0..self.list_len()).find(|&i| self.list_user(i) == Some(u)) {
            self.sel = i;
            self.clamp_targets();
        }
    }

    /// The current target list as an export would write it.
    pub fn target_list(
        &self,
    ) -> crate::engine::Result<Vec<crate::engine::targeting::list::TargetRow>> {
        let (wb, spec) = self
            .list_spec()
            .ok_or_else(|| crate::engine::Error::Config("no run loaded".into()))?;
        target_rows(wb, &spec)
    }

    /// What the current target list is made of: the targeting model, K, tiers, edits, language.
    fn list_spec(&self) -> Option<(&LoadedRun, ListSpec<'_>)> {
        let (wb, m) = (self.wb.as_ref()?, self.targeting_model()?);
        Some((
            wb,
            ListSpec {
                model: &m.name,
                k: self.k,
                tiers: &self.tiers,
                edits: &self.edits,
                phrases: &self.phrases,
            },
        ))
    }

    /// Export the list to `path` (format from the extension).
    pub fn export_to(&mut self, path: &std::path::Path) {
        let res = ExportFormat::of_path(path).and_then(|f| {
            let rows = self.target_list()?;
            export(&rows, &self.tiers, f, path).map(|_| rows.len())
        });
        match res {
            Ok(n) => self.notify(format!("wrote {n} rows to {}", path.display()), false),
            Err(e) => self.notify(format!("export failed: {e}"), true),
        }
    }

    /// Write the campaign report into the run directory.
    pub fn write_report(&mut self) {
        let Some((wb, spec)) = self.list_spec() else {
            self.notify("no run loaded", true);
            return;
        };
        let path = wb.dir.join(format!("report-top{}.md", self.k));
        let res = report(wb, &spec).and_then(|text| write_report(&text, &path));
        match res {
            Ok(()) => self.notify(format!("report written to {}", path.display()), false),
            Err(e) => self.notify(format!("report failed: {e}"), true),
        }
    }

    pub fn columns(&self) -> Vec<Column> {
        let nk = self.wb.as_ref().map(|w| w.ks.len()).unwrap_or(0);
        let mut c = vec![Column::PrAuc];
        for i in 0..nk {
            c.extend([Column::Lift(i), Column::Precision(i), Column::Recall(i)]);
        }
        c.push(Column::FitSeconds);
        c
    }

    /// The value a leaderboard column sorts by.
    pub fn column_value(&self, m: &ModelView, c: Column) -> Option<f64> {
        let e = if self.sort_test { &m.test } else { &m.val };
        match c {
            Column::PrAuc => e.pr_auc,
            Column::Lift(i) => e.at_k.get(i).and_then(|a| a.lift),
            Column::Precision(i) => e.at_k.get(i).and_then(|a| a.precision),
            Column::Recall(i) => e.at_k.get(i).and_then(|a| a.recall),
            Column::FitSeconds => Some(m.fit_seconds),
        }
    }

    /// Leaderboard rows in display order (indices into `wb.models`).
    pub fn board_order(&self) -> Vec<usize> {
        let Some(wb) = &self.wb else { return vec![] };
        let cols = self.columns();
        let c = cols
            .get(self.sort_col.saturating_sub(1))
            .copied()
            .unwrap_or(Column::PrAuc);
        let mut idx: Vec<usize> = (0..wb.models.len()).collect();
        if self.sort_col == 0 {
            idx.sort_by(|&a, &b| wb.models[a].name.cmp(&wb.models[b].name));
        } else {
            idx.sort_by(|&a, &b| {
                let va = self
                    .column_value(&wb.models[a], c)
                    .unwrap_or(f64::NEG_INFINITY);
                let vb = self
                    .column_value(&wb.models[b], c)
                    .unwrap_or(f64::NEG_INFINITY);
                vb.total_cmp(&va).then(a.cmp(&b))
            });
        }
        if !self.sort_desc {
            idx.reverse();
        }
        idx
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
                    Progress::ModelFailed { model, error } => {
                        t.models_done += 1;
                        t.working = None;
                        self.notify(format!("{model} failed: {error}"), true);
                    }
                }
                None
            }
            EngineMsg::Finished(Ok(wb)) => {
                self.training = None;
                self.notify(format!("run saved to {}", wb.dir.display()), false);
                Some(*wb)
            }
            EngineMsg::Finished(Err(e)) => {
                self.training = None;
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

    fn clamp_targets(&mut self) {
        self.refresh_list();
        let k = self.list_len();
        if k == 0 {
            self.sel = 0;
            self.offset = 0;
            return;
        }
        self.sel = self.sel.min(k - 1);
        let page = self.page.max(1);
        if self.sel < self.offset {
            self.offset = self.sel;
        } else if self.sel >= self.offset + page {
            self.offset = self.sel + 1 - page;
        }
        self.offset = self.offset.min(k.saturating_sub(page));
    }

    fn move_by(&mut self, delta: isize) {
        match self.tab {
            Tab::Leaderboard => {
                let n = self.wb.as_ref().map_or(0, |w| w.models.len());
                self.board_sel = step(self.board_sel, delta, n);
            }
            Tab::Curves => {
                let n = self.wb.as_ref().map_or(0, |w| w.models.len());
                self.curve_sel = step(self.curve_sel, delta, n);
            }
            Tab::Targets => {
                self.refresh_list();
                let k = self.list_len();
                self.sel = step(self.sel, delta, k);
                self.clamp_targets();
            }
            Tab::Labels | Tab::Features | Tab::Help => {
                self.scroll = (self.scroll as isize + delta).clamp(0, 500) as u16;
            }
        }
    }

    fn set_k(&mut self, bp: i64) {
        let bp = bp.clamp(100, 10_000) as u32;
        // Below 1% the arrows stop at 1%; typed values may be finer.
        self.k = KPct { bp };
        self.clamp_targets();
    }

    fn k_step(&mut self, delta_bp: i64) {
        let bp = self.k.bp as i64;
        // Steps land on whole multiples (7.25% + 1% → 8%), as a person expects.
        let next = if delta_bp > 0 {
            (bp / delta_bp + 1) * delta_bp
        } else {
            let d = -delta_bp;
            ((bp - 1) / d) * d
        };
        self.set_k(next);
    }

    /// User ids of the top-k matching the search text, as ranking positions.
    fn matches(&self, text: &str) -> Vec<usize> {
        let (Some(wb), Some(m)) = (&self.wb, self.targeting_model()) else {
            return vec![];
        };
        let k = self.k_rows();
        m.ranking()[..k]
            .iter()
            .enumerate()
            .filter(|(_, i)| wb.test.users[**i].to_string().contains(text))
            .map(|(p, _)| p)
            .collect()
    }

    fn search_step(&mut self, forward: bool) {
        let Some(text) = self.search.clone() else {
            self.notify("no search: press / to search users by id", false);
            return;
        };
        let hits = self.matches(&text);
        if hits.is_empty() {
            self.notify(self.not_in_top_k(&text), true);
            return;
        }
        let next = if forward {
            hits.iter().find(|&&p| p > self.sel).or(hits.first())
        } else {
            hits.iter().rev().find(|&&p| p < self.sel).or(hits.last())
        };
        if let Some(&p) = next {
            self.sel = p;
            self.clamp_targets();
            let which = hits.iter().position(|&h| h == p).unwrap_or(0) + 1;
            self.notify(
                format!("match {which} of {} for \"{text}\"", hits.len()),
                false,
            );
        }
    }

    fn not_in_top_k(&self, text: &str) -> String {
        let (Some(wb), Some(m)) = (&self.wb, self.targeting_model()) else {
            return format!("no user matches \"{text}\"");
        };
        match m
            .ranking()
            .iter()
            .position(|&i| wb.test.users[i].to_string() == text)
        {
            Some(p) => format!(
                "user {text} is ranked {} of {}: outside the top {}% (k = {})",
                p + 1,
                m.n(),
                self.k,
                self.k_rows()
            ),
            None => format!("no user in the top {}% matches \"{text}\"", self.k),
        }
    }

    fn submit_input(&mut self) -> Vec<Effect> {
        let Some(input) = self.input.take() else {
            return vec![];
        };
        match input.kind {
            InputKind::Search => {
                let text = input.text.trim().to_string();
                if text.is_empty() {
                    self.search = None;
                    return vec![];
                }
                self.search = Some(text);
                // The first match at or after the selection, so the current row can match.
                let before = self.sel;
                let hits = self.matches(self.search.as_deref().unwrap_or_default());
                match hits.iter().find(|&&p| p >= before).or(hits.first()) {
                    Some(&p) => {
                        self.sel = p;
                        self.clamp_targets();
                        let which = hits.iter().position(|&h| h == p).unwrap_or(0) + 1;
                        let text = self.search.clone().unwrap_or_default();
                        self.notify(
                            format!("match {which} of {} for \"{text}\"", hits.len()),
                            false,
                        );
                    }
                    None => {
                        let text = self.search.clone().unwrap_or_default();
                        let msg = self.not_in_top_k(&text);
                        self.notify(msg, true);
                    }
                }
                vec![]
            }
            InputKind::K => {
                match KPct::parse(input.text.trim().trim_end_matches('%')) {
                    Ok(k) => {
                        self.k = k;
                        self.clamp_targets();
                    }
                    Err(e) => self.notify(e.to_string(), true),
                }
                vec![]
            }
            InputKind::ExportPath => {
                let p = input.text.trim();
                if p.is_empty() {
                    self.notify("no path given: nothing exported", true);
                } else {
                    self.export_to(&PathBuf::from(p));
                }
                vec![]
            }
            InputKind::AddUser => {
                self.add_user(&input.text);
                vec![]
            }
        }
    }

    /// Typing into an open input box.
    pub fn type_char(&mut self, c: char) {
        if let Some(i) = &mut self.input {
            i.text.push(c);
        }
    }

    /// In the export box, Tab swaps the file extension: .csv → .json → .parquet → .xlsx.
    pub fn cycle_export_format(&mut self) {
        const EXTS: [&str; 4] = ["csv", "json", "parquet", "xlsx"];
        if let Some(i) = &mut self.input
            && i.kind == InputKind::ExportPath
        {
            let p = std::path::Path::new(&i.text);
            let cur = p
                .extension()
                .and_then(|e| EXTS.iter().position(|x| e.eq_ignore_ascii_case(x)));
            let next = EXTS[cur.map_or(0, |c| (c + 1) % EXTS.len())];
            i.text = p.with_extension(next).display().to_string();
        }
    }

    pub fn backspace(&mut self) {
        if let Some(i) = &mut self.input {
            i.text.pop();
        }
    }

    /// The default export path for the current K.
    pub fn export_default(&self) -> String {
        let dir = self
            .wb
            .as_ref()
            .map(|w| w.dir.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        dir.join(format!("targets-top{}.csv", self.k))
            .display()
            .to_string()
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
                Action::Up => self.popup_scroll = self.popup_scroll.saturating_sub(1),
                Action::Down => self.popup_scroll = self.popup_scroll.saturating_add(1).min(200),
                Action::PageUp => self.popup_scroll = self.popup_scroll.saturating_sub(10),
                Action::PageDown => {
                    self.popup_scroll = self.popup_scroll.saturating_add(10).min(200)
                }
                Action::Top => self.popup_scroll = 0,
                Action::Quit => {
                    self.quit = true;
                    return vec![Effect::CancelTraining, Effect::Quit];
                }
                _ => {}
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
                self.popup_scroll = 0;
                self.popup = Some(Popup::Help)
            }
            Action::NextTab => self.tab = Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()],
            Action::PrevTab => {
                self.tab = Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
            }
            Action::GoTab(t) => self.tab = t,
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page.max(1) as isize)),
            Action::PageDown => self.move_by(self.page.max(1) as isize),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::Left | Action::Right => {
                let d: isize = if action == Action::Left { -1 } else { 1 };
                match self.tab {
                    Tab::Leaderboard => {
                        let n = self.columns().len() + 1;
                        self.sort_col =
                            (self.sort_col as isize + d).rem_euclid(n as isize) as usize;
                    }
                    Tab::Features => self.features_view = (self.features_view + 1) % 2,
                    Tab::Curves => {
                        self.curve_mode = match (self.curve_mode, d > 0) {
                            (CurveMode::Pr, true) | (CurveMode::Lift, false) => CurveMode::Gain,
                            (CurveMode::Gain, true) | (CurveMode::Pr, false) => CurveMode::Lift,
                            (CurveMode::Lift, true) | (CurveMode::Gain, false) => CurveMode::Pr,
                        }
                    }
                    _ => {}
                }
            }
            Action::Enter => match self.tab {
                Tab::Leaderboard => {
                    let order = self.board_order();
                    if let (Some(wb), Some(&i)) = (&self.wb, order.get(self.board_sel)) {
                        let name = wb.models[i].name.clone();
                        self.notify(format!("targeting now uses {name}"), false);
                        self.target_model = Some(name);
                        self.reasons.clear();
                        self.sel = 0;
                        self.offset = 0;
                    }
                }
                Tab::Targets => {
                    if let Some(m) = self.targeting_model()
                        && let Some((p, _)) = self.list_row(self.sel)
                        && let Some(&row) = m.ranking().get(p)
                    {
                        self.popup = Some(Popup::User(row));
                    }
                }
                _ => {}
            },
            Action::Esc => self.search = None,
            Action::Search => {
                self.input = Some(Input {
                    kind: InputKind::Search,
                    text: String::new(),
                })
            }
            Action::SearchNext => self.search_step(true),
            Action::SearchPrev => self.search_step(false),
            Action::KPlus1 => self.k_step(100),
            Action::KMinus1 => self.k_step(-100),
            Action::KPlus5 => self.k_step(500),
            Action::KMinus5 => self.k_step(-500),
            Action::KType => {
                self.input = Some(Input {
                    kind: InputKind::K,
                    text: String::new(),
                })
            }
            Action::Export => {
                if self.wb.is_some() {
                    self.input = Some(Input {
                        kind: InputKind::ExportPath,
                        text: self.export_default(),
                    });
                } else {
                    self.notify("nothing to export yet: no run is loaded", true);
                }
            }
            Action::Retrain => {
                if self.training.is_some() {
                    self.notify("a training run is already going", false);
                } else {
                    return vec![Effect::StartTraining];
                }
            }
            Action::SortFlip => self.sort_desc = !self.sort_desc,
            Action::Exclude => self.toggle_exclude(),
            Action::AddUser => {
                if self.wb.is_some() {
                    self.input = Some(Input {
                        kind: InputKind::AddUser,
                        text: String::new(),
                    });
                }
            }
            Action::Report => self.write_report(),
            Action::SwitchSplit => match self.tab {
                Tab::Leaderboard => self.sort_test = !self.sort_test,
                Tab::Curves => self.curve_test = !self.curve_test,
                _ => {}
            },
            Action::SwitchView => self.features_view = (self.features_view + 1) % 2,
            Action::ToggleModel => {
                if let Some(wb) = &self.wb
                    && let Some(m) = wb.models.get(self.curve_sel)
                    && !self.hidden.remove(&m.name)
                {
                    self.hidden.insert(m.name.clone());
                }
            }
            Action::CurveMode => {
                self.curve_mode = match self.curve_mode {
                    CurveMode::Pr => CurveMode::Gain,
                    CurveMode::Gain => CurveMode::Lift,
                    CurveMode::Lift => CurveMode::Pr,
                }
            }
        }
        vec![]
    }

    /// Work a frame needs that is too slow for drawing: risk reasons of the rows in view.
    pub fn prepare(&mut self) {
        self.clamp_targets();
        let Some(m) = self.targeting_model() else {
            return;
        };
        let name = m.name.clone();
        // Reasons are shown on the Targets tab only: the run opens on another tab without
        // ranking its rows.
        let mut rows: Vec<usize> = if self.tab == Tab::Targets {
            let end = (self.offset + self.page).min(self.list_len());
            (self.offset.min(end)..end)
                .filter_map(|i| self.list_row(i))
                .filter_map(|(p, _)| m.ranking().get(p).copied())
                .collect()
        } else {
            Vec::new()
        };
        if let Some(Popup::User(r)) = self.popup {
            rows.push(r);
        }
        rows.retain(|r| !self.reasons.contains_key(r));
        if rows.is_empty() {
            return;
        }
        let Some(wb) = &self.wb else { return };
        for (r, rs) in rows.iter().zip(reasons_batch(wb, wb.fitted(&name), &rows)) {
            self.reasons.insert(*r, rs);
        }
    }

    pub fn reasons_of(&self, row: usize) -> Option<&[Reason]> {
        self.reasons.get(&row).map(|v| v.as_slice())
    }
}

fn step(cur: usize, delta: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (cur as isize)
        .saturating_add(delta)
        .clamp(0, n as isize - 1) as usize
}
