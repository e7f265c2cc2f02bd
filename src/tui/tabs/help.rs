//! Tab 6, Help: the keymap (the same table the `?` overlay and the key bar read) and what each
//! metric means.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::tui::shared::Shared;
use crate::tui::widgets::keymap_lines;

/// The Help tab's own state: how far the keymap is scrolled.
pub type Help = super::Scrolled;

pub const METRICS: &[(&str, &str)] = &[
    (
        "Top-K",
        "the riskiest K% of users by score; k = ceil(K·N/100) users, ties by user_id.",
    ),
    (
        "Lift@K",
        "the dormant rate among the top K% over the dormant rate of everyone: how many times better than picking users at random. Lift 1.2 means 20% more dormant users per coupon.",
    ),
    (
        "ceiling",
        "the best lift possible at K: min(N/P, N/k). When most users go dormant anyway, even a perfect model cannot lift much; compare Lift with its ceiling, not with 2 or 3.",
    ),
    (
        "Precision@K",
        "the share of targeted users who really go dormant.",
    ),
    (
        "Recall@K",
        "the share of all dormant users that the top K% catches.",
    ),
    (
        "PR-AUC",
        "average precision over the whole ranking (step-wise, ties grouped): a diagnostic of the ranking as a whole.",
    ),
    (
        "splits",
        "models fit on train anchors, are tuned and chosen on val, and the test anchor is scored once, after the choice: its numbers are what production would see.",
    ),
    (
        "dormant",
        "no visit, cart or purchase in the 30 days after the anchor (label m2, y = 1).",
    ),
];

pub fn render(help: &Help, sh: &Shared, f: &mut Frame, area: Rect) {
    let t = sh.theme;
    let [keys, metrics] = if area.width >= 120 {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area)
    };
    f.render_widget(
        Paragraph::new(keymap_lines(t, None))
            .scroll((help.scroll, 0))
            .block(Block::bordered().title(" keys (j/k scroll) ")),
        keys,
    );
    let mut lines = Vec::new();
    for (name, text) in METRICS {
        lines.push(Line::styled(*name, t.title()));
        lines.push(Line::raw(format!("  {text}")));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" what the numbers mean ")),
        metrics,
    );
}
