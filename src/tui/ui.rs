//! Drawing: the tab bar and training gauge, the current tab, the key bar, popups. Reads `&App`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Gauge, Paragraph, Wrap};

use super::action::Tab;
use super::app::{App, Popup};
use super::input::InputKind;
use super::keymap;
use super::tabs;
use super::theme;
use super::widgets::{cells, centered, fit, fit_title, keymap_lines, scroll_text, split_at_cells};

/// Below this the screen says so instead of drawing a broken layout.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Rows of the target list that fit a terminal of this height (the loop tells the app).
pub fn target_page(height: u16) -> usize {
    // tabs 1 + gauge/status 1 + header 3 + table header 1 + borders 2 + key bar 1
    height.saturating_sub(9).max(1) as usize
}

pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small: {}x{}\nchurn-tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}\n(80x24 or larger is best)\n\nq quits",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg)
                .style(app.theme.warn())
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [top, status, body, bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    tab_bar(app, f, top);
    status_line(app, f, status);
    let sh = app.shared();
    match app.tab {
        Tab::Labels => tabs::labels::render(&app.labels, &sh, f, body),
        Tab::Features => tabs::features::render(&app.features, &sh, f, body),
        Tab::Leaderboard => tabs::leaderboard::render(&app.leaderboard, &sh, f, body),
        Tab::Curves => tabs::curves::render(&app.curves, &sh, f, body),
        Tab::Targets => tabs::targets::render(&app.targets, &sh, f, body),
        Tab::Campaigns if app.campaigns.uplift_open => {
            tabs::uplift_view::render(app.targets.uplift.as_ref().map(|u| &u.model), &sh, f, body)
        }
        Tab::Campaigns => tabs::campaigns::render(&app.campaigns, &sh, f, body),
        Tab::Help => tabs::help::render(&app.help, &sh, f, body),
    }
    key_bar(app, f, bar);
    match &app.popup {
        Some(Popup::Help) => help_popup(app, f, area),
        Some(Popup::Message) => message_popup(app, f, area),
        Some(Popup::User(row)) => {
            tabs::targets::user_popup(&app.targets, &sh, f, area, *row, &app.popup_scroll)
        }
        None => {}
    }
    if app.input.is_some() {
        input_box(app, f, area);
    }
    // Last, over everything drawn: whatever symbol a view used, --ascii shows its ASCII
    // stand-in (the boxes are ASCII already, from Theme::block).
    if app.theme.ascii {
        theme::asciify(f.buffer_mut());
    }
}

fn tab_bar(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let label = |tab: Tab, short: bool| {
        let title = if short && tab != app.tab {
            tab.title().chars().take(3).collect()
        } else {
            tab.title().to_string()
        };
        format!(" {} {title} ", tab.index() + 1)
    };
    let width = |short: bool| -> usize {
        Tab::ALL
            .iter()
            .map(|&tab| label(tab, short).chars().count())
            .sum()
    };
    let brand = " churn-tui ";
    let room = area.width as usize;
    // Seven tabs fill 80 columns: the name goes first, then the other tabs' titles shorten.
    let (with_brand, short) = if width(false) + brand.len() <= room {
        (true, false)
    } else {
        (false, width(false) > room)
    };
    let mut spans = Vec::new();
    if with_brand {
        spans.push(Span::styled(brand, t.title()));
    }
    for tab in Tab::ALL {
        let style = if tab == app.tab {
            t.tab_active()
        } else {
            t.text()
        };
        spans.push(Span::styled(label(tab, short), style));
    }
    f.render_widget(Line::from(spans), area);
}

fn status_line(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    if let Some(tr) = &app.training {
        // "model i/n" only while models are fitting: a later stage's heartbeat names no model
        // (it once read "model 10/9").
        let nth = if tr.models_done < tr.models_total {
            format!(" · model {}/{}", tr.models_done + 1, tr.models_total)
        } else {
            String::new()
        };
        let what = match &tr.model {
            Some(m) if tr.working.is_some_and(|s| s > 0) => format!(
                "training: {m} {}{}s{nth}",
                if tr.step.1 > 0 {
                    format!("{}/{} · ", tr.step.0, tr.step.1)
                } else {
                    String::new()
                },
                tr.working.unwrap_or(0),
            ),
            Some(m) if tr.step.1 > 0 => {
                format!("training: {m} {}/{}{nth}", tr.step.0, tr.step.1)
            }
            Some(m) => format!("training: {m}{nth}"),
            None => {
                let count = match tr.step {
                    (0, _) => String::new(),
                    (d, 0) => format!(" {d}"),
                    (d, t) => format!(" {d}/{t}"),
                };
                match tr.working {
                    Some(s) if s > 0 => format!("training: {}{count} {s}s", tr.stage),
                    _ => format!("training: {}{count}", tr.stage),
                }
            }
        };
        let g = Gauge::default()
            .gauge_style(t.good())
            .ratio(tr.ratio())
            .label(fit(
                &format!("{what} · {:.0}% · q quits", 100.0 * tr.ratio()),
                area.width as usize,
            ));
        f.render_widget(g, area);
        return;
    }
    let width = area.width as usize;
    let line = if let Some(n) = &app.notice {
        Line::styled(
            fit_status(&n.text, area.width as usize),
            if n.error { t.bad() } else { t.good() },
        )
    } else if let Some(run) = &app.run {
        // Narrow, the run's id goes first: the models say more.
        let models = format!(
            "chosen: {} · targeting: {}",
            run.chosen,
            app.targeting_model().map_or("–", |m| m.name.as_str())
        );
        let full = format!(" run {} · {models}", run.run_id);
        let text = if cells(&full) <= width {
            full
        } else {
            fit(&format!(" {models}"), width)
        };
        Line::styled(text, t.dim())
    } else {
        Line::styled(" no run loaded: press t to train", t.dim())
    };
    f.render_widget(line, area);
}

fn key_bar(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    let mut width = 0usize;
    // A key that does nothing on the view shown (v on the gain chart) is not offered.
    for b in keymap::bar(app.tab).filter(|b| app.tab != Tab::Curves || app.curves.offers(b.action))
    {
        let text = format!(" {} ", b.bar);
        let w = b.label.chars().count() + text.chars().count() + 1;
        if width + w > area.width as usize {
            // More keys than room: say so (`?` lists them all, and is always first).
            spans.push(Span::styled("…", t.dim()));
            break;
        }
        width += w;
        spans.push(Span::styled(b.label, t.key()));
        spans.push(Span::styled(text, t.dim()));
    }
    f.render_widget(Line::from(spans), area);
}

/// A message as the status line shows it: whole when it fits, else cut where a word ends and
/// followed by a pointer to `m` (which shows it whole; it is in the log too). Widths are in
/// cells, so a Korean message leaves the pointer on screen as well.
fn fit_status(text: &str, width: usize) -> String {
    const MORE: &str = " … (m: all)";
    if cells(text) < width {
        return format!(" {text}");
    }
    let room = width.saturating_sub(cells(MORE) + 1);
    let (head, rest) = split_at_cells(text, room);
    if rest.starts_with(' ') {
        return format!(" {}{MORE}", head.trim_end());
    }
    // Back to the last space; when that would throw away more than half the line (a long
    // path), to the last path separator instead, which ends a path's word.
    let half = head.len() / 2;
    let cut = head
        .rfind(' ')
        .filter(|&i| i >= half)
        .or_else(|| head.rfind('/').map(|i| i + 1).filter(|&i| i >= half))
        .or_else(|| head.rfind(' '))
        .unwrap_or(head.len());
    format!(" {}{MORE}", head[..cut].trim_end())
}

/// The last message, wrapped to the popup's width; it scrolls when taller than the screen.
fn message_popup(app: &App, f: &mut Frame, area: Rect) {
    let Some(n) = &app.last_notice else { return };
    let style = if n.error {
        app.theme.bad()
    } else {
        app.theme.good()
    };
    let w = area.width.saturating_sub(4).min(76);
    let text = Paragraph::new(Line::styled(n.text.clone(), style)).wrap(Wrap { trim: false });
    let rows = text.line_count(w.saturating_sub(2)) as u16 + 2;
    let r = centered(area, w, rows.min(area.height.saturating_sub(2)));
    popup(
        app,
        f,
        r,
        " last message — Esc closes ",
        vec![Line::styled(n.text.clone(), style)],
        true,
    );
}

fn help_popup(app: &App, f: &mut Frame, area: Rect) {
    let r = centered(area, 72, area.height.saturating_sub(2));
    let lines = keymap_lines(
        &app.theme,
        Some(app.tab),
        r.width.saturating_sub(2) as usize,
    );
    popup(
        app,
        f,
        r,
        " keys — j/k scroll · Esc or ? closes ",
        lines,
        false,
    );
}

/// A titled box over the screen at `r` whose text scrolls with the popup's scroll state.
fn popup(app: &App, f: &mut Frame, r: Rect, title: &str, lines: Vec<Line<'_>>, wrap: bool) {
    f.render_widget(Clear, r);
    let block = app
        .theme
        .block()
        .title(fit_title(title, r.width))
        .border_style(app.theme.title());
    scroll_text(f, r, block, lines, wrap, &app.popup_scroll);
}

fn input_box(app: &App, f: &mut Frame, area: Rect) {
    let Some(input) = &app.input else { return };
    let title = match input.kind {
        InputKind::Search => " search user id — Enter finds, Esc cancels ",
        InputKind::K => " K in percent (e.g. 7.5) — Enter sets, Esc cancels ",
        InputKind::Budget => " budget (e.g. 5,000,000) — Enter sets, empty drops it, Esc cancels ",
        InputKind::ExportPath => {
            " export to — Tab: csv/json/parquet/xlsx · Enter writes · Esc cancels "
        }
        InputKind::AddUser => " add a user by id — Enter adds, Esc cancels ",
        InputKind::CampaignName => " campaign name — Enter goes on, Esc cancels ",
        InputKind::ReadoutData => " logs covering the horizon (a file or glob) — Enter reads out ",
        InputKind::CampaignHoldout => {
            " holdout % per tier (0–50; no offer to them) — Enter creates, Esc cancels "
        }
    };
    // As wide as the screen leaves (76 at 80 columns), so the longest title shows whole there.
    let r = centered(area, area.width.saturating_sub(4).clamp(70, 76), 3);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new({
            let (before, under, after) = input.around_cursor();
            // A proposed text shows selected (typing replaces it); the cursor is reversed.
            let body = if input.selected {
                app.theme.selected()
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(before, body),
                Span::styled(under, Style::new().add_modifier(Modifier::REVERSED)),
                Span::styled(after, body),
            ])
        })
        .block(
            app.theme
                .block()
                .title(fit_title(title, r.width))
                .border_style(app.theme.key()),
        ),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_status_is_cut_where_a_word_ends() {
        let msg = "hand edits not loaded: the file edits.json names user 123456789 who was not scored at the test anchor";
        let s = fit_status(msg, 80);
        assert!(s.ends_with("… (m: all)") && cells(&s) <= 80, "{s}");
        let kept = s.trim_start().trim_end_matches(" … (m: all)");
        assert!(
            msg.starts_with(kept) && msg[kept.len()..].starts_with(' '),
            "{s}"
        );
        // A path with no space to cut at is cut after a separator.
        let msg = format!("export failed: /{}", "data/".repeat(30));
        let s = fit_status(&msg, 80);
        assert!(s.trim_end_matches(" … (m: all)").ends_with('/'), "{s}");
        // Korean: two cells a syllable, and the pointer still on the line.
        let msg = "내보내기 실패: 파일을 쓸 수 없습니다 ".repeat(4);
        let s = fit_status(&msg, 80);
        assert!(s.ends_with("… (m: all)") && cells(&s) <= 80, "{s}");
        assert!(msg.starts_with(s.trim_start().trim_end_matches(" … (m: all)")));
        // Short messages are untouched.
        assert_eq!(fit_status("run saved", 80), " run saved");
    }
}
