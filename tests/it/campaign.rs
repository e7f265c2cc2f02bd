//! Campaign storage (SPEC §7): SQLite and MariaDB store the same rows and read-out; creates
//! at once wait for each other; a failed or locked COMMIT leaves an existing coupon file as it
//! was; a silent server, a FIFO or a device as the database are clear errors; the workbench and
//! the commands share one default database. (Named `campaign.rs`, not after its subject:
//! `.ci/run` selects `campaign::mariadb` to run the MariaDB test against a real server.)

use std::path::PathBuf;
use std::process::Command as StdCommand;

use churn_tui::engine::campaign::create::create;
use churn_tui::engine::campaign::db::{DbUrl, Sql, Val};
use churn_tui::engine::campaign::readout::read_out;
use churn_tui::engine::campaign::{self, find};
use churn_tui::engine::targeting::tiers::TierRule;

use crate::common::campaign::*;
use crate::common::{bin_no_color, exe, fixture_log, fixture_run, run_err, run_ok};

/// The URL of a MariaDB server to test against (`.ci/run` starts one).
fn mysql_url() -> String {
    std::env::var("CHURN_TEST_MYSQL_URL")
        .expect("CHURN_TEST_MYSQL_URL: mysql://user:password@127.0.0.1:port/database")
}

fn rows_of(db: &mut dyn Sql, sql: &str) -> Vec<Vec<Val>> {
    db.query(sql, &[]).unwrap()
}

#[test]
#[ignore = "needs a MariaDB server (CHURN_TEST_MYSQL_URL); .ci/run starts one and runs this"]
fn mariadb_stores_the_same_rows_and_readout_as_sqlite() {
    let url = mysql_url();
    let mut my =
        churn_tui::engine::campaign::db::schema::connect(&DbUrl::parse(&url).unwrap()).unwrap();
    for t in [
        "campaign_readouts",
        "campaign_targets",
        "campaigns",
        "churn_schema",
    ] {
        my.exec(&format!("DROP TABLE IF EXISTS {t}"), &[]).unwrap();
    }
    drop(my);
    let d = tempfile::tempdir().unwrap();
    let mut lite = sqlite(d.path());
    let mut my = campaign::db::open(&DbUrl::parse(&url).unwrap()).unwrap();
    // A row lock is waited for less than the 10 s read timeout, so the server's own error
    // arrives first.
    let wait = my
        .query("SELECT @@SESSION.innodb_lock_wait_timeout", &[])
        .unwrap();
    assert_eq!(wait[0][0].real(), Some(8.0), "{wait:?}");
    let (tiers, ph) = (TierRule::default(), phrases());
    for db in [&mut lite, &mut my] {
        let mut none = |_: usize| {};
        let mut req = request(&tiers, &ph, &mut none);
        req.name = Some("same".into());
        req.holdout_bp = 2500;
        create(db.as_mut(), &mut req).unwrap();
        let c = find(db.as_mut(), "same").unwrap();
        read_out(db.as_mut(), &c, &[fixture_log().display().to_string()]).unwrap();
    }
    for sql in [
        "SELECT id, name, run_id, model, anchor, k_bp, holdout_bp, seed, horizon_days, scope, \
         run_dir FROM campaigns ORDER BY id",
        "SELECT campaign_id, user_id, `rank`, score, tier, offer, grp, reasons, edited FROM \
         campaign_targets ORDER BY campaign_id, user_id",
        "SELECT campaign_id, tier, n_treatment, n_control, dormant_treatment, dormant_control, \
         uplift, ci_low, ci_high, data_end FROM campaign_readouts ORDER BY campaign_id, tier",
    ] {
        // Sorted here: the engines' default collations order `all` and `Warning` differently.
        let sorted = |mut v: Vec<Vec<Val>>| {
            v.sort_by_key(|r| format!("{r:?}"));
            v
        };
        let (a, b) = (
            sorted(rows_of(lite.as_mut(), sql)),
            sorted(rows_of(my.as_mut(), sql)),
        );
        assert!(!a.is_empty(), "{sql}");
        assert_eq!(a, b, "{sql}");
    }
    // A second create with the same name is refused by MariaDB too, and a wrong password is a
    // clear error.
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.name = Some("same".into());
    let e = create(my.as_mut(), &mut req).unwrap_err().to_string();
    assert!(e.contains("already"), "{e}");
    let wrong = url.replacen(":churn-pw@", ":wrong@", 1);
    let e = campaign::db::open(&DbUrl::parse(&wrong).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("cannot connect") && e.contains("Access denied") && !e.contains("wrong@"),
        "{e}"
    );
}

/// Two processes creating campaigns in one SQLite file at once: both of different names are
/// stored whole; of two with the same name, exactly one is.
#[test]
fn two_creates_at_once_wait_for_each_other() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    let spawn = |name: &str| {
        StdCommand::new(exe())
            .args([
                "campaign", "create", "--run", &run, "--db", &db, "--name", name,
            ])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("left"));
        let b = s.spawn(|| spawn("right"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (c, d2) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("same"));
        let b = s.spawn(|| spawn("same"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(
        [c.status.success(), d2.status.success()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        1,
        "{}\n{}",
        String::from_utf8_lossy(&c.stderr),
        String::from_utf8_lossy(&d2.stderr)
    );
    let mut conn = sqlite(d.path());
    assert_eq!(count(conn.as_mut(), "campaigns"), 3);
    // Every campaign has all its rows: the same list three times.
    let per = conn
        .query(
            "SELECT campaign_id, COUNT(*) FROM campaign_targets GROUP BY campaign_id",
            &[],
        )
        .unwrap();
    assert_eq!(per.len(), 3);
    assert!(per.windows(2).all(|w| w[0][1] == w[1][1]), "{per:?}");
}

/// Issue 29 item 5: the workbench and `campaign …` default to one database, named in each help.
#[test]
fn the_workbench_and_campaign_commands_share_one_default_database() {
    use churn_tui::cli::args::CampaignCommand;
    use churn_tui::cli::{Cli, Command};
    use clap::Parser;
    const DB: &str = "artifacts/campaigns.db";
    let cli = Cli::try_parse_from(["churn-tui", "--out", "elsewhere"]).unwrap();
    assert_eq!(cli.tui.db, DB, "whatever --out says");
    match Cli::try_parse_from(["churn-tui", "tui", "--out", "elsewhere"])
        .unwrap()
        .command
    {
        Some(Command::Tui(t)) => assert_eq!(t.db, DB),
        other => panic!("{other:?}"),
    }
    match Cli::try_parse_from(["churn-tui", "campaign", "list"])
        .unwrap()
        .command
    {
        Some(Command::Campaign(CampaignCommand::List(a))) => assert_eq!(a.db, DB),
        other => panic!("{other:?}"),
    }
    for args in [
        &["--help"][..],
        &["tui", "--help"],
        &["campaign", "create", "--help"],
        &["campaign", "readout", "--help"],
        &["campaign", "list", "--help"],
    ] {
        let help = run_ok(args);
        assert!(
            help.contains(&format!("[default: {DB}]")),
            "{args:?}: {help}"
        );
    }
}

/// A database whose COMMIT fails, as a locked SQLite file's does.
struct CommitFails(Box<dyn Sql>);

impl Sql for CommitFails {
    fn backend(&self) -> churn_tui::engine::campaign::db::Backend {
        self.0.backend()
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn exec(&mut self, sql: &str, params: &[Val]) -> churn_tui::engine::Result<()> {
        if sql == "COMMIT" {
            return Err(churn_tui::engine::Error::Config(
                "database is locked".into(),
            ));
        }
        self.0.exec(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Val]) -> churn_tui::engine::Result<Vec<Vec<Val>>> {
        self.0.query(sql, params)
    }
    fn file(&self) -> Option<PathBuf> {
        self.0.file()
    }
}

/// Issue 29 item 15: an existing coupon file was deleted when COMMIT failed. A failed create
/// leaves what was there, stores nothing and leaves no work folder.
#[test]
fn a_failed_commit_leaves_an_existing_coupon_file_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("treat.csv");
    std::fs::write(&out, "the earlier list\n").unwrap();
    let mut db = CommitFails(sqlite(d.path()));
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.out = Some((
        out.clone(),
        churn_tui::engine::targeting::export::ExportFormat::Csv,
    ));
    let e = create(&mut db, &mut req).unwrap_err().to_string();
    assert!(e.contains("locked"), "{e}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the earlier list\n");
    assert!(staged_folders(d.path()).is_empty());
    let mut db = sqlite(d.path());
    assert_eq!(count(db.as_mut(), "campaigns"), 0);
    assert_eq!(count(db.as_mut(), "campaign_targets"), 0);
}

/// The same with the real binary and a real lock: another process reading the database holds
/// off the COMMIT until SQLite gives up (10 s).
#[test]
fn a_locked_database_leaves_an_existing_coupon_file_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    run_ok(&[
        "campaign", "create", "--run", &run, "--db", &db, "--name", "a",
    ]);
    let out = d.path().join("treat.csv");
    std::fs::write(&out, "the earlier list\n").unwrap();
    let mut reader = sqlite(d.path());
    reader.exec("BEGIN", &[]).unwrap();
    reader.query("SELECT * FROM campaigns", &[]).unwrap();
    let err = run_err(&[
        "campaign",
        "create",
        "--run",
        &run,
        "--db",
        &db,
        "--name",
        "b",
        "--out",
        &out.display().to_string(),
    ]);
    assert!(err.contains("locked by another process"), "{err}");
    reader.exec("ROLLBACK", &[]).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the earlier list\n");
    assert!(staged_folders(d.path()).is_empty());
    assert!(find(reader.as_mut(), "b").is_err());
}

/// Issue 29 item 15: a server that accepts and never answers held `campaign list` for 60 s.
#[test]
fn a_silent_mysql_server_is_an_error_within_seconds() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // Accepts every connection and keeps it open, never sending a byte.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            held.push(c);
        }
    });
    let start = std::time::Instant::now();
    let o = bin_no_color()
        .args([
            "campaign",
            "list",
            "--db",
            &format!("mysql://u:secret@127.0.0.1:{port}/crm"),
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("no answer within 10 s") && err.contains("read timeout 10 s"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
}

/// Issue 29 item 21: a FIFO at the database path read as `SQLite: disk I/O error`.
#[test]
fn a_database_path_that_is_not_a_file_is_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("c.db");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let fifo = fifo.display().to_string();
    let run = fixture_run().display().to_string();
    for args in [
        &["campaign", "list", "--db", &fifo][..],
        &["campaign", "create", "--run", &run, "--db", &fifo],
    ] {
        let o = bin_no_color()
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(
            err.contains("c.db: is a FIFO (named pipe), not a campaign database"),
            "{err}"
        );
    }
    let err = run_err(&["campaign", "list", "--db", "/dev/null"]);
    assert!(err.contains("/dev/null: is a device"), "{err}");
}
