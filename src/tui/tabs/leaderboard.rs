//! Tab 3, Leaderboard: models × metrics for val or test, sortable by any column; Enter picks
//! the model used for targeting. Columns that do not fit scroll with the sort column.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::eval::SplitEval;
use crate::engine::run::open::{LoadedRun, ModelView};
use crate::tui::action::Action;
use crate::tui::shared::Shared;
use crate::tui::widgets::{fit_line, waiting};

use super::{SplitView, follow, step};

const NAME_W: usize = 15;
const COL_W: usize = 8;

/// Leaderboard columns after the model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    PrAuc,
    Lift(usize),
    Precision(usize),
    Recall(usize),
    FitSeconds,
}

/// The Leaderboard tab's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaderboard {
    /// The selected row, in display order.
    pub sel: usize,
    /// 0 sorts by model name, i by `columns()[i - 1]`.
    pub sort_col: usize,
    pub sort_desc: bool,
    /// The split the board sorts by (and shows, when only one fits).
    pub split: SplitView,
    /// The first row shown when not all fit, as last drawn (it follows the selection).
    pub offset: Cell<usize>,
    /// (model, taken, tied) for each model whose first-K cut on test splits a tie group: its
    /// list there is arbitrary among the tied (set when a run opens).
    pub ties: Vec<(String, usize, usize)>,
}

impl Default for Leaderboard {
    fn default() -> Self {
        // Best first by the first metric column (PR-AUC) on val.
        Leaderboard {
            sel: 0,
            sort_col: 1,
            sort_desc: true,
            split: SplitView::Val,
            offset: Cell::new(0),
            ties: Vec::new(),
        }
    }
}

impl Leaderboard {
    /// The metric columns of a run: PR-AUC, then lift, precision and recall at each K, then
    /// the fit time.
    pub fn columns(run: Option<&LoadedRun>) -> Vec<Column> {
        let nk = run.map_or(0, |w| w.ks.len());
        let mut c = vec![Column::PrAuc];
        for i in 0..nk {
            c.extend([Column::Lift(i), Column::Precision(i), Column::Recall(i)]);
        }
        c.push(Column::FitSeconds);
        c
    }

    /// The value a column sorts by, on the split the board sorts by.
    pub fn column_value(&self, m: &ModelView, c: Column) -> Option<f64> {
        let e = match self.split {
            SplitView::Val => &m.val,
            SplitView::Test => &m.test,
        };
        match c {
            Column::PrAuc => e.pr_auc,
            Column::Lift(i) => e.at_k.get(i).and_then(|a| a.lift),
            Column::Precision(i) => e.at_k.get(i).and_then(|a| a.precision),
            Column::Recall(i) => e.at_k.get(i).and_then(|a| a.recall),
            Column::FitSeconds => Some(m.fit_seconds),
        }
    }

    /// The rows in display order (indices into the run's models). `sort_desc` means the same
    /// on every column, names included: largest (or Z) first, which the arrow ▼ shows.
    pub fn order(&self, run: Option<&LoadedRun>) -> Vec<usize> {
        let Some(run) = run else { return vec![] };
        let cols = Leaderboard::columns(Some(run));
        let c = cols
            .get(self.sort_col.saturating_sub(1))
            .copied()
            .unwrap_or(Column::PrAuc);
        let mut idx: Vec<usize> = (0..run.models.len()).collect();
        if self.sort_col == 0 {
            idx.sort_by(|&a, &b| run.models[b].name.cmp(&run.models[a].name).then(a.cmp(&b)));
        } else {
            idx.sort_by(|&a, &b| {
                let va = self
                    .column_value(&run.models[a], c)
                    .unwrap_or(f64::NEG_INFINITY);
                let vb = self
                    .column_value(&run.models[b], c)
                    .unwrap_or(f64::NEG_INFINITY);
                vb.total_cmp(&va).then(a.cmp(&b))
            });
        }
        if !self.sort_desc {
            idx.reverse();
        }
        idx
    }

    /// Returns the model Enter picked for targeting, if any (the app hands it to Targets).
    pub fn update(
        &mut self,
        action: Action,
        run: Option<&LoadedRun>,
        page: usize,
    ) -> Option<String> {
        if let Some(d) = action.step(page) {
            self.sel = step(self.sel, d, run.map_or(0, |w| w.models.len()));
            return None;
        }
        match action {
            Action::Left | Action::Right => {
                let d: isize = if action == Action::Left { -1 } else { 1 };
                let n = Leaderboard::columns(run).len() + 1;
                self.sort_col = (self.sort_col as isize + d).rem_euclid(n as isize) as usize;
            }
            Action::SortFlip => self.sort_desc = !self.sort_desc,
            Action::SwitchSplit => self.split = self.split.other(),
            Action::Enter => {
                let run = run?;
                let &i = self.order(Some(run)).get(self.sel)?;
                return Some(run.models[i].name.clone());
            }
            _ => {}
        }
        None
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn header(run: &LoadedRun, c: Column) -> String {
    let ks = &run.ks;
    match c {
        Column::PrAuc => "PR-AUC".into(),
        Column::Lift(i) => format!(
            "Lift@{}",
            ks.get(i).map_or(String::new(), |k| k.to_string())
        ),
        Column::Precision(i) => format!("P@{}", ks.get(i).map_or(String::new(), |k| k.to_string())),
        Column::Recall(i) => format!("R@{}", ks.get(i).map_or(String::new(), |k| k.to_string())),
        Column::FitSeconds => "fit s".into(),
    }
}

fn cell(e: &SplitEval, c: Column, fit: f64) -> String {
    match c {
        Column::PrAuc => e.pr_auc.map_or("–".into(), |v| format!("{v:.4}")),
        Column::Lift(i) => e
            .at_k
            .get(i)
            .and_then(|a| a.lift)
            .map_or("–".into(), |v| format!("{v:.3}")),
        Column::Precision(i) => pct(e.at_k.get(i).and_then(|a| a.precision)),
        Column::Recall(i) => pct(e.at_k.get(i).and_then(|a| a.recall)),
        Column::FitSeconds => format!("{fit:.1}"),
    }
}

pub fn render(lb: &Leaderboard, sh: &Shared, f: &mut Frame, area: Rect) {
    let Some(run) = sh.run else {
        return waiting(sh, f, area, "The model leaderboard");
    };
    let t = sh.theme;
    let cols = Leaderboard::columns(Some(run));
    let split = lb.split.name();
    // Which columns fit: a window over `cols` that keeps the sort column in view.
    let fit = ((area.width as usize).saturating_sub(NAME_W + 4) / (COL_W + 1)).max(1);
    let sort_i = lb.sort_col.saturating_sub(1);
    let first = (sort_i + 1).saturating_sub(fit);
    let shown: Vec<(usize, Column)> = cols
        .iter()
        .copied()
        .enumerate()
        .skip(first)
        .take(fit)
        .collect();

    // A line more under the board when a model's cut splits a tie.
    let foot_h = 4 + u16::from(!lb.ties.is_empty());
    let [table, foot] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(foot_h)]).areas(area);
    let more = if first > 0 || first + fit < cols.len() {
        format!(
            " · columns {}–{} of {} (h/l)",
            first + 1,
            first + shown.len(),
            cols.len()
        )
    } else {
        String::new()
    };
    // Val and test one above the other when both fit (rows in the same order); else the split
    // that sorts, with `v` to switch.
    let need = run.models.len() as u16 + 4;
    if table.height >= 2 * need {
        let [top, bottom] =
            Layout::vertical([Constraint::Length(need), Constraint::Min(need)]).areas(table);
        for (area, test) in [(top, false), (bottom, true)] {
            let sorts = test == (lb.split == SplitView::Test);
            let name = if test { "test (scored once)" } else { "val" };
            let how = if sorts {
                " · sorted here (v: sort by the other)"
            } else {
                ""
            };
            f.render_widget(
                Paragraph::new(split_lines(lb, sh, run, &shown, test, 0..run.models.len()))
                    .block(sh.theme.block().title(format!(" {name}{how}{more} "))),
                area,
            );
        }
    } else {
        // The rows that fit under the header and the ceilings, following the selection.
        let n = run.models.len();
        let visible = (table.height.saturating_sub(4) as usize).max(1);
        let first = follow(&lb.offset, lb.sel, n, visible);
        let rows = first..(first + visible).min(n);
        let which = if rows.len() < n {
            format!(" · rows {}–{} of {n}", rows.start + 1, rows.end)
        } else {
            String::new()
        };
        let test = lb.split == SplitView::Test;
        f.render_widget(
            Paragraph::new(split_lines(lb, sh, run, &shown, test, rows)).block(
                sh.theme.block().title({
                    let full = format!(" leaderboard on {split} (v: val/test){more}{which} ");
                    // Narrow, the title keeps what it tells: the split and what is left out.
                    if full.chars().count() + 2 > table.width as usize {
                        format!(" {split}{more}{which} ")
                    } else {
                        full
                    }
                }),
            ),
            table,
        );
    }
    let k1 = run.ks.first().map_or("5".to_string(), |k| k.to_string());
    // Short enough for 80 columns; the whole sentence is in the report and leaderboard.md.
    let why = match &run.choice {
        Some(c) if c.tied.len() > 1 => format!(
            "* {}: ≈ tied on val Lift@{k1}%, best val PR-AUC of the tied · test scored once",
            c.chosen
        ),
        Some(c) => format!(
            "* {}: best val Lift@{k1}%, clear of the rest · test scored once",
            c.chosen
        ),
        None => "* chosen on val (Lift@first K, then PR-AUC); test scored once, after the choice"
            .to_string(),
    };
    // The selected model's 90% intervals (paired bootstrap) on the split shown.
    let selected = lb
        .order(Some(run))
        .get(lb.sel)
        .and_then(|&i| run.models.get(i));
    let intervals = selected
        .and_then(|m| {
            let iv = m.intervals.as_ref()?;
            let (own, vs) = if lb.split == SplitView::Test {
                (iv.test.as_ref()?, iv.test_vs_chosen.as_ref()?)
            } else {
                (iv.val.as_ref()?, iv.val_vs_chosen.as_ref()?)
            };
            // `…` has no one-cell ASCII stand-in that still reads as a range.
            let to = if t.ascii { ".." } else { "…" };
            let r = |v: Option<(f64, f64)>| {
                v.map_or("–".to_string(), |(lo, hi)| format!("{lo:.2}{to}{hi:.2}"))
            };
            // The chosen model against itself is 0 on every resample: say what it is instead.
            let against = if m.name == run.chosen {
                "the chosen model".to_string()
            } else {
                format!("− {} {}", run.chosen, r(vs.lift.first().copied().flatten()))
            };
            Some(format!(
                "{} 90%: Lift@{k1}% {} · PR-AUC {} · {against}",
                m.name,
                r(own.lift.first().copied().flatten()),
                r(own.pr_auc),
            ))
        })
        .unwrap_or_default();
    let mut notes = vec![Line::styled(why, t.dim())];
    if let Some(c) = run.choice.as_ref().and_then(|c| {
        let models: Vec<(&str, &SplitEval)> = run
            .models
            .iter()
            .map(|m| (m.name.as_str(), &m.val))
            .collect();
        crate::engine::eval::choice::caution(c, &models, &format!("{k1}%"))
    }) {
        notes.push(Line::styled(format!("! {c}"), t.warn()));
    }
    if !lb.ties.is_empty() {
        // The choice (SPEC §4) does not see ties; a model whose cut splits one is named here.
        use crate::engine::text::thousands;
        let each: Vec<String> = lb
            .ties
            .iter()
            .map(|(m, taken, tied)| {
                format!(
                    "{m}: {} of {} users tied",
                    thousands(*taken as u64),
                    thousands(*tied as u64)
                )
            })
            .collect();
        let line = format!("! at the {k1}% cut (test): {}", each.join(" · "));
        let w = area.width as usize;
        notes.push(Line::styled(
            if line.chars().count() > w {
                let cut: String = line.chars().take(w.saturating_sub(1)).collect();
                format!("{cut}…")
            } else {
                line
            },
            t.warn(),
        ));
    }
    if !intervals.is_empty() {
        notes.push(Line::styled(intervals, t.dim()));
    }
    notes.extend([
        Line::styled(
            "▶ targeting model (Enter picks the selected row) · ceiling: best possible lift",
            t.dim(),
        ),
        Line::styled(
            if run.failed.is_empty() {
                String::new()
            } else {
                format!(
                    "failed: {}",
                    run.failed
                        .iter()
                        .map(|(m, e)| format!("{m} ({e})"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
            t.bad(),
        ),
    ]);
    let notes: Vec<Line> = notes
        .into_iter()
        .map(|l| fit_line(l, foot.width as usize))
        .collect();
    f.render_widget(Paragraph::new(notes), foot);
}

/// Header, ceilings and the models at `rows` of the board's order, for one split.
fn split_lines(
    lb: &Leaderboard,
    sh: &Shared,
    run: &LoadedRun,
    shown: &[(usize, Column)],
    test: bool,
    rows: std::ops::Range<usize>,
) -> Vec<Line<'static>> {
    let t = sh.theme;
    // The arrow marks the sort column only in the split that sorts.
    let sorts = test == (lb.split == SplitView::Test);
    let mut lines = Vec::new();
    let arrow = if sorts {
        t.sort_arrow(lb.sort_desc)
    } else {
        ""
    };
    let mut head = vec![Span::styled(
        format!(
            "  {:<w$}",
            if lb.sort_col == 0 {
                format!("model{arrow}")
            } else {
                "model".into()
            },
            w = NAME_W
        ),
        if lb.sort_col == 0 { t.key() } else { t.dim() },
    )];
    for (i, c) in shown {
        let mut h = header(run, *c);
        if *i + 1 == lb.sort_col {
            h.push_str(arrow);
        }
        head.push(Span::styled(
            format!(" {h:>w$}", w = COL_W),
            if *i + 1 == lb.sort_col {
                t.key()
            } else {
                t.dim()
            },
        ));
    }
    lines.push(Line::from(head));
    // Ceilings under the Lift headers: the best lift any model could reach on this split.
    let e0 = run
        .models
        .first()
        .map(|m| if test { &m.test } else { &m.val });
    let mut ceil = vec![Span::styled(
        format!("  {:<w$}", "ceiling", w = NAME_W),
        t.dim(),
    )];
    for (_, c) in shown {
        let v = match (c, e0) {
            (Column::Lift(i), Some(e)) => e
                .at_k
                .get(*i)
                .and_then(|a| a.lift_ceiling)
                .map_or("–".into(), |v| format!("≤{v:.3}")),
            _ => String::new(),
        };
        ceil.push(Span::styled(format!(" {v:>w$}", w = COL_W), t.dim()));
    }
    lines.push(Line::from(ceil));
    let target = sh.target.map(|m| m.name.clone());
    for (pos, &mi) in lb
        .order(Some(run))
        .iter()
        .enumerate()
        .take(rows.end)
        .skip(rows.start)
    {
        let m = &run.models[mi];
        let e = if test { &m.test } else { &m.val };
        let mut marks = String::new();
        marks.push(if target.as_deref() == Some(m.name.as_str()) {
            '▶'
        } else {
            ' '
        });
        let tied = run
            .choice
            .as_ref()
            .is_some_and(|c| c.tied.contains(&m.name) && m.name != run.chosen);
        marks.push(if m.name == run.chosen {
            '*'
        } else if tied {
            '≈'
        } else {
            ' '
        });
        let mut spans = vec![Span::styled(
            format!("{marks}{:<w$}", m.name, w = NAME_W),
            if m.name == run.chosen {
                t.chosen()
            } else {
                t.text()
            },
        )];
        for (_, c) in shown {
            spans.push(Span::raw(format!(
                " {:>w$}",
                cell(e, *c, m.fit_seconds),
                w = COL_W
            )));
        }
        let mut line = Line::from(spans);
        if pos == lb.sel {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_column_wraps_and_keys_stay_on_the_board() {
        let mut lb = Leaderboard::default();
        // Without a run: the name column, PR-AUC and fit seconds.
        lb.update(Action::Right, None, 10);
        assert_eq!(lb.sort_col, 2);
        lb.update(Action::Right, None, 10);
        assert_eq!(lb.sort_col, 0, "past the last column comes the name");
        lb.update(Action::Left, None, 10);
        assert_eq!(lb.sort_col, 2);
        lb.update(Action::SortFlip, None, 10);
        lb.update(Action::SwitchSplit, None, 10);
        assert!(!lb.sort_desc && lb.split == SplitView::Test);
        assert_eq!(lb.update(Action::Enter, None, 10), None, "no run, no pick");
    }
}
