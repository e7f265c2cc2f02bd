//! Uplift on the command line (SPEC §7a): the generator's simulated campaign (same seed, same
//! bytes; the truth agrees with the log it wrote), `campaign import` refusing bad assignment
//! files naming file and line with nothing stored, `uplift train` refusing campaigns it cannot
//! learn from, and a fixed seed giving the same models and curves.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{bin_no_color, fails};

const ANCHOR: &str = "2020-01-30";
const DAY: i64 = 86_400;

/// A 5-month log of 20,000 users with a 50% campaign at `ANCHOR`, its truth as CSV.
fn sim() -> &'static (PathBuf, PathBuf) {
    static SIM: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SIM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let (log, truth) = (dir.join("log.csv"), dir.join("truth.csv"));
        gen_into(&log, &truth);
        (log, truth)
    })
}

fn gen_into(log: &Path, truth: &Path) {
    bin_no_color()
        .args(["gen", "--users", "20000", "--months", "5", "--seed", "11"])
        .args(["--campaign-anchor", ANCHOR, "--campaign-share", "50"])
        .arg("--out")
        .arg(log)
        .arg("--truth")
        .arg(truth)
        .assert()
        .success();
}

fn epoch(s: &str) -> i64 {
    // `YYYY-MM-DD HH:MM:SS UTC`, by hand: days from the civil date.
    let (y, m, d) = (
        s[0..4].parse::<i64>().unwrap(),
        s[5..7].parse::<i64>().unwrap(),
        s[8..10].parse::<i64>().unwrap(),
    );
    let (hh, mm, ss) = (
        s[11..13].parse::<i64>().unwrap(),
        s[14..16].parse::<i64>().unwrap(),
        s[17..19].parse::<i64>().unwrap(),
    );
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * DAY + hh * 3600 + mm * 60 + ss
}

struct TruthRow {
    user: i64,
    treated: bool,
    p0: f64,
    p1: f64,
    uplift: f64,
}

fn truth_rows(p: &Path) -> Vec<TruthRow> {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().clone();
    assert_eq!(
        h.iter().collect::<Vec<_>>(),
        [
            "user_id",
            "group",
            "p_dormant_control",
            "p_dormant_treated",
            "true_uplift"
        ]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            TruthRow {
                user: rec[0].parse().unwrap(),
                treated: match &rec[1] {
                    "treatment" => true,
                    "control" => false,
                    g => panic!("group {g}"),
                },
                p0: rec[2].parse().unwrap(),
                p1: rec[3].parse().unwrap(),
                uplift: rec[4].parse().unwrap(),
            }
        })
        .collect()
}

/// Per user, whether they have an event in [from, to) (seconds).
fn active(log: &Path, from: i64, to: i64) -> std::collections::HashSet<i64> {
    let mut r = csv::Reader::from_path(log).unwrap();
    let h = r.headers().unwrap().clone();
    let (it, iu) = (
        h.iter().position(|c| c == "event_time").unwrap(),
        h.iter().position(|c| c == "user_id").unwrap(),
    );
    let mut out = std::collections::HashSet::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let t = epoch(&rec[it]);
        if (from..to).contains(&t) {
            out.insert(rec[iu].parse::<i64>().unwrap());
        }
    }
    out
}

#[test]
fn the_simulated_campaign_is_seeded_and_its_truth_agrees_with_the_log() {
    let (log, truth) = sim();
    // Same seed, same bytes.
    let d = tempfile::tempdir().unwrap();
    let (log2, truth2) = (d.path().join("log.csv"), d.path().join("truth.csv"));
    gen_into(&log2, &truth2);
    assert_eq!(std::fs::read(log).unwrap(), std::fs::read(&log2).unwrap());
    assert_eq!(
        std::fs::read(truth).unwrap(),
        std::fs::read(&truth2).unwrap()
    );

    let rows = truth_rows(truth);
    let t = epoch("2020-01-30 00:00:00");
    // The campaign's users are exactly the users active in the 30 days before the anchor.
    let before = active(log, t - 30 * DAY, t);
    let users: std::collections::HashSet<i64> = rows.iter().map(|r| r.user).collect();
    assert_eq!(users, before);
    assert!(rows.len() > 2000, "{} campaign users", rows.len());
    // About half treated (a seeded coin per user): within 4 standard errors of 50%.
    let n = rows.len() as f64;
    let share = rows.iter().filter(|r| r.treated).count() as f64 / n;
    assert!((share - 0.5).abs() < 4.0 * (0.25 / n).sqrt(), "{share}");
    for r in &rows {
        assert!((0.0..=1.0).contains(&r.p0) && (0.0..=1.0).contains(&r.p1));
        assert!((r.uplift - (r.p0 - r.p1)).abs() < 1e-12);
    }
    // The log's horizon follows the truth: in each group, the share dormant (no event in
    // [T, T + 30d)) is the mean of that group's chance, within 4 standard errors.
    let after = active(log, t, t + 30 * DAY);
    for treated in [false, true] {
        let g: Vec<&TruthRow> = rows.iter().filter(|r| r.treated == treated).collect();
        let m = g.len() as f64;
        let dormant = g.iter().filter(|r| !after.contains(&r.user)).count() as f64 / m;
        let p: Vec<f64> = g
            .iter()
            .map(|r| if treated { r.p1 } else { r.p0 })
            .collect();
        let mean = p.iter().sum::<f64>() / m;
        let var = p.iter().map(|q| q * (1.0 - q)).sum::<f64>() / (m * m);
        assert!(
            (dormant - mean).abs() < 4.0 * var.sqrt(),
            "treated {treated}: dormant {dormant} vs expected {mean}"
        );
    }
    // The effect is heterogeneous: some users are helped, some pushed away, most not moved.
    assert!(rows.iter().any(|r| r.uplift > 0.2));
    assert!(rows.iter().any(|r| r.uplift < 0.0));
}

fn import(
    dir: &Path,
    db: &Path,
    name: &str,
    assignment: &Path,
    extra: &[&str],
) -> assert_cmd::Command {
    let _ = dir;
    let mut c = bin_no_color();
    c.args([
        "campaign",
        "import",
        "--name",
        name,
        "--anchor",
        ANCHOR,
        "--assignment",
    ])
    .arg(assignment)
    .arg("--data")
    .arg(&sim().0)
    .arg("--db")
    .arg(db)
    .args(extra);
    c
}

fn campaigns_in(db: &Path) -> usize {
    if !db.exists() {
        return 0;
    }
    let out = bin_no_color()
        .args(["campaign", "list", "--db"])
        .arg(db)
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u64>().is_ok())
        })
        .count()
}

/// An assignment CSV of the truth's users, rewritten by `edit`.
fn assignment(dir: &Path, name: &str, edit: impl Fn(&mut Vec<(String, String)>)) -> PathBuf {
    let mut rows: Vec<(String, String)> = truth_rows(&sim().1)
        .iter()
        .map(|r| {
            (
                r.user.to_string(),
                if r.treated { "treatment" } else { "control" }.to_string(),
            )
        })
        .collect();
    edit(&mut rows);
    let p = dir.join(name);
    let mut text = String::from("user_id,group\n");
    for (u, g) in rows {
        text.push_str(&format!("{u},{g}\n"));
    }
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_assignment_files_are_refused_naming_file_and_line_and_nothing_is_stored() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db");
    // Line 5 holds the 4th user (the header is line 1).
    let unknown = assignment(d.path(), "unknown.csv", |r| r[3].0 = "42".into());
    let e = fails(&mut import(d.path(), &db, "u", &unknown, &[]));
    assert!(
        e.contains("unknown.csv") && e.contains("line 5") && e.contains("user 42"),
        "{e}"
    );
    let dup = assignment(d.path(), "dup.csv", |r| r[6].0 = r[2].0.clone());
    let e = fails(&mut import(d.path(), &db, "d", &dup, &[]));
    assert!(
        e.contains("dup.csv")
            && e.contains("line 8")
            && e.contains("twice")
            && e.contains("line 4"),
        "{e}"
    );
    let bad = assignment(d.path(), "bad.csv", |r| r[9].1 = "Treated".into());
    let e = fails(&mut import(d.path(), &db, "b", &bad, &[]));
    assert!(
        e.contains("bad.csv") && e.contains("line 11") && e.contains("Treated"),
        "{e}"
    );
    let text = assignment(d.path(), "text.csv", |r| r[0].0 = "x1".into());
    let e = fails(&mut import(d.path(), &db, "t", &text, &[]));
    assert!(e.contains("line 2") && e.contains("x1"), "{e}");
    // A FIFO named like a CSV is refused, not read (it would block forever).
    let fifo = d.path().join("fifo.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let e = fails(&mut import(d.path(), &db, "f", &fifo, &[]));
    assert!(
        e.contains("fifo.csv") && e.contains("not a regular file"),
        "{e}"
    );
    assert_eq!(campaigns_in(&db), 0, "a refused import stored a campaign");
}

fn train(db: &Path, name: &str, out: &Path) -> assert_cmd::Command {
    let mut c = bin_no_color();
    c.args(["uplift", "train", "--campaign", name, "--data"])
        .arg(&sim().0)
        .arg("--db")
        .arg(db)
        .arg("--out")
        .arg(out);
    c
}

#[test]
fn campaigns_an_effect_cannot_be_learnt_from_are_refused_with_nothing_written() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db");
    let out = d.path().join("out");
    let all_treated = assignment(d.path(), "t.csv", |r| {
        r.iter_mut().for_each(|x| x.1 = "treatment".into())
    });
    import(d.path(), &db, "all-treated", &all_treated, &[])
        .assert()
        .success();
    let e = fails(&mut train(&db, "all-treated", &out));
    assert!(e.contains("no control users"), "{e}");
    let all_control = assignment(d.path(), "c.csv", |r| {
        r.iter_mut().for_each(|x| x.1 = "control".into())
    });
    import(d.path(), &db, "all-control", &all_control, &[])
        .assert()
        .success();
    let e = fails(&mut train(&db, "all-control", &out));
    assert!(e.contains("no treated users"), "{e}");
    let three = assignment(d.path(), "3.csv", |r| r.truncate(3));
    import(d.path(), &db, "three", &three, &[])
        .assert()
        .success();
    let e = fails(&mut train(&db, "three", &out));
    assert!(e.contains("at least 500"), "{e}");
    // A horizon the logs do not reach yet (the log ends on 2020-02-29; 45 days from the
    // anchor run to 2020-03-15): the days missing are named.
    let all = assignment(d.path(), "all.csv", |_| {});
    import(d.path(), &db, "long", &all, &["--horizon", "45"])
        .assert()
        .success();
    let e = fails(&mut train(&db, "long", &out));
    assert!(
        e.contains("day(s) of logs are missing") && e.contains("2020-03-15"),
        "{e}"
    );
    assert!(!out.exists(), "a refused train wrote its folder");
}

#[test]
fn the_same_seed_gives_the_same_models_and_curves() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db");
    import(d.path(), &db, "sim", &sim().1, &[])
        .assert()
        .success();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    train(&db, "sim", &a).assert().success();
    train(&db, "sim", &b).assert().success();
    for f in [
        "uplift.json",
        "models.json",
        "eval_predictions.csv",
        "table.parquet",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    let csv = std::fs::read_to_string(a.join("eval_predictions.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    let cols: Vec<&str> = header.split(',').collect();
    assert_eq!(cols[..4], ["user_id", "group", "dormant", "uplift"]);
    let mut methods = cols[4..7].to_vec();
    methods.sort_unstable();
    assert_eq!(
        methods,
        [
            "uplift_t_learner",
            "uplift_transformed_outcome",
            "uplift_x_learner"
        ]
    );
    assert_eq!(cols[7..], ["risk"]);
    // `uplift` is the chosen method's column, which comes first.
    for line in csv.lines().skip(1).take(50) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[3], f[4]);
    }
    // The evaluation fold is 30% of each group.
    let rows = csv.lines().count() - 1;
    let n = truth_rows(&sim().1).len();
    assert!((rows as f64 - 0.3 * n as f64).abs() <= 2.0, "{rows} of {n}");
    // An existing folder is never replaced.
    let e = fails(&mut train(&db, "sim", &a));
    assert!(e.contains("already exists"), "{e}");
    // No work folder is left beside the output.
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `(user_id → column values)` of a CSV with a header, by column name.
fn csv_columns(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (head, rows)
}

/// A run whose test anchor is the campaign's anchor, so its test users are scored on the very
/// features the uplift model's evaluation fold was: the uplift a list carries can be checked
/// against `eval_predictions.csv`, written by `uplift train` itself.
#[test]
fn a_list_ranked_by_uplift_takes_users_by_predicted_uplift_above_zero() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("c.db");
    import(d.path(), &db, "sim", &sim().1, &[])
        .assert()
        .success();
    let up = d.path().join("up");
    train(&db, "sim", &up).assert().success();
    let runs = d.path().join("runs");
    bin_no_color()
        .args(["train", "--models", "logreg", "--data"])
        .arg(&sim().0)
        .args([
            "--train-anchors",
            "2019-11-30",
            "--val-anchors",
            "2019-12-30",
        ])
        .args(["--test-anchors", ANCHOR, "--out"])
        .arg(&runs)
        .assert()
        .success();
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();

    let list = d.path().join("list.csv");
    let out = bin_no_color()
        .arg("export")
        .arg("--run")
        .arg(&run)
        .args(["--k", "30", "--rank-by", "uplift", "--uplift"])
        .arg(&up)
        .arg("--out")
        .arg(&list)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(said.contains("ranked by uplift"), "{said}");
    let (head, rows) = csv_columns(&list);
    assert_eq!(head.last().map(String::as_str), Some("uplift"), "{head:?}");
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (ui, ri, rs) = (col("user_id"), col("uplift"), col("reasons"));
    let uplift: Vec<f64> = rows.iter().map(|r| r[ri].parse().unwrap()).collect();
    assert!(!rows.is_empty());
    // Best first, and nobody the offer is not expected to keep.
    assert!(uplift.windows(2).all(|w| w[0] >= w[1]), "not by uplift");
    assert!(
        uplift.iter().all(|&u| u > 0.0),
        "a user with uplift ≤ 0 listed"
    );
    // Most users have a reason: a feature that raises their uplift.
    let with_reasons = rows.iter().filter(|r| !r[rs].is_empty()).count();
    assert!(
        with_reasons * 10 >= rows.len() * 9,
        "{with_reasons} of {}",
        rows.len()
    );

    // The uplift carried is the one `uplift train` predicted for the same users (its
    // evaluation fold): the model written and the model read are the same model.
    let (eh, erows) = csv_columns(&up.join("eval_predictions.csv"));
    let (eu, ev) = (
        eh.iter().position(|h| h == "user_id").unwrap(),
        eh.iter().position(|h| h == "uplift").unwrap(),
    );
    let predicted: std::collections::HashMap<i64, f64> = erows
        .iter()
        .map(|r| (r[eu].parse().unwrap(), r[ev].parse().unwrap()))
        .collect();
    let listed: std::collections::HashSet<i64> =
        rows.iter().map(|r| r[ui].parse().unwrap()).collect();
    let mut checked = 0;
    for (r, u) in rows.iter().zip(&uplift) {
        let user: i64 = r[ui].parse().unwrap();
        if let Some(p) = predicted.get(&user) {
            assert!(
                (p - u).abs() < 1e-9,
                "user {user}: {u} listed, {p} predicted"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 100,
        "only {checked} listed users in the evaluation fold"
    );
    // Every evaluation user with a predicted uplift above the list's last is on it; none with
    // an uplift of zero or below is.
    let last = uplift.last().copied().unwrap();
    for (user, p) in &predicted {
        if *p > last {
            assert!(listed.contains(user), "user {user} ({p} > {last}) left out");
        }
        if *p <= 0.0 {
            assert!(!listed.contains(user), "user {user} ({p}) listed");
        }
    }

    // The report says what the list is ranked by, and so does the plan.
    let report = d.path().join("r.md");
    bin_no_color()
        .arg("report")
        .arg("--run")
        .arg(&run)
        .args(["--rank-by", "uplift", "--uplift"])
        .arg(&up)
        .arg("--out")
        .arg(&report)
        .assert()
        .success();
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("**Ranked by uplift:**"), "{text}");
    let plan = bin_no_color()
        .arg("plan")
        .arg("--run")
        .arg(&run)
        .args(["--rank-by", "uplift", "--uplift"])
        .arg(&up)
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&plan.get_output().stdout).contains("ranked by uplift"));

    // A campaign made of the uplift list sends the same users.
    let sent = d.path().join("sent.csv");
    bin_no_color()
        .args([
            "campaign",
            "create",
            "--k",
            "30",
            "--holdout",
            "0",
            "--name",
            "by-uplift",
        ])
        .arg("--run")
        .arg(&run)
        .args(["--rank-by", "uplift", "--uplift"])
        .arg(&up)
        .arg("--db")
        .arg(&db)
        .arg("--out")
        .arg(&sent)
        .assert()
        .success();
    let (_, srows) = csv_columns(&sent);
    let sent_users: std::collections::HashSet<i64> =
        srows.iter().map(|r| r[ui].parse().unwrap()).collect();
    assert_eq!(sent_users, listed);

    // Each flag without the other, and a folder that is no uplift folder, are refused.
    let e = fails(
        bin_no_color()
            .arg("export")
            .arg("--run")
            .arg(&run)
            .args(["--rank-by", "uplift"])
            .arg("--out")
            .arg(d.path().join("x.csv")),
    );
    assert!(e.contains("needs --uplift"), "{e}");
    let e = fails(
        bin_no_color()
            .arg("export")
            .arg("--run")
            .arg(&run)
            .arg("--uplift")
            .arg(&up)
            .arg("--out")
            .arg(d.path().join("x.csv")),
    );
    assert!(e.contains("only with --rank-by uplift"), "{e}");
    let e = fails(
        bin_no_color()
            .arg("export")
            .arg("--run")
            .arg(&run)
            .args(["--rank-by", "uplift", "--uplift"])
            .arg(&run)
            .arg("--out")
            .arg(d.path().join("x.csv")),
    );
    assert!(e.contains("uplift.json"), "{e}");
    assert!(!d.path().join("x.csv").exists());
}
