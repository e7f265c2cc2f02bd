//! Campaigns (SPEC §7): seeded groups of the right sizes, a campaign written whole or not at
//! all, a read-out whose interval covers a known, injected uplift (and zero when there is
//! none), clear errors, and SQLite and MariaDB storing the same rows.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use assert_cmd::Command;
use churn_tui::engine::campaign::assign::Group;
use churn_tui::engine::campaign::create::{CreateRequest, create};
use churn_tui::engine::campaign::readout::{ALL, read_out};
use churn_tui::engine::campaign::store::{DbUrl, Sql, Val};
use churn_tui::engine::campaign::{self, find};
use churn_tui::engine::targeting::phrases::Phrases;
use churn_tui::engine::targeting::tiers::TierRule;

use crate::common::{self, Row};

fn bin() -> Command {
    let mut c = Command::cargo_bin("churn-tui").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn fixture_run() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run")
}

/// The log the fixture run was trained on, generated again (`gen --users 3000 --seed 5`), once
/// per test process.
pub(crate) fn fixture_log() -> &'static Path {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let p = dir.join("events.csv.gz");
        bin()
            .args(["gen", "--users", "3000", "--seed", "5", "--out"])
            .arg(&p)
            .assert()
            .success();
        p
    })
}

fn sqlite(dir: &Path) -> Box<dyn Sql> {
    campaign::open(&DbUrl::Sqlite(dir.join("c.db"))).unwrap()
}

fn request<'a>(
    tiers: &'a TierRule,
    phrases: &'a Phrases,
    on_rows: &'a mut dyn FnMut(usize),
) -> CreateRequest<'a> {
    CreateRequest {
        run_dir: fixture_run(),
        anchor: None,
        data: vec![],
        exec: Default::default(),
        k: None,
        holdout_bp: 1000,
        name: None,
        seed: 7,
        model: None,
        tiers,
        phrases,
        out: None,
        on_rows,
    }
}

fn phrases() -> Phrases {
    Phrases::load("en").unwrap()
}

/// (user → (tier, group)) of a stored campaign.
fn groups(db: &mut dyn Sql, id: i64) -> HashMap<i64, (String, String)> {
    db.query(
        "SELECT user_id, tier, grp FROM campaign_targets WHERE campaign_id = ?",
        &[Val::Int(id)],
    )
    .unwrap()
    .into_iter()
    .map(|r| {
        (
            r[0].int().unwrap(),
            (
                r[1].text().unwrap().to_string(),
                r[2].text().unwrap().to_string(),
            ),
        )
    })
    .collect()
}

fn count(db: &mut dyn Sql, table: &str) -> i64 {
    db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap()[0][0]
        .int()
        .unwrap()
}

#[test]
fn groups_are_seeded_and_sized_per_tier() {
    let d = tempfile::tempdir().unwrap();
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut ids = Vec::new();
    for (name, seed) in [("a", 7), ("b", 7), ("c", 8)] {
        let mut none = |_: usize| {};
        let mut req = request(&tiers, &ph, &mut none);
        req.name = Some(name.into());
        req.seed = seed;
        ids.push(create(db.as_mut(), &mut req).unwrap().campaign.id);
    }
    let (a, b, c) = (
        groups(db.as_mut(), ids[0]),
        groups(db.as_mut(), ids[1]),
        groups(db.as_mut(), ids[2]),
    );
    assert_eq!(a, b, "the same seed gives the same groups");
    assert_ne!(a, c, "another seed, other groups");
    // Per tier: control = floor(n · 1000 / 10000), counted from the stored rows.
    let mut per_tier: HashMap<&str, (usize, usize)> = HashMap::new();
    for (tier, grp) in a.values() {
        let e = per_tier.entry(tier).or_default();
        e.0 += 1;
        e.1 += usize::from(grp == "control");
    }
    assert_eq!(per_tier.len(), 3, "{per_tier:?}");
    for (tier, (n, control)) in per_tier {
        assert_eq!(control, n / 10, "{tier}: {control} of {n}");
    }
}

/// The fixture's m2 outcome per user at `t`, worked out from the CSV text with no engine code:
/// a user is active when any of their events falls in `[t, t + 30 days)`.
fn active_users(log: &Path, t_secs: i64) -> HashSet<i64> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(log).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let end = t_secs + 30 * common::DAY;
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let t = common::secs(f[0].trim_end_matches(" UTC"));
            (t >= t_secs && t < end).then(|| f[7].parse::<i64>().unwrap())
        })
        .collect()
}

#[test]
fn a_readout_covers_a_known_uplift_and_covers_zero_without_one() {
    let d = tempfile::tempdir().unwrap();
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.holdout_bp = 5000;
    req.seed = 11;
    req.name = Some("half".into());
    let created = create(db.as_mut(), &mut req).unwrap();
    let c = find(db.as_mut(), "half").unwrap();
    let t_secs = c.anchor_us().unwrap() / 1_000_000;
    let log = fixture_log();
    let active = active_users(log, t_secs);

    // No effect: the logs as they are.
    let rows = read_out(db.as_mut(), &c, &[log.display().to_string()]).unwrap();
    let all = rows.iter().find(|r| r.tier == ALL).unwrap();
    let dormant = |g: Group| {
        created
            .targets
            .iter()
            .filter(|t| t.group == g && !active.contains(&t.row.user_id))
            .count() as u64
    };
    assert_eq!(all.dormant_treatment, dormant(Group::Treatment));
    assert_eq!(all.dormant_control, dormant(Group::Control));
    let (lo, hi) = (all.ci_low.unwrap(), all.ci_high.unwrap());
    assert!(lo <= 0.0 && 0.0 <= hi, "no effect, yet [{lo}, {hi}]");

    // The effect: every second dormant treated user (by id) visits on day 2 of the horizon.
    let mut dormant_treated: Vec<i64> = created
        .targets
        .iter()
        .filter(|t| t.group == Group::Treatment && !active.contains(&t.row.user_id))
        .map(|t| t.row.user_id)
        .collect();
    dormant_treated.sort_unstable();
    let moved: Vec<i64> = dormant_treated.iter().copied().step_by(2).collect();
    let extra: Vec<Row> = moved
        .iter()
        .map(|&u| Row::new(u, t_secs + 2 * common::DAY, "view", Some("apple"), 9.99))
        .collect();
    let extra = common::write(d.path(), "effect.csv", &common::csv_text(&extra));
    let rows = read_out(
        db.as_mut(),
        &c,
        &[log.display().to_string(), extra.display().to_string()],
    )
    .unwrap();
    let all = rows.iter().find(|r| r.tier == ALL).unwrap();
    assert_eq!(
        all.dormant_treatment,
        dormant(Group::Treatment) - moved.len() as u64
    );
    assert_eq!(all.dormant_control, dormant(Group::Control));
    // The true effect on the treated: the share of them the injected visit kept active.
    let truth = moved.len() as f64 / all.n_treatment as f64;
    let (lo, hi) = (all.ci_low.unwrap(), all.ci_high.unwrap());
    assert!(lo <= truth && truth <= hi, "{truth} outside [{lo}, {hi}]");
    assert!(lo > 0.0, "an effect of {truth} is seen: [{lo}, {hi}]");
    // The second read-out replaced the first.
    assert_eq!(count(db.as_mut(), "campaign_readouts"), rows.len() as i64);
}

#[test]
fn a_failed_create_leaves_no_rows() {
    let d = tempfile::tempdir().unwrap();
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    // The coupon file cannot be written (its folder does not exist): after the rows went in.
    req.out = Some((
        d.path().join("no/such/dir/treat.csv"),
        churn_tui::engine::targeting::export::ExportFormat::Csv,
    ));
    assert!(create(db.as_mut(), &mut req).is_err());
    assert_eq!(count(db.as_mut(), "campaigns"), 0);
    assert_eq!(count(db.as_mut(), "campaign_targets"), 0);
}

const KILL_DIR: &str = "CHURN_TEST_CAMPAIGN_DIR";

// The child of `a_killed_create_leaves_no_rows`: dies by SIGKILL once the target rows are in,
// before COMMIT.
#[test]
#[ignore = "run by a_killed_create_leaves_no_rows as its child process"]
fn killed_creator() {
    let dir = PathBuf::from(std::env::var(KILL_DIR).unwrap());
    let mut db = sqlite(&dir);
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut die = |_: usize| unsafe {
        // SAFETY: signalling our own pid, like `kill -9`.
        libc::kill(libc::getpid(), libc::SIGKILL);
    };
    let mut req = request(&tiers, &ph, &mut die);
    req.name = Some("killed".into());
    let _ = create(db.as_mut(), &mut req);
}

#[test]
fn a_killed_create_leaves_no_rows() {
    let d = tempfile::tempdir().unwrap();
    let status = StdCommand::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "campaign::killed_creator"])
        .env(KILL_DIR, d.path())
        .output()
        .unwrap()
        .status;
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    let mut db = sqlite(d.path());
    assert_eq!(count(db.as_mut(), "campaigns"), 0);
    assert_eq!(count(db.as_mut(), "campaign_targets"), 0);
    // The name is free again.
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.name = Some("killed".into());
    create(db.as_mut(), &mut req).unwrap();
}

fn db_arg(d: &Path) -> String {
    d.join("c.db").display().to_string()
}

#[test]
fn the_command_line_creates_lists_reads_out_and_refuses_a_second_name() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let out = d.path().join("treat.csv");
    let o = bin()
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

    let o = bin()
        .args(["campaign", "create", "--run"])
        .arg(fixture_run())
        .args(["--name", "spring", "--db", &db])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already"));

    let o = bin()
        .args(["campaign", "list", "--db", &db])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("spring") && text.contains("ready"), "{text}");

    let o = bin()
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
    let o = bin()
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
        let o = bin().args(args).output().unwrap();
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
    bin()
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
        "refusing to replace",
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
    let mut my = churn_tui::engine::campaign::store::connect(&DbUrl::parse(&url).unwrap()).unwrap();
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
    let mut my = campaign::open(&DbUrl::parse(&url).unwrap()).unwrap();
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
    let e = campaign::open(&DbUrl::parse(&wrong).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("cannot connect") && e.contains("Access denied") && !e.contains("wrong@"),
        "{e}"
    );
}

#[test]
fn hand_edits_apply_and_a_later_anchor_scores_the_log_there() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    common::copy_dir(&fixture_run(), &run);
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let plain = {
        let mut none = |_: usize| {};
        let mut req = request(&tiers, &ph, &mut none);
        req.name = Some("plain".into());
        create(db.as_mut(), &mut req).unwrap()
    };
    // The analyst took the first-ranked user off the list and put a low-ranked one on it.
    let first = plain.targets[0].row.user_id;
    let listed: HashSet<i64> = plain.targets.iter().map(|t| t.row.user_id).collect();
    let wb = churn_tui::engine::loaded_run::LoadedRun::load(&run).unwrap();
    let outsider = *wb.test.users.iter().find(|u| !listed.contains(u)).unwrap();
    std::fs::write(
        run.join("edits.json"),
        format!("{{\"excluded\": [{first}], \"added\": [{outsider}]}}"),
    )
    .unwrap();
    let edited = {
        let mut none = |_: usize| {};
        let mut req = request(&tiers, &ph, &mut none);
        req.run_dir = run.clone();
        req.name = Some("edited".into());
        create(db.as_mut(), &mut req).unwrap()
    };
    let ids: HashSet<i64> = edited.targets.iter().map(|t| t.row.user_id).collect();
    assert!(!ids.contains(&first) && ids.contains(&outsider));
    assert_eq!(ids.len(), listed.len(), "one out, one in");

    // Two weeks after the test anchor, from the log: other users, ranked by their new scores.
    let later = churn_tui::engine::time::parse_anchor("2020-04-15").unwrap();
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.run_dir = run;
    req.name = Some("later".into());
    req.anchor = Some(later);
    req.data = vec![fixture_log().display().to_string()];
    let c = create(db.as_mut(), &mut req).unwrap();
    assert_eq!(c.campaign.anchor, "2020-04-15T00:00:00Z");
    assert!(c.targets.windows(2).all(|w| w[0].row.rank < w[1].row.rank));
    assert!(c.targets.iter().all(|t| t.row.anchor == later));
    let later_ids: HashSet<i64> = c.targets.iter().map(|t| t.row.user_id).collect();
    assert_ne!(later_ids, ids, "another anchor, another list");
}

/// Two processes creating campaigns in one SQLite file at once: both of different names are
/// stored whole; of two with the same name, exactly one is.
#[test]
fn two_creates_at_once_wait_for_each_other() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    let spawn = |name: &str| {
        StdCommand::new(assert_cmd::cargo::cargo_bin("churn-tui"))
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
