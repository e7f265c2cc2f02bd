//! Tab 5, Targets: the Top-K list of the targeting model on the test anchor. Only the rows in
//! view are formatted each frame, so a ranking of any length draws in constant time.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::engine::features::FEATURE_NAMES;
use crate::engine::time::fmt_anchor;
use crate::tui::app::App;
use crate::tui::widgets::{centered, waiting};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let (Some(wb), Some(m)) = (&app.wb, app.targeting_model()) else {
        return waiting(app, f, area, "The Top-K target list");
    };
    let t = &app.theme;
    let n = m.n();
    let (k, tp, precision, lift) = m.at(app.k_rows());
    let p = m.caught().last().copied().unwrap_or(0);
    let ceiling = if p > 0 && k > 0 {
        Some((n as f64 / p as f64).min(n as f64 / k as f64))
    } else {
        None
    };
    let random = if n > 0 {
        p as f64 * k as f64 / n as f64
    } else {
        0.0
    };
    let anchor = wb
        .test_anchor()
        .map_or("–".into(), |a| fmt_anchor(a)[..10].to_string());
    let [head, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    let tiers: Vec<Span> = app
        .tiers
        .sizes(n)
        .iter()
        .zip(&app.tiers.tiers)
        .enumerate()
        .flat_map(|(i, (size, tier))| {
            [
                Span::styled(format!("{} ", tier.name), t.tier(i)),
                Span::raw(format!("{size}  ")),
            ]
        })
        .collect();
    let header = vec![
        Line::from(vec![
            Span::styled(format!("Top {}%", app.k), t.key()),
            Span::raw(format!(
                " of {n} users at {anchor} · k = {k} · model {}",
                m.name
            )),
        ]),
        Line::from(vec![Span::raw(format!(
            "dormant caught {tp} (random: {random:.0}) · precision {} · lift {} (ceiling {})",
            precision.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v)),
            lift.map_or("–".into(), |v| format!("{v:.2}")),
            ceiling.map_or("–".into(), |v| format!("{v:.2}")),
        ))]),
        Line::from(
            std::iter::once(Span::styled("tiers: ", t.dim()))
                .chain(tiers)
                .chain((!app.edits.is_empty()).then(|| {
                    let excl = app.excluded_in_top_k();
                    Span::styled(
                        format!(
                            "· edited −{excl} +{} = {}",
                            app.added_pos.len(),
                            k - excl + app.added_pos.len()
                        ),
                        t.warn(),
                    )
                }))
                .collect::<Vec<_>>(),
        ),
    ];
    f.render_widget(Paragraph::new(header), head);

    let rows_fit = list.height.saturating_sub(3) as usize;
    let reason_w = (list.width as usize).saturating_sub(2 + 1 + 7 + 11 + 8 + 11 + 4);
    let mut lines = vec![Line::styled(
        format!(
            " {:>6} {:>10} {:>7} {:<10} {}",
            "rank", "user_id", "score", "tier", "first risk reason"
        ),
        t.dim(),
    )];
    let total = app.list_len();
    let end = (app.offset + rows_fit).min(total);
    for i in app.offset.min(end)..end {
        let Some((pos, added)) = app.list_row(i) else {
            continue;
        };
        let row = m.ranking()[pos];
        let user = wb.test.users[row];
        let excluded = app.edits.excluded.contains(&user);
        let tier = app.tiers.tier_for(pos + 1, n, added);
        let tier_i = tier
            .and_then(|x| app.tiers.tiers.iter().position(|y| y.name == x.name))
            .unwrap_or(9);
        let reason = app
            .reasons_of(row)
            .and_then(|r| r.first())
            .map_or("…".to_string(), |r| {
                let full = r.text_in(&app.phrases);
                if full.chars().count() <= reason_w {
                    full
                } else {
                    app.phrases.describe(r.feature, r.value)
                }
            });
        let reason: String = if reason.chars().count() > reason_w {
            reason
                .chars()
                .take(reason_w.saturating_sub(1))
                .chain(['…'])
                .collect()
        } else {
            reason
        };
        let mark = if excluded {
            "✗"
        } else if added {
            "+"
        } else {
            " "
        };
        let tier_text = if excluded {
            "excluded".to_string()
        } else {
            tier.map_or("–".to_string(), |x| x.name.clone())
        };
        let mut line = Line::from(vec![
            Span::styled(mark, t.key()),
            Span::raw(format!(
                "{:>6} {:>10} {:>7.4} ",
                pos + 1,
                user,
                m.test_scores[row]
            )),
            Span::styled(
                format!("{tier_text:<10}"),
                if excluded { t.dim() } else { t.tier(tier_i) },
            ),
            Span::styled(
                format!(" {reason}"),
                if excluded { t.dim() } else { t.text() },
            ),
        ]);
        if i == app.sel {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    let search = app
        .search
        .as_ref()
        .map_or(String::new(), |s| format!(" · search \"{s}\" (n/N)"));
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(
            " targets {}–{} of {total}{search} · Enter details · x exclude · a add · e export ",
            if total == 0 { 0 } else { app.offset + 1 },
            end
        ))),
        list,
    );
}

/// The user detail: every feature with its population percentile, and the risk reasons.
pub fn user_popup(app: &App, f: &mut Frame, area: Rect, row: usize) {
    let (Some(wb), Some(m)) = (&app.wb, app.targeting_model()) else {
        return;
    };
    let t = &app.theme;
    let rank = m
        .ranking()
        .iter()
        .position(|&r| r == row)
        .map_or(0, |p| p + 1);
    let x = wb.test.row(row);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("user {}", wb.test.users[row]), t.title()),
        Span::raw(format!(
            " · rank {rank} of {} · score {:.4} · {}",
            m.n(),
            m.test_scores[row],
            app.tiers
                .tier_of(rank, m.n())
                .map_or("no tier".to_string(), |x| format!(
                    "{} ({})",
                    x.name, x.offer
                ))
        )),
    ])];
    lines.push(Line::styled(
        format!("{:<26} {:>10} {:>11}", "feature", "value", "percentile"),
        t.dim(),
    ));
    for (j, name) in FEATURE_NAMES.iter().enumerate() {
        let (below, above) = wb.shares(j, x[j]);
        // Mid-rank percentile: ties count half, so a common value sits in the middle.
        let pct = 100.0 * (below + (1.0 - below - above) / 2.0);
        lines.push(Line::raw(format!(
            "{name:<26} {:>10.3} {:>10.0}%",
            x[j], pct
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("risk reasons", t.title()));
    match app.reasons_of(row) {
        Some([]) => lines.push(Line::styled(
            "  no feature raised this user's risk",
            t.dim(),
        )),
        Some(rs) => {
            for (i, r) in rs.iter().enumerate() {
                lines.push(Line::raw(format!(
                    "  {}. {}",
                    i + 1,
                    r.text_in(&app.phrases)
                )));
            }
        }
        None => lines.push(Line::styled("  computing…", t.dim())),
    }
    let r = centered(area, 78, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(" user — Esc closes ")
                .border_style(t.title()),
        ),
        r,
    );
}
