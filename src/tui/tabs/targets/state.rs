//! The Targets tab's state: K, the cursor and scroll, the hand edits in view, the pending
//! input, and what each key asks of the app (`Reply`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::eval::KPct;
use crate::engine::run::open::{LoadedRun, ModelView};
use crate::engine::targeting::edits::{Edit, Edits};
use crate::engine::targeting::list::{Cut, added_positions, reasons_batch};
use crate::engine::targeting::money::plan::Uplifts;
use crate::engine::targeting::order::TargetOrder;
use crate::engine::targeting::ranking::{Ranking, UpliftRank};
use crate::engine::targeting::reasons::Reason;
use crate::engine::targeting::tiers::TierRule;
use crate::engine::text::thousands;
use crate::tui::action::Action;
use crate::tui::input::InputKind;

use crate::tui::tabs::step;

use super::money::MoneyState;

/// What a Targets action asks of the app, which owns the status line, the input box, the popup
/// and the file writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Nothing,
    Note {
        text: String,
        error: bool,
    },
    /// The hand edits (or the model or K) changed by `edit`: save it. `what` starts the notice
    /// that says whether it was (empty: a quiet save, a notice only if it fails).
    Edited {
        what: String,
        edit: Edit,
    },
    /// Show this test row's details.
    Open(usize),
    /// Open an input box holding this text.
    Ask(InputKind, String),
    /// Write the campaign report.
    Report,
}

fn note(text: impl Into<String>, error: bool) -> Reply {
    Reply::Note {
        text: text.into(),
        error,
    }
}

/// The Targets tab's own state: the list (model, K, hand edits), where it is scrolled to, and
/// the caches that keep a ranking of millions of rows fast to page through.
#[derive(Debug, Clone)]
pub struct Targets {
    pub k: KPct,
    /// The model the list ranks by; None (or a name the run lacks) means the run's first.
    pub model: Option<String>,
    /// Selected list row: rows 0..k are the top k in rank order, then come the added users.
    pub sel: usize,
    /// First list row shown.
    pub offset: usize,
    /// Rows the list shows (set from the terminal size before each frame).
    pub page: usize,
    pub search: Option<String>,
    /// Hand edits of the loaded run (saved in its directory on every change).
    pub edits: Edits,
    /// Why the run's saved edits could not be loaded: editing is off then, so the file on
    /// disk is never overwritten by an empty list.
    pub edits_error: Option<String>,
    /// Ranking positions (≥ k) of users added by hand, ascending; refreshed with the list.
    pub added_pos: Vec<usize>,
    /// The targeting order (SPEC §5) of the list's model, made when the model is first shown.
    order: Option<Arc<TargetOrder>>,
    /// Position of each user id in `order`: built only once edits exist, so a run of millions
    /// of test rows opens and scrolls without it.
    pos_of: HashMap<i64, usize>,
    pos_model: String,
    /// Risk reasons by test row, filled before each frame for the rows in view.
    reasons: HashMap<usize, Vec<Reason>>,
    /// The budget typed (`b`) or saved with the run (SPEC §5.2).
    pub budget: Option<f64>,
    /// K follows the budget: set by a budget, ended by moving or typing K.
    pub follow: bool,
    /// The plan view (`p`) is shown instead of the list.
    pub plan_open: bool,
    /// The list's costs, the budget's K and the plan's curves.
    pub money: MoneyState,
    /// Risk, or uplift (`u`, when an uplift model is loaded; SPEC §7a.3).
    pub rank: Ranking,
    /// The uplift model `u` ranks by, scored on the run's test users when first asked.
    pub uplift: Option<UpliftSource>,
}

/// The uplift folder the workbench can rank by: loaded, and scored once on the run's test users.
#[derive(Debug, Clone)]
pub struct UpliftSource {
    pub model: crate::engine::uplift::UpliftModel,
    /// Its scores on the loaded run, once made.
    pub rank: Option<Arc<UpliftRank>>,
}

impl UpliftSource {
    pub fn new(model: crate::engine::uplift::UpliftModel) -> UpliftSource {
        UpliftSource { model, rank: None }
    }
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            k: KPct { bp: 500 },
            model: None,
            sel: 0,
            offset: 0,
            page: 10,
            search: None,
            edits: Edits::default(),
            edits_error: None,
            added_pos: Vec::new(),
            order: None,
            pos_of: HashMap::new(),
            pos_model: String::new(),
            reasons: HashMap::new(),
            budget: None,
            follow: false,
            plan_open: false,
            money: MoneyState::default(),
            rank: Ranking::Risk,
            uplift: None,
        }
    }
}

impl Targets {
    /// Start over on a newly loaded run: the model and K saved with its edits (else its chosen
    /// model and first K), its saved edits (or why they did not load, which turns editing off).
    pub fn open(&mut self, run: &LoadedRun, edits: Result<Edits, String>) {
        (self.edits, self.edits_error) = match edits {
            Ok(e) => (e, None),
            Err(e) => (Edits::default(), Some(e)),
        };
        self.k = self
            .edits
            .k
            .or(run.ks.first().copied())
            .unwrap_or(KPct { bp: 500 });
        // A saved budget without a K set after it: K follows the budget.
        self.budget = self.edits.budget;
        self.follow = self.edits.budget.is_some() && self.edits.k.is_none();
        self.money = MoneyState::default();
        self.plan_open = false;
        self.pos_model.clear();
        self.order = None;
        // A new run: its users are scored by the uplift model again when `u` asks.
        self.rank = Ranking::Risk;
        if let Some(u) = &mut self.uplift {
            u.rank = None;
        }
        self.model = Some(
            self.edits
                .model
                .clone()
                .filter(|m| run.model(m).is_some())
                .unwrap_or_else(|| run.chosen.clone()),
        );
        self.reasons.clear();
        self.sel = 0;
        self.offset = 0;
    }

    /// Rank by `name` from now on (picked on the Leaderboard); the list starts at its top.
    pub fn pick(&mut self, name: String) {
        self.edits.model = Some(name.clone());
        self.model = Some(name);
        self.reasons.clear();
        self.sel = 0;
        self.offset = 0;
    }

    /// The model the list ranks by.
    pub fn model_in<'a>(&self, run: Option<&'a LoadedRun>) -> Option<&'a ModelView> {
        let run = run?;
        self.model
            .as_deref()
            .and_then(|m| run.model(m))
            .or_else(|| run.models.first())
    }

    /// Rows in the current Top-K: the budget's K when K follows a budget; ranked by uplift,
    /// never past the last user with an uplift above zero.
    pub fn k_rows(&self, run: Option<&LoadedRun>) -> usize {
        let eligible = self.order(run).map_or(usize::MAX, |o| o.eligible);
        self.model_in(run)
            .map_or(0, |m| self.cut().k_of(m.n()))
            .min(eligible)
    }

    /// Whether the list is ranked by uplift.
    pub fn by_uplift(&self) -> bool {
        matches!(self.rank, Ranking::Uplift(_))
    }

    /// `u`: rank by uplift (the loaded uplift model's, scored on this run's test users the
    /// first time), or back by risk.
    fn toggle_rank(&mut self, run: Option<&LoadedRun>) -> Reply {
        let Some(run) = run else {
            return note("no run loaded: nothing to rank", true);
        };
        if self.by_uplift() {
            self.rank = Ranking::Risk;
            self.ranking_changed(Some(run));
            return note("ranked by risk", false);
        }
        let Some(src) = self.uplift.as_mut() else {
            return note(
                "no uplift model: `churn-tui uplift train --campaign …` writes one (the \
                 workbench offers the newest in its --out, or the one --uplift names)",
                true,
            );
        };
        let r = match &src.rank {
            Some(r) => Arc::clone(r),
            None => match UpliftRank::of(run, src.model.clone()) {
                Ok(r) => {
                    let r = Arc::new(r);
                    src.rank = Some(Arc::clone(&r));
                    r
                }
                Err(e) => return note(format!("the uplift model cannot rank this run: {e}"), true),
            },
        };
        let said = format!(
            "ranked by uplift ({}): {} of {} users have an uplift above zero",
            r.model.label(),
            thousands(r.positive as u64),
            thousands(r.scores.len() as u64)
        );
        self.rank = Ranking::Uplift(r);
        self.ranking_changed(Some(run));
        note(said, false)
    }

    /// A new ranking: the order, positions, reasons and money are made again; the list starts
    /// at its top.
    fn ranking_changed(&mut self, run: Option<&LoadedRun>) {
        self.order = None;
        self.pos_model.clear();
        self.reasons.clear();
        self.money = MoneyState::default();
        self.sel = 0;
        self.offset = 0;
        self.clamp(run);
    }

    /// Where the list is cut: at K, or at the number of users the budget buys.
    pub fn cut(&self) -> Cut {
        match self.money.bought.filter(|_| self.follow) {
            Some(b) => Cut::Users(b.k),
            None => Cut::Share(self.k),
        }
    }

    /// The cut as a share of the ranking (a budget's K rounded up to the basis point, at
    /// least 0.01%): where K moves from when stepped.
    fn share_now(&self, run: Option<&LoadedRun>) -> KPct {
        match (self.cut(), self.model_in(run)) {
            (Cut::Users(k), Some(m)) if m.n() > 0 => KPct {
                bp: ((k as u64 * 10_000).div_ceil(m.n() as u64)).clamp(1, 10_000) as u32,
            },
            _ => self.k,
        }
    }

    /// Before a frame: the ledger of the list's model and edits, the budget's K on it, and
    /// with the plan view open its curves (`uplifts`: the read-out, or why there is none).
    pub fn prepare_money(
        &mut self,
        run: Option<&LoadedRun>,
        tiers: &TierRule,
        names: impl FnOnce() -> Vec<String>,
        uplifts: impl FnOnce() -> Result<Uplifts, String>,
    ) {
        let before = self.k_rows(run);
        if !self.ensure_money(run, tiers) {
            return;
        }
        if self.plan_open {
            self.money.ensure_curve(names(), uplifts());
        }
        if self.k_rows(run) != before {
            self.clamp(run);
        }
    }

    /// The ledger of the list's model and edits, and the budget's K on it; false without a
    /// run or an order to build it from.
    fn ensure_money(&mut self, run: Option<&LoadedRun>, tiers: &TierRule) -> bool {
        self.ensure_order(run);
        let (Some(run), Some(order)) = (run, self.order.clone()) else {
            return false;
        };
        if self
            .model_in(Some(run))
            .is_none_or(|m| m.name != order.model)
        {
            return false;
        }
        self.money
            .ensure(run, &order, tiers, &self.edits, self.budget);
        true
    }

    /// A budget typed in the box: K follows it. Empty text drops the budget (K stays where it
    /// is, as a share).
    pub fn set_budget_text(
        &mut self,
        run: Option<&LoadedRun>,
        tiers: &TierRule,
        lang: &str,
        text: &str,
    ) -> Reply {
        if text.trim().is_empty() {
            if self.budget.is_none() {
                return Reply::Nothing;
            }
            let k = self.share_now(run);
            self.k = k;
            self.budget = None;
            self.follow = false;
            self.edits.budget = None;
            self.edits.k = Some(k);
            self.clamp(run);
            return Reply::Edited {
                what: format!("budget dropped; K stays at {k}%"),
                edit: Edit::ClearBudget(k),
            };
        }
        let b = match crate::engine::targeting::money::parse_budget(text) {
            Ok(b) => b,
            Err(e) => return note(e.to_string(), true),
        };
        self.ensure_money(run, tiers);
        let bought = match &self.money.ledger {
            None => {
                return note(
                    format!(
                        "{} gives no costs: a budget needs each tier's `cost` (or `discount` and \
                         `redeem_rate`; SPEC §5.1)",
                        tiers.source
                    ),
                    true,
                );
            }
            Some(Err(e)) => return note(e.clone(), true),
            Some(Ok(l)) => l.budget_k(b),
        };
        self.budget = Some(b);
        self.follow = true;
        self.money.bought = Some(bought);
        self.edits.budget = Some(b);
        self.edits.k = None;
        self.clamp(run);
        let n = self.model_in(run).map_or(0, |m| m.n());
        Reply::Edited {
            what: format!(
                "budget {}: K = {} users ({}), cost {}",
                tiers.amount(b, lang),
                thousands(bought.k as u64),
                crate::engine::targeting::list::share_text(bought.k, n),
                tiers.amount(bought.cost, lang)
            ),
            edit: Edit::Budget(Some(b)),
        }
    }

    /// Rows of the list: the top k, then users added by hand from below it.
    pub fn list_len(&self, run: Option<&LoadedRun>) -> usize {
        self.k_rows(run) + self.added_pos.len()
    }

    /// The ranking position shown at list row `i`, and whether it was added by hand.
    pub fn list_row(&self, run: Option<&LoadedRun>, i: usize) -> Option<(usize, bool)> {
        let k = self.k_rows(run);
        if i < k {
            Some((i, false))
        } else {
            self.added_pos.get(i - k).map(|&p| (p, true))
        }
    }

    /// The targeting order of the list's model, once made (`ensure_order`; before each frame).
    pub fn order(&self, run: Option<&LoadedRun>) -> Option<&TargetOrder> {
        let m = self.model_in(run)?;
        let uplift = self.by_uplift();
        self.order
            .as_deref()
            .filter(|o| o.model == m.name && o.uplift().is_some() == uplift)
    }

    /// Make the targeting order of the list's model and ranking, if it is not that already.
    fn ensure_order(&mut self, run: Option<&LoadedRun>) {
        let (Some(run), Some(m)) = (run, self.model_in(run)) else {
            return;
        };
        if self.order(Some(run)).is_none() {
            self.order = self.rank.order(run, &m.name).ok().map(Arc::new);
        }
    }

    /// The test row at ranking position `p` of the targeting order.
    fn row_at(&self, run: Option<&LoadedRun>, p: usize) -> Option<usize> {
        self.order(run)?.ranking.get(p).copied()
    }

    /// The user id at list row `i`.
    pub fn list_user(&self, run: Option<&LoadedRun>, i: usize) -> Option<i64> {
        let (p, _) = self.list_row(run, i)?;
        let r = self.row_at(run, p)?;
        run.map(|run| run.test.users[r])
    }

    /// Excluded users ranked inside the top k (the exclusions that shorten the list).
    pub fn excluded_in_top_k(&self, run: Option<&LoadedRun>) -> usize {
        if self.edits.excluded.is_empty() {
            return 0;
        }
        let k = self.k_rows(run);
        self.edits
            .excluded
            .iter()
            .filter(|u| self.pos_of.get(u).is_some_and(|&p| p < k))
            .count()
    }

    /// Build the user → position map of the list's order, if it is not that order's already.
    fn ensure_positions(&mut self, run: Option<&LoadedRun>) {
        self.ensure_order(run);
        let (Some(run), Some(o)) = (run, self.order(run)) else {
            return;
        };
        let key = format!("{}|{}", o.model, self.rank.name());
        if self.pos_model != key {
            let pos = o
                .ranking
                .iter()
                .enumerate()
                .map(|(p, &r)| (run.test.users[r], p))
                .collect();
            self.pos_model = key;
            self.pos_of = pos;
        }
    }

    /// Refresh the user → rank map and the added rows (after a model, K or edit change).
    fn refresh_list(&mut self, run: Option<&LoadedRun>) {
        self.ensure_order(run);
        // Without edits the map is not needed: a run of millions of test rows opens without it.
        if self.edits.is_empty() {
            self.added_pos.clear();
            return;
        }
        self.ensure_positions(run);
        let (k, n) = (self.k_rows(run), self.model_in(run).map_or(0, |m| m.n()));
        // The engine's rule, so the list shown is the list exported. It cannot fail here: saved
        // edits are checked against the scored users when loaded, and `add_user` against the
        // ranking; should it, the export reports the user.
        self.added_pos = added_positions(k, n, &self.edits, |u| self.pos_of.get(&u).copied())
            .unwrap_or_default();
    }

    /// Keep the selection on the list and in view.
    fn clamp(&mut self, run: Option<&LoadedRun>) {
        self.refresh_list(run);
        let k = self.list_len(run);
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

    /// Refuse to edit over a saved edits file that did not load.
    fn edits_locked(&self) -> Option<Reply> {
        self.edits_error.as_ref().map(|e| {
            note(
                format!(
                    "editing is off: the saved edits did not load ({e}); fix or remove the file"
                ),
                true,
            )
        })
    }

    fn toggle_exclude(&mut self, run: Option<&LoadedRun>) -> Reply {
        if let Some(r) = self.edits_locked() {
            return r;
        }
        self.ensure_order(run);
        let Some(u) = self.list_user(run, self.sel) else {
            return Reply::Nothing;
        };
        let edit = self.edits.toggle_edit(u);
        self.edits.apply(&edit);
        self.clamp(run);
        Reply::Edited {
            what: if self.edits.excluded.contains(&u) {
                format!("user {u} excluded")
            } else {
                format!("user {u} back on the list")
            },
            edit,
        }
    }

    /// Take the edits as saved (after a change was merged into the file under its lock,
    /// another workbench's edits included); the model and K on screen stay this one's.
    pub fn adopt(&mut self, run: Option<&LoadedRun>, saved: Edits) {
        let (model, k) = (self.edits.model.clone(), self.edits.k);
        self.edits = Edits { model, k, ..saved };
        self.clamp(run);
    }

    /// Add the user whose id was typed, and select them.
    pub fn add_user(&mut self, run: Option<&LoadedRun>, text: &str) -> Reply {
        if let Some(r) = self.edits_locked() {
            return r;
        }
        let Ok(u) = text.trim().parse::<i64>() else {
            return note(format!("`{}` is not a user id", text.trim()), true);
        };
        self.refresh_list(run);
        self.ensure_positions(run);
        let Some(&p) = self.pos_of.get(&u) else {
            return note(format!("user {u} was not scored at the test anchor"), true);
        };
        if p < self.k_rows(run) && !self.edits.excluded.contains(&u) {
            return note(
                format!(
                    "user {u} is already on the list (rank {})",
                    thousands(p as u64 + 1)
                ),
                false,
            );
        }
        let edit = Edit::Add(u);
        self.edits.apply(&edit);
        self.refresh_list(run);
        if let Some(i) = (0..self.list_len(run)).find(|&i| self.list_user(run, i) == Some(u)) {
            self.sel = i;
            self.clamp(run);
        }
        Reply::Edited {
            what: format!("user {u} (rank {}) added", thousands(p as u64 + 1)),
            edit,
        }
    }

    /// Target the top `k` from now on, saved with the run (quietly: K moves key by key).
    fn set_k(&mut self, run: Option<&LoadedRun>, k: KPct) -> Reply {
        self.k = k;
        // K moves by itself from now on; a budget stays, for spent and left.
        self.follow = false;
        self.edits.k = Some(k);
        self.clamp(run);
        Reply::Edited {
            what: String::new(),
            edit: Edit::K(k),
        }
    }

    fn k_step(&mut self, run: Option<&LoadedRun>, delta_bp: i64) -> Reply {
        let bp = self.share_now(run).bp as i64;
        // Steps land on whole multiples (7.25% + 1% → 8%), as a person expects.
        let next = if delta_bp > 0 {
            (bp / delta_bp + 1) * delta_bp
        } else {
            let d = -delta_bp;
            ((bp - 1) / d) * d
        };
        // Below 1% the arrows stop at 1%; typed values may be finer.
        self.set_k(
            run,
            KPct {
                bp: next.clamp(100, 10_000) as u32,
            },
        )
    }

    /// K typed in percent.
    pub fn set_k_text(&mut self, run: Option<&LoadedRun>, text: &str) -> Reply {
        match KPct::parse(text.trim().trim_end_matches('%')) {
            Ok(k) => self.set_k(run, k),
            Err(e) => note(e.to_string(), true),
        }
    }

    /// Ranking positions of the top-k users whose id contains the search text.
    fn matches(&self, run: Option<&LoadedRun>, text: &str) -> Vec<usize> {
        let (Some(run), Some(o)) = (run, self.order(run)) else {
            return vec![];
        };
        let k = self.k_rows(Some(run)).min(o.n());
        o.ranking[..k]
            .iter()
            .enumerate()
            .filter(|(_, i)| run.test.users[**i].to_string().contains(text))
            .map(|(p, _)| p)
            .collect()
    }

    /// Select `p`, one of `hits` for `text`, and say which match it is.
    fn select_match(
        &mut self,
        run: Option<&LoadedRun>,
        p: usize,
        hits: &[usize],
        text: &str,
    ) -> Reply {
        self.sel = p;
        self.clamp(run);
        let which = hits.iter().position(|&h| h == p).unwrap_or(0) + 1;
        note(
            format!(
                "match {} of {} for \"{text}\"",
                thousands(which as u64),
                thousands(hits.len() as u64)
            ),
            false,
        )
    }

    /// Search for the typed text: the first match at or after the selection, so the current
    /// row can match. Empty text ends the search.
    pub fn search_for(&mut self, run: Option<&LoadedRun>, text: &str) -> Reply {
        let text = text.trim().to_string();
        if text.is_empty() {
            self.search = None;
            return Reply::Nothing;
        }
        self.search = Some(text.clone());
        self.ensure_order(run);
        let hits = self.matches(run, &text);
        match hits.iter().find(|&&p| p >= self.sel).or(hits.first()) {
            Some(&p) => self.select_match(run, p, &hits, &text),
            None => note(self.not_in_top_k(run, &text), true),
        }
    }

    fn search_step(&mut self, run: Option<&LoadedRun>, forward: bool) -> Reply {
        let Some(text) = self.search.clone() else {
            return note("no search: press / to search users by id", false);
        };
        let hits = self.matches(run, &text);
        if hits.is_empty() {
            return note(self.not_in_top_k(run, &text), true);
        }
        let next = if forward {
            hits.iter().find(|&&p| p > self.sel).or(hits.first())
        } else {
            hits.iter().rev().find(|&&p| p < self.sel).or(hits.last())
        };
        match next {
            Some(&p) => self.select_match(run, p, &hits, &text),
            None => Reply::Nothing,
        }
    }

    fn not_in_top_k(&self, run: Option<&LoadedRun>, text: &str) -> String {
        let (Some(run), Some(m), Some(o)) = (run, self.model_in(run), self.order(run)) else {
            return format!("no user matches \"{text}\"");
        };
        match o
            .ranking
            .iter()
            .position(|&i| run.test.users[i].to_string() == text)
        {
            Some(p) => format!(
                "user {text} is ranked {} of {}: outside the top {}% (k = {})",
                thousands(p as u64 + 1),
                thousands(m.n() as u64),
                self.k,
                thousands(self.k_rows(Some(run)) as u64)
            ),
            None => format!("no user in the top {}% matches \"{text}\"", self.k),
        }
    }

    /// The default export path for the current K: in the run's directory.
    pub fn export_default(&self, run: Option<&LoadedRun>) -> String {
        let dir = run.map_or_else(|| std::path::PathBuf::from("."), |w| w.dir.clone());
        dir.join(format!("targets-top{}.csv", self.k))
            .display()
            .to_string()
    }

    pub fn update(&mut self, action: Action, run: Option<&LoadedRun>) -> Reply {
        self.ensure_order(run);
        if let Some(d) = action.step(self.page) {
            self.refresh_list(run);
            self.sel = step(self.sel, d, self.list_len(run));
            self.clamp(run);
            return Reply::Nothing;
        }
        match action {
            Action::Enter => self
                .list_row(run, self.sel)
                .and_then(|(p, _)| self.row_at(run, p))
                .map_or(Reply::Nothing, Reply::Open),
            Action::Search => Reply::Ask(InputKind::Search, String::new()),
            Action::SearchNext => self.search_step(run, true),
            Action::SearchPrev => self.search_step(run, false),
            Action::KPlus1 | Action::KMinus1 | Action::KPlus5 | Action::KMinus5 => {
                let delta = match action {
                    Action::KPlus1 => 100,
                    Action::KMinus1 => -100,
                    Action::KPlus5 => 500,
                    _ => -500,
                };
                self.k_step(run, delta)
            }
            Action::KType => Reply::Ask(InputKind::K, String::new()),
            Action::Budget => Reply::Ask(
                InputKind::Budget,
                self.budget.map_or(String::new(), |b| b.to_string()),
            ),
            Action::Plan => {
                self.plan_open = !self.plan_open;
                Reply::Nothing
            }
            Action::Export if run.is_some() => {
                Reply::Ask(InputKind::ExportPath, self.export_default(run))
            }
            Action::Export => note("nothing to export yet: no run is loaded", true),
            Action::Exclude => self.toggle_exclude(run),
            Action::AddUser if run.is_some() => Reply::Ask(InputKind::AddUser, String::new()),
            Action::Report => Reply::Report,
            Action::RankBy => self.toggle_rank(run),
            _ => Reply::Nothing,
        }
    }

    /// Before a frame: keep the selection fitting the page (the terminal may have been
    /// resized, the model changed), then compute the risk reasons of the rows it will show
    /// (the list's when `list_shown`, and the open user popup's row). A cache fill, no I/O.
    pub fn fill_reasons(
        &mut self,
        run: Option<&LoadedRun>,
        list_shown: bool,
        popup_row: Option<usize>,
    ) {
        // Reasons are shown on the Targets tab only: the run opens on another tab without
        // ranking its rows.
        if list_shown || popup_row.is_some() {
            self.ensure_order(run);
            // A tie at the cut and the money take header lines, and list rows with them.
            if list_shown {
                let extra = usize::from(self.header_lines(run).saturating_sub(3));
                self.page = self.page.saturating_sub(extra).max(1);
            }
            self.clamp(run);
        }
        let (Some(run), Some(m)) = (run, self.model_in(run)) else {
            return;
        };
        let mut rows: Vec<usize> = if list_shown {
            let end = (self.offset + self.page).min(self.list_len(Some(run)));
            (self.offset.min(end)..end)
                .filter_map(|i| self.list_row(Some(run), i))
                .filter_map(|(p, _)| self.row_at(Some(run), p))
                .collect()
        } else {
            Vec::new()
        };
        rows.extend(popup_row);
        rows.retain(|r| !self.reasons.contains_key(r));
        if rows.is_empty() {
            return;
        }
        let reasons = match self.rank.uplift() {
            Some(u) => crate::engine::targeting::list::uplift_reasons(run, u, &rows),
            None => reasons_batch(run, run.fitted(&m.name), &rows),
        };
        for (r, rs) in rows.iter().zip(reasons) {
            self.reasons.insert(*r, rs);
        }
    }

    pub fn reasons_of(&self, row: usize) -> Option<&[Reason]> {
        self.reasons.get(&row).map(|v| v.as_slice())
    }
}

impl Targets {
    /// Lines of the header: three, one saying what the list costs (when the tiers have
    /// costs), and one saying how a tie at the cut was broken.
    pub fn header_lines(&self, run: Option<&LoadedRun>) -> u16 {
        3 + u16::from(self.money.ledger.is_some()) + u16::from(self.tie_at_k(run).is_some())
    }

    /// The tie group the cut at k splits, if it does.
    pub(super) fn tie_at_k(
        &self,
        run: Option<&LoadedRun>,
    ) -> Option<crate::engine::targeting::order::TieCut> {
        self.order(run)?.tie_at(self.k_rows(run))
    }
}
