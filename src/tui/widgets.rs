//! Pieces of screen more than one view draws: a centred box, the "no run yet" placeholder and
//! the keymap as help lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::action::Tab;
use super::keymap::{KEYMAP, Scope};
use super::shared::Shared;
use super::tabs::Scroll;
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
            .block(sh.theme.block()),
        area,
    );
}

/// `lines` in `block` over `area`, scrolled by `scroll` and never past their end (the box
/// stays full). When they do not all fit, the bottom border says which rows show, so a reader
/// knows there is more.
pub fn scroll_text(
    f: &mut Frame,
    area: Rect,
    block: Block,
    lines: Vec<Line<'_>>,
    wrap: bool,
    scroll: &Scroll,
) {
    let inner = block.inner(area);
    let lines = if wrap {
        wrap_lines(lines, inner.width as usize)
    } else {
        lines
    };
    let mut p = Paragraph::new(lines);
    if wrap {
        p = p.wrap(Wrap { trim: false });
    }
    // Counted on the paragraph without its block: the rows of text at the inner width.
    let rows = p.line_count(inner.width);
    let visible = inner.height as usize;
    let pos = scroll.fit(rows, visible);
    let block = if rows > visible {
        let first = pos as usize + 1;
        let last = (pos as usize + visible).min(rows);
        let arrows = match (pos > 0, last < rows) {
            (true, true) => "↑↓",
            (false, true) => "↓",
            (true, false) => "↑",
            (false, false) => "",
        };
        block.title_bottom(
            Line::from(format!(" {arrows} {first}–{last} of {rows} ")).right_aligned(),
        )
    } else {
        block
    };
    f.render_widget(p.scroll((pos, 0)).block(block), area);
}

/// `lines` broken at spaces to `width` cells, each continuation indented as its line was. The
/// paragraph's own wrapping let a line whose last word is Korean run one cell over (onto a
/// box's border); lines of several styles that do not fit are left to it.
pub fn wrap_lines(lines: Vec<Line<'_>>, width: usize) -> Vec<Line<'_>> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width || line.spans.len() != 1 {
            out.push(line);
            continue;
        }
        let style = line.spans[0].style.patch(line.style);
        let text = line.spans[0].content.to_string();
        let body = text.trim_start_matches(' ');
        let indent = " ".repeat(text.len() - body.len());
        for part in wrap_words(body, width.saturating_sub(indent.len())) {
            out.push(Line::styled(format!("{indent}{part}"), style));
        }
    }
    out
}

/// Display width of a text in terminal cells (a Korean syllable takes two).
pub fn cells(s: &str) -> usize {
    s.width()
}

/// `text` broken into lines of at most `width` cells, at spaces; a single word longer than
/// the width is the only thing ever broken inside.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let need = if line.is_empty() {
            cells(word)
        } else {
            cells(&line) + 1 + cells(word)
        };
        if need <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        // A word wider than the line (a long path): cut it by cells.
        let mut rest = word;
        while cells(rest) > width {
            let (head, tail) = split_at_cells(rest, width);
            out.push(head.to_string());
            rest = tail;
        }
        line.push_str(rest);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// The longest start of `s` at most `width` cells wide, and the rest.
pub fn split_at_cells(s: &str, width: usize) -> (&str, &str) {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            // Always take one character, so a line narrower than a character still moves on.
            let i = if i == 0 { c.len_utf8() } else { i };
            return s.split_at(i);
        }
        used += w;
    }
    (s, "")
}

/// `text` shortened to at most `width` cells at a word boundary (whole words only, no
/// ellipsis); a first word wider than that is cut by cells.
pub fn fit_words(text: &str, width: usize) -> String {
    if cells(text) <= width {
        return text.to_string();
    }
    let first = wrap_words(text, width)
        .into_iter()
        .next()
        .unwrap_or_default();
    // A trailing separator ("—") reads as cut mid-thought; drop it.
    first
        .trim_end_matches([' ', '—', '-', ',', ':', ';'])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_at_spaces_and_by_cells() {
        assert_eq!(
            wrap_words("last seen 28.6 days ago — higher than 97% of users", 20),
            ["last seen 28.6 days", "ago — higher than", "97% of users"]
        );
        // Korean syllables are two cells each: 4 syllables + space + 3 = 15 cells.
        assert_eq!(
            wrap_words("마지막 방문 28일 전", 11),
            ["마지막 방문", "28일 전"]
        );
        assert_eq!(wrap_words("abcdefgh ij", 3), ["abc", "def", "gh", "ij"]);
        assert_eq!(wrap_words("", 5), [""]);
    }

    #[test]
    fn fit_words_ends_on_a_whole_word() {
        let r = "last seen 28.6 days ago — higher than 97% of users";
        assert_eq!(fit_words(r, 80), r);
        assert_eq!(fit_words(r, 25), "last seen 28.6 days ago");
        assert_eq!(
            fit_words(r, 27),
            "last seen 28.6 days ago",
            "no dangling dash"
        );
        assert!(!fit_words(r, 12).ends_with('…'));
    }
}
