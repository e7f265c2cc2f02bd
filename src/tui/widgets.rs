//! Pieces of screen more than one view draws: a centred box, the "no run yet" placeholder and
//! the keymap as help lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::action::Tab;
use super::keymap::{KEYMAP, Scope};
use super::shared::Shared;
use super::theme::Theme;

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The keymap as help lines: `first`'s bindings (if any), the global ones, then every other
/// tab's.
pub fn keymap_lines(t: &Theme, first: Option<Tab>) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let section = |title: String, scope: Scope, out: &mut Vec<Line<'static>>| {
        out.push(Line::styled(title, t.title()));
        // A binding without help is covered by another's label ("+/-" covers "-").
        for b in KEYMAP
            .iter()
            .filter(|b| b.scope == scope && !b.help.is_empty())
        {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<10}", b.label), t.key()),
                Span::raw(b.help),
            ]));
        }
    };
    let has = |tab: Tab| KEYMAP.iter().any(|b| b.scope == Scope::On(tab));
    if let Some(tab) = first.filter(|t| has(*t)) {
        section(format!("{} tab", tab.title()), Scope::On(tab), &mut out);
    }
    section("Everywhere".into(), Scope::Global, &mut out);
    for tab in Tab::ALL {
        if has(tab) && Some(tab) != first {
            section(format!("{} tab", tab.title()), Scope::On(tab), &mut out);
        }
    }
    out
}

/// A placeholder for tabs that need a run while none is loaded.
pub fn waiting(sh: &Shared, f: &mut Frame, area: Rect, what: &str) {
    let msg = if sh.training {
        format!("{what} appears here when training finishes (see the gauge above).")
    } else {
        format!("No run loaded. Press t to train, or start with --run DIR. ({what})")
    };
    f.render_widget(
        Paragraph::new(msg)
            .style(sh.theme.dim())
            .wrap(Wrap { trim: true })
            .block(Block::bordered()),
        area,
    );
}
