//! Where the campaigns are (`--db`): an SQLite file or a MySQL / MariaDB URL, parsed, shown with
//! any password hidden.

use std::path::PathBuf;

use crate::engine::{Error, Result};

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
