//! Odd and hostile input logs and arguments (issue 9's hostile sweep, issue 29 #20 and #21):
//! quoted empty fields, non-finite and huge prices, warehouse Parquet types, CRLF and CR line
//! ends, a padded header, a log around the epoch, values and lines of megabytes, files cut
//! short, glob loops, repeated models or Ks, a file given as `--spill-dir`. Each is read right or
//! refused at once, naming the file, line (or row) and column, never with a panic.

use std::path::{Path, PathBuf};

use crate::common::*;
use polars::prelude::*;

/// `churn-tui features --data DATA --out OUT`.
fn features(
    data: impl AsRef<std::ffi::OsStr>,
    out: impl AsRef<std::ffi::OsStr>,
) -> assert_cmd::Command {
    let mut c = bin();
    c.arg("features")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out);
    c
}

/// A log with empty brands, categories and sessions, written plain and with every field
/// quoted (Python's csv.QUOTE_ALL).
fn plain_and_quoted(dir: &Path) -> (PathBuf, PathBuf) {
    let plain = write(dir, "plain.csv", &csv_text(&rows_with_empty_fields()));
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
        let rows = rows_with_empty_fields();
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
    let rows = rows_with_empty_fields();
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

// 10 and 13. Parquet types from warehouses: a decimal price, decimal and small-integer extra
// columns, unsigned ids; one that does not fit is named, not "missing".
#[test]
fn parquet_decimals_small_ints_and_unsigned_ids() {
    let d = tempfile::tempdir().unwrap();
    let rows = rows_with_empty_fields();
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
    let text = csv_text(&rows_with_empty_fields());
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
