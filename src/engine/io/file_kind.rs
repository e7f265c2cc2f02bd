//! The one place a file name's extension says what a file holds. Every reader and writer asks
//! here, and names the kinds it takes when a path asks for another.

use std::path::Path;

use crate::engine::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Csv,
    CsvGz,
    Parquet,
    Json,
    Xlsx,
    Markdown,
    Sql,
}

/// Longest suffix first, so `.csv.gz` is not taken for `.gz`'s neighbour `.csv`.
const SUFFIXES: [(&str, FileKind); 8] = [
    (".csv.gz", FileKind::CsvGz),
    (".csv", FileKind::Csv),
    (".parquet", FileKind::Parquet),
    (".pq", FileKind::Parquet),
    (".json", FileKind::Json),
    (".xlsx", FileKind::Xlsx),
    (".md", FileKind::Markdown),
    (".sql", FileKind::Sql),
];

impl FileKind {
    /// The kind a path's name asks for (case-insensitive), if any.
    pub fn of(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        SUFFIXES
            .iter()
            .find(|(suffix, _)| name.ends_with(suffix) && name.len() > suffix.len())
            .map(|&(_, kind)| kind)
    }

    /// The usual extension, with its dot.
    pub fn suffix(self) -> &'static str {
        SUFFIXES
            .iter()
            .find(|&&(_, k)| k == self)
            .map_or("", |&(s, _)| s)
    }

    /// The kind of `path` when it is one of `allowed`; else an error naming the file and the
    /// extensions that would do.
    pub fn expect(path: &Path, allowed: &[FileKind], what: &str) -> Result<FileKind> {
        match FileKind::of(path) {
            Some(k) if allowed.contains(&k) => Ok(k),
            _ => {
                let names: Vec<&str> = allowed.iter().map(|k| k.suffix()).collect();
                let list = match names.as_slice() {
                    [] => String::new(),
                    [one] => one.to_string(),
                    [head @ .., last] => format!("{} or {last}", head.join(", ")),
                };
                Err(Error::in_file(
                    path,
                    format!("unknown {what} type: expected {list}"),
                ))
            }
        }
    }

    /// The kind to write at `path` when `--format` may say it: the flag's kind when given, else
    /// the extension's (one of `allowed`). A flag that contradicts a known extension is refused
    /// (`--format csv --out x.parquet` would put CSV under a Parquet name); a name without a
    /// known extension takes the flag's kind.
    pub fn chosen(
        path: &Path,
        flag: Option<FileKind>,
        allowed: &[FileKind],
        what: &str,
    ) -> Result<FileKind> {
        match (flag, FileKind::of(path)) {
            (None, _) => FileKind::expect(path, allowed, what),
            (Some(f), Some(ext)) if ext != f => Err(Error::in_file(
                path,
                format!(
                    "--format asks for {} but the name ends in {}: make them agree",
                    f.suffix(),
                    ext.suffix()
                ),
            )),
            (Some(f), _) if allowed.contains(&f) => Ok(f),
            (Some(f), _) => Err(Error::in_file(
                path,
                format!("cannot write a {what} as {}", f.suffix()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_kinds() {
        let of = |s: &str| FileKind::of(Path::new(s));
        assert_eq!(of("a/b.CSV.GZ"), Some(FileKind::CsvGz));
        assert_eq!(of("b.csv"), Some(FileKind::Csv));
        assert_eq!(of("b.pq"), Some(FileKind::Parquet));
        assert_eq!(of("b.Parquet"), Some(FileKind::Parquet));
        assert_eq!(of("b.xlsx"), Some(FileKind::Xlsx));
        assert_eq!(of("b.gz"), None);
        // A bare extension is no file name with that extension.
        assert_eq!(of(".csv"), None);
        assert_eq!(of("dir/"), None);
        let e = FileKind::expect(
            Path::new("x.json"),
            &[FileKind::Csv, FileKind::CsvGz, FileKind::Parquet],
            "input",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("x.json") && e.contains(".csv, .csv.gz or .parquet"),
            "{e}"
        );
    }
}
