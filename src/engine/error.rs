//! One error type for the engine. Input errors carry the file, column and line so a user can find
//! the offending row without reading a backtrace.

use std::fmt;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in the input a problem was found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: Option<PathBuf>,
    pub column: Option<String>,
    /// CSV line, counting the header as line 1.
    pub line: Option<u64>,
    /// Parquet row (0-based), where there are no lines.
    pub row: Option<u64>,
}

impl Location {
    /// The same place, as a whole column (no line or row).
    pub fn without_row(mut self) -> Self {
        self.line = None;
        self.row = None;
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(file.display().to_string());
        }
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(row) = self.row {
            parts.push(format!("row {row}"));
        }
        if let Some(col) = &self.column {
            parts.push(format!("column `{col}`"));
        }
        write!(f, "{}", parts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input data: a missing column, an unknown event type, an unparsable time, ...
    #[error("{loc}: {msg}")]
    Input { loc: Location, msg: String },
    /// A user-supplied setting that cannot work (an ineligible anchor, a bad flag, ...).
    #[error("{0}")]
    Config(String),
    /// A split (train, val or test) with no rows: the anchors tried, or why nobody is in it,
    /// follow in `why`. Its own variant, so a caller can offer the split that would work.
    #[error("the {split} split is empty{why}")]
    EmptySplit { split: String, why: String },
    /// The run was cancelled (by the user, or the UI closing).
    #[error("cancelled")]
    Cancelled,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Polars {
        context: String,
        #[source]
        source: polars::error::PolarsError,
    },
    /// An error with the obvious next step, which the command line shows as a suggestion.
    #[error("{error}")]
    Hinted { error: Box<Error>, hint: String },
}

impl Error {
    pub fn input(loc: Location, msg: impl Into<String>) -> Self {
        Error::Input {
            loc,
            msg: msg.into(),
        }
    }

    pub fn in_file(file: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input {
            loc: Location {
                file: Some(file.into()),
                ..Default::default()
            },
            msg: msg.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The same error with the obvious next step attached.
    pub fn hint(self, hint: impl Into<String>) -> Self {
        Error::Hinted {
            error: Box::new(self),
            hint: hint.into(),
        }
    }

    /// The next step attached to this error, if any.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Error::Hinted { hint, .. } => Some(hint),
            _ => None,
        }
    }

    /// Is this (under any hint) a split with no rows?
    pub fn is_empty_split(&self) -> bool {
        matches!(self.inner(), Error::EmptySplit { .. })
    }

    /// The error without its hint.
    pub fn inner(&self) -> &Error {
        match self {
            Error::Hinted { error, .. } => error.inner(),
            e => e,
        }
    }

    /// The error as a headline and the causes under it, innermost last: what the command
    /// line prints (the Display form says all of it on one line, for the status bar).
    pub fn headline_and_causes(&self) -> (String, Vec<String>) {
        use std::error::Error as _;
        match self.inner() {
            Error::Io { path, source } => (path.display().to_string(), vec![source.to_string()]),
            Error::Polars { context, source } => {
                let mut causes = vec![source.to_string()];
                let mut next = source.source();
                while let Some(c) = next {
                    causes.push(c.to_string());
                    next = c.source();
                }
                (context.clone(), causes)
            }
            e => (e.to_string(), Vec::new()),
        }
    }
}

/// Attach context to polars results.
pub trait PolarsContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PolarsContext<T> for polars::error::PolarsResult<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Polars {
            context: context(),
            source,
        })
    }
}
