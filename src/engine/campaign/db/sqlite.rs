//! The embedded backend: one SQLite file, the default home of campaigns.

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, ToSql};

use super::sql::{Backend, Sql, Val};
use crate::engine::{Error, Result};

/// How long to wait for another process's write (a second `campaign create`).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct SqliteDb {
    conn: Connection,
    path: PathBuf,
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(match self {
            Val::Null => SqlValue::Null,
            Val::Int(i) => SqlValue::Integer(*i),
            Val::Real(r) => SqlValue::Real(*r),
            Val::Text(s) => SqlValue::Text(s.clone()),
        }))
    }
}

impl SqliteDb {
    pub fn open(path: &Path) -> Result<SqliteDb> {
        // A FIFO, device or socket would read as `disk I/O error` (or block): say what it is.
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(Error::in_file(
                    path,
                    "is a directory, not a campaign database",
                ));
            }
            Ok(m) if !m.is_file() => {
                return Err(Error::in_file(
                    path,
                    format!(
                        "is {}, not a campaign database (an SQLite file)",
                        kind_of(&m)
                    ),
                ));
            }
            _ => {}
        }
        let conn = Connection::open(path).map_err(|e| fail(path, e))?;
        // Another process writing (a second `campaign create`): wait for it, up to a point.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail(path, e))?;
        Ok(SqliteDb {
            conn,
            path: path.to_path_buf(),
        })
    }
}

/// What a path that is not a regular file is, in words.
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = m;
    "not a regular file"
}

fn fail(path: &Path, e: rusqlite::Error) -> Error {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
        return Error::in_file(
            path,
            format!(
                "SQLite: the database is locked by another process (waited {} s)",
                BUSY_TIMEOUT.as_secs()
            ),
        );
    }
    Error::in_file(path, format!("SQLite: {e}"))
}

impl Sql for SqliteDb {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn file(&self) -> Option<PathBuf> {
        Some(self.path.clone())
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<()> {
        if params.is_empty() {
            return self
                .conn
                .execute_batch(sql)
                .map_err(|e| fail(&self.path, e));
        }
        self.conn
            .execute(sql, rusqlite::params_from_iter(params))
            .map(|_| ())
            .map_err(|e| fail(&self.path, e))
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        let path = self.path.clone();
        let mut stmt = self.conn.prepare(sql).map_err(|e| fail(&path, e))?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |row| {
                (0..n)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => Val::Null,
                            ValueRef::Integer(v) => Val::Int(v),
                            ValueRef::Real(v) => Val::Real(v),
                            ValueRef::Text(t) | ValueRef::Blob(t) => {
                                Val::Text(String::from_utf8_lossy(t).into_owned())
                            }
                        })
                    })
                    .collect::<rusqlite::Result<Vec<Val>>>()
            })
            .map_err(|e| fail(&path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| fail(&path, e))
    }
}
