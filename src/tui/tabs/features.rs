//! Tab 2, Features: the 14×14 correlation heatmap with values, the VIF table (VIF ≥ 5 flagged)
//! and each feature's mean and median for dormant versus active users — all on train rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::dataset::stats::{FeatureStats, VIF_FLAG};
use crate::engine::text::thousands;
use crate::tui::action::Action;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fit_title, scroll_text, waiting};

use super::Scroll;

/// What the Features tab shows when the terminal has room for one table only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeaturesView {
    /// The correlation heatmap and its axis labels.
    #[default]
    Correlation,
    /// The VIF table with class means and medians.
    Vif,
}

/// The Features tab's own state: each view keeps its own place, down and across.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    pub view: FeaturesView,
    /// The heatmap and its legend, as rows.
    pub corr: Scroll,
    /// The heatmap's first column shown when not all fit (h/l).
    pub corr_cols: Scroll,
    /// The VIF table and its notes, as rows.
    pub vif: Scroll,
    /// The VIF table's first statistic column shown when not all fit (h/l).
    pub vif_cols: Scroll,
}

impl Features {
    /// Movement keys scroll the view shown (`page` lines a page), h and l its columns; `v`
    /// switches the view.
    pub fn update(&mut self, action: Action, page: usize) {
        let (rows, cols) = match self.view {
            FeaturesView::Correlation => (&mut self.corr, &mut self.corr_cols),
            FeaturesView::Vif => (&mut self.vif, &mut self.vif_cols),
        };
        if rows.update(action, page) {
            return;
        }
        match action {
            Action::Left => cols.by(-1),
            Action::Right => cols.by(1),
            Action::SwitchView => {
                self.view = match self.view {
                    FeaturesView::Correlation => FeaturesView::Vif,
                    FeaturesView::Vif => FeaturesView::Correlation,
                }
            }
            _ => {}
        }
    }
}

/// Short labels for the heatmap axes (SPEC §3 order).
pub const SHORT: [&str; 14] = [
    "ev30", "actd", "pur", "purR", "dLst", "dPur", "brCn", "brSw", "spnd", "ac15", "pVol", "ev7",
    "regu", "trnd",
];

fn num(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// r in four characters: " .45", "-.45", " 1.0", "-1.0".
pub fn corr_text(r: f64) -> String {
    let sign = if r < 0.0 { "-" } else { " " };
    if r.abs() >= 0.995 {
        format!("{sign}1.0")
    } else {
        let s = format!("{:.2}", r.abs());
        format!("{sign}{}", &s[1..])
    }
}

/// Heatmap cell width, and its row-label column.
const CELL: usize = 5;

/// The heatmap's columns `first..first + shown` (all of them when `shown` ≥ 14), with arrows
/// in the corner and after the header when columns are left out on either side.
fn heatmap(t: &Theme, s: &FeatureStats, first: usize, shown: usize) -> Vec<Line<'static>> {
    let n = SHORT.len();
    let end = (first + shown).min(n);
    let corner = if first > 0 { " ‹   " } else { "     " };
    let mut head: Vec<Span> = vec![Span::styled(corner, t.key())];
    head.extend(
        SHORT[first..end]
            .iter()
            .map(|h| Span::styled(format!("{h:>CELL$}"), t.dim())),
    );
    if end < n {
        head.push(Span::styled(" ›", t.key()));
    }
    let mut lines = vec![Line::from(head)];
    for (i, row) in s.corr.iter().enumerate() {
        let mut spans = vec![Span::styled(
            format!("{:<CELL$}", SHORT.get(i).copied().unwrap_or("")),
            t.dim(),
        )];
        for &r in row.iter().take(end).skip(first) {
            let text = match r {
                Some(r) => format!("{:>CELL$}", corr_text(r)),
                None => format!("{:>CELL$}", "–"),
            };
            spans.push(Span::styled(text, t.corr(r)));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The axis labels and the features they stand for, `per_line` to a line.
fn legend(t: &Theme, s: &FeatureStats, per_line: usize) -> Vec<Line<'static>> {
    let w = s.names.iter().map(|n| n.len()).max().unwrap_or(0);
    s.names
        .chunks(per_line.max(1))
        .enumerate()
        .map(|(c, chunk)| {
            let mut spans = Vec::new();
            for (j, n) in chunk.iter().enumerate() {
                let i = c * per_line.max(1) + j;
                spans.push(Span::styled(
                    format!("{:<CELL$}", SHORT.get(i).copied().unwrap_or("")),
                    t.key(),
                ));
                let gap = if j + 1 < chunk.len() { 2 } else { 0 };
                spans.push(Span::raw(format!("{n:<width$}", width = w + gap)));
            }
            Line::from(spans)
        })
        .collect()
}

/// Width of one legend entry (label, name, gap).
fn legend_entry(s: &FeatureStats) -> usize {
    CELL + s.names.iter().map(|n| n.len()).max().unwrap_or(0) + 2
}

/// Pairs that carry the same information, in words: the heatmap's 1.00 and the VIF's ">999"
/// say it only to those who know how to read them.
fn same_information(t: &Theme, s: &FeatureStats) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, j, r) in s.same_information() {
        let name = |k: usize| s.names.get(k).cloned().unwrap_or_default();
        lines.push(Line::styled(
            format!(
                "= {} and {} carry the same information (r = {r:.2}):",
                name(i),
                name(j)
            ),
            t.warn(),
        ));
        lines.push(Line::styled(
            "  one is a linear function of the other; a model gains nothing from both.",
            t.warn(),
        ));
    }
    lines
}

/// Width of the VIF table's name column, and of each statistic.
const NAME_W: usize = 27;
const STAT_W: usize = 10;
const STATS: [&str; 5] = ["VIF", "dorm mean", "act mean", "dorm med", "act med"];

/// The VIF table with the statistics `first..first + shown`, arrows in the header when some
/// are left out, then its notes.
fn vif_table(t: &Theme, s: &FeatureStats, first: usize, shown: usize) -> Vec<Line<'static>> {
    let end = (first + shown).min(STATS.len());
    let mut head = vec![Span::styled(
        format!(
            "{:<NAME_W$}",
            if first > 0 { "feature ‹" } else { "feature" }
        ),
        t.dim(),
    )];
    // The VIF header sits over the numbers, not over their flag.
    head.extend(STATS[first..end].iter().map(|h| {
        let text = if *h == "VIF" {
            format!("{h:>w$} ", w = STAT_W - 1)
        } else {
            format!("{h:>STAT_W$}")
        };
        Span::styled(text, t.dim())
    }));
    if end < STATS.len() {
        head.push(Span::styled(" ›", t.key()));
    }
    let mut lines = vec![Line::from(head)];
    for (i, name) in s.names.iter().enumerate() {
        let vif = s.vif.get(i).copied().flatten();
        let flagged = vif.is_some_and(|v| v >= VIF_FLAG);
        let vif_text = match vif {
            Some(v) if v > 999.0 => ">999".to_string(),
            Some(v) => format!("{v:.2}"),
            None => "–".into(),
        };
        let (d, a) = (&s.dormant[i], &s.active[i]);
        let cells = [
            Span::styled(
                format!(
                    "{vif_text:>w$}{}",
                    if flagged { "!" } else { " " },
                    w = STAT_W - 1
                ),
                if flagged { t.bad() } else { t.text() },
            ),
            Span::raw(format!("{:>STAT_W$}", num(d.mean))),
            Span::raw(format!("{:>STAT_W$}", num(a.mean))),
            Span::raw(format!("{:>STAT_W$}", num(d.median))),
            Span::raw(format!("{:>STAT_W$}", num(a.median))),
        ];
        let mut spans = vec![Span::raw(format!("{name:<NAME_W$}"))];
        spans.extend(cells.into_iter().take(end).skip(first));
        lines.push(Line::from(spans));
    }
    lines.push(Line::styled(
        format!("! VIF ≥ {VIF_FLAG}: largely explained by the other features (multicollinear)."),
        t.dim(),
    ));
    lines.extend(same_information(t, s));
    lines.push(Line::styled(
        format!(
            "{} train rows; dormant = m2 (y = 1), active = m0 or m1.",
            thousands(s.rows as u64)
        ),
        t.dim(),
    ));
    lines
}

/// How many of `n` columns `w` wide fit in `room` cells after a label column `label` wide
/// (one cell kept for the "›" that says more follow).
fn columns_fit(n: usize, w: usize, label: usize, room: usize) -> usize {
    if label + n * w <= room {
        return n;
    }
    (room.saturating_sub(label + 2) / w).clamp(1, n)
}

/// " · columns a–b of n (h/l)" when not every column shows.
fn columns_note(first: usize, shown: usize, n: usize) -> String {
    if shown >= n {
        String::new()
    } else {
        format!(" · columns {}–{} of {n} (h/l)", first + 1, first + shown)
    }
}

pub fn render(features: &Features, sh: &Shared, f: &mut Frame, area: Rect) {
    let Some(stats) = sh.stats else {
        return waiting(sh, f, area, "Correlations, VIF and class means");
    };
    let (t, s) = (sh.theme, &stats.features);
    let n = SHORT.len();
    let full = CELL + n * CELL + 2;
    if area.width >= 160 && area.height >= 30 {
        let heat_title = " Pearson r on train rows (v: VIF and class means) ";
        let [l, r] = Layout::horizontal([Constraint::Length(full as u16 + 1), Constraint::Min(40)])
            .areas(area);
        let [hm, lg] = Layout::vertical([Constraint::Length(17), Constraint::Min(3)]).areas(l);
        f.render_widget(
            Paragraph::new(heatmap(t, s, 0, n))
                .block(sh.theme.block().title(fit_title(heat_title, hm.width))),
            hm,
        );
        f.render_widget(
            Paragraph::new(legend(t, s, 1)).block(sh.theme.block().title(" axis labels ")),
            lg,
        );
        f.render_widget(
            Paragraph::new(vif_table(t, s, 0, STATS.len())).block(
                sh.theme
                    .block()
                    .title(fit_title(" VIF and class statistics ", r.width)),
            ),
            r,
        );
        return;
    }
    if features.view == FeaturesView::Vif {
        let room = area.width.saturating_sub(2) as usize;
        let shown = columns_fit(STATS.len(), STAT_W, NAME_W, room);
        let first = features.vif_cols.fit(STATS.len(), shown) as usize;
        let note = columns_note(first, shown, STATS.len());
        let title = if note.is_empty() {
            " VIF and class statistics (v: heatmap) ".to_string()
        } else {
            format!(" VIF and class means{note} · v: heatmap ")
        };
        let lines = vif_table(t, s, first, shown);
        return scroll_text(
            f,
            area,
            sh.theme.block().title(fit_title(&title, area.width)),
            lines,
            true,
            &features.vif,
        );
    }
    // The legend beside the heatmap where it fits, else below it in the same scrolled text.
    let entry = legend_entry(s);
    let beside = area.width as usize >= full + entry + 2;
    let heat_area = if beside {
        let [hm, lg] =
            Layout::horizontal([Constraint::Length(full as u16 + 1), Constraint::Min(0)])
                .areas(area);
        f.render_widget(
            Paragraph::new(legend(t, s, 1)).block(sh.theme.block().title(" axes ")),
            lg,
        );
        hm
    } else {
        area
    };
    let room = heat_area.width.saturating_sub(2) as usize;
    let shown = columns_fit(n, CELL, CELL, room);
    let first = features.corr_cols.fit(n, shown) as usize;
    let mut lines = heatmap(t, s, first, shown);
    if !beside {
        lines.push(Line::raw(""));
        lines.push(Line::styled("axes", t.title()));
        lines.extend(legend(t, s, (room / entry).max(1)));
    }
    let note = columns_note(first, shown, n);
    let title = if note.is_empty() {
        " Pearson r on train rows (v: VIF and class means) ".to_string()
    } else {
        // Short enough for 60 columns.
        format!(" Pearson r (train){note} · v: VIF ")
    };
    scroll_text(
        f,
        heat_area,
        sh.theme.block().title(fit_title(&title, heat_area.width)),
        lines,
        false,
        &features.corr,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_view_keeps_its_own_place_and_h_l_move_columns() {
        let mut f = Features::default();
        assert_eq!(f.view, FeaturesView::Correlation, "the heatmap first");
        // As a draw would: 24 rows in 18, 14 columns of which 10 show.
        f.corr.fit(24, 18);
        f.corr_cols.fit(14, 10);
        f.vif.fit(19, 18);
        f.update(Action::PageDown, 7);
        f.update(Action::Right, 7);
        assert_eq!(
            (f.corr.pos(), f.corr_cols.pos()),
            (6, 1),
            "no further than the end"
        );
        f.update(Action::Bottom, 7);
        f.update(Action::Up, 7);
        assert_eq!(f.corr.pos(), 5, "one up from the end");
        for _ in 0..9 {
            f.update(Action::Right, 7);
        }
        assert_eq!(f.corr_cols.pos(), 4, "the last four columns are the end");
        f.update(Action::SwitchView, 7);
        assert_eq!((f.view, f.vif.pos()), (FeaturesView::Vif, 0));
        f.update(Action::Bottom, 7);
        assert_eq!(f.vif.pos(), 1);
        f.update(Action::SwitchView, 7);
        assert_eq!(
            (f.corr.pos(), f.corr_cols.pos()),
            (5, 4),
            "the heatmap kept its place"
        );
        f.update(Action::Top, 7);
        assert_eq!(f.corr.pos(), 0);
    }

    #[test]
    fn columns_that_do_not_fit_are_counted_with_room_for_the_arrow() {
        assert_eq!(columns_fit(14, 5, 5, 78), 14);
        // 60 columns: 58 inside the borders, 5 for the labels, 2 for " ›".
        assert_eq!(columns_fit(14, 5, 5, 58), 10);
        assert_eq!(columns_fit(5, 10, 27, 58), 2);
        assert_eq!(columns_note(0, 14, 14), "");
        assert_eq!(columns_note(4, 10, 14), " · columns 5–14 of 14 (h/l)");
    }
}
