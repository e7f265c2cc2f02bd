//! Where campaigns live: one small SQL interface with two engines behind it, an embedded SQLite
//! file (the default) and MySQL / MariaDB (the seed study's database). Everything the campaign
//! code says to a database goes through [`Sql`], in SQL both engines read the same way (`?`
//! placeholders, multi-row VALUES, BEGIN/COMMIT), so there is one code path for both.

use std::path::PathBuf;

use crate::engine::{Error, Result};

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
pub enum Engine {
    Sqlite,
    Mysql,
}

/// The operations the campaign code needs of a database.
pub trait Sql {
    fn engine(&self) -> Engine;
    /// Where it is, for messages (never with a password).
    fn describe(&self) -> String;
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<()>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>>;
    /// The database's own file, which no export may replace (SQLite's).
    fn file(&self) -> Option<PathBuf> {
        None
    }
}

/// Where the campaigns are: `mysql://user:password@host:port/db` (or `mariadb://…`), or an
/// SQLite file (`sqlite:PATH`, `sqlite://PATH` or a plain path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Mysql(String),
}

impl DbUrl {
    pub fn parse(s: &str) -> Result<DbUrl> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::Config("--db is empty".into()));
        }
        if let Some(rest) = s.strip_prefix("mariadb://") {
            return Ok(DbUrl::Mysql(format!("mysql://{rest}")));
        }
        if s.starts_with("mysql://") {
            return Ok(DbUrl::Mysql(s.to_string()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .unwrap_or(s);
        if path.contains("://") {
            return Err(Error::Config(format!(
                "--db {s}: not a database this churn-tui knows (sqlite:PATH, a file path, or \
                 mysql://user:password@host:port/database)"
            )));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }

    /// Make the folder of a new SQLite file (nothing for MySQL): the runs' folder holds the
    /// default database and is made on first use, like the runs.
    pub fn make_folder(&self) -> Result<()> {
        if let DbUrl::Sqlite(p) = self
            && let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Sqlite(p) => p.display().to_string(),
            DbUrl::Mysql(u) => redact(u),
        }
    }
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Open the database (creating an SQLite file), without touching its tables.
pub fn connect(url: &DbUrl) -> Result<Box<dyn Sql>> {
    match url {
        DbUrl::Sqlite(p) => Ok(Box::new(super::sqlite::SqliteDb::open(p)?)),
        DbUrl::Mysql(u) => Ok(Box::new(super::mysql::MysqlDb::open(u)?)),
    }
}

/// The schema this churn-tui writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

fn tables(engine: Engine) -> [String; 3] {
    let id = match engine {
        Engine::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Engine::Mysql => "BIGINT PRIMARY KEY AUTO_INCREMENT",
    };
    [
        format!(
            "CREATE TABLE IF NOT EXISTS campaigns (
                id {id},
                name VARCHAR(200) NOT NULL UNIQUE,
                created_at VARCHAR(20) NOT NULL,
                run_id VARCHAR(200) NOT NULL,
                model VARCHAR(100) NOT NULL,
                anchor VARCHAR(20) NOT NULL,
                k_bp INTEGER NOT NULL,
                holdout_bp INTEGER NOT NULL,
                seed BIGINT NOT NULL,
                horizon_days INTEGER NOT NULL,
                scope TEXT NOT NULL,
                run_dir TEXT NOT NULL
            )"
        ),
        "CREATE TABLE IF NOT EXISTS campaign_targets (
            campaign_id BIGINT NOT NULL,
            user_id BIGINT NOT NULL,
            `rank` INTEGER NOT NULL,
            score DOUBLE NOT NULL,
            tier VARCHAR(100) NOT NULL,
            offer VARCHAR(200) NOT NULL,
            grp VARCHAR(10) NOT NULL,
            reasons TEXT NOT NULL,
            edited INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, user_id)
        )"
        .to_string(),
        "CREATE TABLE IF NOT EXISTS campaign_readouts (
            campaign_id BIGINT NOT NULL,
            tier VARCHAR(100) NOT NULL,
            n_treatment INTEGER NOT NULL,
            n_control INTEGER NOT NULL,
            dormant_treatment INTEGER NOT NULL,
            dormant_control INTEGER NOT NULL,
            uplift DOUBLE,
            ci_low DOUBLE,
            ci_high DOUBLE,
            data_end VARCHAR(20) NOT NULL,
            read_at VARCHAR(20) NOT NULL,
            PRIMARY KEY (campaign_id, tier)
        )"
        .to_string(),
    ]
}

/// Create the tables on first use and check the schema version: a database written by a newer
/// churn-tui is refused before anything is read or written.
pub fn migrate(db: &mut dyn Sql) -> Result<()> {
    db.exec(
        "CREATE TABLE IF NOT EXISTS churn_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
        &[],
    )?;
    let version = |db: &mut dyn Sql| -> Result<Option<i64>> {
        Ok(db
            .query("SELECT version FROM churn_schema WHERE id = 1", &[])?
            .first()
            .and_then(|r| r.first())
            .and_then(Val::int))
    };
    match version(db)? {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(Error::Config(format!(
                "{}: the campaign tables have schema version {v}, written by a newer churn-tui; \
                 this one ({}) knows version {SCHEMA_VERSION} and leaves them alone",
                db.describe(),
                env!("CARGO_PKG_VERSION")
            )));
        }
        Some(v) if v < 1 => {
            return Err(Error::Config(format!(
                "{}: churn_schema holds version {v}, which no churn-tui wrote",
                db.describe()
            )));
        }
        _ => {}
    }
    for t in tables(db.engine()) {
        db.exec(&t, &[])?;
    }
    if version(db)?.is_none() {
        // Two first uses at once: one insert wins, the other's fails on the key; both then
        // read version 1.
        let _ = db.exec(
            "INSERT INTO churn_schema (id, version) VALUES (1, ?)",
            &[Val::Int(SCHEMA_VERSION)],
        );
        if version(db)?.is_none() {
            return Err(Error::Config(format!(
                "{}: could not record the schema version",
                db.describe()
            )));
        }
    }
    Ok(())
}

/// Run `f` in one transaction: committed when it returns Ok, rolled back otherwise (and by the
/// engine itself when the process dies half-way).
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
/// either engine's limit on bound variables.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_apart_and_passwords_never_shown() {
        assert_eq!(
            DbUrl::parse("sqlite:a/b.db").unwrap(),
            DbUrl::Sqlite("a/b.db".into())
        );
        assert_eq!(
            DbUrl::parse("camp.db").unwrap(),
            DbUrl::Sqlite("camp.db".into())
        );
        let m = DbUrl::parse("mariadb://u:secret@127.0.0.1:3306/crm").unwrap();
        assert_eq!(
            m,
            DbUrl::Mysql("mysql://u:secret@127.0.0.1:3306/crm".into())
        );
        assert_eq!(m.redacted(), "mysql://u:***@127.0.0.1:3306/crm");
        assert!(DbUrl::parse("postgres://x/y").is_err());
        assert!(DbUrl::parse(" ").is_err());
    }
}
