//! Tab 4, Curves: PR curves of all models as braille line charts told apart by colour (in
//! monochrome or `--ascii`, by a character per model), models toggled on and off, the current K
//! marked in a style of its own; `c` switches to cumulative gain and lift.

use std::cell::Cell;
use std::collections::BTreeSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::engine::run::open::{LoadedRun, ModelView};
use crate::engine::targeting::list::Cut;
use crate::tui::action::Action;
use crate::tui::shared::Shared;
use crate::tui::theme::{MODEL_MARKS, Theme};
use crate::tui::widgets::{cells, fit, fit_title, waiting};

use super::{SplitView, follow, step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CurveMode {
    #[default]
    Pr,
    Gain,
    Lift,
}

impl CurveMode {
    /// The next chart (`c` and →), or the previous one (←).
    fn turn(self, forward: bool) -> CurveMode {
        match (self, forward) {
            (CurveMode::Pr, true) | (CurveMode::Lift, false) => CurveMode::Gain,
            (CurveMode::Gain, true) | (CurveMode::Pr, false) => CurveMode::Lift,
            (CurveMode::Lift, true) | (CurveMode::Gain, false) => CurveMode::Pr,
        }
    }
}

/// The Curves tab's own state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Curves {
    /// The selected model in the legend (index into the run's models).
    pub sel: usize,
    /// Models switched off, by name.
    pub hidden: BTreeSet<String>,
    pub mode: CurveMode,
    /// The split of the PR curves (gain and lift are always on test).
    pub split: SplitView,
    /// The legend's first model shown when not all fit, as last drawn.
    pub offset: Cell<usize>,
}

impl Curves {
    /// Whether `action` does anything on the chart shown: gain and lift are drawn from the
    /// test ranking only (the run keeps no val scores), so `v` is not offered there.
    pub fn offers(&self, action: Action) -> bool {
        action != Action::SwitchSplit || self.mode == CurveMode::Pr
    }

    pub fn update(&mut self, action: Action, run: Option<&LoadedRun>, page: usize) {
        if let Some(d) = action.step(page) {
            self.sel = step(self.sel, d, run.map_or(0, |w| w.models.len()));
            return;
        }
        match action {
            Action::Left => self.mode = self.mode.turn(false),
            Action::Right | Action::CurveMode => self.mode = self.mode.turn(true),
            Action::SwitchSplit if self.offers(action) => self.split = self.split.other(),
            Action::ToggleModel => {
                if let Some(m) = run.and_then(|w| w.models.get(self.sel))
                    && !self.hidden.remove(&m.name)
                {
                    self.hidden.insert(m.name.clone());
                }
            }
            _ => {}
        }
    }
}

/// Points of the vertical K line on gain and lift: more than a chart has rows.
const K_LINE: usize = 200;

/// The random baseline's character when models are told apart by characters.
const BASELINE: char = '.';

/// How model `i`'s curve is drawn: braille when colour tells the curves apart, else the
/// model's own character (the legend shows which).
pub(crate) fn model_marker(t: &Theme, i: usize) -> Marker {
    if t.colour_curves() {
        Marker::Braille
    } else {
        Marker::Custom(MODEL_MARKS[i % MODEL_MARKS.len()])
    }
}

/// The current-K mark: a `K` at the targeting model's point on PR curves, a vertical line of
/// `:` on gain and lift (a `│` would read as the legend's border). Neither is any model's.
fn k_glyph(mode: CurveMode) -> char {
    match mode {
        CurveMode::Pr => 'K',
        _ => ':',
    }
}

/// Points kept per curve: more than a terminal can show, few enough to draw fast.
const MAX_POINTS: usize = 400;

fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let step = points.len() as f64 / MAX_POINTS as f64;
    let mut out: Vec<(f64, f64)> = (0..MAX_POINTS)
        .map(|i| points[(i as f64 * step) as usize])
        .collect();
    if let Some(&last) = points.last() {
        out.push(last);
    }
    out
}

/// Cumulative gain (x = % targeted, y = % of dormant caught) or lift on the test ranking.
fn gain_points(m: &ModelView, lift: bool) -> Vec<(f64, f64)> {
    let n = m.n();
    let p = m.caught().last().copied().unwrap_or(0) as f64;
    if n == 0 || p == 0.0 {
        return vec![];
    }
    (1..=200)
        .map(|i| {
            let k = (i * n).div_ceil(200).max(1);
            let x = 100.0 * k as f64 / n as f64;
            let recall = m.caught()[k] as f64 / p;
            if lift {
                (x, recall / (k as f64 / n as f64))
            } else {
                (x, 100.0 * recall)
            }
        })
        .collect()
}

pub fn render(curves: &Curves, sh: &Shared, f: &mut Frame, area: Rect) {
    let Some(run) = sh.run else {
        return waiting(sh, f, area, "PR, gain and lift curves");
    };
    let t = sh.theme;
    let legend_w = 24u16.min(area.width / 3);
    let [chart_area, legend_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(legend_w)]).areas(area);
    let k_pct = sh.k_pct();

    let mut series: Vec<(usize, Vec<(f64, f64)>)> = Vec::new();
    for (i, m) in run.models.iter().enumerate() {
        if curves.hidden.contains(&m.name) {
            continue;
        }
        let pts = match curves.mode {
            CurveMode::Pr => thin(match curves.split {
                SplitView::Val => &m.val_curve,
                SplitView::Test => &m.test_curve,
            }),
            CurveMode::Gain => gain_points(m, false),
            CurveMode::Lift => gain_points(m, true),
        };
        series.push((i, pts));
    }
    // The current K: on PR curves the targeted model's (recall, precision) at K on test; on
    // gain and lift charts a vertical line at K (enough points to fill every row).
    let mut k_mark: Vec<(f64, f64)> = Vec::new();
    let (x_title, y_title, x_bounds, y_bounds, split) = match curves.mode {
        CurveMode::Pr => {
            if let Some(m) = sh.target {
                if curves.split == SplitView::Test {
                    let (k, tp, prec, _) = m.at(sh.k_rows());
                    let p = m.caught().last().copied().unwrap_or(0);
                    if let (Some(prec), true) = (prec, p > 0 && k > 0) {
                        k_mark.push((tp as f64 / p as f64, prec));
                    }
                } else if let Some(a) = run
                    .ks
                    .iter()
                    .position(|k| Cut::Share(*k) == sh.k)
                    .and_then(|i| m.val.at_k.get(i))
                    && let (Some(r), Some(p)) = (a.recall, a.precision)
                {
                    // On val only the run's K list was evaluated.
                    k_mark.push((r, p));
                }
            }
            let lo = series
                .iter()
                .flat_map(|(_, s)| s.iter().map(|p| p.1))
                .fold(1.0f64, f64::min);
            let lo = (lo * 10.0).floor() / 10.0;
            (
                "recall",
                "precision",
                [0.0, 1.0],
                [lo.clamp(0.0, 0.9), 1.0],
                curves.split.name(),
            )
        }
        CurveMode::Gain => {
            k_mark = (0..=K_LINE)
                .map(|i| (k_pct, 100.0 * i as f64 / K_LINE as f64))
                .collect();
            (
                "% targeted",
                "% dormant caught",
                [0.0, 100.0],
                [0.0, 100.0],
                "test",
            )
        }
        CurveMode::Lift => {
            let hi = series
                .iter()
                .flat_map(|(_, s)| s.iter().map(|p| p.1))
                .fold(1.0f64, f64::max);
            let hi = (hi * 10.0).ceil() / 10.0;
            let lo = 0.9;
            let top = hi.max(1.1);
            k_mark = (0..=K_LINE)
                .map(|i| (k_pct, lo + (top - lo) * i as f64 / K_LINE as f64))
                .collect();
            (
                "% targeted",
                "lift",
                [0.0, 100.0],
                [0.9, hi.max(1.1)],
                "test",
            )
        }
    };
    // What random targeting would do: the diagonal of the gain chart, lift 1. Drawn first, so
    // where a curve crosses it the curve shows.
    let baseline: Vec<(f64, f64)> = match curves.mode {
        CurveMode::Pr => vec![],
        CurveMode::Gain => vec![(0.0, 0.0), (100.0, 100.0)],
        CurveMode::Lift => vec![(0.0, 1.0), (100.0, 1.0)],
    };
    let mut datasets: Vec<Dataset> = Vec::new();
    if !baseline.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(if t.colour_curves() {
                    Marker::Braille
                } else {
                    Marker::Custom(BASELINE)
                })
                .graph_type(GraphType::Line)
                .style(t.dim())
                .data(&baseline),
        );
    }
    datasets.extend(series.iter().map(|(i, pts)| {
        Dataset::default()
            .marker(model_marker(t, *i))
            .graph_type(GraphType::Line)
            .style(t.series(*i))
            .data(pts)
    }));
    if !k_mark.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Custom(k_glyph(curves.mode)))
                .graph_type(GraphType::Scatter)
                .style(t.k_mark())
                .data(&k_mark),
        );
    }
    let lab = |v: f64, pct: bool| {
        Span::styled(
            if pct {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            },
            t.dim(),
        )
    };
    // An axis with three labels: both ends and the middle. Its title is not drawn in the plot,
    // where it covered the curves' top left and the K mark under it (a model with precision 1
    // at K), but on a row of its own above the plot.
    let axis = |b: [f64; 2], pct: bool| {
        Axis::default().bounds(b).labels([
            lab(b[0], pct),
            lab((b[0] + b[1]) / 2.0, pct),
            lab(b[1], pct),
        ])
    };
    let pct_axis = curves.mode != CurveMode::Pr;
    let y_pct = curves.mode == CurveMode::Gain;
    let mode = match curves.mode {
        CurveMode::Pr => "PR curves",
        CurveMode::Gain => "cumulative gain",
        CurveMode::Lift => "lift",
    };
    let keys = if curves.offers(Action::SwitchSplit) {
        "c: chart, v: split"
    } else {
        "c: chart"
    };
    let block = t.block().title(fit_title(
        &format!(" {mode} on {split} · K = {} ({keys}) ", sh.k_label()),
        chart_area.width,
    ));
    let inner = block.inner(chart_area);
    f.render_widget(block, chart_area);
    let [names, plot] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(axis_names(y_title, x_title, names.width as usize, t), names);
    let chart = Chart::new(datasets)
        .x_axis(axis(x_bounds, pct_axis))
        .y_axis(axis(y_bounds, y_pct));
    f.render_widget(chart, plot);
    // A chart takes only the colour of a dataset's style (none in monochrome), so the K mark
    // gets its bold reverse here. No model's character or axis label in the plot is `K` or `:`
    // (the axis names above it may hold a `:`, and are left alone).
    if !k_mark.is_empty() {
        let glyph = k_glyph(curves.mode).to_string();
        let buf = f.buffer_mut();
        for y in plot.top()..plot.bottom() {
            for x in plot.left()..plot.right() {
                if let Some(cell) = buf.cell_mut((x, y))
                    && cell.symbol() == glyph
                {
                    cell.set_style(t.k_mark());
                }
            }
        }
    }

    let mut lines = Vec::new();
    // The notes below the models take up to four rows; the models scroll to keep the
    // selection in view above them.
    let n = run.models.len();
    let visible = (legend_area.height.saturating_sub(2) as usize)
        .saturating_sub(4)
        .max(1);
    let first = follow(&curves.offset, curves.sel, n, visible);
    for (i, m) in run.models.iter().enumerate().skip(first).take(visible) {
        let on = !curves.hidden.contains(&m.name);
        let mark = if t.colour_curves() {
            '⣿'
        } else {
            MODEL_MARKS[i % MODEL_MARKS.len()]
        };
        let mut line = Line::from(vec![
            Span::raw(if on { "[x] " } else { "[ ] " }),
            Span::styled(mark.to_string(), if on { t.series(i) } else { t.dim() }),
            Span::styled(format!(" {}", m.name), if on { t.text() } else { t.dim() }),
        ]);
        if i == curves.sel {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Space toggles", t.dim()));
    if curves.mode != CurveMode::Pr {
        lines.push(Line::styled(
            if t.colour_curves() {
                "dim line: random".to_string()
            } else {
                format!("{BASELINE} line: random")
            },
            t.dim(),
        ));
    }
    if !k_mark.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(k_glyph(curves.mode).to_string(), t.k_mark()),
            Span::styled(" current K", t.dim()),
        ]));
    } else if curves.mode == CurveMode::Pr && sh.target.is_some() {
        // On val only the run's K list was scored: say why there is no mark.
        lines.push(Line::styled("K not scored on val", t.dim()));
    }
    f.render_widget(
        Paragraph::new(lines)
            .style(Style::new())
            .block(sh.theme.block().title(if n > visible {
                format!(" models {}–{} of {n} ", first + 1, (first + visible).min(n))
            } else {
                " models ".to_string()
            })),
        legend_area,
    );
}

/// The row above the plot: what the y axis shows on the left, what the x axis shows on the
/// right; one text cut with `…` when both do not fit.
fn axis_names(y: &str, x: &str, width: usize, t: &Theme) -> Line<'static> {
    let (y, x) = (format!("↑ {y}"), format!("{x} →"));
    let gap = width.saturating_sub(cells(&y) + cells(&x));
    if gap == 0 {
        return Line::styled(fit(&format!("{y} · {x}"), width), t.dim());
    }
    Line::styled(format!("{y}{}{x}", " ".repeat(gap)), t.dim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_and_arrows_turn_through_the_three_charts() {
        let mut c = Curves::default();
        let mut seen = Vec::new();
        for _ in 0..3 {
            c.update(Action::CurveMode, None, 10);
            seen.push(c.mode);
        }
        assert_eq!(seen, [CurveMode::Gain, CurveMode::Lift, CurveMode::Pr]);
        c.update(Action::Left, None, 10);
        assert_eq!(c.mode, CurveMode::Lift, "← goes back");
        c.update(Action::Right, None, 10);
        assert_eq!(c.mode, CurveMode::Pr);
        c.update(Action::SwitchSplit, None, 10);
        assert_eq!(c.split, SplitView::Test);
    }
}
