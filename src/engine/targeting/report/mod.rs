//! The campaign report for a target list, as Markdown (`markdown`) or an Excel workbook (`xlsx`),
//! from the same facts (`facts`); the output's extension chooses.

pub mod facts;
pub mod markdown;
pub mod xlsx;

use std::io::Write as _;
use std::path::Path;

use super::list::ListSpec;
use super::money::Money;
use crate::engine::Result;
use crate::engine::io::atomic::write_atomic;
use crate::engine::run::open::LoadedRun;

pub use markdown::report;

/// The report's file formats, chosen by the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Xlsx,
}

impl ReportFormat {
    /// The format a file name asks for; another extension is refused, naming both.
    pub fn of_path(p: &Path) -> Result<ReportFormat> {
        use crate::engine::io::file_kind::FileKind as K;
        Ok(match K::expect(p, &[K::Markdown, K::Xlsx], "report")? {
            K::Xlsx => ReportFormat::Xlsx,
            _ => ReportFormat::Markdown,
        })
    }
}

/// Build the report for `spec` and write it to `path` in the format its extension asks for.
pub fn write_report_file(
    run: &LoadedRun,
    spec: &ListSpec,
    path: &Path,
    money: &Money,
) -> Result<()> {
    match ReportFormat::of_path(path)? {
        ReportFormat::Markdown => write_report(&report(run, spec, money)?, path),
        ReportFormat::Xlsx => xlsx::write_report_xlsx(run, spec, path, money),
    }
}

/// Write the report, whole or not at all.
pub fn write_report(text: &str, path: &Path) -> Result<()> {
    crate::engine::run::files::guard_output(path, &[])?;
    write_atomic(path, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_format_is_the_extensions_and_others_are_refused() {
        let of = |s: &str| ReportFormat::of_path(Path::new(s));
        assert_eq!(of("r.md").unwrap(), ReportFormat::Markdown);
        assert_eq!(of("a/R.XLSX").unwrap(), ReportFormat::Xlsx);
        for bad in ["r.txt", "r.csv", "report"] {
            let e = of(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains(".md or .xlsx"), "{e}");
        }
    }
}
