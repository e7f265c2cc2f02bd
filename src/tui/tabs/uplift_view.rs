//! The Campaigns tab's Uplift view (SPEC §7a): the loaded uplift model's Qini curves on its
//! campaign's evaluation fold — the chosen method, the risk ranking and random — in braille,
//! each ranking's Qini coefficient with its 90% interval, the methods' table, and what ranking
//! by uplift keeps over ranking by risk.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};

use crate::engine::text::{printable, thousands};
use crate::engine::uplift::UpliftModel;
use crate::engine::uplift::evaluate::Estimate;
use crate::tui::shared::Shared;
use crate::tui::widgets::{fit_line, fit_title};

use super::curves::model_marker;

/// `0.0380 [0.0296, 0.0472]`, or the value alone without an interval.
fn estimate(e: &Estimate, digits: usize) -> String {
    match (e.low, e.high) {
        (Some(a), Some(b)) => format!("{:.digits$} [{a:.digits$}, {b:.digits$}]", e.value),
        _ => format!("{:.digits$}", e.value),
    }
}

/// `+1,056 [825, 1,367]`: users, signed, with the interval.
fn users(e: &Estimate) -> String {
    let n = |v: f64| {
        let r = v.round();
        let s = thousands(r.abs() as u64);
        if r < 0.0 { format!("-{s}") } else { s }
    };
    let sign = if e.value.round() > 0.0 { "+" } else { "" };
    match (e.low, e.high) {
        (Some(a), Some(b)) => format!("{sign}{} [{}, {}]", n(e.value), n(a), n(b)),
        _ => format!("{sign}{}", n(e.value)),
    }
}

/// A curve to draw: its place (colour and mark), name and points.
type Series<'a> = (usize, &'a str, Vec<(f64, f64)>);

pub fn render(model: Option<&UpliftModel>, sh: &Shared, f: &mut Frame, area: Rect) {
    let t = sh.theme;
    let Some(u) = model else {
        f.render_widget(
            Paragraph::new(
                "No uplift model loaded.\n\n`churn-tui uplift train --campaign NAME --data LOGS` \
                 learns from a campaign with a control group whom the offer keeps, and writes a \
                 folder; the workbench offers the newest uplift-* folder in its --out, or the one \
                 --uplift DIR names. v: back to the campaigns.",
            )
            .style(t.dim())
            .wrap(Wrap { trim: true })
            .block(t.block().title(" Uplift (v: campaigns) ")),
            area,
        );
        return;
    };
    let r = &u.report;
    let chosen = u.method().name();
    let n_eval = r.folds.eval;
    // Rows under the chart: a heading, each ranking judged, the comparison with risk and the
    // choice; the chart takes the rest.
    let table_rows = r.eval.len() as u16 + 6;
    let [chart_area, table_area] = Layout::vertical([
        Constraint::Min(6),
        Constraint::Length(table_rows.min(area.height / 2)),
    ])
    .areas(area);

    // Curves as % of the evaluation fold taken (x) and users kept (y).
    let series: Vec<Series> = r
        .curves
        .iter()
        .enumerate()
        .map(|(i, (name, c))| {
            let total = c.x.last().copied().filter(|&v| v > 0.0).unwrap_or(1.0);
            let pts =
                c.x.iter()
                    .zip(&c.y)
                    .map(|(x, y)| (100.0 * x / total, *y))
                    .collect();
            (i, name.as_str(), pts)
        })
        .collect();
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, _, pts) in &series {
        for &(_, y) in pts {
            lo = lo.min(y);
            hi = hi.max(y);
        }
    }
    if hi - lo < 1.0 {
        hi = lo + 1.0;
    }
    let datasets: Vec<Dataset> = series
        .iter()
        .map(|(i, _, pts)| {
            Dataset::default()
                .marker(model_marker(t, *i))
                .graph_type(GraphType::Line)
                .style(t.series(*i))
                .data(pts)
        })
        .collect();
    let block = t.block().title(fit_title(
        &format!(
            " Uplift · {} · Qini curves on the evaluation fold ({} users) · v: campaigns ",
            u.label(),
            thousands(n_eval as u64)
        ),
        chart_area.width,
    ));
    let inner = block.inner(chart_area);
    f.render_widget(block, chart_area);
    let [names, plot] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    // Which curve is which, on a row of its own above the plot.
    let mut legend: Vec<Span> = vec![Span::styled("users kept ↑  ", t.dim())];
    for (i, name, _) in &series {
        let mark = match model_marker(t, *i) {
            Marker::Custom(c) => c.to_string(),
            _ => "━".to_string(),
        };
        legend.push(Span::styled(format!("{mark} {name}  "), t.series(*i)));
    }
    legend.push(Span::styled("· % of users targeted →", t.dim()));
    f.render_widget(
        Paragraph::new(fit_line(Line::from(legend), names.width as usize)),
        names,
    );
    let lab = |v: f64| Span::styled(format!("{v:.0}"), t.dim());
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, 100.0])
                .labels([lab(0.0), lab(50.0), lab(100.0)]),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([lab(lo), lab((lo + hi) / 2.0), lab(hi)]),
        );
    f.render_widget(chart, plot);

    // The rankings judged on the evaluation fold, each column as wide as its widest cell so
    // the table fits 80 columns.
    let cells: Vec<(String, String, String, String)> = r
        .eval
        .iter()
        .map(|j| {
            let at10 = j
                .eval
                .at_k
                .iter()
                .find(|a| (a.k_pct - 10.0).abs() < 1e-9)
                .and_then(|a| a.uplift.as_ref())
                .map_or("–".to_string(), |e| estimate(e, 3));
            (
                printable(&j.name).to_string(),
                estimate(&j.eval.qini, 4),
                at10,
                format!("{:.4}", j.eval.auuc.value),
            )
        })
        .collect();
    let head = (
        "ranking",
        "Qini coefficient [90%]",
        "uplift@10% [90%]",
        "AUUC",
    );
    type Row = (String, String, String, String);
    let widest = |cell: fn(&Row) -> &String, head: &str| {
        cells
            .iter()
            .map(|c| cell(c).chars().count())
            .fold(head.chars().count(), usize::max)
    };
    let (w1, w2) = (widest(|c| &c.0, head.0), widest(|c| &c.1, head.1));
    // AUUC before uplift@10%: where 80 columns cut a row, they cut the last interval's end.
    let w4 = widest(|c| &c.3, head.3);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<w1$} {:<w2$} {:<w4$} {}",
            head.0, head.1, head.3, head.2
        ),
        t.dim(),
    )];
    for (name, qini, at10, auuc) in &cells {
        let chosen_row = name == chosen;
        let star = if chosen_row { "* " } else { "  " };
        lines.push(Line::styled(
            format!("{star}{name:<w1$} {qini:<w2$} {auuc:<w4$} {at10}"),
            if chosen_row { t.good() } else { t.text() },
        ));
    }
    if let Some(v) = r.versus.iter().find(|v| v.other == "risk") {
        let kept: Vec<String> = v
            .kept
            .iter()
            .filter_map(|(k, e)| e.as_ref().map(|e| format!("{k:.0}% {}", users(e))))
            .collect();
        lines.push(Line::styled(
            format!(
                "{chosen} − risk: Qini {} (paired, 90%)",
                estimate(&v.qini, 4)
            ),
            t.text(),
        ));
        lines.push(Line::styled(
            format!("users kept over risk: {}", kept.join(" · ")),
            t.text(),
        ));
    }
    lines.push(Line::styled(
        format!("* chosen: {}", printable(&r.choice.why)),
        t.dim(),
    ));
    let width = table_area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines.into_iter().map(|l| fit_line(l, width)).collect();
    f.render_widget(
        Paragraph::new(lines).block(t.block().title(fit_title(
            &format!(
                " {} · campaign anchor {} · folder {} ",
                r.methods
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.anchor.get(..10).unwrap_or(&r.anchor),
                printable(&u.dir.display().to_string())
            ),
            table_area.width,
        ))),
        table_area,
    );
}
