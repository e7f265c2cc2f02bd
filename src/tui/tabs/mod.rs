//! One file per tab: its state, the update that changes it, and its drawing (from its state
//! and `Shared`).

pub mod curves;
pub mod faq;
pub mod features;
pub mod help;
pub mod labels;
pub mod leaderboard;
pub mod targets;

/// Which split a tab shows (the Leaderboard sorts by it, the Curves draw it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitView {
    #[default]
    Val,
    Test,
}

impl SplitView {
    pub fn other(self) -> SplitView {
        match self {
            SplitView::Val => SplitView::Test,
            SplitView::Test => SplitView::Val,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SplitView::Val => "val",
            SplitView::Test => "test",
        }
    }
}

/// A selection among `n` items moved by `delta`, stopping at either end.
pub fn step(cur: usize, delta: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (cur as isize)
        .saturating_add(delta)
        .clamp(0, n as isize - 1) as usize
}

/// A text view's scroll moved by `delta` lines (kept within 0..=500).
pub fn scroll_by(scroll: u16, delta: isize) -> u16 {
    (scroll as isize).saturating_add(delta).clamp(0, 500) as u16
}

/// The state of a tab that is one scrolled text (Labels, Help): how far it is scrolled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrolled {
    pub scroll: u16,
}

impl Scrolled {
    /// Movement keys scroll; `page` lines are a page.
    pub fn update(&mut self, action: crate::tui::action::Action, page: usize) {
        if let Some(d) = action.step(page) {
            self.scroll = scroll_by(self.scroll, d);
        }
    }
}
