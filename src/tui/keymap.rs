//! The one keymap table: it decides what a key does, and the `?` overlay, the Help tab and the
//! key bar are all drawn from it, so help can never drift from the real bindings.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Tab};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    On(Tab),
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn kc(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in help (e.g. "j/↓").
    pub label: &'static str,
    pub action: Action,
    pub scope: Scope,
    pub help: &'static str,
    /// Its word in the bottom key bar ("" = not on the bar).
    pub bar: &'static str,
}

const fn b(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    scope: Scope,
    help: &'static str,
    bar: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        scope,
        help,
        bar,
    }
}

use Action as A;
use Scope::{Global as G, On};

#[rustfmt::skip]
pub const KEYMAP: &[Binding] = &[
    b(&[k('q')], "q", A::Quit, G, "quit (cancels a running training)", "quit"),
    b(&[ctrl('c')], "Ctrl-c", A::ForceQuit, G, "quit at once, always", ""),
    b(&[k('?')], "?", A::Help, G, "show or hide this help", "help"),
    b(&[k('m')], "m", A::Message, G, "the last message in full", ""),
    b(&[kc(KeyCode::Tab)], "Tab", A::NextTab, G, "next tab", ""),
    b(&[kc(KeyCode::BackTab)], "Shift-Tab", A::PrevTab, G, "previous tab", ""),
    b(&[k('1')], "1", A::GoTab(Tab::Labels), G, "Labels tab", ""),
    b(&[k('2')], "2", A::GoTab(Tab::Features), G, "Features tab", ""),
    b(&[k('3')], "3", A::GoTab(Tab::Leaderboard), G, "Leaderboard tab", ""),
    b(&[k('4')], "4", A::GoTab(Tab::Curves), G, "Curves tab", ""),
    b(&[k('5')], "5", A::GoTab(Tab::Targets), G, "Targets tab", ""),
    b(&[k('6')], "6", A::GoTab(Tab::Campaigns), G, "Campaigns tab", ""),
    b(&[k('7')], "7", A::GoTab(Tab::Help), G, "Help tab", ""),
    b(&[k('k'), kc(KeyCode::Up)], "k/↑", A::Up, G, "move up", ""),
    b(&[k('j'), kc(KeyCode::Down)], "j/↓", A::Down, G, "move down", ""),
    b(&[k('h'), kc(KeyCode::Left)], "h/←", A::Left, G, "move left (sort column, chart, columns)", ""),
    b(&[k('l'), kc(KeyCode::Right)], "l/→", A::Right, G, "move right (sort column, chart, columns)", ""),
    b(&[k('g'), kc(KeyCode::Home)], "g", A::Top, G, "go to the top", ""),
    b(&[k('G'), kc(KeyCode::End)], "G", A::Bottom, G, "go to the bottom", ""),
    b(&[kc(KeyCode::PageUp), ctrl('u')], "PgUp", A::PageUp, G, "page up", ""),
    b(&[kc(KeyCode::PageDown), ctrl('d')], "PgDn", A::PageDown, G, "page down", ""),
    b(&[kc(KeyCode::Esc)], "Esc", A::Esc, G, "close a popup or input", ""),
    b(&[k('t')], "t", A::Retrain, G, "retrain with the current settings", "retrain"),
    b(&[kc(KeyCode::Enter)], "Enter", A::Enter, On(Tab::Leaderboard), "use the selected model for targeting", "use model"),
    b(&[k('s')], "s", A::SortFlip, On(Tab::Leaderboard), "flip sort: ▼ largest/Z first, ▲ smallest/A; h/l: column", "flip sort"),
    b(&[k('v')], "v", A::SwitchSplit, On(Tab::Leaderboard), "switch val/test: the split shown (when both show, the one sorted by)", "val/test"),
    b(&[kc(KeyCode::Char(' '))], "Space", A::ToggleModel, On(Tab::Curves), "show or hide the selected model", "show/hide"),
    b(&[k('c')], "c", A::CurveMode, On(Tab::Curves), "PR curve / cumulative gain / lift", "PR/gain/lift"),
    b(&[k('v')], "v", A::SwitchSplit, On(Tab::Curves), "val or test PR curves (gain and lift are on test only)", "val/test"),
    b(&[k('v')], "v", A::SwitchView, On(Tab::Features), "correlation heatmap / VIF and class means (h/l: columns)", "heatmap/VIF"),
    b(&[k('+'), k('=')], "+/-", A::KPlus1, On(Tab::Targets), "K up to the next whole % (- down)", "K ±1%"),
    b(&[k('x')], "x", A::Exclude, On(Tab::Targets), "exclude the selected user (again: include)", "exclude"),
    b(&[k('a')], "a", A::AddUser, On(Tab::Targets), "add a user by id", "add"),
    b(&[k('e')], "e", A::Export, On(Tab::Targets), "export the list (.csv .json .parquet .xlsx)", "export"),
    b(&[k('c')], "c", A::Campaign, On(Tab::Targets), "make a campaign of this list: treatment and a random control group, stored (name and holdout asked)", "campaign"),
    b(&[k('/')], "/", A::Search, On(Tab::Targets), "search users by id", "search"),
    b(&[kc(KeyCode::Enter)], "Enter", A::Enter, On(Tab::Targets), "open the selected user", "user"),
    b(&[k('R')], "R", A::Report, On(Tab::Targets), "write the campaign report", "report"),
    b(&[k('u')], "u", A::RankBy, On(Tab::Targets), "rank by risk or by predicted uplift (needs an uplift model)", "risk/uplift"),
    b(&[k('v')], "v", A::SwitchView, On(Tab::Campaigns), "campaigns, or the uplift model: Qini curves and methods", "uplift"),
    b(&[k('o')], "o", A::Readout, On(Tab::Campaigns), "read the selected campaign out: dormant rates and uplift from logs that cover its horizon (asked; default the run's own)", "read out"),
    b(&[k(']')], "]/[", A::KPlus5, On(Tab::Targets), "K to the next multiple of 5% ([ the one below)", "K 5/10/15%"),
    b(&[k('K')], "K", A::KType, On(Tab::Targets), "type K in percent", "type K"),
    b(&[k('b')], "b", A::Budget, On(Tab::Targets), "type a budget: K follows it (+/- still move K; empty drops the budget)", "budget"),
    b(&[k('p')], "p", A::Plan, On(Tab::Targets), "plan: cost, expected return and net by K (p or Esc: back to the list)", "plan"),
    b(&[k('-')], "-", A::KMinus1, On(Tab::Targets), "", ""),
    b(&[k('[')], "[", A::KMinus5, On(Tab::Targets), "", ""),
    b(&[k('n')], "n", A::SearchNext, On(Tab::Targets), "next match", ""),
    b(&[k('N')], "N", A::SearchPrev, On(Tab::Targets), "previous match", ""),
];

fn matches(key: &Key, ev: &KeyEvent) -> bool {
    // Shifted characters arrive with SHIFT set on some terminals and not on others.
    let mods = ev.modifiers - KeyModifiers::SHIFT;
    let want = key.mods - KeyModifiers::SHIFT;
    key.code == ev.code && mods == want
}

/// The action of a key on `tab` (tab bindings first, then global ones).
pub fn action_for(tab: Tab, ev: &KeyEvent) -> Option<Action> {
    let find = |scope: Scope| {
        KEYMAP
            .iter()
            .filter(|b| b.scope == scope)
            .find(|b| b.keys.iter().any(|k| matches(k, ev)))
            .map(|b| b.action)
    };
    find(Scope::On(tab)).or_else(|| find(Scope::Global))
}

/// The bindings of the key bar for `tab`: help first (always visible, however narrow), then
/// the tab's own in order of use, then the other global ones.
pub fn bar(tab: Tab) -> impl Iterator<Item = &'static Binding> {
    let on_bar = |b: &&Binding| !b.bar.is_empty();
    let help = KEYMAP
        .iter()
        .filter(on_bar)
        .filter(|b| b.action == Action::Help);
    let own = KEYMAP
        .iter()
        .filter(on_bar)
        .filter(move |b| b.scope == Scope::On(tab));
    let global = KEYMAP
        .iter()
        .filter(on_bar)
        .filter(|b| b.scope == Scope::Global && b.action != Action::Help);
    help.chain(own).chain(global)
}
