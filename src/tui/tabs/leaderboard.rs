//! Tab 3, Leaderboard: models × metrics for val or test, sortable by any column; Enter picks
//! the model used for targeting. Columns that do not fit scroll with the sort column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::engine::eval::SplitEval;
use crate::tui::app::{App, Column};
use crate::tui::widgets::waiting;

const NAME_W: usize = 15;
const COL_W: usize = 8;

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn header(app: &App, c: Column) -> String {
    let ks = app.wb.as_ref().map(|w| w.ks.clone()).unwrap_or_default();
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

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(wb) = &app.wb else {
        return waiting(app, f, area, "The model leaderboard");
    };
    let t = &app.theme;
    let cols = app.columns();
    let split = if app.sort_test { "test" } else { "val" };
    // Which columns fit: a window over `cols` that keeps the sort column in view.
    let fit = ((area.width as usize).saturating_sub(NAME_W + 4) / (COL_W + 1)).max(1);
    let sort_i = app.sort_col.saturating_sub(1);
    let first = (sort_i + 1).saturating_sub(fit);
    let shown: Vec<(usize, Column)> = cols
        .iter()
        .copied()
        .enumerate()
        .skip(first)
        .take(fit)
        .collect();

    let [table, foot] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
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
    let need = wb.models.len() as u16 + 4;
    if table.height >= 2 * need {
        let [top, bottom] =
            Layout::vertical([Constraint::Length(need), Constraint::Min(need)]).areas(table);
        for (area, test) in [(top, false), (bottom, true)] {
            let sorts = test == app.sort_test;
            let name = if test { "test (scored once)" } else { "val" };
            let how = if sorts {
                " · sorted here (v: sort by the other)"
            } else {
                ""
            };
            f.render_widget(
                Paragraph::new(split_lines(app, wb, &shown, test))
                    .block(Block::bordered().title(format!(" {name}{how}{more} "))),
                area,
            );
        }
    } else {
        f.render_widget(
            Paragraph::new(split_lines(app, wb, &shown, app.sort_test)).block(
                Block::bordered().title(format!(" leaderboard on {split} (v: val/test){more} ")),
            ),
            table,
        );
    }
    let k1 = wb.ks.first().map_or("5".to_string(), |k| k.to_string());
    // Short enough for 80 columns; the whole sentence is in the report and leaderboard.md.
    let why = match &wb.choice {
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
    let selected = app
        .board_order()
        .get(app.board_sel)
        .and_then(|&i| wb.models.get(i));
    let intervals = selected
        .and_then(|m| {
            let iv = m.intervals.as_ref()?;
            let (own, vs) = if app.sort_test {
                (iv.test.as_ref()?, iv.test_vs_chosen.as_ref()?)
            } else {
                (iv.val.as_ref()?, iv.val_vs_chosen.as_ref()?)
            };
            let r = |v: Option<(f64, f64)>| {
                v.map_or("–".to_string(), |(lo, hi)| format!("{lo:.2}…{hi:.2}"))
            };
            Some(format!(
                "{} 90%: Lift@{k1}% {} · PR-AUC {} · − {} {}",
                m.name,
                r(own.lift.first().copied().flatten()),
                r(own.pr_auc),
                wb.chosen,
                r(vs.lift.first().copied().flatten()),
            ))
        })
        .unwrap_or_default();
    let mut notes = vec![Line::styled(why, t.dim())];
    if !intervals.is_empty() {
        notes.push(Line::styled(intervals, t.dim()));
    }
    notes.extend([
        Line::styled(
            "▶ targeting model (Enter picks the selected row) · ceiling: best possible lift",
            t.dim(),
        ),
        Line::styled(
            if wb.failed.is_empty() {
                String::new()
            } else {
                format!(
                    "failed: {}",
                    wb.failed
                        .iter()
                        .map(|(m, e)| format!("{m} ({e})"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
            t.bad(),
        ),
    ]);
    f.render_widget(Paragraph::new(notes), foot);
}

/// Header, ceilings and one row per model (in the board's order) for one split.
fn split_lines(
    app: &App,
    wb: &crate::engine::loaded_run::LoadedRun,
    shown: &[(usize, Column)],
    test: bool,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    // The arrow marks the sort column only in the split that sorts.
    let sorts = test == app.sort_test;
    let mut lines = Vec::new();
    let arrow = match (sorts, app.sort_desc) {
        (false, _) => "",
        (true, true) => "▼",
        (true, false) => "▲",
    };
    let mut head = vec![Span::styled(
        format!(
            "  {:<w$}",
            if app.sort_col == 0 {
                format!("model{arrow}")
            } else {
                "model".into()
            },
            w = NAME_W
        ),
        if app.sort_col == 0 { t.key() } else { t.dim() },
    )];
    for (i, c) in shown {
        let mut h = header(app, *c);
        if *i + 1 == app.sort_col {
            h.push_str(arrow);
        }
        head.push(Span::styled(
            format!(" {h:>w$}", w = COL_W),
            if *i + 1 == app.sort_col {
                t.key()
            } else {
                t.dim()
            },
        ));
    }
    lines.push(Line::from(head));
    // Ceilings under the Lift headers: the best lift any model could reach on this split.
    let e0 = wb
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
    let target = app.targeting_model().map(|m| m.name.clone());
    for (pos, &mi) in app.board_order().iter().enumerate() {
        let m = &wb.models[mi];
        let e = if test { &m.test } else { &m.val };
        let mut marks = String::new();
        marks.push(if target.as_deref() == Some(m.name.as_str()) {
            '▶'
        } else {
            ' '
        });
        let tied = wb
            .choice
            .as_ref()
            .is_some_and(|c| c.tied.contains(&m.name) && m.name != wb.chosen);
        marks.push(if m.name == wb.chosen {
            '*'
        } else if tied {
            '≈'
        } else {
            ' '
        });
        let mut spans = vec![Span::styled(
            format!("{marks}{:<w$}", m.name, w = NAME_W),
            if m.name == wb.chosen {
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
        if pos == app.board_sel {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    lines
}
