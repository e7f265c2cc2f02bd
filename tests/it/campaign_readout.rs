//! Reading a campaign out (SPEC §7): an interval that covers a known, injected uplift (and zero
//! when there is none); `list` and `readout` apply one rule for the logs a read-out needs and
//! name the true last event; the status follows the clock; logs without the campaign's users
//! are refused.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use churn_tui::engine::campaign::assign::Group;
use churn_tui::engine::campaign::create::create;
use churn_tui::engine::campaign::db::Sql;
use churn_tui::engine::campaign::find;
use churn_tui::engine::campaign::readout::{ALL, read_out};
use churn_tui::engine::targeting::tiers::TierRule;

use crate::common::campaign::*;
use crate::common::{self, Row, fixture_log, fixture_run, run_err, run_ok};

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

/// The last event time of a generated log, read from its text: `YYYY-MM-DDTHH:MM:SSZ`.
fn last_event(log: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(log).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let last = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .next()
                .unwrap()
                .trim_end_matches(" UTC")
                .to_string()
        })
        .max()
        .unwrap();
    format!("{}T{}Z", &last[..10], &last[11..19])
}

/// The line of `campaign list` for the campaign named `name`.
fn row_of<'a>(list: &'a str, name: &str) -> &'a str {
    list.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no `{name}` in {list}"))
}

/// Issue 29 item 3: `list` said `ready` where the read-out refused, and the refusal rounded the
/// logs' end up a day. One rule now: `list` names the last day a read-out needs, and a read-out
/// succeeds exactly when the logs' last event falls on that day or later, else names the true
/// last event.
#[test]
fn list_and_readout_apply_one_rule_and_name_the_true_last_event() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    let log = fixture_log().display().to_string();
    let last = last_event(fixture_log());
    assert_eq!(
        &last[..10],
        "2020-04-30",
        "the fixture's log ends in April: {last}"
    );
    // (name, anchor, the horizon's last day = anchor + 30 days − 1, days the log lacks)
    let cases = [
        ("before", "2020-03-31", "2020-04-29", 0),
        ("on", "2020-04-01", "2020-04-30", 0),
        ("after", "2020-04-02", "2020-05-01", 1),
        ("month", "2020-05-01", "2020-05-30", 30),
    ];
    for (name, anchor, _, _) in cases {
        run_ok(&[
            "campaign", "create", "--run", &run, "--db", &db, "--name", name, "--anchor", anchor,
            "--data", &log,
        ]);
    }
    let list = run_ok(&["campaign", "list", "--db", &db]);
    assert!(!list.contains("ready"), "{list}");
    for (name, _, day, _) in cases {
        let row = row_of(&list, name);
        assert!(
            row.ends_with(&format!("due: needs logs through {day}")),
            "{row}"
        );
    }
    for (name, _, day, missing) in cases {
        let args = [
            "campaign",
            "readout",
            "--campaign",
            name,
            "--db",
            &db,
            "--data",
            &log,
        ];
        if missing == 0 {
            run_ok(&args);
            continue;
        }
        let err = run_err(&args);
        assert!(
            err.contains(&format!("needs logs through {day}"))
                && err.contains(&format!("the last event in the logs is at {last}"))
                && err.contains(&format!(" {missing} day(s) of logs are missing")),
            "{err}"
        );
    }
    let list = run_ok(&["campaign", "list", "--db", &db]);
    for (name, _, day, missing) in cases {
        let row = row_of(&list, name);
        if missing == 0 {
            assert!(row.contains("read, uplift (all)"), "{row}");
        } else {
            assert!(
                row.ends_with(&format!("due: needs logs through {day}")),
                "{row}"
            );
        }
    }
}

/// The status by the clock, and the last day needed of an anchor that is not midnight.
#[test]
fn the_status_follows_the_clock_and_names_what_a_readout_needs() {
    use churn_tui::engine::campaign::{Status, summaries};
    use churn_tui::engine::time::parse_anchor;
    let d = tempfile::tempdir().unwrap();
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.name = Some("s".into());
    create(db.as_mut(), &mut req).unwrap();
    // Test anchor 2020-04-01, horizon 30 days: over at 2020-05-01T00:00:00Z.
    let end = parse_anchor("2020-05-01").unwrap();
    let at = |db: &mut dyn Sql, now: i64| summaries(db, now).unwrap().remove(0);
    let s = at(db.as_mut(), end - 1);
    assert_eq!(s.status, Status::WaitingForData);
    assert_eq!(
        s.status_text(),
        "waiting for data: needs logs through 2020-04-30"
    );
    let s = at(db.as_mut(), end);
    assert_eq!(s.status, Status::Due);
    assert_eq!(s.status_text(), "due: needs logs through 2020-04-30");
    let c = find(db.as_mut(), "s").unwrap();
    read_out(db.as_mut(), &c, &[fixture_log().display().to_string()]).unwrap();
    let s = at(db.as_mut(), end);
    assert_eq!((s.status, s.status_text().as_str()), (Status::Read, "read"));
    // Noon anchor: the horizon ends at noon of 2020-05-01, so that day's morning is needed.
    let noon = churn_tui::engine::campaign::Campaign {
        anchor: "2020-04-01T12:00:00Z".into(),
        ..c
    };
    assert_eq!(noon.last_day_needed().unwrap(), "2020-05-01");
}

/// Issue 29 item 15: logs of other users read as every target dormant in both groups.
#[test]
fn a_log_without_the_campaigns_users_is_refused_naming_the_overlap() {
    let d = tempfile::tempdir().unwrap();
    let db = db_arg(d.path());
    let run = fixture_run().display().to_string();
    run_ok(&[
        "campaign", "create", "--run", &run, "--db", &db, "--name", "x",
    ]);
    let mut conn = sqlite(d.path());
    let c = find(conn.as_mut(), "x").unwrap();
    let n = groups(conn.as_mut(), c.id).len();
    let t = c.anchor_us().unwrap() / 1_000_000;
    // Fifty users the fixture never had (its ids are below 10^9), over the whole horizon.
    let rows: Vec<Row> = (0..50)
        .flat_map(|i| {
            let u = 9_000_000_000 + i;
            [
                Row::new(u, t - 40 * common::DAY, "view", None, 1.0),
                Row::new(u, t + 35 * common::DAY, "view", None, 1.0),
            ]
        })
        .collect();
    assert!(
        groups(conn.as_mut(), c.id)
            .keys()
            .all(|u| *u < 9_000_000_000)
    );
    let other = common::write(d.path(), "other.csv", &common::csv_text(&rows));
    let err = run_err(&[
        "campaign",
        "readout",
        "--campaign",
        "x",
        "--db",
        &db,
        "--data",
        &other.display().to_string(),
    ]);
    assert!(
        err.contains(&format!("overlap 0 of {n}")) && err.contains("nothing was stored"),
        "{err}"
    );
    assert_eq!(count(conn.as_mut(), "campaign_readouts"), 0);
}

/// A bad row anywhere in the logs (here long before the horizon, which the read-out does not
/// count) stops the read-out with the file and line named, and nothing is stored.
#[test]
fn a_bad_row_in_the_logs_is_named_and_nothing_is_stored() {
    let d = tempfile::tempdir().unwrap();
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.name = Some("bad".into());
    create(db.as_mut(), &mut req).unwrap();
    let c = find(db.as_mut(), "bad").unwrap();
    let text = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n\
                2019-10-02 10:00:00 UTC,view,1,2,,apple,1.5,7,s\n\
                2019-10-02 11:00:00 UTC,teleport,1,2,,apple,1.5,7,s\n";
    let bad = common::write(d.path(), "bad.csv", text);
    let e = read_out(
        db.as_mut(),
        &c,
        &[
            fixture_log().display().to_string(),
            bad.display().to_string(),
        ],
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(e.contains("bad.csv") && e.contains("line 3"), "{e}");
    assert_eq!(count(db.as_mut(), "campaign_readouts"), 0);
}
