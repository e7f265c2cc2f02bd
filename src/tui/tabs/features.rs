//! Tab 2, Features: the 14×14 correlation heatmap with values, the VIF table (VIF ≥ 5 flagged)
//! and each feature's mean and median for dormant versus active users — all on train rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::engine::stats::{FeatureStats, VIF_FLAG};
use crate::tui::action::Action;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::waiting;

use super::scroll_by;

/// What the Features tab shows when the terminal has room for one table only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeaturesView {
    /// The correlation heatmap and its axis labels.
    #[default]
    Correlation,
    /// The VIF table with class means and medians.
    Vif,
}

/// The Features tab's own state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    pub view: FeaturesView,
    pub scroll: u16,
}

impl Features {
    /// Movement keys scroll (`page` lines a page); `v`, h and l switch the view (two views, so
    /// either direction is the other one).
    pub fn update(&mut self, action: Action, page: usize) {
        if let Some(d) = action.step(page) {
            self.scroll = scroll_by(self.scroll, d);
            return;
        }
        if matches!(action, Action::SwitchView | Action::Left | Action::Right) {
            self.view = match self.view {
                FeaturesView::Correlation => FeaturesView::Vif,
                FeaturesView::Vif => FeaturesView::Correlation,
            };
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

fn heatmap(t: &Theme, s: &FeatureStats) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(
        std::iter::once(Span::raw("     "))
            .chain(
                SHORT
                    .iter()
                    .map(|h| Span::styled(format!("{h:>5}"), t.dim())),
            )
            .collect::<Vec<_>>(),
    )];
    for (i, row) in s.corr.iter().enumerate() {
        let mut spans = vec![Span::styled(format!("{:<5}", SHORT[i]), t.dim())];
        for &r in row {
            let text = match r {
                Some(r) => format!("{:>5}", corr_text(r)),
                None => format!("{:>5}", "–"),
            };
            spans.push(Span::styled(text, t.corr(r)));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn legend(t: &Theme, s: &FeatureStats) -> Vec<Line<'static>> {
    s.names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Line::from(vec![
                Span::styled(format!("{:<5}", SHORT[i]), t.key()),
                Span::raw(n.clone()),
            ])
        })
        .collect()
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

fn vif_table(t: &Theme, s: &FeatureStats) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!(
            "{:<26} {:>6}  {:>9} {:>9}  {:>9} {:>9}",
            "feature", "VIF", "dorm mean", "act mean", "dorm med", "act med"
        ),
        t.dim(),
    )];
    for (i, name) in s.names.iter().enumerate() {
        let vif = s.vif.get(i).copied().flatten();
        let flagged = vif.is_some_and(|v| v >= VIF_FLAG);
        let vif_text = match vif {
            Some(v) if v > 999.0 => ">999".to_string(),
            Some(v) => format!("{v:.2}"),
            None => "–".into(),
        };
        let (d, a) = (&s.dormant[i], &s.active[i]);
        lines.push(Line::from(vec![
            Span::raw(format!("{name:<26} ")),
            Span::styled(
                format!("{vif_text:>6}{}", if flagged { "!" } else { " " }),
                if flagged { t.bad() } else { t.text() },
            ),
            Span::raw(format!(
                " {:>9} {:>9}  {:>9} {:>9}",
                num(d.mean),
                num(a.mean),
                num(d.median),
                num(a.median)
            )),
        ]));
    }
    lines.push(Line::styled(
        format!("! VIF ≥ {VIF_FLAG}: largely explained by the other features (multicollinear)."),
        t.dim(),
    ));
    lines.extend(same_information(t, s));
    lines.push(Line::styled(
        format!(
            "{} train rows; dormant = m2 (y = 1), active = m0 or m1.",
            s.rows
        ),
        t.dim(),
    ));
    lines
}

pub fn render(features: &Features, sh: &Shared, f: &mut Frame, area: Rect) {
    let Some(wb) = sh.wb else {
        return waiting(sh, f, area, "Correlations, VIF and class means");
    };
    let (t, s) = (sh.theme, &wb.stats.features);
    let heat_title = " Pearson r on train rows (v: VIF and class means) ";
    if area.width >= 160 && area.height >= 30 {
        let [l, r] = Layout::horizontal([Constraint::Length(78), Constraint::Min(40)]).areas(area);
        let [hm, lg] = Layout::vertical([Constraint::Length(17), Constraint::Min(3)]).areas(l);
        f.render_widget(
            Paragraph::new(heatmap(t, s)).block(Block::bordered().title(heat_title)),
            hm,
        );
        f.render_widget(
            Paragraph::new(legend(t, s)).block(Block::bordered().title(" axis labels ")),
            lg,
        );
        f.render_widget(
            Paragraph::new(vif_table(t, s))
                .block(Block::bordered().title(" VIF and class statistics ")),
            r,
        );
        return;
    }
    if features.view == FeaturesView::Correlation {
        let [hm, lg] = Layout::horizontal([Constraint::Length(78), Constraint::Min(0)]).areas(area);
        f.render_widget(
            Paragraph::new(heatmap(t, s))
                .scroll((features.scroll, 0))
                .block(Block::bordered().title(heat_title)),
            hm,
        );
        if lg.width > 20 {
            f.render_widget(
                Paragraph::new(legend(t, s)).block(Block::bordered().title(" axes ")),
                lg,
            );
        }
    } else {
        f.render_widget(
            Paragraph::new(vif_table(t, s))
                .scroll((features.scroll, 0))
                .block(Block::bordered().title(" VIF and class statistics (v: heatmap) ")),
            area,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_h_and_l_switch_the_view_and_keep_the_scroll() {
        let mut f = Features::default();
        assert_eq!(f.view, FeaturesView::Correlation, "the heatmap first");
        f.update(Action::PageDown, 7);
        f.update(Action::SwitchView, 7);
        assert_eq!((f.view, f.scroll), (FeaturesView::Vif, 7));
        f.update(Action::Left, 7);
        assert_eq!(f.view, FeaturesView::Correlation);
        f.update(Action::Right, 7);
        assert_eq!(f.view, FeaturesView::Vif);
        f.update(Action::Top, 7);
        assert_eq!(f.scroll, 0);
        f.update(Action::Bottom, 7);
        assert_eq!(f.scroll, 500, "scrolls stop at 500 lines");
    }
}
