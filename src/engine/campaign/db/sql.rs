//! What the campaign code says to a database: one small SQL interface with two backends behind it, an embedded SQLite
//! file (the default) and MySQL / MariaDB (the seed study's database). Everything the campaign
//! code says to a database goes through [`Sql`], in SQL both engines read the same way (`?`
//! placeholders, multi-row VALUES, BEGIN/COMMIT), so there is one code path for both.

use std::path::PathBuf;

use crate::engine::Result;

/// A value crossing the interface. Both engines give integers as i64 and reals as f64 back
/// exactly as they were written.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Val {
    pub fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn real(&self) -> Option<f64> {
        match self {
            Val::Real(r) => Some(*r),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub fn text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        if v.is_finite() {
            Val::Real(v)
        } else {
            Val::Null
        }
    }
}
impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Val {
        v.map_or(Val::Null, Val::from)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
}

/// The operations the campaign code needs of a database.
pub trait Sql {
    fn backend(&self) -> Backend;
    /// Where it is, for messages (never with a password).
    fn describe(&self) -> String;
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<()>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>>;
    /// The database's own file, which no export may replace (SQLite's).
    fn file(&self) -> Option<PathBuf> {
        None
    }
}

/// Run `f` in one transaction: committed when it returns Ok, rolled back otherwise (and by the
/// database itself when the process dies half-way).
pub fn transaction<T>(db: &mut dyn Sql, f: impl FnOnce(&mut dyn Sql) -> Result<T>) -> Result<T> {
    db.exec("BEGIN", &[])?;
    match f(db) {
        Ok(v) => match db.exec("COMMIT", &[]) {
            Ok(()) => Ok(v),
            Err(e) => {
                // SQLite keeps the transaction open after a busy COMMIT: end it, or this
                // connection (the workbench's) would hold it and its locks.
                let _ = db.exec("ROLLBACK", &[]);
                Err(e)
            }
        },
        Err(e) => {
            let _ = db.exec("ROLLBACK", &[]);
            Err(e)
        }
    }
}

/// `INSERT INTO table (cols) VALUES (?,…),(?,…)…` for `rows` rows, in batches small enough for
/// either backend's limit on bound variables.
pub fn insert_rows(db: &mut dyn Sql, table: &str, cols: &[&str], rows: &[Vec<Val>]) -> Result<()> {
    let per = (2000 / cols.len()).max(1);
    let one = format!("({})", vec!["?"; cols.len()].join(","));
    for chunk in rows.chunks(per) {
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            cols.join(","),
            vec![one.as_str(); chunk.len()].join(",")
        );
        let params: Vec<Val> = chunk.iter().flatten().cloned().collect();
        db.exec(&sql, &params)?;
    }
    Ok(())
}
