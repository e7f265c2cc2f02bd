//! The plan view (`p` on Targets; SPEC §5.3, §9): cost, expected return and net against K from
//! 1% to 100% as a braille chart, the current K and the K of largest expected net marked, and
//! under it the current K's figures with their 90% intervals. Without a read-out campaign it
//! draws the cost alone and says which campaign would give the rest.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};

use crate::engine::targeting::money::plan::Estimate;
use crate::engine::text::thousands;
use crate::tui::shared::Shared;
use crate::tui::tabs::curves::model_marker;
use crate::tui::widgets::waiting;

use super::state::Targets;

/// Points per vertical mark: enough to fill every row of a tall chart.
const MARK_POINTS: usize = 120;

/// The current K's mark and the best net's: characters no curve uses.
const K_GLYPH: char = ':';
const BEST_GLYPH: char = '#';

pub fn render(tg: &Targets, sh: &Shared, f: &mut Frame, area: Rect) {
    let t = sh.theme;
    let lang = &sh.phrases.lang;
    let a = |x: f64| sh.tiers.amount(x, lang);
    let block = t
        .block()
        .title(" Plan: cost, expected return and net by K (p or Esc: the list) ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let ledger = match &tg.money.ledger {
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            return f.render_widget(
                Paragraph::new(format!("No plan: {e}"))
                    .style(t.warn())
                    .wrap(Wrap { trim: true }),
                inner,
            );
        }
        None => {
            return f.render_widget(
                Paragraph::new(format!(
                    "No plan: {} gives no costs. Give each tier `cost` (per user) or `discount` \
                     and `redeem_rate`, and `value` for a kept customer (SPEC §5.1).",
                    sh.tiers.source
                ))
                .style(t.dim())
                .wrap(Wrap { trim: true }),
                inner,
            );
        }
    };
    let Some(curve) = &tg.money.curve else {
        return waiting(sh, f, inner, "The plan");
    };
    let k = tg.k_rows(sh.run);
    let now = curve.row_at(ledger, k);
    let has_return = curve.points.iter().any(|p| p.net.is_some());
    let n = ledger.n.max(1) as f64;
    let x_now = 100.0 * k as f64 / n;

    // The curves: cost; expected return (customers kept × value) and net where the read-out
    // covers the list.
    let cost: Vec<(f64, f64)> = curve.points.iter().map(|p| (p.k_pct, p.cost)).collect();
    let net: Vec<(f64, f64)> = curve
        .points
        .iter()
        .filter_map(|p| Some((p.k_pct, p.net?.mid)))
        .collect();
    let ret: Vec<(f64, f64)> = curve
        .points
        .iter()
        .filter_map(|p| Some((p.k_pct, p.net?.mid + p.cost)))
        .collect();
    let ys = cost.iter().chain(&net).chain(&ret).map(|p| p.1);
    let (lo, hi) = ys.fold((0.0f64, 0.0f64), |(l, h), y| (l.min(y), h.max(y)));
    let hi = if hi <= lo { lo + 1.0 } else { hi };
    let line = |x: f64| -> Vec<(f64, f64)> {
        (0..=MARK_POINTS)
            .map(|i| (x, lo + (hi - lo) * i as f64 / MARK_POINTS as f64))
            .collect()
    };
    let k_mark = line(x_now);
    let best_mark = curve
        .best
        .as_ref()
        .map(|b| line(b.k_pct))
        .unwrap_or_default();
    let mut datasets = vec![
        Dataset::default()
            .marker(model_marker(t, 0))
            .graph_type(GraphType::Line)
            .style(t.series(0))
            .data(&cost),
    ];
    if has_return {
        datasets.push(
            Dataset::default()
                .marker(model_marker(t, 1))
                .graph_type(GraphType::Line)
                .style(t.series(1))
                .data(&ret),
        );
        datasets.push(
            Dataset::default()
                .marker(model_marker(t, 2))
                .graph_type(GraphType::Line)
                .style(t.series(2))
                .data(&net),
        );
    }
    if !best_mark.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Custom(BEST_GLYPH))
                .graph_type(GraphType::Scatter)
                .style(t.good())
                .data(&best_mark),
        );
    }
    datasets.push(
        Dataset::default()
            .marker(Marker::Custom(K_GLYPH))
            .graph_type(GraphType::Scatter)
            .style(t.k_mark())
            .data(&k_mark),
    );
    let lab = |s: String| Span::styled(s, t.dim());
    let chart = Chart::new(datasets)
        .x_axis(Axis::default().bounds([0.0, 100.0]).labels([
            lab("0%".into()),
            lab("K 50%".into()),
            lab("100%".into()),
        ]))
        .y_axis(Axis::default().bounds([lo, hi]).labels([
            lab(a(lo)),
            lab(a((lo + hi) / 2.0)),
            lab(a(hi)),
        ]));

    // The legend first: the curves are told apart by colour (or, without, by character).
    let swatch = |i: usize, name: &str| {
        let mark = if t.colour_curves() {
            '━'
        } else {
            crate::tui::theme::MODEL_MARKS[i % crate::tui::theme::MODEL_MARKS.len()]
        };
        [
            Span::styled(format!("{mark}{mark} "), t.series(i)),
            Span::raw(format!("{name}  ")),
        ]
    };
    let mut legend: Vec<Span> = swatch(0, "cost").into();
    if has_return {
        legend.extend(swatch(1, "return"));
        legend.extend(swatch(2, "net"));
    }
    legend.push(Span::styled(format!("{K_GLYPH} current K"), t.k_mark()));
    if curve.best.is_some() {
        legend.push(Span::styled(
            format!("  {BEST_GLYPH} largest net"),
            t.good(),
        ));
    }
    legend.push(Span::styled("  (+/- ]/[ move K)", t.dim()));
    let mut notes: Vec<Line> = vec![Line::from(legend)];
    let est = |e: Estimate, money: bool| {
        let f = |x: f64| {
            if money {
                a(x)
            } else {
                crate::engine::targeting::money::table::kept_text(x)
            }
        };
        format!("{} [90%: {}, {}]", f(e.mid), f(e.low), f(e.high))
    };
    let mut first = vec![
        Span::styled(format!("{K_GLYPH} K "), t.k_mark()),
        Span::raw(format!(
            "{:.2}% ({} users): cost {}",
            now.k_pct,
            thousands(now.users as u64),
            a(now.cost)
        )),
    ];
    if let Some(r) = now.retained {
        first.push(Span::raw(format!(" · kept {}", est(r, false))));
    }
    if let Some(net) = now.net {
        first.push(Span::raw(format!(" · net {}", est(net, true))));
    }
    notes.push(Line::from(first));
    match (&curve.uplifts, &curve.best) {
        (Ok(u), best) => {
            if let Some(b) = best
                && let Some(net) = b.net
                && b.k == 0
            {
                notes.push(Line::styled(
                    format!(
                        "{BEST_GLYPH} no K pays: every list's expected net is below zero \
                         (at no one: {})",
                        a(net.mid)
                    ),
                    t.warn(),
                ));
            } else if let Some(b) = best
                && let Some(net) = b.net
            {
                notes.push(Line::from(vec![
                    Span::styled(format!("{BEST_GLYPH} largest net "), t.good()),
                    Span::raw(format!(
                        "at K {:.2}% ({} users): {}",
                        b.k_pct,
                        thousands(b.k as u64),
                        est(net, true)
                    )),
                ]));
            }
            if let Some(net) = now.net.filter(Estimate::straddles_zero) {
                notes.push(Line::styled(
                    format!(
                        "the net's 90% interval at this K straddles zero ({} to {}): the read-out \
                         cannot tell whether this list pays",
                        a(net.low),
                        a(net.high)
                    ),
                    t.warn(),
                ));
            }
            let missing = curve.missing_at(ledger, k);
            notes.push(Line::styled(
                match missing {
                    Some(m) => format!(
                        "uplift from campaign `{}` (id {}), which has none for `{m}`: no return \
                         at this K",
                        u.campaign, u.campaign_id
                    ),
                    None if !ledger.has_value => format!(
                        "uplift per tier from campaign `{}` (id {}); the config gives no \
                         `value` for a kept customer, so no net",
                        u.campaign, u.campaign_id
                    ),
                    None => format!(
                        "uplift per tier from campaign `{}` (id {}), read out with logs through {}",
                        u.campaign,
                        u.campaign_id,
                        u.data_end.get(..10).unwrap_or(&u.data_end),
                    ),
                },
                t.dim(),
            ));
        }
        (Err(why), _) => notes.push(Line::styled(format!("cost only: {why}"), t.dim())),
    }
    let text_rows = (notes.len() as u16 + 1).min(inner.height.saturating_sub(4));
    let [plot, text] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(text_rows)]).areas(inner);
    f.render_widget(chart, plot);
    // A chart gives a dataset only its colour: the marks get their own look here.
    let buf = f.buffer_mut();
    for y in plot.top()..plot.bottom() {
        for x in plot.left()..plot.right() {
            if let Some(cell) = buf.cell_mut((x, y)) {
                if cell.symbol() == K_GLYPH.to_string() {
                    cell.set_style(t.k_mark());
                } else if cell.symbol() == BEST_GLYPH.to_string() {
                    cell.set_style(t.good());
                }
            }
        }
    }
    f.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), text);
}
