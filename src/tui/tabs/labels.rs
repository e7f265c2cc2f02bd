//! Tab 1, Labels: what was read, and m0/m1/m2 and the dormant rate per split and per anchor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::engine::dataset::events_counts;
use crate::engine::features::table::AnchorCounts;
use crate::engine::label::Split;
use crate::engine::time::fmt_anchor;
use crate::tui::shared::Shared;
use crate::tui::widgets::{
    fit_title, scroll_table, scroll_text, waiting, wrap_hanging, wrap_lines,
};

/// The Labels tab's own state: how far its text is scrolled.
pub type Labels = super::Scrolled;

/// The width of the data box's names ("events", "purged"): a long value goes on under the values.
const KEY_W: usize = 10;

/// The rows above the anchors in the labels box: the split table (header and three splits), a
/// blank and the anchors' header.
const HEAD_ROWS: u16 = 6;

/// The narrowest labels box beside the data: the split table's header (55 cells, wider than
/// its rows with a bar of 8) in its borders.
const LABELS_MIN: u16 = 57;

/// How the tab shares its area between the data and the labels.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// The data above the labels, the data's file list too when `files`.
    Stacked { files: bool },
    /// The data on the left, `left` cells wide, the labels on the right.
    Side { left: u16 },
    /// One text, data then labels, scrolled as a whole.
    Scrolled,
}

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
            Span::styled(format!("{k:<KEY_W$}"), t.dim()),
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
            kv("events", events_counts(d.rows_read, d.duplicates, d.events)),
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
    let files: Vec<Line> = [Line::raw(""), Line::styled("input files", t.title())]
        .into_iter()
        .chain(d.files.iter().map(|file| {
            Line::styled(
                format!("  {} ({:.1} MB)", file.path, file.bytes as f64 / 1e6),
                t.dim(),
            )
        }))
        .collect();
    // The data as lines `w` cells wide: a value too long goes on under the values, not under
    // the names; a path under its own indent.
    let data = |w: u16, with_files: bool| -> Vec<Line> {
        let w = w.saturating_sub(2) as usize;
        let mut out: Vec<Line> = info
            .iter()
            .flat_map(|l| wrap_hanging(l, w, KEY_W))
            .collect();
        if with_files {
            out.extend(wrap_lines(files.clone(), w));
        }
        out
    };
    let rows = |lines: &[Line]| lines.len() as u16 + 2;
    // The anchors table's rows: the split table above them and the two headers stay put.
    let labels_rows = stats.labels.len() as u16 + HEAD_ROWS + 2;
    // Stacked, each box as wide as the screen, when both fit whole (the data with its files);
    // side by side from 120 columns when they do not (the data as wide as its lines, so it
    // wraps only when the labels would get too narrow); stacked with the labels scrolling under
    // the data when that leaves the labels room; else (60x16) one text that scrolls as a whole,
    // so nothing is out of reach.
    let layout = if area.height >= rows(&data(area.width, true)) + labels_rows {
        Layout::Stacked { files: true }
    } else if area.width >= 120 {
        let natural = info.iter().map(|l| l.width()).max().unwrap_or(0) as u16 + 2;
        Layout::Side {
            left: natural.clamp(30, area.width.saturating_sub(LABELS_MIN)),
        }
    } else if area.height >= rows(&data(area.width, false)) + 8 {
        Layout::Stacked { files: false }
    } else {
        Layout::Scrolled
    };
    let labels_title = " labels: m0 normal · m1 brand switch · m2 dormant ";
    // Bars: per split (m0/m1/m2 shares) then dormant rate per anchor.
    // Borders 2, row label 37, value 7.
    let box_w = match layout {
        Layout::Side { left } => area.width.saturating_sub(left),
        _ => area.width,
    };
    let bw = (box_w as usize).saturating_sub(46).clamp(8, 60);
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
    let mut body = Vec::new();
    for c in &stats.labels {
        body.push(Line::from(vec![
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
    match layout {
        Layout::Stacked { files } => {
            let data = data(area.width, files);
            let [top, bottom] = ratatui::layout::Layout::vertical([
                Constraint::Length(rows(&data)),
                Constraint::Min(4),
            ])
            .areas(area);
            f.render_widget(
                Paragraph::new(data).block(sh.theme.block().title(" data ")),
                top,
            );
            let block = sh
                .theme
                .block()
                .title(fit_title(labels_title, bottom.width));
            scroll_table(f, bottom, block, lines, body, &labels.scroll);
        }
        Layout::Side { left } => {
            let [l, r] =
                ratatui::layout::Layout::horizontal([Constraint::Length(left), Constraint::Min(0)])
                    .areas(area);
            let data = data(left, true);
            // One scroll for both boxes, as far as the one with more left out goes: the box
            // drawn last sets how far the keys can go.
            let over = |n: usize, room: u16| n as i64 - i64::from(room.saturating_sub(2));
            let data_last =
                over(data.len(), l.height) > over(body.len(), r.height - HEAD_ROWS.min(r.height));
            let labels_box = |f: &mut Frame, lines, body| {
                let block = sh.theme.block().title(fit_title(labels_title, r.width));
                scroll_table(f, r, block, lines, body, &labels.scroll);
            };
            let data_box = |f: &mut Frame, data| {
                scroll_text(
                    f,
                    l,
                    sh.theme.block().title(" data "),
                    data,
                    true,
                    &labels.scroll,
                );
            };
            if data_last {
                labels_box(f, lines, body);
                data_box(f, data);
            } else {
                data_box(f, data);
                labels_box(f, lines, body);
            }
        }
        Layout::Scrolled => {
            let mut all = data(area.width, true);
            all.push(Line::raw(""));
            all.push(Line::styled(labels_title.trim(), t.title()));
            all.extend(lines);
            all.extend(body);
            let block = sh.theme.block().title(" data and labels ");
            scroll_text(f, area, block, all, true, &labels.scroll);
        }
    }
}
