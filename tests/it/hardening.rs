//! The hostile sweep of issue 9, one test per finding: nothing destroyed, nothing silently
//! wrong, no panic, errors that name the file, column and line.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use common::*;
use polars::prelude::*;

fn bin() -> Command {
    let mut c = Command::cargo_bin("churn-tui").unwrap();
    c.env("RUST_BACKTRACE", "0");
    c
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run")
}

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data")
}

/// A private copy of the committed fixture run.
fn run_copy() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let to = d.path().join("run");
    copy_dir(&fixture(), &to);
    (d, to)
}

/// Run and expect failure without a panic; returns stderr.
fn fails(c: &mut Command) -> String {
    let out = c.assert().failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!err.contains("panicked"), "a panic: {err}");
    err
}

/// `churn-tui features --data DATA --out OUT`.
fn features(data: impl AsRef<std::ffi::OsStr>, out: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = bin();
    c.arg("features")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out);
    c
}

fn export(run: &Path, out: &Path) -> Command {
    let mut c = bin();
    c.arg("export").arg("--run").arg(run).arg("--out").arg(out);
    c
}

fn report(run: &Path, out: &Path) -> Command {
    let mut c = bin();
    c.arg("report").arg("--run").arg(run).arg("--out").arg(out);
    c
}

/// Train the two quick models on `data` (as given on the command line, from `cwd`) into
/// `out`; returns the run directory.
fn train(cwd: &Path, data: &str, out: &Path) -> PathBuf {
    let a = bin()
        .current_dir(cwd)
        .args(["train", "--models", "rule_recency,logreg", "--trials", "1"])
        .args(["--data", data])
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("run saved to "))
        .unwrap_or_else(|| panic!("no run saved: {err}"));
    cwd.join(line.trim())
}

fn mkfifo(p: &Path) {
    assert!(StdCommand::new("mkfifo").arg(p).status().unwrap().success());
}

fn is_fifo(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_fifo())
}

// 1. An output that exists and is not a regular file is refused, never replaced.
#[test]
fn outputs_never_replace_devices_fifos_or_directories() {
    let (d, run) = run_copy();
    let fifo = d.path().join("pipe.csv");
    mkfifo(&fifo);
    // A link to a device: were it followed by a rename, only the link would be replaced, so
    // this probe cannot damage the machine even if the check were missing.
    let dev = d.path().join("null.csv");
    std::os::unix::fs::symlink("/dev/null", &dev).unwrap();
    let dir = d.path().join("adir.csv");
    std::fs::create_dir(&dir).unwrap();
    for out in [&fifo, &dev, &dir] {
        let err = fails(&mut export(&run, out));
        assert!(
            err.contains("not a regular file") || err.contains("is a directory"),
            "{}: {err}",
            out.display()
        );
    }
    let err = fails(&mut report(&run, &fifo));
    assert!(err.contains("not a regular file"), "{err}");
    assert!(is_fifo(&fifo), "the FIFO is still a FIFO");
    assert!(
        std::fs::symlink_metadata(&dev)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(dir.is_dir());
    // The same rule holds for every writer: the feature table and generated logs too.
    let err = fails(bin().args(["gen", "--users", "10", "--out"]).arg(&fifo));
    assert!(err.contains("not a regular file"), "{err}");
    assert!(is_fifo(&fifo));
}

// 2. An output never replaces a file of a run, nor a read-only file.
#[test]
fn outputs_never_replace_run_files_or_read_only_files() {
    let (d, run) = run_copy();
    let manifest = std::fs::read(run.join("manifest.json")).unwrap();
    let err = fails(&mut report(&run, &run.join("manifest.json")));
    assert!(err.contains("is a file of the run"), "{err}");
    assert_eq!(std::fs::read(run.join("manifest.json")).unwrap(), manifest);
    let model = std::fs::read(run.join("models/logreg.json")).unwrap();
    let err = fails(&mut export(&run, &run.join("models/logreg.json")));
    assert!(err.contains("is a file of the run"), "{err}");
    assert_eq!(
        std::fs::read(run.join("models/logreg.json")).unwrap(),
        model
    );
    // Through another spelling of the same directory too.
    let odd = run.join("models/../eval.json");
    fails(&mut report(&run, &odd));
    // Other names inside the run are the workbench's own export place: allowed.
    export(&run, &run.join("targets.csv")).assert().success();

    let ro = d.path().join("ro.md");
    std::fs::write(&ro, "keep me").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = fails(&mut report(&run, &ro));
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(std::fs::read_to_string(&ro).unwrap(), "keep me");

    // `features --out` naming one of its own inputs.
    std::fs::copy(
        sample_dir().join("2019-Oct.csv.gz"),
        d.path().join("x.csv.gz"),
    )
    .unwrap();
    let input = d.path().join("x.csv.gz");
    let before = std::fs::read(&input).unwrap();
    let err = fails(
        bin()
            .args(["features", "--data"])
            .arg(&input)
            .arg("--out")
            .arg(&input),
    );
    assert!(err.contains("input"), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

// 3. Runs saved at once into the same root, in the same second, all land, each whole.
#[test]
fn concurrent_saves_get_distinct_run_ids() {
    use churn_tui::engine::artifacts::save_new;
    use churn_tui::engine::run::{TrainConfig, train};
    let cfg = TrainConfig {
        dataset: churn_tui::engine::dataset::DatasetConfig {
            data: vec![format!("{}/*.csv.gz", sample_dir().display())],
            ..Default::default()
        },
        models: vec!["rule_recency".into()],
        trials: 1,
        ..Default::default()
    };
    let report = train(&cfg, &|_| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    let root = tempfile::tempdir().unwrap();
    let barrier = std::sync::Barrier::new(4);
    let dirs: Vec<PathBuf> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    save_new(&report, root.path()).unwrap().0
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "{names:?}");
    for d in &dirs {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(
            m["run_id"].as_str(),
            d.file_name().and_then(|n| n.to_str()),
            "the manifest names its own directory"
        );
        churn_tui::engine::loaded_run::LoadedRun::load(d).unwrap();
    }
    let hidden: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "no temp left: {hidden:?}");
}

/// A log with empty brands, categories and sessions, written plain and with every field
/// quoted (Python's csv.QUOTE_ALL).
fn plain_and_quoted(dir: &Path) -> (PathBuf, PathBuf) {
    let plain = write(dir, "plain.csv", &csv_text(&log_rows()));
    let quoted: String = std::fs::read_to_string(&plain)
        .unwrap()
        .lines()
        .map(|l| {
            l.split(',')
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    assert!(quoted.contains(",\"\","), "the fixture has empty fields");
    (plain, write(dir, "quoted.csv", &quoted))
}

/// Oct 1 – Apr 30 with brand-less events and a category-less product.
fn log_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut t = secs("2019-10-01");
    let end = secs("2020-04-30 23:00:00");
    let mut u = 1;
    while t <= end {
        let brand = if u % 3 == 0 { None } else { Some("apple") };
        rows.push(Row::new(u % 9, t, "view", brand, 10.0).session(None));
        rows.push(
            Row::new((u + 4) % 9, t + 60, "purchase", Some("samsung"), 20.0).product(2, None),
        );
        t += 2 * DAY + 3600;
        u += 1;
    }
    rows
}

// 4. `""` is no value, like an empty field: the same features either way.
#[test]
fn quoted_empty_fields_are_null() {
    let d = tempfile::tempdir().unwrap();
    let (plain, quoted) = plain_and_quoted(d.path());
    let (a, b) = (d.path().join("a.csv"), d.path().join("b.csv"));
    for (data, out) in [(&plain, &a), (&quoted, &b)] {
        features(data, out).assert().success();
    }
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read_to_string(&b).unwrap()
    );
    // The category scope sees no code for the code-less product either way.
    let (c, e) = (d.path().join("c.csv"), d.path().join("e.csv"));
    for (data, out) in [(&plain, &c), (&quoted, &e)] {
        bin()
            .args(["features", "--category", "electronics"])
            .arg("--data")
            .arg(data)
            .arg("--out")
            .arg(out)
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(&c).unwrap(), std::fs::read(&e).unwrap());
}

// 5. A price that is not finite, or so large that its square overflows, is bad input.
#[test]
fn non_finite_and_huge_prices_are_bad_input() {
    let d = tempfile::tempdir().unwrap();
    for bad in ["inf", "1e309", "-inf", "1e300", "NaN"] {
        let rows = log_rows();
        let mut text = csv_text(&rows);
        // Line 6 (header = 1) gets the bad price.
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut fields: Vec<String> = lines[5].split(',').map(str::to_string).collect();
        fields[6] = bad.into();
        let mut lines = lines;
        lines[5] = fields.join(",");
        text = lines.join("\n") + "\n";
        let data = write(d.path(), "p.csv", &text);
        let err = fails(&mut features(&data, d.path().join("o.csv")));
        assert!(
            err.contains("p.csv") && err.contains("line 6") && err.contains("column `price`"),
            "{bad}: {err}"
        );
    }
    // In Parquet too, by row.
    let rows = log_rows();
    let mut prices: Vec<f64> = rows.iter().map(|r| r.price).collect();
    prices[7] = f64::INFINITY;
    let p = parquet(d.path(), "inf.parquet", &rows, |df| {
        df.replace("price", Column::new("price".into(), prices.clone()))
            .unwrap();
    });
    let err = fails(&mut features(&p, d.path().join("o.csv")));
    assert!(
        err.contains("row 7") && err.contains("column `price`"),
        "{err}"
    );
}

/// Rows as a Parquet file (µs timestamps), changed by `edit` before writing.
fn parquet(dir: &Path, name: &str, rows: &[Row], edit: impl Fn(&mut DataFrame)) -> PathBuf {
    let n = rows.len();
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
        Column::new(
            "product_id".into(),
            rows.iter().map(|r| r.product_id).collect::<Vec<_>>(),
        ),
        Column::new("category_id".into(), vec![10i64; n]),
        Column::new(
            "category_code".into(),
            rows.iter()
                .map(|r| r.category_code.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "brand".into(),
            rows.iter().map(|r| r.brand.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "price".into(),
            rows.iter().map(|r| r.price).collect::<Vec<_>>(),
        ),
        Column::new(
            "user_id".into(),
            rows.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "user_session".into(),
            rows.iter().map(|r| r.session.clone()).collect::<Vec<_>>(),
        ),
    ])
    .unwrap();
    edit(&mut df);
    let p = dir.join(name);
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    p
}

// 6. A run nothing can open is never saved: one user, or a split with one class.
#[test]
fn a_run_that_cannot_be_opened_is_not_saved() {
    let d = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = log_rows()
        .into_iter()
        .map(|mut r| {
            r.user_id = 7;
            r
        })
        .collect();
    let data = write(d.path(), "one.csv", &csv_text(&rows));
    let out = d.path().join("runs");
    let err = fails(
        bin()
            .args([
                "train",
                "--models",
                "rule_recency,logreg",
                "--trials",
                "1",
                "--data",
            ])
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains("split has"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing saved: {left:?}");
}

// 7 and 11. A missing, corrupt or mis-shapen model file is an error, not other reasons or a
// panic.
#[test]
fn damaged_model_files_are_errors() {
    let (d, run) = run_copy();
    let out = d.path().join("t.csv");
    let logreg = run.join("models/logreg.json");
    let good = std::fs::read_to_string(&logreg).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let coef = v["coef"].as_array_mut().unwrap();
    coef.truncate(5);
    let short = v.to_string();
    for (what, text) in [
        ("missing", None),
        ("corrupt", Some("{\"c\": 1, \"coef\": [")),
        ("short", Some(short.as_str())),
    ] {
        match text {
            None => std::fs::remove_file(&logreg).unwrap(),
            Some(t) => std::fs::write(&logreg, t).unwrap(),
        }
        for mut c in [export(&run, &out), report(&run, &d.path().join("r.md"))] {
            c.args(["--model", "logreg"]);
            let err = fails(&mut c);
            assert!(err.contains("logreg.json"), "{what}: {err}");
        }
        assert!(!out.exists());
        std::fs::write(&logreg, &good).unwrap();
    }
}

// 8. Scores that are no probability are refused when a run is loaded.
#[test]
fn nan_scores_are_refused() {
    let (d, run) = run_copy();
    let wb = churn_tui::engine::loaded_run::LoadedRun::load(&run).unwrap();
    let mut cols = vec![
        Column::new("user_id".into(), wb.test.users.clone()),
        Column::new("anchor_us".into(), wb.test.anchors.clone()),
    ];
    for (i, m) in wb.models.iter().enumerate() {
        let mut scores = m.test_scores.clone();
        if i == 1 {
            scores[3] = f64::NAN;
        }
        cols.push(Column::new(m.name.as_str().into(), scores));
    }
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    ParquetWriter::new(std::fs::File::create(run.join("test_scores.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = fails(&mut export(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("test_scores.parquet")
            && err.contains("not a probability")
            && err.contains(&wb.models[1].name),
        "{err}"
    );
}

// 9. `score` with the run's own inputs reads the very files it was trained on, from any
// directory, and refuses them when they changed.
#[test]
fn score_uses_the_runs_own_files_from_anywhere() {
    let a = tempfile::tempdir().unwrap();
    std::fs::create_dir(a.path().join("data")).unwrap();
    for e in std::fs::read_dir(sample_dir()).unwrap().flatten() {
        if e.file_name().to_string_lossy().ends_with(".csv.gz") {
            std::fs::copy(e.path(), a.path().join("data").join(e.file_name())).unwrap();
        }
    }
    let run = train(a.path(), "data/*.csv.gz", &a.path().join("runs"));
    // Another directory with another `data/` that the relative glob would match.
    let b = tempfile::tempdir().unwrap();
    std::fs::create_dir(b.path().join("data")).unwrap();
    write(&b.path().join("data"), "x.csv.gz", "not read");
    let score = |cwd: &Path, out: &str| {
        bin()
            .current_dir(cwd)
            .args(["score", "--anchor", "2020-04-01", "--out", out])
            .arg("--run")
            .arg(&run)
            .assert()
    };
    score(a.path(), "here.csv").success();
    score(b.path(), "there.csv").success();
    assert_eq!(
        std::fs::read_to_string(a.path().join("here.csv")).unwrap(),
        std::fs::read_to_string(b.path().join("there.csv")).unwrap()
    );
    // A changed input: refused, by name.
    let f = a.path().join("data/2020-Apr.csv.gz");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes.extend_from_slice(&std::fs::read(sample_dir().join("2019-Oct.csv.gz")).unwrap());
    std::fs::write(&f, bytes).unwrap();
    let out = score(b.path(), "again.csv").failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("2020-Apr.csv.gz") && err.contains("changed"),
        "{err}"
    );
}

// 10 and 13. Parquet types from warehouses: a decimal price, decimal and small-integer extra
// columns, unsigned ids; one that does not fit is named, not "missing".
#[test]
fn parquet_decimals_small_ints_and_unsigned_ids() {
    let d = tempfile::tempdir().unwrap();
    let rows = log_rows();
    let plain = parquet(d.path(), "plain.parquet", &rows, |_| {});
    let wide = parquet(d.path(), "wide.parquet", &rows, |df| {
        let price = df
            .column("price")
            .unwrap()
            .cast(&DataType::Decimal(10, 2))
            .unwrap();
        df.replace("price", price).unwrap();
        let extra = Series::new("discount".into(), vec![1.25f64; df.height()])
            .cast(&DataType::Decimal(5, 2))
            .unwrap();
        df.with_column(extra.into()).unwrap();
        let small = Series::new("flag".into(), vec![1i16; df.height()]);
        df.with_column(small.into()).unwrap();
        let uid = df
            .column("user_id")
            .unwrap()
            .cast(&DataType::UInt64)
            .unwrap();
        df.replace("user_id", uid).unwrap();
    });
    let (a, b) = (d.path().join("a.csv"), d.path().join("b.csv"));
    for (data, out) in [(&plain, &a), (&wide, &b)] {
        features(data, out).assert().success();
    }
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read_to_string(&b).unwrap()
    );
    let huge = parquet(d.path(), "huge.parquet", &rows, |df| {
        let mut ids: Vec<u64> = rows.iter().map(|r| r.user_id as u64).collect();
        ids[3] = u64::MAX;
        df.replace("user_id", Column::new("user_id".into(), ids))
            .unwrap();
    });
    let err = fails(&mut features(&huge, &a));
    assert!(
        err.contains("row 3") && err.contains("user_id") && err.contains("out of range"),
        "{err}"
    );
}

// 12 and 13. CRLF line numbers; a padded header; CR-only line ends; an anchor at the epoch.
#[test]
fn line_ends_headers_and_the_epoch() {
    let d = tempfile::tempdir().unwrap();
    let text = csv_text(&log_rows());
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[10] = lines[10]
        .replacen(",purchase,", ",vieww,", 1)
        .replacen(",view,", ",vieww,", 1);
    assert!(lines[10].contains(",vieww,"));
    let crlf = write(d.path(), "crlf.csv", &(lines.join("\r\n") + "\r\n"));
    let err = fails(&mut features(&crlf, d.path().join("o.csv")));
    assert!(
        err.contains("line 11,") && err.contains("event_type"),
        "{err}"
    );

    let padded = write(
        d.path(),
        "padded.csv",
        &text.replacen("event_time,event_type", " event_time , event_type", 1),
    );
    let plain = write(d.path(), "plain.csv", &text);
    let (a, b) = (d.path().join("a.csv"), d.path().join("b.csv"));
    for (data, out) in [(&plain, &a), (&padded, &b)] {
        features(data, out).assert().success();
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let cr = write(d.path(), "cr.csv", &text.replace('\n', "\r"));
    let err = fails(&mut features(&cr, d.path().join("o.csv")));
    assert!(
        err.contains("cr.csv") && err.contains("line 1") && err.contains("carriage return"),
        "{err}"
    );
    assert!(err.len() < 400, "no file content in the message: {err}");

    // A log around the epoch: the anchor 1970-01-01 is the value 0.
    let mut rows = Vec::new();
    let mut t = secs("1969-11-01");
    let mut u = 1;
    while t < secs("1970-04-30") {
        rows.push(Row::new(u % 5, t, "view", Some("apple"), 10.0));
        t += DAY + 77;
        u += 1;
    }
    let epoch = write(d.path(), "epoch.csv", &csv_text(&rows));
    features(&epoch, d.path().join("e.csv")).assert().success();
    let out = std::fs::read_to_string(d.path().join("e.csv")).unwrap();
    assert!(out.contains(",1970-01-01T00:00:00Z,"), "{out}");
}

// 14. Arguments are checked before any work.
#[test]
fn repeated_models_or_ks_fail_at_once() {
    let d = tempfile::tempdir().unwrap();
    for args in [["--models", "logreg,logreg"], ["--k", "5,5"]] {
        let err = fails(
            bin()
                .arg("train")
                .args(args)
                .arg("--out")
                .arg(d.path().join("runs")),
        );
        assert!(err.contains("twice"), "{err}");
        assert!(!err.contains("fit in"), "failed before training: {err}");
    }
}

// 15. Edits naming users the run did not score, and a scores file without a model, name
// their file.
#[test]
fn bad_edits_and_missing_score_columns_name_their_file() {
    let (d, run) = run_copy();
    for edits in [
        r#"{"excluded": [-5], "added": []}"#,
        r#"{"excluded": [], "added": [123456789]}"#,
    ] {
        std::fs::write(run.join("edits.json"), edits).unwrap();
        let err = fails(&mut export(&run, &d.path().join("t.csv")));
        assert!(err.contains("edits.json"), "{err}");
    }
    std::fs::remove_file(run.join("edits.json")).unwrap();
    // A run with test_scores.parquet that lacks a model's column.
    let wb = churn_tui::engine::loaded_run::LoadedRun::load(&run).unwrap();
    let mut cols = vec![
        Column::new("user_id".into(), wb.test.users.clone()),
        Column::new("anchor_us".into(), wb.test.anchors.clone()),
    ];
    for m in wb.models.iter().skip(1) {
        cols.push(Column::new(m.name.as_str().into(), m.test_scores.clone()));
    }
    let mut df = DataFrame::new_infer_height(cols).unwrap();
    ParquetWriter::new(std::fs::File::create(run.join("test_scores.parquet")).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = fails(&mut export(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("test_scores.parquet") && err.contains(&wb.models[0].name),
        "{err}"
    );
}

// 16. Temp runs of killed processes are removed on the next start and never opened.
#[test]
fn stale_temp_runs_are_cleaned_and_never_opened() {
    use churn_tui::engine::artifacts::{RUN_TMP_PREFIX, WRITING_LOCK, clean_stale_runs};
    let root = tempfile::tempdir().unwrap();
    let dead = root.path().join(format!("{RUN_TMP_PREFIX}dead.tmp"));
    let live = root.path().join(format!("{RUN_TMP_PREFIX}live.tmp"));
    copy_dir(&fixture(), &dead);
    copy_dir(&fixture(), &live);
    std::fs::write(dead.join(WRITING_LOCK), "").unwrap();
    let held = std::fs::File::create(live.join(WRITING_LOCK)).unwrap();
    held.lock().unwrap();
    let tmp_file = root.path().join(".churn-tui-abc.tmp");
    std::fs::write(&tmp_file, "half").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp_file)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(10))
        .unwrap();
    // Whatever is half-written is never opened, even with every file in place.
    let err = churn_tui::engine::loaded_run::LoadedRun::load(&dead)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unfinished run"), "{err}");
    let cfg: churn_tui::engine::run::TrainConfig = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(dead.join("manifest.json")).unwrap(),
        )
        .unwrap()["config"]
            .clone(),
    )
    .unwrap();
    assert_eq!(
        churn_tui::engine::artifacts::find_run(root.path(), &cfg),
        None
    );
    clean_stale_runs(root.path());
    assert!(!dead.exists(), "a killed writer's run is removed");
    assert!(live.exists(), "a live writer's run stays");
    assert!(!tmp_file.exists(), "a killed writer's temp file is removed");
}

// 17. Every file written honours the umask.
#[test]
fn outputs_honour_the_umask() {
    let (d, run) = run_copy();
    let exe = assert_cmd::cargo::cargo_bin("churn-tui");
    for (mask, want) in [("077", 0o600), ("022", 0o644)] {
        for ext in ["csv", "parquet", "xlsx"] {
            let out = d.path().join(format!("t{mask}.{ext}"));
            let ok = StdCommand::new("sh")
                .arg("-c")
                .arg(format!(
                    "umask {mask}; exec \"$0\" export --run \"$1\" --out \"$2\""
                ))
                .arg(&exe)
                .arg(&run)
                .arg(&out)
                .status()
                .unwrap()
                .success();
            assert!(ok);
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want, "{} under umask {mask}", out.display());
        }
    }
    // A whole run under umask 077: nothing in it readable by others.
    let a = tempfile::tempdir().unwrap();
    let out = a.path().join("runs");
    let ok = StdCommand::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$0\" train --models rule_recency --trials 1 --out \"$1\"")
        .arg(&exe)
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut files = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            }
            files.push(e.path());
        }
    }
    assert!(files.len() > 8, "{files:?}");
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o077;
        assert_eq!(mode, 0, "{} is open to others", f.display());
    }
}

// 18. The sample is built in: found wherever the binary runs.
#[test]
fn the_built_in_sample_is_the_shipped_one() {
    use churn_tui::engine::data::sample::FILES;
    for (name, bytes) in FILES {
        assert_eq!(
            std::fs::read(sample_dir().join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }
    let shipped = std::fs::read_dir(sample_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".csv.gz"))
        .count();
    assert_eq!(shipped, FILES.len(), "every shipped file is built in");
}

// 19. A model that works for seconds without a step to count still reports every second.
#[test]
fn slow_steps_send_a_heartbeat() {
    use churn_tui::engine::run::{Progress, heartbeat};
    let (tx, rx) = std::sync::mpsc::channel::<Progress>();
    let tx = std::sync::Mutex::new(tx);
    let sink = move |p: Progress| {
        let _ = tx.lock().unwrap().send(p);
    };
    // The work blocks until two heartbeats have come (or 20 s pass), so a missing heartbeat
    // fails the test instead of slowing it.
    let got = heartbeat("slow", &sink, || {
        let mut beats = 0;
        let start = std::time::Instant::now();
        while beats < 2 && start.elapsed().as_secs() < 20 {
            if let Ok(Progress::Working { model, .. }) =
                rx.recv_timeout(std::time::Duration::from_millis(100))
            {
                assert_eq!(model, "slow");
                beats += 1;
            }
        }
        Ok(beats)
    })
    .unwrap();
    assert_eq!(got, 2);
}

/// What a killed process does to itself in `killed_child`, chosen by the parent.
const KILL_MODE: &str = "CHURN_TEST_KILL_MODE";
const KILL_DIR: &str = "CHURN_TEST_KILL_DIR";

fn kill_self() -> ! {
    // SAFETY: signalling our own pid; SIGKILL ends the process at once, like `kill -9`.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    unreachable!("SIGKILL returned")
}

// The child process of `a_killed_writer_leaves_nothing_the_next_start_keeps`: it dies by
// SIGKILL half-way through writing an export or saving a run.
#[test]
#[ignore = "run by a_killed_writer_leaves_nothing_the_next_start_keeps as its child process"]
fn killed_child() {
    let dir = PathBuf::from(std::env::var(KILL_DIR).unwrap());
    match std::env::var(KILL_MODE).unwrap().as_str() {
        "file" => {
            let _ = churn_tui::engine::atomic::write_atomic(&dir.join("out.csv"), |w| {
                use std::io::Write;
                w.write_all(b"rank,user_id\n1,")?;
                w.flush()?;
                kill_self()
            });
        }
        _ => {
            use churn_tui::engine::artifacts::RUN_TMP_PREFIX;
            let cfg = churn_tui::engine::run::TrainConfig {
                dataset: churn_tui::engine::dataset::DatasetConfig {
                    data: vec![format!("{}/*.csv.gz", sample_dir().display())],
                    ..Default::default()
                },
                models: vec!["rule_recency".into()],
                trials: 1,
                ..Default::default()
            };
            let report = churn_tui::engine::run::train(
                &cfg,
                &|_| {},
                &std::sync::atomic::AtomicBool::new(false),
            )
            .unwrap();
            let root = dir.clone();
            // Dies the moment the run's temp directory holds its writing lock, mid-save. (A
            // kill between its mkdir and its lock leaves a directory that the next start
            // removes only after a minute, as it may belong to a live writer.)
            std::thread::spawn(move || {
                loop {
                    let seen = std::fs::read_dir(&root)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|e| {
                            e.file_name().to_string_lossy().starts_with(RUN_TMP_PREFIX)
                                && e.path()
                                    .join(churn_tui::engine::artifacts::WRITING_LOCK)
                                    .exists()
                        });
                    if seen {
                        kill_self();
                    }
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            });
            let _ = churn_tui::engine::artifacts::save_new(&report, &dir);
            // Saved before the watcher saw it: still die, the parent reports it.
            kill_self();
        }
    }
}

// 16, with real kills: what a killed writer leaves is removed by the next start, and nothing
// it left is ever listed as a run.
#[test]
fn a_killed_writer_leaves_nothing_the_next_start_keeps() {
    let hidden = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with('.'))
            .collect()
    };
    let child = |mode: &str, dir: &Path| {
        let status = StdCommand::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "hardening::killed_child",
                "--nocapture",
            ])
            .env(KILL_MODE, mode)
            .env(KILL_DIR, dir)
            .output()
            .unwrap()
            .status;
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{mode}: {status:?}");
    };

    let d = tempfile::tempdir().unwrap();
    child("file", d.path());
    assert_eq!(
        hidden(d.path()).len(),
        1,
        "the killed export left its temp file"
    );
    assert!(!d.path().join("out.csv").exists(), "no half-written export");
    // Unlocked temp files are removed once older than a moment (a live writer locks its file
    // right after making it): age this one instead of waiting.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    for e in std::fs::read_dir(d.path()).unwrap().flatten() {
        std::fs::File::options()
            .write(true)
            .open(e.path())
            .unwrap()
            .set_modified(past)
            .unwrap();
    }
    export(&fixture(), &d.path().join("next.csv"))
        .assert()
        .success();
    assert!(hidden(d.path()).is_empty(), "{:?}", hidden(d.path()));

    let root = tempfile::tempdir().unwrap();
    child("run", root.path());
    let left = hidden(root.path());
    assert_eq!(left.len(), 1, "the killed save left its temp run: {left:?}");
    let visible: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        visible.is_empty(),
        "no run named before it was whole: {visible:?}"
    );
    let run = train(
        root.path(),
        &format!("{}/*.csv.gz", sample_dir().display()),
        root.path(),
    );
    assert!(hidden(root.path()).is_empty(), "{:?}", hidden(root.path()));
    churn_tui::engine::loaded_run::LoadedRun::load(&run).unwrap();
}

// A run file with a field missing, or a manifest of another format version, stops the reader
// with the file and the field named (never a silent default).
#[test]
fn a_missing_field_or_another_format_version_is_named() {
    let (d, run) = run_copy();
    let eval_path = run.join("eval.json");
    let good = std::fs::read_to_string(&eval_path).unwrap();
    let mut eval: serde_json::Value = serde_json::from_str(&good).unwrap();
    eval.as_object_mut().unwrap().remove("choice");
    std::fs::write(&eval_path, eval.to_string()).unwrap();
    let err = fails(&mut export(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("eval.json") && err.contains("`choice`"),
        "{err}"
    );
    std::fs::write(&eval_path, good).unwrap();

    let mpath = run.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    m["format_version"] = serde_json::json!(3);
    std::fs::write(&mpath, m.to_string()).unwrap();
    let err = fails(&mut export(&run, &d.path().join("t.csv")));
    assert!(
        err.contains("manifest.json") && err.contains("format_version 3"),
        "{err}"
    );
    assert!(!d.path().join("t.csv").exists());
}

/// Hidden entries (temp files and work directories) in `d`.
fn hidden_in(d: &Path) -> Vec<String> {
    std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect()
}

// Issue 29, item 19: a `gen` killed with -9 leaves its work directory (sorted runs) and temp
// file; the next `gen` into that folder removes them, whatever its own size. Leftovers named
// with a dead writer's pid go at once, without the grace a young temp file gets.
#[test]
fn a_killed_gen_leaves_nothing_the_next_gen_keeps() {
    let d = tempfile::tempdir().unwrap();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("churn-tui"))
        .args([
            "gen",
            "--users",
            "2000000",
            "--chunk-users",
            "20000",
            "--out",
        ])
        .arg(d.path().join("big.csv"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let has_runs = |d: &Path| {
        std::fs::read_dir(d).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(".churn-gen-")
                && std::fs::read_dir(e.path()).is_ok_and(|r| {
                    r.flatten()
                        .any(|f| f.file_name().to_string_lossy().starts_with("run-"))
                })
        })
    };
    while !has_runs(d.path()) {
        assert!(
            started.elapsed().as_secs() < 300,
            "gen wrote no sorted run in 5 minutes"
        );
        assert!(child.try_wait().unwrap().is_none(), "gen ended early");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // A temp file of a writer that is dead now, made just now (no grace applies).
    let mut gone = StdCommand::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(
        d.path().join(format!(".churn-tui-p{pid}-abcdef.tmp")),
        "half",
    )
    .unwrap();
    assert!(hidden_in(d.path()).len() >= 2, "{:?}", hidden_in(d.path()));
    bin()
        .args(["gen", "--users", "50", "--out"])
        .arg(d.path().join("small.csv"))
        .assert()
        .success();
    assert_eq!(hidden_in(d.path()), Vec::<String>::new());
    assert!(d.path().join("small.csv").exists() && !d.path().join("big.csv").exists());
}

// Issue 29, item 19: a file given as --spill-dir is named as such.
#[test]
fn a_file_as_spill_dir_is_named() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = d.path().join("t.csv");
    let err = fails(
        features(format!("{}/*.csv.gz", sample_dir().display()), &out)
            .arg("--out-of-core")
            .arg("--spill-dir")
            .arg(&file),
    );
    assert!(
        err.contains("--spill-dir") && err.contains("not-a-dir") && err.contains("not a directory"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// A CSV of the REES46 header and `rows` lines.
fn events_csv(rows: &[String]) -> String {
    let mut s = String::from(
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n",
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn gz(path: &Path, text: &[u8]) {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(text).unwrap();
    e.finish().unwrap();
}

const GOOD_ROW: &str = "2019-10-01 10:00:00 UTC,view,1,2,,b,1.5,7,s";

// Issue 29, items 20 and 21: long values are cut in messages, a line of megabytes is refused
// at once (it was held whole, with no word), a file cut short and a truncated gzip say so.
#[test]
fn long_values_long_lines_and_cut_files_are_named() {
    let d = tempfile::tempdir().unwrap();
    let summary = |p: &Path| {
        let mut c = bin();
        c.arg("summary").arg("--data").arg(p);
        fails(&mut c)
    };
    // A 500 kB price: named by line and column, shown cut.
    let long = format!(
        "2019-10-01 10:00:00 UTC,view,1,2,,b,{}x,7,s",
        "9".repeat(500_000)
    );
    let p = d.path().join("long-value.csv");
    std::fs::write(&p, events_csv(&[GOOD_ROW.into(), long, GOOD_ROW.into()])).unwrap();
    let err = summary(&p);
    assert!(
        err.contains("line 3") && err.contains("price") && err.contains("more characters"),
        "{err}"
    );
    assert!(
        err.len() < 2_000,
        "the value was echoed whole: {} bytes",
        err.len()
    );
    // A "line" of 64 MB in a gzip of a few hundred kB: refused naming the file and line, fast.
    let mut text = events_csv(&[GOOD_ROW.into()]).into_bytes();
    text.extend(std::iter::repeat_n(b'x', 64 << 20));
    text.extend(b"\n");
    let p = d.path().join("long-line.csv.gz");
    gz(&p, &text);
    let clock = std::time::Instant::now();
    let err = summary(&p);
    assert!(
        err.contains("long-line.csv.gz") && err.contains("line 3") && err.contains("longer than"),
        "{err}"
    );
    assert!(clock.elapsed().as_secs() < 60, "{:?}", clock.elapsed());
    // A CSV cut in the middle of its last line (then gzipped whole).
    let rows: Vec<String> = (0..50).map(|_| GOOD_ROW.to_string()).collect();
    let full = events_csv(&rows);
    let cut = &full[..full.len() - 20];
    let p = d.path().join("cut.csv.gz");
    gz(&p, cut.as_bytes());
    let err = summary(&p);
    assert!(
        err.contains("cut.csv.gz")
            && err.contains("line 51")
            && err.contains("middle of this line"),
        "{err}"
    );
    // A gzip stream cut short, early and late in the sample's first month.
    let bytes = std::fs::read(sample_dir().join("2019-Oct.csv.gz")).unwrap();
    for (name, at) in [
        ("early.csv.gz", bytes.len() / 3),
        ("late.csv.gz", bytes.len() - 3),
    ] {
        let p = d.path().join(name);
        std::fs::write(&p, &bytes[..at]).unwrap();
        let err = summary(&p);
        assert!(
            err.contains(name) && err.contains("gzip stream ends early"),
            "{name}: {err}"
        );
    }
}

// Issue 29, item 20: a `**` glob that runs into a symbolic-link loop is refused, naming the
// link (it read 287 files for 7); a file reached twice (a link to it) is read once.
#[test]
fn glob_loops_are_refused_and_each_real_file_is_read_once() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for m in ["2019-Oct", "2019-Nov"] {
        let name = format!("{m}.csv.gz");
        std::fs::copy(sample_dir().join(&name), data.join(&name)).unwrap();
    }
    std::os::unix::fs::symlink(&data, data.join("again")).unwrap();
    let mut c = bin();
    c.arg("summary")
        .arg("--data")
        .arg(format!("{}/**/*.csv.gz", data.display()));
    let err = fails(&mut c);
    assert!(err.contains("loop") && err.contains("again"), "{err}");
    std::fs::remove_file(data.join("again")).unwrap();
    std::os::unix::fs::symlink(data.join("2019-Oct.csv.gz"), data.join("z-link.csv.gz")).unwrap();
    let out = bin()
        .arg("summary")
        .arg("--data")
        .arg(format!("{}/*.csv.gz", data.display()))
        .arg("--data")
        .arg(data.join("2019-Nov.csv.gz"))
        .assert();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("files:       2 "), "{text}");
    assert!(!text.contains("z-link"), "{text}");
}
