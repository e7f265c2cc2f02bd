//! The embedded engine: one SQLite file, the default home of campaigns.

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, ToSql};

use super::store::{Engine, Sql, Val};
use crate::engine::{Error, Result};

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
        if path.is_dir() {
            return Err(Error::in_file(
                path,
                "is a directory, not a campaign database",
            ));
        }
        let conn = Connection::open(path).map_err(|e| fail(path, e))?;
        // Another process writing (a second `campaign create`): wait for it, up to a point.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| fail(path, e))?;
        Ok(SqliteDb {
            conn,
            path: path.to_path_buf(),
        })
    }
}

fn fail(path: &Path, e: rusqlite::Error) -> Error {
    Error::in_file(path, format!("SQLite: {e}"))
}

impl Sql for SqliteDb {
    fn engine(&self) -> Engine {
        Engine::Sqlite
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
