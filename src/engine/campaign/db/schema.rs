//! The campaign tables (campaigns, their targets, their read-outs) in both backends' SQL, made
//! or brought up to date when a database is opened (`open`: connect, then migrate).

use super::mysql::MysqlDb;
use super::sql::{Backend, Sql, Val};
use super::sqlite::SqliteDb;
use super::url::DbUrl;
use crate::engine::{Error, Result};

/// Open the database (creating an SQLite file), without touching its tables.
pub fn connect(url: &DbUrl) -> Result<Box<dyn Sql>> {
    match url {
        DbUrl::Sqlite(p) => Ok(Box::new(SqliteDb::open(p)?)),
        DbUrl::Mysql(u) => Ok(Box::new(MysqlDb::open(u)?)),
    }
}

/// The schema this churn-tui writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

fn tables(backend: Backend) -> [String; 3] {
    let id = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Mysql => "BIGINT PRIMARY KEY AUTO_INCREMENT",
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
    for t in tables(db.backend()) {
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

/// Open a database and bring its tables up to date.
pub fn open(url: &DbUrl) -> Result<Box<dyn Sql>> {
    let mut db = connect(url)?;
    migrate(db.as_mut())?;
    Ok(db)
}
