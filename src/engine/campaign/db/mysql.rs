//! MySQL / MariaDB, where the seed study kept its data and a CRM can read the campaigns.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Value};

use super::sql::{Backend, Sql, Val};
use super::url::DbUrl;
use crate::engine::{Error, Result};

pub struct MysqlDb {
    conn: Conn,
    /// The URL without its password.
    shown: String,
}

/// How long to wait for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for any answer (the handshake included): a server that accepts the
/// connection and never speaks must not hold the command for a minute.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A row lock held by another writer is waited for less than `READ_TIMEOUT`, so the server's
/// own words (`Lock wait timeout exceeded`) arrive before the socket gives up.
const LOCK_WAIT_SECS: u64 = 8;

/// A network timeout, as opposed to an answer.
fn timed_out(e: &mysql::Error) -> bool {
    use std::error::Error as _;
    let io = match e {
        mysql::Error::IoError(io) => Some(io),
        // A packet read that timed out comes wrapped by the codec.
        mysql::Error::CodecError(c) => c.source().and_then(|s| s.downcast_ref::<std::io::Error>()),
        _ => None,
    };
    io.is_some_and(|io| {
        matches!(
            io.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        )
    })
}

fn no_answer() -> String {
    format!(
        "no answer within {} s (connect timeout {} s, read timeout {} s): is a MySQL or \
         MariaDB server listening there, and reachable?",
        READ_TIMEOUT.as_secs(),
        CONNECT_TIMEOUT.as_secs(),
        READ_TIMEOUT.as_secs()
    )
}

impl MysqlDb {
    pub fn open(url: &str) -> Result<MysqlDb> {
        let shown = DbUrl::Mysql(url.to_string()).redacted();
        let opts = Opts::from_url(url)
            .map_err(|e| Error::Config(format!("--db {shown}: not a usable MySQL URL ({e})")))?;
        if opts.get_db_name().is_none() {
            return Err(Error::Config(format!(
                "--db {shown}: name the database (mysql://user:password@host:port/DATABASE)"
            )));
        }
        let opts = OptsBuilder::from_opts(opts)
            .tcp_connect_timeout(Some(CONNECT_TIMEOUT))
            .read_timeout(Some(READ_TIMEOUT))
            .write_timeout(Some(READ_TIMEOUT));
        let mut conn = Conn::new(opts).map_err(|e| {
            if timed_out(&e) {
                Error::Config(format!("cannot connect to {shown}: {}", no_answer()))
            } else {
                Error::Config(format!("cannot connect to {shown}: {e}"))
            }
        })?;
        // Best effort: a server without InnoDB has no such variable, and waits on its own.
        let _ = conn.query_drop(format!(
            "SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_SECS}"
        ));
        Ok(MysqlDb { conn, shown })
    }

    fn fail(&self, e: mysql::Error) -> Error {
        if timed_out(&e) {
            return Error::Config(format!("{}: {}", self.shown, no_answer()));
        }
        Error::Config(format!("{}: {e}", self.shown))
    }
}

fn params(vals: &[Val]) -> Params {
    if vals.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        vals.iter()
            .map(|v| match v {
                Val::Null => Value::NULL,
                Val::Int(i) => Value::Int(*i),
                Val::Real(r) => Value::Double(*r),
                Val::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
            })
            .collect(),
    )
}

impl Sql for MysqlDb {
    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn exec(&mut self, sql: &str, vals: &[Val]) -> Result<()> {
        // Statements without parameters (DDL, BEGIN, COMMIT) go by the text protocol: not every
        // server prepares them.
        let r = if vals.is_empty() {
            self.conn.query_drop(sql)
        } else {
            self.conn.exec_drop(sql, params(vals))
        };
        r.map_err(|e| self.fail(e))
    }

    fn query(&mut self, sql: &str, vals: &[Val]) -> Result<Vec<Vec<Val>>> {
        // The binary protocol returns typed values (the text protocol gives every value as text).
        let rows: Vec<mysql::Row> = self
            .conn
            .exec(sql, params(vals))
            .map_err(|e| self.fail(e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        Value::NULL => Val::Null,
                        Value::Int(i) => Val::Int(i),
                        Value::UInt(u) => i64::try_from(u).map_or(Val::Real(u as f64), Val::Int),
                        Value::Float(f) => Val::Real(f as f64),
                        Value::Double(d) => Val::Real(d),
                        Value::Bytes(b) => Val::Text(String::from_utf8_lossy(&b).into_owned()),
                        other => Val::Text(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect())
    }
}
