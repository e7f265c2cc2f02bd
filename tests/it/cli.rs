//! The real binary on bad input (SPEC §1): a non-zero exit, a message naming the file, column
//! and line, no panic and no output file left behind.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use polars::prelude::*;

/// A small valid log with enough months for every split (Oct 1 – Apr 30).
fn good_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let start = secs("2019-10-01");
    let end = secs("2020-04-30 23:00:00");
    let mut t = start;
    let mut u = 1;
    while t <= end {
        rows.push(Row::new(u % 7, t, "view", Some("apple"), 10.0));
        rows.push(Row::new(
            (u + 3) % 7,
            t + 60,
            "purchase",
            Some("samsung"),
            20.0,
        ));
        t += 3 * DAY;
        u += 1;
    }
    rows.push(Row::new(1, end, "view", None, 1.0));
    rows
}

/// `churn-tui features --data DATA --out OUT`.
fn features(data: &Path, out: &Path) -> assert_cmd::assert::Assert {
    bin()
        .arg("features")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .assert()
}

/// Run `features` on `data` writing to a fresh path; returns (stderr, out path).
fn features_fails(data: &Path, extra: &[&str]) -> (String, PathBuf) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("features.csv");
    let assert = bin()
        .arg("features")
        .arg("--data")
        .arg(data)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(!out.exists(), "no output after a failed run");
    let leftovers: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "no temp files left: {leftovers:?}");
    (stderr, out)
}

fn with_line(rows: &[Row], line: usize, replace: impl Fn(&str) -> String) -> String {
    let text = csv_text(rows);
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                replace(l)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn features_on_a_good_log_writes_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "good.csv", &csv_text(&good_rows()));
    let out = dir.path().join("f.csv");
    let a = features(&data, &out).success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(stderr.contains("purged:      2020-02-01"), "{stderr}");
    assert!(
        stderr.contains("train: 3 anchor(s) [2019-11-01, 2019-12-01, 2020-01-01]"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("user_id,anchor,split,label,y,n_events_30d,active_days_30d,"),
        "{header}"
    );
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains(",2019-11-01T00:00:00Z,train,")
    );
}

#[test]
fn missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = csv_text(&good_rows()).replace(",price,", ",cost,");
    let data = write(dir.path(), "nocol.csv", &text);
    let (err, _) = features_fails(&data, &[]);
    assert!(
        err.contains("nocol.csv")
            && err.contains("column `price`")
            && err.contains("missing column"),
        "{err}"
    );
    // The header it found is named, the renamed column among it.
    assert!(
        err.contains("`cost`") && err.contains("`brand`") && err.contains("`user_session`"),
        "{err}"
    );
}

#[test]
fn unknown_event_type_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_line(&good_rows(), 5, |l| {
        l.replace(",view,", ",click,")
            .replace(",purchase,", ",click,")
    });
    let data = write(dir.path(), "badtype.csv", &text);
    let (err, _) = features_fails(&data, &[]);
    assert!(
        err.contains("badtype.csv")
            && err.contains("line 5")
            && err.contains("column `event_type`"),
        "{err}"
    );
    assert!(err.contains("unknown event_type `click`"), "{err}");
}

#[test]
fn unparsable_times() {
    for (i, bad) in [
        "2019-10-04T00:00:00",
        "2019-10-04 00:00:00+00:00",
        "2019-10-04 00:00:00.5 UTC",
        "yesterday",
    ]
    .iter()
    .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let text = with_line(&good_rows(), 3, |l| {
            let rest = l.split_once(',').unwrap().1;
            format!("{bad},{rest}")
        });
        let data = write(dir.path(), &format!("time{i}.csv"), &text);
        let (err, _) = features_fails(&data, &[]);
        assert!(
            err.contains(&format!("time{i}.csv"))
                && err.contains("line 3")
                && err.contains("column `event_time`"),
            "{bad}: {err}"
        );
        assert!(err.contains("unparsable time"), "{bad}: {err}");
    }
}

#[test]
fn time_without_utc_suffix_is_utc() {
    let dir = tempfile::tempdir().unwrap();
    let text = csv_text(&good_rows()).replace(" UTC,", ",");
    let a = write(dir.path(), "plain.csv", &text);
    let b = write(dir.path(), "utc.csv", &csv_text(&good_rows()));
    let (oa, ob) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    features(&a, &oa).success();
    features(&b, &ob).success();
    assert_eq!(std::fs::read(oa).unwrap(), std::fs::read(ob).unwrap());
}

#[test]
fn negative_price_and_non_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let rows = good_rows();
    let mut neg = rows.clone();
    neg[6].price = -3.5;
    let data = write(dir.path(), "neg.csv", &csv_text(&neg));
    let (err, _) = features_fails(&data, &[]);
    // rows[6] is on line 8 (the header is line 1).
    assert!(
        err.contains("neg.csv") && err.contains("line 8") && err.contains("column `price`"),
        "{err}"
    );
    assert!(err.contains("negative price -3.5"), "{err}");

    let text = with_line(&rows, 4, |l| l.replacen(",1,10,", ",x1,10,", 1));
    let data = write(dir.path(), "pid.csv", &text);
    let (err, _) = features_fails(&data, &[]);
    assert!(
        err.contains("line 4")
            && err.contains("column `product_id`")
            && err.contains("not an integer"),
        "{err}"
    );
}

#[test]
fn truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(csv_text(&good_rows()).as_bytes()).unwrap();
    let bytes = enc.finish().unwrap();
    let data = dir.path().join("cut.csv.gz");
    std::fs::write(&data, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (err, _) = features_fails(&data, &[]);
    assert!(err.contains("cut.csv.gz"), "{err}");
    assert!(
        err.contains("truncated") || err.contains("corrupt"),
        "{err}"
    );

    let junk = dir.path().join("junk.csv.gz");
    std::fs::write(&junk, b"this is not gzip at all\n").unwrap();
    let (err, _) = features_fails(&junk, &[]);
    assert!(err.contains("junk.csv.gz"), "{err}");
}

#[test]
fn non_utf8_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let text = csv_text(&good_rows());
    let mut bytes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i + 1 == 6 {
            assert!(
                line.contains(",apple,"),
                "fixture line 6 is an apple row: {line}"
            );
            // A Latin-1 byte (0xff) inside the brand.
            let mut b = line.replacen(",apple,", ",appXle,", 1).into_bytes();
            let pos = b.iter().position(|&c| c == b'X').unwrap();
            b[pos] = 0xff;
            bytes.extend_from_slice(&b);
        } else {
            bytes.extend_from_slice(line.as_bytes());
        }
        bytes.push(b'\n');
    }
    let data = dir.path().join("latin.csv");
    std::fs::write(&data, &bytes).unwrap();
    let (err, _) = features_fails(&data, &[]);
    assert!(
        err.contains("latin.csv") && err.contains("line 6") && err.contains("UTF-8"),
        "{err}"
    );
}

#[test]
fn empty_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "header_only.csv", &format!("{HEADER}\n"));
    let (err, _) = features_fails(&data, &[]);
    assert!(err.contains("no events"), "{err}");
    let data = write(dir.path(), "zero.csv", "");
    let (err, _) = features_fails(&data, &[]);
    assert!(err.contains("zero.csv") && err.contains("empty"), "{err}");
}

#[test]
fn too_short_for_any_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = good_rows()
        .into_iter()
        .filter(|r| r.t < secs("2019-11-20"))
        .collect();
    let data = write(dir.path(), "short.csv", &csv_text(&rows));
    let (err, _) = features_fails(&data, &[]);
    assert!(err.contains("too short for any monthly anchor"), "{err}");

    // Enough for two anchors but not three splits: says which anchors were tried.
    let rows: Vec<Row> = good_rows()
        .into_iter()
        .filter(|r| r.t < secs("2020-01-01"))
        .collect();
    let data = write(dir.path(), "two.csv", &csv_text(&rows));
    let (err, _) = features_fails(&data, &[]);
    assert!(
        err.contains("split is empty") && err.contains("2019-11-01T00:00:00Z"),
        "{err}"
    );
}

#[test]
fn ineligible_explicit_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "good.csv", &csv_text(&good_rows()));
    let (err, _) = features_fails(&data, &["--anchors", "2019-10-15,2019-12-01,2020-02-01"]);
    assert!(
        err.contains("anchor 2019-10-15T00:00:00Z is not eligible"),
        "{err}"
    );
}

#[test]
fn filter_that_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "good.csv", &csv_text(&good_rows()));
    let (err, _) = features_fails(&data, &["--brands", "nokia"]);
    assert!(
        err.contains("no events left after the scope filters") && err.contains("nokia"),
        "{err}"
    );
}

#[test]
fn unwritable_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "good.csv", &csv_text(&good_rows()));
    let out = dir.path().join("no/such/dir/f.csv");
    let a = features(&data, &out).failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("no/such/dir/f.csv") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn missing_file_and_empty_glob() {
    let (err, _) = features_fails(Path::new("/no/such/file.csv"), &[]);
    assert!(err.contains("/no/such/file.csv"), "{err}");
    assert!(
        err.contains("Suggestion: the path tried was /no/such/file.csv"),
        "{err}"
    );
    let (err, _) = features_fails(Path::new("/no/such/dir/*.csv"), &[]);
    assert!(err.contains("no file matches"), "{err}");
    assert!(
        err.contains("Suggestion: the glob tried was `/no/such/dir/*.csv`"),
        "{err}"
    );
    // An error's report carries no backtrace, even when the user's shell asks for them.
    assert!(!err.contains("BACKTRACE"), "{err}");
}

#[test]
fn an_unknown_model_is_answered_with_the_models() {
    let out = bin()
        .args(["train", "--models", "logreg,xgboost"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("unknown model `xgboost`"), "{err}");
    let models = churn_tui::engine::models::MODEL_NAMES.join(", ");
    assert!(
        err.contains(&format!("Suggestion: the models are {models}")),
        "{err}"
    );
    assert!(!err.contains("BACKTRACE"), "{err}");
}

#[test]
fn parquet_bad_row_names_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let rows = good_rows();
    let n = rows.len();
    let mut prices: Vec<f64> = rows.iter().map(|r| r.price).collect();
    prices[4] = -1.0;
    let ts: Vec<i64> = rows.iter().map(|r| r.t * 1_000_000).collect();
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("event_time".into(), ts)
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap()
            .into(),
        Column::new(
            "event_type".into(),
            rows.iter().map(|r| r.event_type).collect::<Vec<_>>(),
        ),
        Column::new("product_id".into(), vec![1i64; n]),
        Column::new("category_id".into(), vec![10i64; n]),
        Column::new("category_code".into(), vec![Some("a.b"); n]),
        Column::new(
            "brand".into(),
            rows.iter().map(|r| r.brand.clone()).collect::<Vec<_>>(),
        ),
        Column::new("price".into(), prices),
        Column::new(
            "user_id".into(),
            rows.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        ),
        Column::new("user_session".into(), vec![None::<&str>; n]),
    ])
    .unwrap();
    let p = dir.path().join("bad.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    let (err, _) = features_fails(&p, &[]);
    assert!(
        err.contains("bad.parquet") && err.contains("row 4") && err.contains("column `price`"),
        "{err}"
    );
}

/// A bad row in the last of many row groups is named by its row, in memory and out of core,
/// and nothing is written (the check reads the file batch by batch, not whole).
#[test]
fn parquet_bad_row_in_a_late_row_group() {
    use churn_tui::engine::data::synth::{GenConfig, generate, to_frame};
    let dir = tempfile::tempdir().unwrap();
    let mut df = to_frame(&generate(&GenConfig {
        users: 2_000,
        start: churn_tui::engine::time::parse_anchor("2019-10-01").unwrap(),
        months: 3,
        seed: 5,
    }))
    .unwrap();
    let n = df.height();
    assert!(n > 5_000, "{n} events");
    let bad = n - 7;
    let prices: Vec<f64> = df
        .column("price")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .enumerate()
        .map(|(i, p)| if i == bad { f64::INFINITY } else { p })
        .collect();
    df.with_column(Column::new("price".into(), prices)).unwrap();
    let p = dir.path().join("late.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .with_row_group_size(Some(500))
        .finish(&mut df)
        .unwrap();
    for extra in [&[][..], &["--out-of-core", "--memory", "64MB"][..]] {
        let (err, _) = features_fails(&p, extra);
        assert!(
            err.contains("late.parquet")
                && err.contains(&format!("row {bad}"))
                && err.contains("column `price`"),
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn workbench_on_a_missing_or_broken_run_fails_before_taking_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let out = bin()
        .args(["--run", missing.to_str().unwrap()])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("no-such-run") && err.contains("manifest.json"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // A run directory whose eval.json is truncated names that file.
    let broken = dir.path().join("broken");
    copy_dir(&fixture_run(), &broken);
    std::fs::write(broken.join("eval.json"), "{\"models\": [").unwrap();
    let out = bin()
        .args(["tui", "--run", broken.to_str().unwrap()])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("eval.json") && err.contains("not valid JSON"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn workbench_on_missing_data_fails_before_taking_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--data", "/no/such/events-*.csv.gz", "--out"])
        .arg(dir.path())
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("/no/such/events-*.csv.gz"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A log too short for the default split: `summary` still shows what the log holds, says why no
/// split can be made, and suggests flags, which then work.
#[test]
fn summary_on_a_short_log_shows_the_log_and_a_split_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("short.csv.gz");
    bin()
        .args([
            "gen", "--users", "300", "--months", "3", "--seed", "3", "--out",
        ])
        .arg(&log)
        .assert()
        .success();
    let o = bin()
        .args(["summary", "--data"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        out.contains("users:") && out.contains("time range:"),
        "{out}"
    );
    assert!(err.contains("split is empty"), "{err}");
    let flags: Vec<String> = err
        .split("for example: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no suggestion: {err}"))
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert!(flags.contains(&"--test-anchors".to_string()), "{flags:?}");
    let o = bin()
        .args(["summary", "--data"])
        .arg(&log)
        .args(&flags)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for split in ["train:", "val:", "test:"] {
        assert!(out.contains(split), "{out}");
    }
}

/// An output into a folder that does not exist names that folder, not the temp file the write
/// would have made beside the output; every command that writes a file says the same, exit 1,
/// nothing created.
#[test]
fn an_output_in_a_missing_folder_names_the_folder() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("no_such_dir");
    let out = missing.join("out.csv");
    let o = out.to_str().unwrap();
    let query = missing.join("out.sql");
    let q = query.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["gen", "--users", "10", "--months", "1", "--out", o],
        vec!["features", "--out", o],
        vec![
            "sql",
            "--dialect",
            "duckdb",
            "--time-range",
            "2019-10-01,2020-04-30",
            "--out",
            q,
        ],
    ];
    for args in cases {
        let a = bin().args(&args).assert().failure();
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(
            err.contains("no_such_dir")
                && err.contains("does not exist")
                && !err.contains(".churn-tui-"),
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} created the folder");
    }
}
