//! Tab 7, Help: the keymap (the same table the `?` overlay and the key bar read) and what each
//! metric means.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::shared::Shared;
use crate::tui::widgets::{keymap_lines, scroll_text, wrap_lines};

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

/// The glossary and the FAQ (in the reasons' language), as lines.
fn explained(t: &crate::tui::theme::Theme, lang: &str) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("What the numbers mean", t.title())];
    for (name, text) in METRICS {
        lines.push(Line::styled(*name, t.key()));
        lines.push(Line::raw(format!("  {text}")));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("FAQ", t.title()));
    for (q, a) in super::faq::for_lang(lang) {
        lines.push(Line::styled(*q, t.key()));
        lines.push(Line::raw(format!("  {a}")));
    }
    lines
}

/// Keys, glossary and FAQ. Narrower than 120 columns it is one text that scrolls as a whole
/// (j/k, PgUp/PgDn, g/G), so every line can be read at 80x24; wider, keys on the left and
/// the rest on the right, both following the one scroll.
pub fn render(help: &Help, sh: &Shared, f: &mut Frame, area: Rect) {
    let t = sh.theme;
    let title = " help — j/k, PgUp/PgDn scroll ";
    if area.width >= 120 {
        let [keys, rest] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(area);
        let keys_p = Paragraph::new(keymap_lines(t, None, keys.width.saturating_sub(2) as usize));
        let rest_p = Paragraph::new(wrap_lines(
            explained(t, &sh.phrases.lang),
            rest.width.saturating_sub(2) as usize,
        ))
        .wrap(Wrap { trim: false });
        // One scroll for both, as far as the longer one goes.
        let rows = keys_p
            .line_count(keys.width.saturating_sub(2))
            .max(rest_p.line_count(rest.width.saturating_sub(2)));
        let pos = help
            .scroll
            .fit(rows, rest.height.saturating_sub(2) as usize);
        f.render_widget(
            keys_p
                .scroll((pos, 0))
                .block(sh.theme.block().title(" keys ")),
            keys,
        );
        f.render_widget(
            rest_p.scroll((pos, 0)).block(sh.theme.block().title(title)),
            rest,
        );
        return;
    }
    let mut lines = keymap_lines(t, None, area.width.saturating_sub(2) as usize);
    lines.push(Line::raw(""));
    lines.extend(explained(t, &sh.phrases.lang));
    scroll_text(
        f,
        area,
        sh.theme.block().title(title),
        lines,
        true,
        &help.scroll,
    );
}
