//! Input files: `--data` arguments (paths or globs) resolved to a sorted list of files.

use crate::engine::io::file_kind::FileKind;
use std::path::{Path, PathBuf};

use crate::engine::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    /// The extension, with its dot.
    pub fn suffix(self) -> &'static str {
        let kind = match self {
            Format::Csv => FileKind::Csv,
            Format::CsvGz => FileKind::CsvGz,
            Format::Parquet => FileKind::Parquet,
        };
        kind.suffix()
    }

    pub fn of(path: &Path) -> Option<Format> {
        match FileKind::of(path)? {
            FileKind::CsvGz => Some(Format::CsvGz),
            FileKind::Csv => Some(Format::Csv),
            FileKind::Parquet => Some(Format::Parquet),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    pub size: u64,
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The first directory on `p`'s way that is a directory seen higher up the same path (a
/// symbolic link back to an ancestor, `**` went round it), as (the link, where it leads).
fn loop_on(
    p: &Path,
    canon: &mut std::collections::HashMap<PathBuf, Option<PathBuf>>,
) -> Option<(PathBuf, PathBuf)> {
    let mut seen: Vec<PathBuf> = Vec::new();
    for prefix in p.ancestors().collect::<Vec<_>>().into_iter().rev().skip(1) {
        if prefix == p {
            break;
        }
        let real = canon
            .entry(prefix.to_path_buf())
            .or_insert_with(|| std::fs::canonicalize(prefix).ok())
            .clone()?;
        if seen.contains(&real) {
            return Some((prefix.to_path_buf(), real));
        }
        seen.push(real);
    }
    None
}

/// Resolve paths and globs into files; a glob that matches nothing, a missing file or an
/// unknown extension is an error. The same file named twice (by another path, a link, or a
/// glob that reaches it twice) is read once; a `**` glob that runs into a symbolic-link loop
/// is refused, naming the link, before it can walk round it.
pub fn resolve(inputs: &[String]) -> Result<Vec<InputFile>> {
    if inputs.is_empty() {
        return Err(Error::Config("no input files given".into()));
    }
    let mut canon: std::collections::HashMap<PathBuf, Option<PathBuf>> = Default::default();
    let mut paths: Vec<PathBuf> = Vec::new();
    for input in inputs {
        // A file whose name has `[` or `*` is that file, not a pattern.
        if is_glob(input) && !Path::new(input).is_file() {
            let pattern = glob::glob(input).map_err(|e| {
                Error::Config(format!(
                    "bad glob pattern `{}`: {e}",
                    crate::engine::text::clip(input, 200)
                ))
            })?;
            let deep = input.contains("**");
            let mut matched: Vec<PathBuf> = Vec::new();
            for p in pattern.filter_map(|p| p.ok()) {
                if deep && let Some((link, to)) = loop_on(&p, &mut canon) {
                    return Err(Error::Config(format!(
                        "the glob `{}` runs into a symbolic-link loop: {} leads back to {}",
                        crate::engine::text::clip(input, 200),
                        crate::engine::text::printable(&link.to_string_lossy()),
                        crate::engine::text::printable(&to.to_string_lossy()),
                    ))
                    .hint(
                        "remove the link, or name the files with a glob without `**`".to_string(),
                    ));
                }
                if p.is_file() {
                    matched.push(p);
                }
            }
            if matched.is_empty() {
                return Err(Error::Config(format!(
                    "no file matches `{}`",
                    crate::engine::text::clip(input, 200)
                ))
                .hint(format!(
                    "the glob tried was `{}`; check its directory, and quote a glob so the \
                     shell passes it whole (--data 'data/*.csv.gz')",
                    crate::engine::text::clip(
                        &std::path::absolute(input)
                            .map_or_else(|_| input.clone(), |p| p.display().to_string()),
                        200
                    )
                )));
            }
            matched.sort();
            paths.extend(matched);
        } else {
            paths.push(PathBuf::from(input));
        }
    }
    let mut files = Vec::with_capacity(paths.len());
    // Each real file once: keyed by its canonical path (a set, so 100k files stay linear).
    let mut seen: std::collections::HashSet<PathBuf> = Default::default();
    for path in paths {
        if let Ok(real) = std::fs::canonicalize(&path)
            && !seen.insert(real)
        {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| {
            let missing = e.kind() == std::io::ErrorKind::NotFound;
            let err = Error::io(&path, e);
            if missing {
                err.hint(format!(
                    "the path tried was {}; several files can be read with a glob \
                     (--data 'data/*.csv.gz')",
                    std::path::absolute(&path)
                        .unwrap_or_else(|_| path.clone())
                        .display()
                ))
            } else {
                err
            }
        })?;
        if !meta.is_file() {
            return Err(Error::in_file(&path, "not a file"));
        }
        let format = Format::of(&path).ok_or_else(|| {
            Error::in_file(
                &path,
                "unknown file type: expected .csv, .csv.gz or .parquet",
            )
        })?;
        files.push(InputFile {
            path,
            format,
            size: meta.len(),
        });
    }
    Ok(files)
}
