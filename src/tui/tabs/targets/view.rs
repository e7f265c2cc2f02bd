//! The Targets tab drawn: the header (model, K, cost of ties), the list rows in view, and the
//! user popup with the risk reasons. Only the rows in view are formatted each frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::engine::features::FEATURE_NAMES;
use crate::engine::targeting::list::{Cut, share_text};
use crate::engine::targeting::order::score_text;
use crate::engine::text::thousands;
use crate::engine::time::fmt_anchor;
use crate::tui::shared::Shared;
use crate::tui::widgets::{
    cells, centered, fit_words, scroll_text, split_at_cells, waiting, wrap_words,
};

use crate::tui::tabs::Scroll;

use super::state::Targets;

/// `spans` as one line of at most `width` cells: when they do not fit, cut at the last space
/// that leaves room for `…` (a number is never cut in two, `1.2…` for 1.25), so a reader knows
/// there is more and what shows reads right (the Targets header at 80 columns).
fn fit_line<'a>(spans: Vec<Span<'a>>, width: usize) -> Line<'a> {
    let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
    if cells(&text) <= width {
        return Line::from(spans);
    }
    let (head, _) = split_at_cells(&text, width.saturating_sub(1));
    // Back to the last space, unless there is none to go back to; and past a parenthesis left
    // open (`lift 1.00 (ceiling …` reads as if the ceiling were cut).
    let mut keep = head.trim_end().rfind(' ').map_or(head.len(), |i| i + 1);
    loop {
        let kept = text[..keep].trim_end();
        let start = kept.rfind(' ').map_or(0, |i| i + 1);
        let word = &kept[start..];
        if start > 0 && word.contains('(') && !word.contains(')') {
            keep = start;
        } else {
            break;
        }
    }
    let mut out = crate::tui::widgets::span_prefix(&spans, text[..keep].chars().count());
    out.push(Span::raw("…"));
    Line::from(out)
}

/// The header's money line (SPEC §5.2): what the list cut at `k` costs; with a budget, spent and
/// left (or over); why there is no cost when a tier has none.
fn money_line<'a>(tg: &Targets, sh: &Shared, k: usize) -> Option<Vec<Span<'a>>> {
    let t = sh.theme;
    let lang = &sh.phrases.lang;
    let a = |x: f64| sh.tiers.amount(x, lang);
    let ledger = match tg.money.ledger.as_ref()? {
        Ok(l) => l,
        Err(e) => {
            return Some(vec![
                Span::styled("no cost: ", t.warn()),
                Span::styled(e.clone(), t.dim()),
            ]);
        }
    };
    let cost = ledger.cost_at(k);
    let mut spans = Vec::new();
    match tg.budget {
        Some(b) => {
            let left = b - cost;
            spans.push(Span::styled("budget ", t.dim()));
            spans.push(Span::raw(a(b)));
            spans.push(Span::styled(" · spent ", t.dim()));
            spans.push(Span::raw(a(cost)));
            if left < 0.0 {
                spans.push(Span::styled(format!(" · over {}", a(-left)), t.warn()));
            } else {
                spans.push(Span::styled(" · left ", t.dim()));
                spans.push(Span::raw(a(left)));
            }
            match tg.money.bought.filter(|_| tg.follow) {
                Some(b) if b.over => spans.push(Span::styled(
                    " · the users added by hand alone cost more",
                    t.warn(),
                )),
                Some(b) if b.whole => {
                    spans.push(Span::styled(" · every tier fits: the whole list", t.dim()))
                }
                Some(b) if b.k == 0 => spans.push(Span::styled(
                    " · buys no offer: the list is empty",
                    t.warn(),
                )),
                _ => {}
            }
        }
        None => {
            spans.push(Span::styled("cost ", t.dim()));
            spans.push(Span::raw(a(cost)));
            spans.push(Span::styled(" · b: budget · p: plan", t.dim()));
        }
    }
    Some(spans)
}

pub fn render(tg: &Targets, sh: &Shared, f: &mut Frame, area: Rect) {
    let (Some(run), Some(m), Some(o)) = (sh.run, sh.target, tg.order(sh.run)) else {
        return waiting(sh, f, area, "The Top-K target list");
    };
    let t = sh.theme;
    let n = m.n();
    let width = area.width as usize;
    // The list's own users: with a cut tie, those the second key took (SPEC §5).
    let (k, tp, precision, lift) = o.at(tg.k_rows(sh.run));
    let p = o.caught.last().copied().unwrap_or(0);
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
    let anchor = run
        .test_anchor()
        .map_or("–".into(), |a| fmt_anchor(a)[..10].to_string());
    let [head, list] = Layout::vertical([
        Constraint::Length(tg.header_lines(sh.run)),
        Constraint::Min(3),
    ])
    .areas(area);
    let tiers: Vec<Span> = sh
        .tiers
        .sizes(n)
        .iter()
        .zip(&sh.tiers.tiers)
        .enumerate()
        .flat_map(|(i, (size, tier))| {
            [
                Span::styled(format!("{} ", tier.name), t.tier(i)),
                Span::raw(format!("{}  ", thousands(*size as u64))),
            ]
        })
        .collect();
    let top = match tg.cut() {
        Cut::Share(k) => format!("Top {k}%"),
        Cut::Users(u) => format!("Top {} by budget", share_text(u, n)),
    };
    let of = format!(
        " of {} users at {anchor} · k = {} · ",
        thousands(n as u64),
        thousands(k as u64),
    );
    let by = format!("by {}: ", tg.rank.name());
    // Which ranking is on screen (`u` switches it when an uplift model is loaded): the method
    // alone when its campaign does not fit, so the line never ends before naming it.
    let ranked_by = match tg.rank.uplift() {
        Some(u) => {
            let label = u.model.label();
            let used = [&top, &of, &by, &label]
                .iter()
                .map(|x| unicode_width::UnicodeWidthStr::width(x.as_str()))
                .sum::<usize>();
            if used <= width {
                label
            } else {
                u.model.method().name().to_string()
            }
        }
        None => format!("model {}", m.name),
    };
    let mut header = vec![
        fit_line(
            vec![
                Span::styled(top, t.key()),
                Span::raw(of),
                Span::styled(by, t.key()),
                Span::raw(ranked_by),
            ],
            width,
        ),
        fit_line(
            vec![Span::raw(match (tg.rank.uplift(), o.uplift()) {
                // Ranked by uplift, what counts is whom the offer keeps: the sum of the list's
                // predicted uplift is the users it is expected to keep.
                (Some(u), Some(up)) => format!(
                    "expected kept {} (sum of predicted uplift) · uplift > 0 for {} of {} \
                     users · dormant caught {}",
                    thousands(
                        o.ranking[..k.min(o.n())]
                            .iter()
                            .map(|&r| up[r])
                            .sum::<f64>()
                            .max(0.0)
                            .round() as u64
                    ),
                    thousands(u.positive as u64),
                    thousands(n as u64),
                    thousands(tp.into()),
                ),
                _ => format!(
                    "dormant caught {} (random: {}) · precision {} · lift {} (ceiling {})",
                    thousands(tp.into()),
                    thousands(random.round() as u64),
                    precision.map_or("–".into(), |v| format!("{:.1}%", 100.0 * v)),
                    lift.map_or("–".into(), |v| format!("{v:.2}")),
                    ceiling.map_or("–".into(), |v| format!("{v:.2}")),
                ),
            })],
            width,
        ),
        fit_line(
            std::iter::once(Span::styled("tiers: ", t.dim()))
                .chain(tiers)
                .chain((!tg.edits.is_empty()).then(|| {
                    let excl = tg.excluded_in_top_k(sh.run);
                    Span::styled(
                        format!(
                            "· edited −{} +{} = {}",
                            thousands(excl as u64),
                            thousands(tg.added_pos.len() as u64),
                            thousands((k - excl + tg.added_pos.len()) as u64)
                        ),
                        t.warn(),
                    )
                }))
                .collect::<Vec<_>>(),
            width,
        ),
    ];
    if let Some(line) = money_line(tg, sh, k) {
        header.push(fit_line(line, width));
    }
    if let Some(tie) = tg.tie_at_k(sh.run) {
        // K cuts a group of equal scores: how many of it the list took, and by what.
        let (what, by) = match (&o.runner_up, o.uplift().is_some()) {
            (Some(r), true) => ("uplift", format!("{r}'s risk, recency, hash")),
            (Some(r), false) => ("score", format!("{r}'s score, recency, hash")),
            (None, _) => ("score", "recency, hash".to_string()),
        };
        header.push(fit_line(
            vec![
                Span::styled("tie at k: ", t.warn()),
                Span::raw(format!(
                    "{} of {} users at {what} {} taken, by {by}",
                    thousands(tie.taken as u64),
                    thousands(tie.tied as u64),
                    score_text(tie.score),
                )),
            ],
            width,
        ));
    }
    f.render_widget(Paragraph::new(header), head);
    if tg.plan_open {
        return super::plan_view::render(tg, sh, f, list);
    }

    let rows_fit = list.height.saturating_sub(3) as usize;
    let reason_w = (list.width as usize).saturating_sub(2 + 1 + 7 + 11 + 8 + 11 + 4);
    // Ranked by uplift, the list shows each user's uplift and what raises it.
    let uplift = o.uplift();
    let (score_head, reason_head, none_key) = match uplift {
        Some(_) => ("uplift", "first uplift reason", "no_uplift_reason"),
        None => ("score", "first risk reason", "no_reason"),
    };
    let mut lines = vec![Line::styled(
        format!(
            " {:>6} {:>10} {:>7} {:<10} {}",
            "rank", "user_id", score_head, "tier", reason_head
        ),
        t.dim(),
    )];
    let total = tg.list_len(sh.run);
    let end = (tg.offset + rows_fit).min(total);
    for i in tg.offset.min(end)..end {
        let Some((pos, added)) = tg.list_row(sh.run, i) else {
            continue;
        };
        let Some(&row) = o.ranking.get(pos) else {
            continue;
        };
        let user = run.test.users[row];
        let excluded = tg.edits.excluded.contains(&user);
        let place = sh.tiers.place(pos + 1, n, added);
        let tier_i = place.map_or(9, |x| x.index);
        // The whole sentence where it fits, else its first part (what the value is), else
        // that cut at a word boundary; Enter shows every reason whole.
        let reason = match tg.reasons_of(row) {
            None => String::new(),
            Some([]) => sh.phrases.label(none_key).to_string(),
            Some([r, ..]) => {
                let full = r.text_in(sh.phrases);
                if cells(&full) <= reason_w {
                    full
                } else {
                    fit_words(&sh.phrases.describe(r.feature, r.value), reason_w)
                }
            }
        };
        let mark = if excluded {
            "✗"
        } else if added {
            "+"
        } else {
            " "
        };
        // A user added from below every tier says `added`, never a tier it was not ranked in.
        let tier_text = if excluded {
            sh.phrases.label("excluded").to_string()
        } else {
            place.map_or("–".to_string(), |x| x.name(sh.phrases).to_string())
        };
        let mut line = Line::from(vec![
            Span::styled(mark, t.key()),
            Span::raw(format!(
                "{:>6} {:>10} {:>7.4} ",
                pos + 1,
                user,
                uplift.map_or(m.test_scores[row], |u| u[row])
            )),
            // Padded by cells: a Korean tier name is twice as wide as its characters.
            Span::styled(
                format!(
                    "{tier_text}{}",
                    " ".repeat(10usize.saturating_sub(cells(&tier_text)))
                ),
                if excluded { t.dim() } else { t.tier(tier_i) },
            ),
            Span::styled(
                format!(" {reason}"),
                if excluded { t.dim() } else { t.text() },
            ),
        ]);
        if i == tg.sel {
            line = line.style(t.selected());
        }
        lines.push(line);
    }
    let search = tg
        .search
        .as_ref()
        .map_or(String::new(), |s| format!(" · search \"{s}\" (n/N)"));
    let range = format!(
        " targets {}–{} of {}{search}",
        thousands(if total == 0 { 0 } else { tg.offset + 1 } as u64),
        thousands(end as u64),
        thousands(total as u64)
    );
    // The keys where they fit; the key bar has them too.
    let mut title = format!("{range} · Enter details · x exclude · a add · e export ");
    if cells(&title) + 2 > list.width as usize {
        title = format!("{range} · Enter details ");
    }
    f.render_widget(
        Paragraph::new(lines).block(sh.theme.block().title(title)),
        list,
    );
}

/// The user detail: every feature compared with the scored users (in the words the risk
/// reasons use, so the two always agree), and the risk reasons.
pub fn user_popup(
    tg: &Targets,
    sh: &Shared,
    f: &mut Frame,
    area: Rect,
    row: usize,
    scroll: &Scroll,
) {
    let (Some(run), Some(m)) = (sh.run, sh.target) else {
        return;
    };
    let t = sh.theme;
    let w = area.width.min(78);
    let inner = w.saturating_sub(2) as usize;
    let rank = tg
        .order(sh.run)
        .and_then(|o| o.ranking.iter().position(|&r| r == row))
        .map_or(0, |p| p + 1);
    let added = tg.edits.added.contains(&run.test.users[row]);
    let x = run.test.row(row);
    // Every line is broken here, at spaces, to the popup's width: the paragraph's own
    // wrapping let a Korean word at the edge spill over the border.
    let who = format!("user {}", run.test.users[row]);
    let uplift = tg.order(sh.run).and_then(|o| o.uplift());
    let head = format!(
        "{who} · rank {} of {}{} · score {:.4} · {}",
        thousands(rank as u64),
        thousands(m.n() as u64),
        uplift.map_or(String::new(), |u| format!(
            " by uplift · uplift {:.4}",
            u[row]
        )),
        m.test_scores[row],
        sh.tiers.place(rank, m.n(), added).map_or(
            sh.phrases.label("no_tier").to_string(),
            |x| format!("{} ({})", x.name(sh.phrases), x.tier.offer)
        )
    );
    let mut lines: Vec<Line> = Vec::new();
    for (i, part) in wrap_words(&head, inner).into_iter().enumerate() {
        lines.push(match part.strip_prefix(who.as_str()) {
            Some(rest) if i == 0 => Line::from(vec![
                Span::styled(who.clone(), t.title()),
                Span::raw(rest.to_string()),
            ]),
            _ => Line::raw(part),
        });
    }
    // A feature, its value and how it compares on one line where they fit (80 columns); else
    // the comparison on a line of its own, indented.
    let mut row_lines = |left: String, right: String, style| {
        if cells(&left) + 2 + cells(&right) <= inner {
            lines.push(Line::styled(format!("{left}  {right}"), style));
        } else {
            lines.push(Line::styled(left, style));
            for part in wrap_words(&right, inner.saturating_sub(4)) {
                lines.push(Line::styled(format!("    {part}"), style));
            }
        }
    };
    row_lines(
        {
            // Padded by cells: a Korean heading takes two per character.
            let (f, v) = (sh.phrases.label("feature"), sh.phrases.label("value"));
            format!(
                "{f}{} {}{v}",
                " ".repeat(26usize.saturating_sub(cells(f))),
                " ".repeat(10usize.saturating_sub(cells(v)))
            )
        },
        sh.phrases.label("compared").to_string(),
        t.dim(),
    );
    for (j, name) in FEATURE_NAMES.iter().enumerate() {
        let (below, above) = run.shares(j, x[j]);
        row_lines(
            format!("{name:<26} {:>10.3}", x[j]),
            sh.phrases.comparison(below, above),
            t.text(),
        );
    }
    lines.push(Line::raw(""));
    let (heading, none_key) = match uplift {
        Some(_) => ("uplift_reasons", "no_uplift_reason"),
        None => ("risk_reasons", "no_reason"),
    };
    lines.push(Line::styled(
        sh.phrases.label(heading).to_string(),
        t.title(),
    ));
    match tg.reasons_of(row) {
        Some([]) => lines.push(Line::styled(
            format!("  {}", sh.phrases.label(none_key)),
            t.dim(),
        )),
        Some(rs) => {
            // Each reason whole, wrapped at spaces under its own first word.
            for (i, r) in rs.iter().enumerate() {
                let lead = format!("  {}. ", i + 1);
                let pad = " ".repeat(lead.len());
                let text = r.text_in(sh.phrases);
                for (j, part) in wrap_words(&text, inner.saturating_sub(lead.len()))
                    .into_iter()
                    .enumerate()
                {
                    let first = if j == 0 { &lead } else { &pad };
                    lines.push(Line::raw(format!("{first}{part}")));
                }
            }
        }
        None => lines.push(Line::styled("  computing…", t.dim())),
    }
    // As tall as its wrapped text; taller than the screen, it scrolls (j/k).
    let rows = Paragraph::new(lines.clone())
        .wrap(Wrap { trim: false })
        .line_count(inner as u16);
    let r = centered(area, w, u16::try_from(rows + 2).unwrap_or(u16::MAX));
    f.render_widget(Clear, r);
    scroll_text(
        f,
        r,
        sh.theme
            .block()
            .title(" user — Esc closes ")
            .border_style(t.title()),
        lines,
        true,
        scroll,
    );
}
