//! One file per tab: its state, the update that changes it, and its drawing (from its state
//! and `Shared`).

pub mod campaigns;
pub mod curves;
pub mod faq;
pub mod features;
pub mod help;
pub mod labels;
pub mod leaderboard;
pub mod targets;
pub mod uplift_view;

use std::cell::Cell;

use crate::tui::action::Action;

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

/// A scroll position that never goes past its content. How far it can go is learned each time
/// the view is drawn (only drawing knows the width that wraps lines and the rows that show
/// them), and keys move within that: after `G`, one `k` moves up one line, and no key scrolls
/// into blank space. Before the first draw the end is not known and keys are not held back;
/// the draw clamps what shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scroll {
    pos: u16,
    /// The last position that still fills the view, as last drawn.
    max: Cell<u16>,
}

impl Default for Scroll {
    fn default() -> Self {
        Scroll {
            pos: 0,
            max: Cell::new(u16::MAX),
        }
    }
}

impl Scroll {
    /// The first row (or column) shown.
    pub fn pos(&self) -> u16 {
        self.pos.min(self.max.get())
    }

    /// Move by `delta`, stopping at either end.
    pub fn by(&mut self, delta: isize) {
        let max = self.max.get() as isize;
        self.pos = (self.pos() as isize).saturating_add(delta).clamp(0, max) as u16;
    }

    /// Movement keys scroll (`page` rows a page); false for other actions.
    pub fn update(&mut self, action: Action, page: usize) -> bool {
        match action.step(page) {
            Some(d) => {
                self.by(d);
                true
            }
            None => false,
        }
    }

    /// Back to the start.
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// At draw time: `content` rows shown `visible` at a time. Remembers the end and returns the
    /// first row to draw.
    pub fn fit(&self, content: usize, visible: usize) -> u16 {
        let max = content.saturating_sub(visible);
        self.max.set(u16::try_from(max).unwrap_or(u16::MAX));
        self.pos()
    }

    /// Whether the last draw left content out past the end.
    pub fn more_after(&self) -> bool {
        self.pos() < self.max.get()
    }
}

/// The state of a tab that is one scrolled text (Labels, Help).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrolled {
    pub scroll: Scroll,
}

impl Scrolled {
    /// Movement keys scroll; `page` lines are a page.
    pub fn update(&mut self, action: Action, page: usize) {
        self.scroll.update(action, page);
    }
}

/// The first of `n` rows to show in `visible` rows so that row `sel` is in view, moving the
/// view as little as possible from where it was (`offset`).
pub fn follow(offset: &Cell<usize>, sel: usize, n: usize, visible: usize) -> usize {
    let visible = visible.max(1);
    let mut first = offset.get();
    if sel < first {
        first = sel;
    } else if sel >= first + visible {
        first = sel + 1 - visible;
    }
    first = first.min(n.saturating_sub(visible));
    offset.set(first);
    first
}
