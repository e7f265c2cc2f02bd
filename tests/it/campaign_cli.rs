//! The `campaign` commands on the real binary (SPEC §7): create, list and readout end to end;
//! bad inputs are clear errors that store nothing; a `--campaign` text that is one campaign's id
//! and another's name is refused; names and tiers from the database are printed escaped; the
//! coupon file and the report take their format from their names.

use churn_tui::engine::campaign::find;

use crate::common::campaign::*;
use crate::common::{self, Row, bin_no_color, fixture_log, fixture_run, run_err, run_ok};

#[test]
fn the_command_line_creates_lists_reads_out_and_refuses_a_second_name() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let out = d.path().join("treat.csv");
    let o = bin_no_color()
        .args(["campaign", "create", "--run"])
        .arg(fixture_run())
        .args(["--name", "spring", "--holdout", "20", "--db", &db, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("`spring`") && text.contains("Emergency"),
        "{text}"
    );
    // The coupon file holds the treatment group only.
    let mut conn = sqlite(d.path());
    let g = groups(conn.as_mut(), 1);
    let listed: Vec<i64> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let treated = g.values().filter(|(_, grp)| grp == "treatment").count();
    assert_eq!(listed.len(), treated);
    assert!(listed.iter().all(|u| g[u].1 == "treatment"));

    let o = bin_no_color()
        .args(["campaign", "create", "--run"])
        .arg(fixture_run())
        .args(["--name", "spring", "--db", &db])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already"));

    let o = bin_no_color()
        .args(["campaign", "list", "--db", &db])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    // Anchor 2020-04-01 + 30 days: the horizon's last day is 2020-04-30.
    assert!(
        text.contains("spring") && text.contains("due: needs logs through 2020-04-30"),
        "{text}"
    );

    let o = bin_no_color()
        .args([
            "campaign",
            "readout",
            "--campaign",
            "spring",
            "--db",
            &db,
            "--data",
        ])
        .arg(fixture_log())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("| all |") && text.contains("90%"), "{text}");
    let o = bin_no_color()
        .args(["campaign", "list", "--db", &db])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("read"));
}

#[test]
fn bad_inputs_are_clear_errors_and_store_nothing() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let fails = |args: &[&str], needle: &str| {
        let o = bin_no_color().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let run = fixture_run().display().to_string();
    fails(
        &[
            "campaign",
            "list",
            "--db",
            "mysql://u:secret@127.0.0.1:1/crm",
        ],
        "cannot connect to mysql://u:***@127.0.0.1:1/crm",
    );
    let gone = d.path().join("gone").display().to_string();
    fails(
        &["campaign", "create", "--run", &gone, "--db", &db],
        "does not exist",
    );
    for h in ["60", "-5", "ten", "50.001"] {
        let arg = format!("--holdout={h}");
        fails(
            &["campaign", "create", "--run", &run, "--db", &db, &arg],
            "--holdout",
        );
    }
    fails(
        &[
            "campaign", "create", "--run", &run, "--db", &db, "--k", "50",
        ],
        "past the last tier",
    );
    fails(
        &[
            "campaign",
            "readout",
            "--campaign",
            "42",
            "--db",
            &db,
            "--data",
            &run,
        ],
        "no campaign `42`",
    );

    // Logs that stop 20 days into the horizon: the days missing are named, nothing stored.
    bin_no_color()
        .args([
            "campaign", "create", "--run", &run, "--db", &db, "--name", "x",
        ])
        .assert()
        .success();
    let mut conn = sqlite(d.path());
    let c = find(conn.as_mut(), "x").unwrap();
    let t = c.anchor_us().unwrap() / 1_000_000;
    let short = common::write(
        d.path(),
        "short.csv",
        &common::csv_text(&[
            Row::new(1, t - 40 * common::DAY, "view", None, 1.0),
            Row::new(1, t + 10 * common::DAY, "view", None, 1.0),
        ]),
    );
    fails(
        &[
            "campaign",
            "readout",
            "--campaign",
            "x",
            "--db",
            &db,
            "--data",
            &short.display().to_string(),
        ],
        "19 day(s) of logs are missing",
    );
    assert_eq!(count(conn.as_mut(), "campaign_readouts"), 0);

    // Neither the coupon file nor the read-out's report may replace the database; the
    // refused report stores no read-out.
    fails(
        &[
            "campaign", "create", "--run", &run, "--db", &db, "--name", "y", "--format", "csv",
            "--out", &db,
        ],
        "refusing to replace",
    );
    let log = fixture_log().display().to_string();
    fails(
        &[
            "campaign",
            "readout",
            "--campaign",
            "x",
            "--db",
            &db,
            "--data",
            &log,
            "--report",
            &db,
        ],
        // Refused by its name first (a report is `.md`): the database is never written.
        "expected .md",
    );
    assert_eq!(count(conn.as_mut(), "campaign_readouts"), 0);
    assert!(find(conn.as_mut(), "y").is_err());

    // A database written by a newer churn-tui is left alone.
    conn.exec("UPDATE churn_schema SET version = 2", &[])
        .unwrap();
    fails(&["campaign", "list", "--db", &db], "schema version 2");
    // Not a database at all.
    let junk = common::write(
        d.path(),
        "junk.db",
        "this is not SQLite, just text\n".repeat(100).as_str(),
    );
    fails(
        &["campaign", "list", "--db", &junk.display().to_string()],
        "junk.db",
    );
    fails(
        &["campaign", "list", "--db", &d.path().display().to_string()],
        "is a directory",
    );
}

/// Issue 29 item 15: `--campaign 1` read out the campaign named "1" though id 1 exists.
#[test]
fn a_campaign_text_that_is_one_id_and_another_name_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    let log = fixture_log().display().to_string();
    run_ok(&[
        "campaign", "create", "--run", &run, "--db", &db, "--name", "first",
    ]);
    run_ok(&[
        "campaign", "create", "--run", &run, "--db", &db, "--name", "second",
    ]);
    // New names that read as ids are refused.
    for name in ["1", "7", "id:3"] {
        let err = run_err(&[
            "campaign", "create", "--run", &run, "--db", &db, "--name", name,
        ]);
        assert!(err.contains("may not read as an id"), "{name}: {err}");
    }
    // One an older churn-tui stored: campaign 2 is named "1".
    let mut conn = sqlite(d.path());
    conn.exec("UPDATE campaigns SET name = '1' WHERE id = 2", &[])
        .unwrap();
    let err = run_err(&[
        "campaign",
        "readout",
        "--campaign",
        "1",
        "--db",
        &db,
        "--data",
        &log,
    ]);
    assert!(
        err.contains("ambiguous")
            && err.contains("campaign 1 `first`")
            && err.contains("the name of campaign 2")
            && err.contains("--campaign id:1")
            && err.contains("--campaign id:2"),
        "{err}"
    );
    assert_eq!(count(conn.as_mut(), "campaign_readouts"), 0);
    run_ok(&[
        "campaign",
        "readout",
        "--campaign",
        "id:2",
        "--db",
        &db,
        "--data",
        &log,
    ]);
    let read: Vec<i64> = conn
        .query("SELECT DISTINCT campaign_id FROM campaign_readouts", &[])
        .unwrap()
        .iter()
        .map(|r| r[0].int().unwrap())
        .collect();
    assert_eq!(read, [2]);
    let err = run_err(&[
        "campaign",
        "readout",
        "--campaign",
        "id:9",
        "--db",
        &db,
        "--data",
        &log,
    ]);
    assert!(err.contains("no campaign `id:9`"), "{err}");
}

/// Issue 29 item 13, for campaigns: names and tiers from the database are printed with control
/// characters escaped by `campaign list`, `campaign readout` and the not-found hint.
#[test]
fn campaign_names_and_tiers_are_printed_escaped() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    let log = fixture_log().display().to_string();
    run_ok(&[
        "campaign", "create", "--run", &run, "--db", &db, "--name", "x",
    ]);
    // Written by another tool: a title-setting OSC, a bell, a screen clear.
    let mut conn = sqlite(d.path());
    conn.exec(
        "UPDATE campaigns SET name = ? WHERE id = 1",
        &["evil\u{1b}]0;pwned\u{7}".into()],
    )
    .unwrap();
    conn.exec(
        "UPDATE campaign_targets SET tier = ? WHERE tier = 'Emergency'",
        &["Hot\u{1b}[2J".into()],
    )
    .unwrap();
    let raw = |s: &str| s.contains('\u{1b}') || s.contains('\u{7}');
    let list = run_ok(&["campaign", "list", "--db", &db]);
    assert!(
        !raw(&list) && list.contains("evil\\u{1b}]0;pwned\\u{7}"),
        "{list}"
    );
    let read = run_ok(&[
        "campaign",
        "readout",
        "--campaign",
        "id:1",
        "--db",
        &db,
        "--data",
        &log,
    ]);
    assert!(!raw(&read) && read.contains("| Hot\\u{1b}[2J |"), "{read}");
    let list = run_ok(&["campaign", "list", "--db", &db]);
    assert!(!raw(&list), "{list}");
    let err = run_err(&[
        "campaign",
        "readout",
        "--campaign",
        "nope\u{1b}[2J",
        "--db",
        &db,
        "--data",
        &log,
    ]);
    assert!(
        !raw(&err) && err.contains("nope\\u{1b}[2J") && err.contains("evil\\u{1b}]0;pwned"),
        "{err}"
    );
}

/// Issue 29 item 1, for campaigns: the coupon file and the read-out report take their format
/// from their names; a `--format` that contradicts the name, or a report not named `.md`, is
/// refused before anything is stored or written.
#[test]
fn campaign_files_take_their_format_from_their_names() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db").display().to_string();
    let run = fixture_run().display().to_string();
    let coupons = d.path().join("c.parquet");
    let o = bin_no_color()
        .args([
            "campaign", "create", "--run", &run, "--db", &db, "--format", "csv",
        ])
        .arg("--out")
        .arg(&coupons)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("c.parquet"), "{err}");
    assert!(!coupons.exists());
    // Nothing was stored: the database holds no campaign (or was never made).
    let listed = bin_no_color()
        .args(["campaign", "list", "--db", &db])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("treatment"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let report = d.path().join("r.txt");
    let o = bin_no_color()
        .args([
            "campaign",
            "readout",
            "--campaign",
            "x",
            "--db",
            &db,
            "--data",
            "x.csv",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("r.txt") && err.contains(".md"), "{err}");
    assert!(!report.exists());
}
