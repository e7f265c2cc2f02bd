//! Pieces of screen more than one view draws: a centred box, the "no run yet" placeholder, the
//! keymap as help lines, text fitted to a width (cut with `…`, or wrapped with a hanging indent)
//! and scrolled text and tables. Every line that may be wider than its box goes through `fit`,
//! `fit_line`, `fit_title` or a wrap here, so nothing is cut without saying so.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::action::Tab;
use super::keymap::{KEYMAP, Scope};
use super::shared::Shared;
use super::tabs::Scroll;
use super::theme::Theme;
use crate::engine::text::thousands;

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

/// Where a keymap line's description starts: two spaces, the key column, a space.
const KEY_HANG: usize = 12;

/// The keymap as help lines `width` cells wide: `first`'s bindings (if any), the global ones,
/// then every other tab's. A description too long for the width goes on under itself, never
/// under the keys.
pub fn keymap_lines(t: &Theme, first: Option<Tab>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let section = |title: String, scope: Scope, out: &mut Vec<Line<'static>>| {
        out.push(fit_line(Line::styled(title, t.title()), width));
        // A binding without help is covered by another's label ("+/-" covers "-").
        for b in KEYMAP
            .iter()
            .filter(|b| b.scope == scope && !b.help.is_empty())
        {
            let line = Line::from(vec![
                Span::styled(format!("  {:<10}", b.label), t.key()),
                Span::raw(b.help),
            ]);
            out.extend(wrap_hanging(&line, width, KEY_HANG));
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
/// knows there is more. Wrapped, a line goes on under its own indent; not wrapped, a line wider
/// than the box ends in `…`.
pub fn scroll_text(
    f: &mut Frame,
    area: Rect,
    block: Block,
    lines: Vec<Line<'_>>,
    wrap: bool,
    scroll: &Scroll,
) {
    let inner = block.inner(area);
    let width = inner.width as usize;
    let lines = if wrap {
        wrap_lines(lines, width)
    } else {
        lines.into_iter().map(|l| fit_line(l, width)).collect()
    };
    let mut p = Paragraph::new(lines);
    if wrap {
        p = p.wrap(Wrap { trim: false });
    }
    // Counted on the paragraph without its block: the rows of text at the inner width.
    let rows = p.line_count(inner.width);
    let visible = inner.height as usize;
    let pos = scroll.fit(rows, visible);
    let block = match rows_shown(pos as usize, visible, rows) {
        Some(t) => block.title_bottom(t),
        None => block,
    };
    f.render_widget(p.scroll((pos, 0)).block(block), area);
}

/// A table in `block` over `area`: `head` stays at the top while `body` scrolls under it (a
/// header that scrolls away leaves columns nobody can name). The bottom border counts the body's
/// rows. Lines wider than the box end in `…`.
pub fn scroll_table(
    f: &mut Frame,
    area: Rect,
    block: Block,
    head: Vec<Line<'_>>,
    body: Vec<Line<'_>>,
    scroll: &Scroll,
) {
    let inner = block.inner(area);
    let width = inner.width as usize;
    // The head takes what it needs but leaves the body one row.
    let head_rows = (head.len() as u16).min(inner.height.saturating_sub(1));
    let visible = inner.height.saturating_sub(head_rows) as usize;
    let rows = body.len();
    let pos = scroll.fit(rows, visible);
    let block = match rows_shown(pos as usize, visible, rows) {
        Some(t) => block.title_bottom(t),
        None => block,
    };
    f.render_widget(block, area);
    let [top, rest] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(head_rows),
        ratatui::layout::Constraint::Min(0),
    ])
    .areas(inner);
    let head: Vec<Line> = head.into_iter().map(|l| fit_line(l, width)).collect();
    let body: Vec<Line> = body.into_iter().map(|l| fit_line(l, width)).collect();
    f.render_widget(Paragraph::new(head), top);
    f.render_widget(Paragraph::new(body).scroll((pos, 0)), rest);
}

/// " ↓ 1–8 of 11 " for the bottom border when `rows` do not all fit in `visible` from `pos`.
fn rows_shown(pos: usize, visible: usize, rows: usize) -> Option<Line<'static>> {
    if rows <= visible {
        return None;
    }
    let first = pos + 1;
    let last = (pos + visible).min(rows);
    let arrows = match (pos > 0, last < rows) {
        (true, true) => "↑↓",
        (false, true) => "↓",
        (true, false) => "↑",
        (false, false) => "",
    };
    Some(
        Line::from(format!(
            " {arrows} {} of {} ",
            range(first, last),
            thousands(rows as u64)
        ))
        .right_aligned(),
    )
}

/// `a–b` with both grouped by thousands.
pub fn range(a: usize, b: usize) -> String {
    format!("{}–{}", thousands(a as u64), thousands(b as u64))
}

/// `lines` broken at spaces to `width` cells, each continuation under its line's own indent
/// (the leading spaces). The paragraph's own wrapping restarted every line at column 0 and let
/// a line whose last word is Korean run one cell over (onto a box's border).
pub fn wrap_lines(lines: Vec<Line<'_>>, width: usize) -> Vec<Line<'_>> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        let indent = text.len() - text.trim_start_matches(' ').len();
        out.extend(wrap_hanging(&line, width, indent));
    }
    out
}

/// `line` broken at spaces into lines of at most `width` cells, styles kept; every line after
/// the first starts `indent` cells in (under a description, not under its key). A word wider
/// than the room is the only thing cut inside. An indent over half the width is dropped: it
/// would leave too little room to read.
pub fn wrap_hanging(line: &Line<'_>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = if indent * 2 > width { 0 } else { indent };
    let chars: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let w = |c: char| c.width().unwrap_or(0);
    let mut out = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < chars.len() || out.is_empty() {
        let room = if first { width } else { width - indent };
        let mut used = 0;
        let mut end = start;
        while end < chars.len() && used + w(chars[end].0) <= room {
            used += w(chars[end].0);
            end += 1;
        }
        if end == start && end < chars.len() {
            // A character wider than the room: take it anyway, so the text moves on.
            end += 1;
        }
        let take = if end == chars.len() {
            end
        } else {
            // At the last space that leaves a word on this line (on the first line, not inside
            // the indent, so a key is never left alone), else inside the word.
            let min = if first {
                start + indent.max(1)
            } else {
                start + 1
            };
            (min..=end)
                .rev()
                .find(|&i| chars[i].0 == ' ')
                .unwrap_or(end)
        };
        let mut stop = take;
        while stop > start && chars[stop - 1].0 == ' ' {
            stop -= 1;
        }
        let mut spans: Vec<Span<'static>> = Vec::new();
        if !first && indent > 0 {
            spans.push(Span::raw(" ".repeat(indent)));
        }
        spans.extend(styled_runs(&chars[start..stop]));
        out.push(Line::from(spans).style(line.style));
        start = take;
        while start < chars.len() && chars[start].0 == ' ' {
            start += 1;
        }
        first = false;
    }
    out
}

/// Characters with their styles as spans, one per run of the same style.
fn styled_runs(chars: &[(char, Style)]) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for &(c, st) in chars {
        if style.is_some_and(|s| s != st) {
            out.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(st);
        text.push(c);
    }
    if let Some(st) = style {
        out.push(Span::styled(text, st));
    }
    out
}

/// What a line cut to fit ends with, so a reader knows there is more.
pub const CUT: char = '…';

/// `text` in at most `width` cells: whole when it fits, else its start followed by `…`. The cut
/// falls at a space when that keeps most of the room (whole words read better), else inside a
/// word.
pub fn fit(text: &str, width: usize) -> String {
    if cells(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let mut head = split_at_cells(text, room).0;
    // split_at_cells takes one character even when it is wider than the room.
    if cells(head) > room {
        head = "";
    }
    if let Some(i) = head.rfind(' ')
        && cells(&head[..i]) * 3 >= room * 2
    {
        head = &head[..i];
    }
    format!("{}{CUT}", head.trim_end())
}

/// The first `chars` characters of `spans`, each piece in its span's style: what a line cut
/// short keeps (before its `…`).
pub fn span_prefix(spans: &[Span<'_>], mut chars: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    for s in spans {
        if chars == 0 {
            break;
        }
        let part: String = s.content.chars().take(chars).collect();
        chars -= part.chars().count();
        out.push(Span::styled(part, s.style));
    }
    out
}

/// `line` in at most `width` cells, its styles kept: whole when it fits, else cut as by [`fit`],
/// the `…` in the style of the text before it.
pub fn fit_line(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width {
        return line;
    }
    if width == 0 {
        return Line::default();
    }
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    // `fit` keeps a start of the text and adds the one `…`.
    let keep = fit(&text, width).chars().count().saturating_sub(1);
    let mut spans = span_prefix(&line.spans, keep);
    let last = spans.last().map_or(Style::default(), |s| s.style);
    spans.push(Span::styled(CUT.to_string(), last));
    Line::from(spans)
        .style(line.style)
        .alignment(line.alignment.unwrap_or_default())
}

/// A box title for a box `width` cells wide (its corners take two): whole when it fits, else
/// cut as by [`fit`], keeping the space before the border.
pub fn fit_title(title: &str, width: u16) -> String {
    let room = (width as usize).saturating_sub(2);
    if cells(title) <= room {
        return title.to_string();
    }
    format!("{} ", fit(title.trim_end(), room.saturating_sub(1)))
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

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_line_that_does_not_fit_ends_in_an_ellipsis() {
        assert_eq!(fit("run saved", 9), "run saved", "whole when it fits");
        // 20 cells: 19 of text, then `…`. The 19 are "Enter creates, Esc " and the cut falls at
        // that last space, after a whole word; at 18 inside "Esc", back at the space after
        // "creates," (14 of 17 cells kept).
        assert_eq!(fit("Enter creates, Esc cancels", 20), "Enter creates, Esc…");
        assert_eq!(fit("Enter creates, Esc cancels", 18), "Enter creates,…");
        // A space too early (less than two thirds of the room) is not taken: cut in the word.
        assert_eq!(fit("a verylongpathname", 10), "a verylon…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
        // Korean, two cells a syllable: never over the width, even by the odd cell.
        let k = fit("마지막방문", 6);
        assert!(cells(&k) <= 6 && k.ends_with('…'), "{k}");
        // Styles are kept up to the cut; the ellipsis takes the last one.
        let t = Theme::default();
        let line = Line::from(vec![
            Span::styled("key ", t.key()),
            Span::raw("a long description"),
        ]);
        let cut = fit_line(line.clone(), 12);
        assert_eq!(text(&cut), "key a long…");
        assert_eq!(cut.spans[0].style, t.key());
        assert_eq!(fit_line(line.clone(), 40), line);
        // A box title keeps its space before the border: 20 wide leaves 18 cells, 16 of text
        // before `… `, cut back to the space after "per".
        let title = fit_title(" holdout % per tier — Enter creates ", 20);
        assert_eq!(title, " holdout % per… ");
        assert!(cells(&title) <= 18);
        assert_eq!(fit_title(" keys ", 20), " keys ");
    }

    #[test]
    fn a_wrapped_line_goes_on_under_its_indent() {
        let t = Theme::default();
        let line = Line::from(vec![
            Span::styled("  c         ", t.key()),
            Span::raw("make a campaign of this list: treatment and a random control group"),
        ]);
        let out: Vec<String> = wrap_hanging(&line, 40, 12).iter().map(text).collect();
        assert_eq!(
            out,
            [
                "  c         make a campaign of this",
                "            list: treatment and a random",
                "            control group"
            ]
        );
        assert_eq!(wrap_hanging(&line, 40, 12)[0].spans[0].style, t.key());
        // A word longer than the room is cut, and the text moves on.
        let out: Vec<String> = wrap_hanging(&Line::raw("ab abcdefghij"), 6, 2)
            .iter()
            .map(text)
            .collect();
        assert_eq!(out, ["ab", "  abcd", "  efgh", "  ij"]);
        // An indent over half the width would leave too little room: dropped.
        let out: Vec<String> = wrap_hanging(&Line::raw("aaa bbb ccc"), 7, 5)
            .iter()
            .map(text)
            .collect();
        assert_eq!(out, ["aaa bbb", "ccc"]);
        assert_eq!(wrap_hanging(&Line::raw(""), 5, 2).len(), 1);
    }

    /// Every keymap line at every width: no line wider than the width, a description that goes
    /// on starts under the descriptions (column 12), and read together it is the whole help.
    #[test]
    fn keymap_lines_hang_under_the_description() {
        let t = Theme::default();
        for width in [40usize, 58, 70, 78] {
            let lines = keymap_lines(&t, None, width);
            let mut helps: Vec<String> = Vec::new();
            for l in &lines {
                let s = text(l);
                assert!(cells(&s) <= width, "{width}: {s}");
                // Keys such as "k/↑" are one cell a character.
                let rest: String = s.chars().skip(KEY_HANG).collect();
                if s.starts_with("  ") && !s.starts_with(&" ".repeat(KEY_HANG)) {
                    helps.push(rest);
                } else if s.starts_with(&" ".repeat(KEY_HANG)) {
                    let more = &rest;
                    assert!(!more.starts_with(' '), "{width}: `{s}`");
                    let last = helps.last_mut().expect("a continuation follows a key");
                    last.push(' ');
                    last.push_str(more);
                }
            }
            for b in KEYMAP.iter().filter(|b| !b.help.is_empty()) {
                assert!(
                    helps.iter().any(|h| h == b.help),
                    "{width}: `{}` not whole",
                    b.help
                );
            }
        }
    }

    #[test]
    fn rows_shown_are_grouped_by_thousands() {
        let t = rows_shown(0, 8, 1234).expect("more rows than room");
        assert_eq!(text(&t), " ↓ 1–8 of 1,234 ");
        let t = rows_shown(1226, 8, 1234).expect("more rows than room");
        assert_eq!(text(&t), " ↑ 1,227–1,234 of 1,234 ");
        assert!(rows_shown(0, 8, 8).is_none());
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
