//! Exports of the target list (SPEC §5 columns: rank, user_id, anchor, score, tier, offer,
//! reasons, edited) as CSV, JSON, Parquet or XLSX, each written whole or not at all.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use rust_xlsxwriter::{Color, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::list::TargetRow;
use super::tiers::TierRule;
use crate::engine::features::columns::anchor_dtype;
use crate::engine::io::atomic::write_atomic;
use crate::engine::io::csv_out::{self, Fields};
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

pub const COLUMNS: [&str; 8] = [
    "rank", "user_id", "anchor", "score", "tier", "offer", "reasons", "edited",
];
/// The column a list ranked by uplift adds after `COLUMNS` (SPEC §7a.3).
pub const UPLIFT_COLUMN: &str = "uplift";

/// Whether the list was ranked by uplift: its rows carry the predicted uplift.
fn has_uplift(rows: &[TargetRow]) -> bool {
    rows.iter().any(|r| r.uplift.is_some())
}

/// Reasons share one cell in CSV, Parquet and XLSX, joined by this.
pub const REASON_SEP: &str = " | ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    Parquet,
    Xlsx,
}

impl ExportFormat {
    /// The format a file name asks for.
    pub fn of_path(p: &Path) -> Result<ExportFormat> {
        use crate::engine::io::file_kind::FileKind as K;
        Ok(
            match K::expect(p, &[K::Csv, K::Json, K::Parquet, K::Xlsx], "export")? {
                K::Json => ExportFormat::Json,
                K::Parquet => ExportFormat::Parquet,
                K::Xlsx => ExportFormat::Xlsx,
                _ => ExportFormat::Csv,
            },
        )
    }

    /// The format for `p`: `flag` (--format) when given, which must agree with a known
    /// extension, else the extension's.
    pub fn for_path(p: &Path, flag: Option<ExportFormat>) -> Result<ExportFormat> {
        use crate::engine::io::file_kind::FileKind as K;
        let kind = |f: ExportFormat| match f {
            ExportFormat::Csv => K::Csv,
            ExportFormat::Json => K::Json,
            ExportFormat::Parquet => K::Parquet,
            ExportFormat::Xlsx => K::Xlsx,
        };
        let allowed = [K::Csv, K::Json, K::Parquet, K::Xlsx];
        K::chosen(p, flag.map(kind), &allowed, "export")?;
        match flag {
            Some(f) => Ok(f),
            None => ExportFormat::of_path(p),
        }
    }
}

/// The CSV export, and so the coupon file of `campaign create`: a spreadsheet opens it, so text
/// cells are quoted and those it would run as a formula neutralised (SPEC §5); numbers stay
/// numbers.
fn write_csv(rows: &[TargetRow], path: &Path) -> Result<()> {
    use csv_out::text_cell;
    write_atomic(path, |w| {
        let mut out = csv_out::sheet_writer(w);
        let (mut a, mut b, mut c) = (Fields::default(), Fields::default(), Fields::default());
        let io = csv_out::io;
        let uplift = has_uplift(rows);
        let mut head: Vec<&str> = COLUMNS.to_vec();
        if uplift {
            head.push(UPLIFT_COLUMN);
        }
        out.write_record(&head).map_err(io)?;
        let mut d = Fields::default();
        for r in rows {
            let reasons = r.reasons.join(REASON_SEP);
            let (anchor, tier, offer) = (
                fmt_anchor(r.anchor),
                text_cell(&r.tier),
                text_cell(&r.offer),
            );
            let reasons = text_cell(&reasons);
            let mut row: Vec<&str> = vec![
                a.show(r.rank),
                b.show(r.user_id),
                &anchor,
                c.show(r.score),
                &tier,
                &offer,
                &reasons,
                if r.edited { "true" } else { "false" },
            ];
            if uplift {
                row.push(r.uplift.map_or("", |u| d.show(u)));
            }
            out.write_record(&row).map_err(io)?;
        }
        out.flush()
    })
}

fn write_json(rows: &[TargetRow], path: &Path) -> Result<()> {
    let v: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({
                "rank": r.rank, "user_id": r.user_id, "anchor": fmt_anchor(r.anchor),
                "score": r.score, "tier": r.tier, "offer": r.offer, "reasons": r.reasons,
                "edited": r.edited,
            });
            if let (Some(u), Some(o)) = (r.uplift, v.as_object_mut()) {
                o.insert(UPLIFT_COLUMN.into(), serde_json::json!(u));
            }
            v
        })
        .collect();
    let text = serde_json::to_string_pretty(&v).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")
    })
}

fn frame(rows: &[TargetRow]) -> Result<DataFrame> {
    let c = |e: PolarsError| Error::Polars {
        context: "building the export".into(),
        source: e,
    };
    let anchor = Series::new(
        "anchor".into(),
        rows.iter().map(|r| r.anchor).collect::<Vec<i64>>(),
    )
    .cast(&anchor_dtype())
    .map_err(c)?;
    let mut columns = vec![
        Column::new(
            "rank".into(),
            rows.iter().map(|r| r.rank as i64).collect::<Vec<_>>(),
        ),
        Column::new(
            "user_id".into(),
            rows.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        ),
        anchor.into(),
        Column::new(
            "score".into(),
            rows.iter().map(|r| r.score).collect::<Vec<_>>(),
        ),
        Column::new(
            "tier".into(),
            rows.iter().map(|r| r.tier.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "offer".into(),
            rows.iter().map(|r| r.offer.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "reasons".into(),
            rows.iter()
                .map(|r| r.reasons.join(REASON_SEP))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "edited".into(),
            rows.iter().map(|r| r.edited).collect::<Vec<_>>(),
        ),
    ];
    if has_uplift(rows) {
        columns.push(Column::new(
            UPLIFT_COLUMN.into(),
            rows.iter().map(|r| r.uplift).collect::<Vec<Option<f64>>>(),
        ));
    }
    DataFrame::new(rows.len(), columns).map_err(c)
}

fn write_parquet(rows: &[TargetRow], path: &Path) -> Result<()> {
    crate::engine::io::atomic::write_parquet(&mut frame(rows)?, path)
}

/// Row fills per tier, most urgent first (light, so black text stays readable in print).
const TIER_FILLS: [u32; 4] = [0xF8CBAD, 0xFFE699, 0xDDEBF7, 0xE2EFDA];

/// The header row's look, shared with the report's sheets.
pub(super) fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(Color::RGB(0x1F4E78))
        .set_border_bottom(FormatBorder::Thin)
}

/// The target list on `ws`: a header row of `COLUMNS`, then one row per target, filled by tier.
/// The report's Targets sheet is this same sheet.
pub(super) fn targets_sheet(
    ws: &mut Worksheet,
    rows: &[TargetRow],
    tiers: &TierRule,
) -> std::result::Result<(), XlsxError> {
    let head = header_format();
    let uplift = has_uplift(rows);
    for (c, name) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, &head)?;
    }
    if uplift {
        ws.write_string_with_format(0, COLUMNS.len() as u16, UPLIFT_COLUMN, &head)?;
        ws.set_column_width(COLUMNS.len() as u16, 9.0)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (c, w) in [6.0, 12.0, 24.0, 9.0, 11.0, 28.0, 90.0, 7.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w)?;
    }
    let plain = Format::new();
    let fills: Vec<Format> = TIER_FILLS
        .iter()
        .map(|&rgb| Format::new().set_background_color(Color::RGB(rgb)))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        let f = tiers
            .tiers
            .iter()
            .position(|t| t.name == r.tier)
            .and_then(|t| fills.get(t))
            .unwrap_or(&plain);
        let score = f.clone().set_num_format("0.0000");
        ws.write_number_with_format(row, 0, r.rank as f64, f)?;
        ws.write_number_with_format(row, 1, r.user_id as f64, &f.clone().set_num_format("0"))?;
        // The anchor as a date a spreadsheet can sort and filter by (Excel has no zones: the
        // format says UTC); text only where Excel has no date (before 1900).
        match ExcelDateTime::from_timestamp(r.anchor.div_euclid(1_000_000)) {
            Ok(t) => ws.write_datetime_with_format(
                row,
                2,
                &t,
                &f.clone().set_num_format("yyyy-mm-dd hh:mm:ss \"UTC\""),
            )?,
            Err(_) => ws.write_string_with_format(row, 2, fmt_anchor(r.anchor), f)?,
        };
        ws.write_number_with_format(row, 3, r.score, &score)?;
        ws.write_string_with_format(row, 4, &r.tier, f)?;
        ws.write_string_with_format(row, 5, &r.offer, f)?;
        ws.write_string_with_format(row, 6, r.reasons.join(REASON_SEP), f)?;
        ws.write_boolean_with_format(row, 7, r.edited, f)?;
        if let Some(u) = r.uplift {
            ws.write_number_with_format(row, COLUMNS.len() as u16, u, &score)?;
        }
    }
    Ok(())
}

fn xlsx_bytes(rows: &[TargetRow], tiers: &TierRule) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("targets")?;
    targets_sheet(ws, rows, tiers)?;
    book.save_to_buffer()
}

/// Build a workbook in memory, then write it whole or not at all; `build`'s errors name `path`.
pub(super) fn write_workbook(
    path: &Path,
    build: impl FnOnce() -> std::result::Result<Vec<u8>, XlsxError>,
) -> Result<()> {
    let bytes = build().map_err(|e| {
        Error::Config(format!(
            "{}: cannot build the workbook: {e}",
            path.display()
        ))
    })?;
    write_atomic(path, |w| w.write_all(&bytes))
}

fn write_xlsx(rows: &[TargetRow], tiers: &TierRule, path: &Path) -> Result<()> {
    write_workbook(path, || xlsx_bytes(rows, tiers))
}

/// Write `rows` to `path` in `format`.
pub fn export(
    rows: &[TargetRow],
    tiers: &TierRule,
    format: ExportFormat,
    path: &Path,
) -> Result<()> {
    crate::engine::run::files::guard_output(path, &[])?;
    match format {
        ExportFormat::Csv => write_csv(rows, path),
        ExportFormat::Json => write_json(rows, path),
        ExportFormat::Parquet => write_parquet(rows, path),
        ExportFormat::Xlsx => write_xlsx(rows, tiers, path),
    }
}
