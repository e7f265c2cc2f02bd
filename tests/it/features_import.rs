//! Training from a feature table made elsewhere (`train --features FILE`): the same run as from
//! the log, BG/NBD left out with the reason, and bad tables refused with file, line or row and
//! column, nothing written.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::exe;

fn run(c: &mut Command) -> (bool, String) {
    let out = c.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "panic: {err}");
    (out.status.success(), err)
}

const MODELS: &str = "rule_recency,logreg,tree";

fn train(out: &Path, source: &[&str]) -> (bool, String) {
    run(Command::new(exe())
        .arg("train")
        .args(source)
        .args(["--models", MODELS, "--trials", "2", "--out"])
        .arg(out))
}

/// The run directory `train` wrote under `root` (exactly one).
fn the_run(root: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

fn features(out: &Path) {
    let (ok, err) = run(Command::new(exe()).arg("features").arg("--out").arg(out));
    assert!(ok, "{err}");
}

#[test]
fn a_table_trains_to_the_run_the_log_gives() {
    let d = tempfile::tempdir().unwrap();
    for ext in ["parquet", "csv"] {
        let table = d.path().join(format!("table.{ext}"));
        features(&table);
        let (from_log, from_table) = (d.path().join(format!("log-{ext}")), d.path().join(ext));
        let (ok, err) = train(&from_log, &[]);
        assert!(ok, "{err}");
        let (ok, err) = train(&from_table, &["--features", table.to_str().unwrap()]);
        assert!(ok, "{err}");
        let (a, b) = (the_run(&from_log), the_run(&from_table));
        for file in ["eval.json", "scores.csv", "leaderboard.md"] {
            // The leaderboard's title names the run (its time); the rest must agree.
            let body = |p: PathBuf| {
                let text = std::fs::read_to_string(p).unwrap();
                let skip = usize::from(file == "leaderboard.md");
                text.lines().skip(skip).collect::<Vec<_>>().join("\n")
            };
            assert!(
                body(a.join(file)) == body(b.join(file)),
                "{ext}: {file} differs between the log and its table"
            );
        }
    }
}

#[test]
fn bgnbd_needs_the_log_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let table = d.path().join("t.parquet");
    features(&table);
    let out = d.path().join("runs");
    let (ok, err) = run(Command::new(exe())
        .arg("train")
        .args(["--features", table.to_str().unwrap()])
        .args(["--models", "bgnbd,logreg", "--trials", "1", "--out"])
        .arg(&out));
    assert!(ok, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(the_run(&out).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let failed = manifest["failed_models"].to_string();
    assert!(
        failed.contains("bgnbd") && failed.contains("event log"),
        "{failed}"
    );
    // Scoring needs a log, which such a run does not have: it says so.
    let scored = d.path().join("scores.csv");
    let (ok, err) = run(Command::new(exe())
        .args(["score", "--anchor", "2020-04-01", "--run"])
        .arg(the_run(&out))
        .arg("--out")
        .arg(&scored));
    assert!(
        !ok && err.contains("feature table") && !scored.exists(),
        "{err}"
    );
    // Scope or anchor flags do not apply to a finished table.
    let (ok, err) = run(Command::new(exe())
        .arg("train")
        .args(["--features", table.to_str().unwrap(), "--category", "x"])
        .arg("--out")
        .arg(d.path().join("other")));
    assert!(!ok && err.contains("--features"), "{err}");
}

/// `edit` changes the CSV table's text; `train` must fail naming `want` and write nothing.
fn refused(name: &str, edit: impl Fn(&str) -> String, want: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.csv");
    features(&good);
    let bad = d.path().join(format!("{name}.csv"));
    std::fs::write(&bad, edit(&std::fs::read_to_string(&good).unwrap())).unwrap();
    let out = d.path().join("runs");
    let (ok, err) = train(&out, &["--features", bad.to_str().unwrap()]);
    assert!(!ok, "{name}: accepted");
    for w in want {
        assert!(err.contains(w), "{name}: no `{w}` in: {err}");
    }
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{name}: wrote {written:?}");
}

/// Line `n` (1 = header) replaced by `f` of it.
fn line(text: &str, n: usize, f: impl Fn(&str) -> String) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { f(l) } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn field(l: &str, i: usize, v: &str) -> String {
    let mut f: Vec<&str> = l.split(',').collect();
    f[i] = v;
    f.join(",")
}

#[test]
fn bad_tables_are_refused_with_their_place() {
    // A missing column.
    refused(
        "no-trend",
        |t| {
            t.lines()
                .map(|l| l.rsplit_once(',').map_or(l, |x| x.0).to_string() + "\n")
                .collect()
        },
        &["no-trend.csv", "column `activity_trend`", "missing column"],
    );
    // A duplicate (user, anchor): line 3 repeats line 2.
    refused(
        "duplicate",
        |t| {
            let second = t.lines().nth(1).unwrap().to_string();
            line(t, 3, |_| second.clone())
        },
        &["duplicate.csv", "line 3", "appears twice", "line 2"],
    );
    // A NaN feature.
    refused(
        "nan",
        |t| line(t, 5, |l| field(l, 7, "NaN")),
        &["nan.csv", "line 5", "column `n_purchase_30d`", "NaN"],
    );
    // An unknown split.
    refused(
        "split",
        |t| line(t, 4, |l| field(l, 2, "holdout")),
        &["split.csv", "line 4", "column `split`", "holdout"],
    );
    // y disagreeing with the label.
    refused(
        "y",
        |t| {
            line(t, 6, |l| {
                let f: Vec<&str> = l.split(',').collect();
                let y = if f[3] == "m2" { "0" } else { "1" };
                field(l, 4, y)
            })
        },
        &["y.csv", "line 6", "column `y`", "label"],
    );
    // An infinite feature and a missing one.
    refused(
        "inf",
        |t| line(t, 7, |l| field(l, 13, "inf")),
        &["inf.csv", "line 7", "column `total_spend_30d`", "infinite"],
    );
    refused(
        "empty",
        |t| line(t, 8, |l| field(l, 10, "")),
        &[
            "empty.csv",
            "line 8",
            "column `days_since_last_purchase`",
            "missing",
        ],
    );
}

/// Issue 29, item 18: a column named twice, and values too large for the statistics, are
/// refused at import with file, column and line; nothing is written.
#[test]
fn duplicate_columns_and_huge_values_are_refused_at_import() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.csv");
    features(&good);
    let text = std::fs::read_to_string(&good).unwrap();
    let check = |name: &str, body: String, want: &[&str]| {
        let bad = d.path().join(format!("{name}.csv"));
        std::fs::write(&bad, body).unwrap();
        let out = d.path().join(format!("runs-{name}"));
        let (ok, err) = train(&out, &["--features", bad.to_str().unwrap()]);
        assert!(!ok, "{name}: accepted");
        for w in want {
            assert!(err.contains(w), "{name}: no `{w}` in: {err}");
        }
        assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    };
    // A second `n_events_30d` at the end: which copy is meant cannot be told.
    let twice: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},n_events_30d\n")
            } else {
                format!("{l},0\n")
            }
        })
        .collect();
    check(
        "twice",
        twice,
        &["twice.csv", "line 1", "column `n_events_30d`", "twice"],
    );
    // 1e308 is finite, but its square is not: refused, as is anything past the bound (1e18).
    for (name, v) in [("e308", "1e308"), ("neg", "-1e300"), ("e19", "2e18")] {
        check(
            name,
            line(&text, 5, |l| field(l, 13, v)),
            &[
                &format!("{name}.csv"),
                "line 5",
                "column `total_spend_30d`",
                "out of range",
            ],
        );
    }
    // A large value within the bound trains.
    let big = d.path().join("big.csv");
    std::fs::write(&big, line(&text, 5, |l| field(l, 13, "1e17"))).unwrap();
    let (ok, err) = train(
        &d.path().join("runs-big"),
        &["--features", big.to_str().unwrap()],
    );
    assert!(ok, "{err}");
}
