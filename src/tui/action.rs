//! What a key asks for (`Action`) and the tabs it can name (`Tab`). A leaf module: the keymap,
//! the app and the tabs all read it, and it reads none of them.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    Labels,
    Features,
    Leaderboard,
    Curves,
    Targets,
    Campaigns,
    Help,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Labels,
        Tab::Features,
        Tab::Leaderboard,
        Tab::Curves,
        Tab::Targets,
        Tab::Campaigns,
        Tab::Help,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Labels => "Labels",
            Tab::Features => "Features",
            Tab::Leaderboard => "Leaderboard",
            Tab::Curves => "Curves",
            Tab::Targets => "Targets",
            Tab::Campaigns => "Campaigns",
            Tab::Help => "Help",
        }
    }
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ForceQuit,
    Help,
    /// The last status message in full (a long one is cut on the status line).
    Message,
    NextTab,
    PrevTab,
    GoTab(Tab),
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Enter,
    Esc,
    Search,
    SearchNext,
    SearchPrev,
    KPlus1,
    KMinus1,
    KPlus5,
    KMinus5,
    KType,
    /// Type a budget: K follows it (SPEC §5.2).
    Budget,
    /// The plan view: cost, expected return and net by K.
    Plan,
    Export,
    Retrain,
    SortFlip,
    ToggleModel,
    CurveMode,
    SwitchSplit,
    SwitchView,
    Exclude,
    AddUser,
    Report,
    /// A campaign from the Targets list (asks for a name and a holdout).
    Campaign,
    /// Read the selected campaign out (asks for the logs).
    Readout,
    /// Rank the Targets list by risk or by uplift (SPEC §7a.3).
    RankBy,
}

impl Action {
    /// How far a movement key moves a selection or a scroll, `page` rows being a page; None for
    /// other actions. Top and Bottom are steps far past either end, for the mover to clamp.
    pub fn step(self, page: usize) -> Option<isize> {
        let page = page.max(1) as isize;
        match self {
            Action::Up => Some(-1),
            Action::Down => Some(1),
            Action::PageUp => Some(-page),
            Action::PageDown => Some(page),
            Action::Top => Some(isize::MIN / 2),
            Action::Bottom => Some(isize::MAX / 2),
            _ => None,
        }
    }
}
