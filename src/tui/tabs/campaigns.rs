//! Tab 6, Campaigns: the campaigns in the database with their groups and status, and for the
//! selected one its read-out: per tier, the uplift with its 90% interval drawn around zero.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::campaign::readout::TierReadout;
use crate::engine::campaign::{Status, Summary};
use crate::engine::eval::KPct;
use crate::engine::text::thousands;
use crate::tui::action::Action;
use crate::tui::shared::Shared;
use crate::tui::widgets::{fit_line, fit_title, range, scroll_text};

use super::{Scroll, follow, step};

/// The Campaigns tab's own state.
#[derive(Debug, Default)]
pub struct Campaigns {
    /// The database, as shown (no password).
    pub db: String,
    /// What the database held when last read (`None` before the first read).
    pub list: Option<Result<Vec<Summary>, String>>,
    pub sel: usize,
    /// The first row of the list shown, as last drawn.
    pub offset: Cell<usize>,
    /// The read-out below the list.
    pub detail: Scroll,
    /// The Uplift view (`v`) is shown instead of the campaigns.
    pub uplift_open: bool,
}

impl Campaigns {
    fn n(&self) -> usize {
        match &self.list {
            Some(Ok(l)) => l.len(),
            _ => 0,
        }
    }

    /// Up/Down pick a campaign; PgUp/PgDn scroll its read-out.
    pub fn update(&mut self, action: Action, page: usize) {
        match action {
            Action::SwitchView => self.uplift_open = !self.uplift_open,
            Action::PageUp | Action::PageDown => {
                self.detail.update(action, page);
            }
            _ => {
                if let Some(d) = action.step(page) {
                    let before = self.sel;
                    self.sel = step(self.sel, d, self.n());
                    if self.sel != before {
                        self.detail.reset();
                    }
                }
            }
        }
    }

    /// A new reading of the database; the newest campaign is selected when one was added.
    pub fn set(&mut self, list: Result<Vec<Summary>, String>) {
        let grew = matches!((&self.list, &list), (Some(Ok(a)), Ok(b)) if b.len() > a.len());
        let first = self.list.is_none();
        self.list = Some(list);
        let n = self.n();
        if grew || first {
            self.sel = n.saturating_sub(1);
        }
        self.sel = self.sel.min(n.saturating_sub(1));
        self.detail.reset();
    }

    pub fn selected(&self) -> Option<&Summary> {
        match &self.list {
            Some(Ok(l)) => l.get(self.sel),
            _ => None,
        }
    }
}

fn pct(bp: u32) -> String {
    KPct::from_bp(bp).map_or_else(|_| format!("{bp}bp"), |k| k.to_string())
}

fn status_style<'a>(sh: &Shared, s: Status, text: &'a str) -> Span<'a> {
    let t = sh.theme;
    match s {
        Status::Read => Span::styled(text, t.good()),
        Status::Due => Span::styled(text, t.warn()),
        Status::WaitingForData => Span::styled(text, t.dim()),
    }
}

pub fn render(st: &Campaigns, sh: &Shared, f: &mut Frame, area: Rect) {
    let title = fit_title(&format!(" Campaigns · {} ", st.db), area.width);
    let list = match &st.list {
        None => {
            f.render_widget(
                Paragraph::new("Reading the campaign database…")
                    .style(sh.theme.dim())
                    .block(sh.theme.block().title(title)),
                area,
            );
            return;
        }
        Some(Err(e)) => {
            f.render_widget(
                Paragraph::new(format!("The campaign database could not be read: {e}"))
                    .style(sh.theme.bad())
                    .wrap(ratatui::widgets::Wrap { trim: true })
                    .block(sh.theme.block().title(title)),
                area,
            );
            return;
        }
        Some(Ok(l)) => l,
    };
    if list.is_empty() {
        f.render_widget(
            Paragraph::new(
                "No campaigns yet.\n\nOn Targets, c makes one from the list shown: it asks for a \
                 name and a holdout (the share of each tier that gets no offer), then stores \
                 treatment and control here. From a shell: churn-tui campaign create --run DIR.",
            )
            .style(sh.theme.dim())
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(sh.theme.block().title(title)),
            area,
        );
        return;
    }
    let rows_wanted = list.len() as u16 + 3;
    let [top, bottom] = Layout::vertical([
        Constraint::Length(rows_wanted.min(area.height / 2).max(4)),
        Constraint::Min(3),
    ])
    .areas(area);
    list_box(st, sh, list, f, top, title);
    if let Some(c) = list.get(st.sel) {
        detail_box(st, sh, c, f, bottom);
    }
}

fn list_box(
    st: &Campaigns,
    sh: &Shared,
    list: &[Summary],
    f: &mut Frame,
    area: Rect,
    title: String,
) {
    let t = sh.theme;
    let visible = area.height.saturating_sub(3) as usize;
    let first = follow(&st.offset, st.sel, list.len(), visible);
    let name_w = (area.width as usize).saturating_sub(50).clamp(8, 28);
    let mut lines = vec![Line::styled(
        format!(
            "{:>3} {:<name_w$} {:<10} {:>9} {:>7}  status",
            "id", "name", "anchor", "treatment", "control"
        ),
        t.dim(),
    )];
    for (i, c) in list.iter().enumerate().skip(first).take(visible) {
        let k = &c.campaign;
        let mut name: String = k.name.chars().take(name_w).collect();
        if k.name.chars().count() > name_w {
            name.pop();
            name.push('…');
        }
        let row = format!(
            "{:>3} {:<name_w$} {:<10} {:>9} {:>7}  ",
            k.id,
            name,
            k.anchor.get(..10).unwrap_or(&k.anchor),
            thousands(c.n_treatment),
            thousands(c.n_control),
        );
        let style = if i == st.sel { t.selected() } else { t.text() };
        lines.push(Line::from(vec![
            Span::styled(row, style),
            status_style(sh, c.status, c.status.label()),
        ]));
    }
    let more = if list.len() > visible {
        format!(
            " {} of {} ",
            range(first + 1, (first + visible).min(list.len())),
            thousands(list.len() as u64)
        )
    } else {
        String::new()
    };
    let width = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines.into_iter().map(|l| fit_line(l, width)).collect();
    f.render_widget(
        Paragraph::new(lines).block(
            sh.theme
                .block()
                .title(title)
                .title_bottom(Line::from(more).right_aligned()),
        ),
        area,
    );
}

/// The interval `[lo, hi]` and the estimate `u` on an axis of `w` cells from `-scale` to
/// `+scale`, with zero marked: what the eye needs to see whether it straddles zero.
pub fn interval_bar(lo: f64, u: f64, hi: f64, scale: f64, w: usize, ascii: bool) -> String {
    let w = w.max(5);
    let cell = |v: f64| -> usize {
        let x = ((v / scale).clamp(-1.0, 1.0) + 1.0) / 2.0 * (w - 1) as f64;
        x.round() as usize
    };
    let (a, m, b, z) = (cell(lo), cell(u), cell(hi), cell(0.0));
    let (line, end_l, end_r, mark, zero, zero_in) = if ascii {
        ('-', '[', ']', '*', ':', '+')
    } else {
        ('─', '├', '┤', '●', '┊', '┼')
    };
    (0..w)
        .map(|i| {
            if i == m {
                mark
            } else if i == a {
                end_l
            } else if i == b {
                end_r
            } else if i == z {
                if a < i && i < b { zero_in } else { zero }
            } else if a < i && i < b {
                line
            } else {
                ' '
            }
        })
        .collect()
}

/// The bar's axis in exactly `w` cells: `−s` at the left end, `0` over zero, `+s` at the right.
fn axis(s: f64, w: usize) -> String {
    let mut cells = vec![' '; w];
    let mut put = |at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            if let Some(cell) = cells.get_mut(at + i) {
                *cell = c;
            }
        }
    };
    let (lo, hi) = (format!("-{s:.0}"), format!("+{s:.0}"));
    put(0, &lo);
    put((w - 1) / 2, "0");
    put(w.saturating_sub(hi.len()), &hi);
    cells.into_iter().collect()
}

fn detail_box(st: &Campaigns, sh: &Shared, c: &Summary, f: &mut Frame, area: Rect) {
    let t = sh.theme;
    let k = &c.campaign;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} ", k.name), t.title()),
            status_style(sh, c.status, c.status.label()),
        ]),
        Line::styled(
            if k.run_id == crate::engine::campaign::import::IMPORTED {
                // Run elsewhere: no run, model, K or seed of ours to show.
                format!(
                    "imported · anchor {} · control {}% · horizon {} days",
                    k.anchor,
                    pct(k.holdout_bp),
                    k.horizon_days
                )
            } else {
                format!(
                    "run {} · {} · anchor {} · top {}% · holdout {}% · seed {} · horizon {} days",
                    k.run_id,
                    k.model,
                    k.anchor,
                    pct(k.k_bp),
                    pct(k.holdout_bp),
                    k.seed,
                    k.horizon_days
                )
            },
            t.dim(),
        ),
        Line::raw(""),
    ];
    if c.readout.is_empty() {
        let end = k
            .horizon_end_us()
            .map(crate::engine::time::fmt_anchor)
            .unwrap_or_default();
        let what = match c.status {
            Status::WaitingForData => format!("Waiting for data: the horizon ends {end}."),
            _ => format!(
                "Due: the horizon ended {end}; a read-out needs logs through {}.",
                k.last_day_needed().unwrap_or_default()
            ),
        };
        lines.push(Line::raw(what));
        lines.push(Line::raw(format!(
            "Press o to read it out from logs that cover the horizon (or from a shell: \
             churn-tui campaign readout --campaign \"{}\" --data LOGS).",
            k.name
        )));
    } else {
        lines.extend(readout_lines(
            sh,
            &c.readout,
            area.width.saturating_sub(2) as usize,
        ));
    }
    scroll_text(
        f,
        area,
        sh.theme.block().title(fit_title(
            " Read-out: dormant rates and uplift (90% interval) ",
            area.width,
        )),
        lines,
        true,
        &st.detail,
    );
}

fn rate(x: u64, n: u64, wide: bool) -> String {
    if n == 0 {
        "—".into()
    } else if wide {
        format!("{:.1}% of {}", 100.0 * x as f64 / n as f64, thousands(n))
    } else {
        format!("{:.1}%", 100.0 * x as f64 / n as f64)
    }
}

fn readout_lines<'a>(sh: &Shared, rows: &[TierReadout], width: usize) -> Vec<Line<'a>> {
    let t = sh.theme;
    let scale = rows
        .iter()
        .flat_map(|r| [r.ci_low, r.ci_high])
        .flatten()
        .fold(0.05_f64, |m, v| m.max(v.abs()));
    // tier 10, the two rates (with their group sizes when there is room), the uplift 22, then
    // the bar in what is left.
    let wide = width >= 10 + 16 + 16 + 24 + 12;
    let rate_w = if wide { 16 } else { 8 };
    let bar_w = width.saturating_sub(10 + 2 * rate_w + 24).min(40);
    let mut out = vec![Line::styled(
        format!(
            "{:<10}{:>rate_w$}{:>rate_w$} {:>22} {}",
            "tier",
            if wide { "treatment" } else { "treated" },
            "control",
            "uplift [90%]",
            if bar_w >= 9 {
                axis(100.0 * scale, bar_w)
            } else {
                String::new()
            }
        ),
        t.dim(),
    )];
    for r in rows {
        let up = match (r.uplift, r.ci_low, r.ci_high) {
            (Some(u), Some(l), Some(h)) => {
                format!("{:+.1} [{:+.1}, {:+.1}]", 100.0 * u, 100.0 * l, 100.0 * h)
            }
            _ => "— no control".into(),
        };
        let style = match (r.ci_low, r.ci_high) {
            (Some(l), _) if l > 0.0 => t.good(),
            (_, Some(h)) if h < 0.0 => t.bad(),
            _ => t.text(),
        };
        let mut spans = vec![Span::styled(
            format!(
                "{:<10}{:>rate_w$}{:>rate_w$} {:>22} ",
                r.tier.chars().take(9).collect::<String>(),
                rate(r.dormant_treatment, r.n_treatment, wide),
                rate(r.dormant_control, r.n_control, wide),
                up
            ),
            style,
        )];
        if bar_w >= 9
            && let (Some(u), Some(l), Some(h)) = (r.uplift, r.ci_low, r.ci_high)
        {
            spans.push(Span::styled(
                interval_bar(l, u, h, scale, bar_w, t.ascii),
                style,
            ));
        }
        out.push(Line::from(spans));
    }
    out.push(Line::raw(""));
    if let Some(all) = rows
        .iter()
        .find(|r| r.tier == crate::engine::campaign::readout::ALL)
    {
        out.push(Line::raw(crate::engine::campaign::readout::verdict(all)));
    }
    out.push(Line::styled(
        "Rates are the dormant share of each group. Uplift = control's rate − treatment's: \
         dormancy prevented per treated user, in percentage points. Logs read to "
            .to_string()
            + rows.first().map_or("?", |r| r.data_end.as_str())
            + ".",
        t.dim(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::interval_bar;

    #[test]
    fn the_bar_puts_the_interval_around_zero() {
        // An axis of 21 cells from −10 to +10: zero at cell 10, each cell 1.
        let b: Vec<char> = interval_bar(-2.0, 3.0, 6.0, 10.0, 21, false)
            .chars()
            .collect();
        assert_eq!(b[8], '├');
        assert_eq!(b[10], '┼', "zero inside the interval");
        assert_eq!(b[13], '●');
        assert_eq!(b[16], '┤');
        let b: Vec<char> = interval_bar(2.0, 3.0, 6.0, 10.0, 21, true)
            .chars()
            .collect();
        assert_eq!(b[10], ':', "zero outside the interval");
        assert_eq!((b[12], b[13], b[16]), ('[', '*', ']'));
    }
}
