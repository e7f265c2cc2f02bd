//! Tab 1, Labels: what was read, and m0/m1/m2 and the dormant rate per split and per anchor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::features::table::AnchorCounts;
use crate::engine::label::Split;
use crate::engine::time::fmt_anchor;
use crate::tui::shared::Shared;
use crate::tui::widgets::{scroll_text, waiting};

/// The Labels tab's own state: how far its text is scrolled.
pub type Labels = super::Scrolled;

use crate::engine::text::thousands;

fn day(t: i64) -> String {
    fmt_anchor(t)[..10].to_string()
}

/// A horizontal bar of `frac` of `width` cells, in eighths.
pub fn bar(frac: f64, width: usize) -> String {
    const PARTS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    let eighths = (frac.clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8 - 1]);
    }
    s
}

fn sum(rows: &[&AnchorCounts]) -> (u64, u64, u64, u64) {
    rows.iter().fold((0, 0, 0, 0), |a, c| {
        (a.0 + c.rows, a.1 + c.m0, a.2 + c.m1, a.3 + c.m2)
    })
}

pub fn render(labels: &Labels, sh: &Shared, f: &mut Frame, area: Rect) {
    let Some(stats) = sh.stats else {
        return waiting(sh, f, area, "The data summary and label distribution");
    };
    let t = sh.theme;
    let d = &stats.data;
    let wide = area.width >= 120;

    let bytes: u64 = d.files.iter().map(|f| f.bytes).sum();
    let per_split = |s: Split| {
        let a: Vec<String> = d
            .anchors
            .iter()
            .filter(|(_, sp)| *sp == s)
            .map(|(a, _)| day(*a))
            .collect();
        format!("{} {}", a.len(), a.join(" "))
    };
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<10}"), t.dim()),
            Span::raw(v),
        ])
    };
    let mut info = if d.feature_table {
        // No log was read: what only a log tells (events, duplicates, its time range) is
        // not known, and is not made up.
        vec![
            kv(
                "table",
                format!("made elsewhere ({:.1} MB)", bytes as f64 / 1e6),
            ),
            kv("events", "not known: no event log was read".into()),
            kv("users", thousands(d.users)),
        ]
    } else {
        vec![
            kv(
                "files",
                format!("{} ({:.1} MB)", d.files.len(), bytes as f64 / 1e6),
            ),
            kv(
                "events",
                format!(
                    "{} in scope ({} read, {} duplicates)",
                    thousands(d.events),
                    thousands(d.rows_read),
                    thousands(d.duplicates)
                ),
            ),
            kv("users", thousands(d.users)),
            kv("time", format!("{} – {}", day(d.first_ts), day(d.last_ts))),
        ]
    };
    info.extend([
        kv(
            "window",
            format!(
                "lookback {}d, horizon {}d · scope {}",
                d.lookback_days, d.horizon_days, d.scope
            ),
        ),
        kv("train", per_split(Split::Train)),
        kv("val", per_split(Split::Val)),
        kv("test", per_split(Split::Test)),
        kv(
            "purged",
            if d.feature_table {
                "not known (a table holds no purged anchors)".into()
            } else if d.purged.is_empty() {
                "none".into()
            } else {
                d.purged
                    .iter()
                    .map(|a| day(*a))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ),
    ]);
    if wide {
        info.push(Line::raw(""));
        info.push(Line::styled("input files", t.title()));
        for file in &d.files {
            info.push(Line::styled(
                format!("  {} ({:.1} MB)", file.path, file.bytes as f64 / 1e6),
                t.dim(),
            ));
        }
    }
    // Wide: side by side, the data (with its file list) scrolling. Narrower: the data box as
    // tall as its text with the labels scrolling below it, when that leaves the labels room;
    // else (60x16) one text that scrolls as a whole, so nothing is out of reach.
    let data_rows = Paragraph::new(info.clone())
        .wrap(Wrap { trim: false })
        .line_count(area.width.saturating_sub(2)) as u16
        + 2;
    let stacked = !wide && area.height >= data_rows + 8;
    let [left, right] = if wide {
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area)
    } else {
        Layout::vertical([Constraint::Length(data_rows), Constraint::Min(4)]).areas(area)
    };
    let labels_title = " labels: m0 normal · m1 brand switch · m2 dormant ";
    // Bars: per split (m0/m1/m2 shares) then dormant rate per anchor.
    // Borders 2, row label 37, value 7.
    let bw = (if wide || stacked { right } else { area }.width as usize)
        .saturating_sub(46)
        .clamp(8, 60);
    let mut lines = vec![Line::styled(
        format!(
            "{:<6} {:>8} {:>6} {:>6} {:>6}  dormant (m2) rate",
            "split", "rows", "m0", "m1", "m2"
        ),
        t.dim(),
    )];
    for s in [Split::Train, Split::Val, Split::Test] {
        let rows: Vec<&AnchorCounts> = stats.labels.iter().filter(|c| c.split == s).collect();
        let (n, m0, m1, m2) = sum(&rows);
        let pct = |x: u64| {
            if n == 0 {
                "–".to_string()
            } else {
                format!("{:.1}%", 100.0 * x as f64 / n as f64)
            }
        };
        let rate = if n == 0 { 0.0 } else { m2 as f64 / n as f64 };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<6} {:>8} {:>6} {:>6} {:>6}  ",
                s.as_str(),
                thousands(n),
                pct(m0),
                pct(m1),
                pct(m2)
            )),
            Span::styled(bar(rate, bw), t.bad()),
            Span::raw(format!(" {:.1}%", 100.0 * rate)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "{:<11} {:<5} {:>8}  dormant rate per anchor",
            "anchor", "split", "users"
        ),
        t.dim(),
    ));
    for c in &stats.labels {
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<11} {:<5} {:>8}  ",
                day(c.anchor),
                c.split.as_str(),
                thousands(c.rows)
            )),
            Span::styled(bar(c.dormant_rate(), bw), t.bad()),
            Span::raw(format!(" {:.1}%", 100.0 * c.dormant_rate())),
        ]));
    }
    if wide {
        scroll_text(
            f,
            left,
            sh.theme.block().title(" data "),
            info,
            true,
            &labels.scroll,
        );
        f.render_widget(
            Paragraph::new(lines).block(sh.theme.block().title(labels_title)),
            right,
        );
    } else if stacked {
        f.render_widget(
            Paragraph::new(info)
                .wrap(Wrap { trim: false })
                .block(sh.theme.block().title(" data ")),
            left,
        );
        let block = sh.theme.block().title(labels_title);
        scroll_text(f, right, block, lines, false, &labels.scroll);
    } else {
        let mut all = info;
        all.push(Line::raw(""));
        all.push(Line::styled(labels_title.trim(), t.title()));
        all.extend(lines);
        let block = sh.theme.block().title(" data and labels ");
        scroll_text(f, area, block, all, true, &labels.scroll);
    }
}
