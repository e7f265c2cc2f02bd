//! The same log as CSV, CSV.gz, Parquet and a glob of monthly files gives identical feature
//! tables; the generator is deterministic to the byte; the built-in sample is the shipped one;
//! outputs take their format from their names.

use churn_tui::engine::data::synth::{GenConfig, generate, generate_to, write_file};
use churn_tui::engine::dataset::{self, DatasetConfig};
use churn_tui::engine::features::write;
use churn_tui::engine::time::parse_anchor;

use crate::common::{bin, fixture_run, read_json, sample_dir, sample_glob};

fn cfg(seed: u64) -> GenConfig {
    GenConfig {
        users: 2_500,
        start: parse_anchor("2019-10-01").unwrap(),
        months: 7,
        seed,
    }
}

fn build(data: &str) -> dataset::Dataset {
    dataset::build(&DatasetConfig {
        features: None,
        data: vec![data.to_string()],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{data}: {e}"))
}

#[test]
fn csv_gz_parquet_and_monthly_glob_agree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let events = generate(&cfg(3));
    for name in ["log.csv", "log.csv.gz", "log.parquet"] {
        write_file(&events, &d.join(name)).unwrap();
    }
    std::fs::create_dir(d.join("monthly")).unwrap();
    let report = generate_to(&cfg(3), &d.join("monthly/{month}.csv")).unwrap();
    assert_eq!(report.files.len(), 7, "Oct..Apr");
    assert!(d.join("monthly/2019-Oct.csv").exists());
    assert!(d.join("monthly/2020-Apr.csv").exists());

    let csv = build(&d.join("log.csv").to_string_lossy());
    assert!(
        csv.table.df.height() > 1000,
        "a real table: {}",
        csv.table.df.height()
    );
    for other in [
        d.join("log.csv.gz").to_string_lossy().to_string(),
        d.join("log.parquet").to_string_lossy().to_string(),
        d.join("monthly/*.csv").to_string_lossy().to_string(),
    ] {
        let o = build(&other);
        assert!(
            csv.table.df.equals_missing(&o.table.df),
            "{other} differs from log.csv"
        );
        assert_eq!(csv.log.events, o.log.events);
        assert_eq!(csv.table.per_anchor, o.table.per_anchor);
    }
    // Written tables read back identically from both output formats.
    let a = d.join("a.csv");
    let b = d.join("b.csv");
    write::write_table(&csv.table.df, &a).unwrap();
    write::write_table(
        &build(&d.join("log.parquet").to_string_lossy()).table.df,
        &b,
    )
    .unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn same_seed_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv.gz", "parquet"] {
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        write_file(&generate(&cfg(11)), &a).unwrap();
        write_file(&generate(&cfg(11)), &b).unwrap();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
    }
    let c = dir.path().join("c.csv");
    let d = dir.path().join("d.csv");
    write_file(&generate(&cfg(11)), &c).unwrap();
    write_file(&generate(&cfg(12)), &d).unwrap();
    assert_ne!(
        std::fs::read(&c).unwrap(),
        std::fs::read(&d).unwrap(),
        "another seed, another log"
    );
}

#[test]
fn generated_log_has_the_dumps_structure() {
    let events = generate(&cfg(5));
    let n = events.len() as f64;
    let count = |t: &str| events.iter().filter(|e| e.event_type == t).count() as f64;
    let (views, carts, purchases) = (count("view"), count("cart"), count("purchase"));
    assert!(
        views > 5.0 * carts && carts > purchases && purchases > 0.0,
        "view ≫ cart ≫ purchase"
    );
    assert!(
        events.iter().any(|e| e.brand.is_none())
            && events.iter().any(|e| e.category_code.is_none())
    );
    assert!(
        events.windows(2).any(|w| w[0].ts == w[1].ts
            && w[0].user_id == w[1].user_id
            && w[0].event_type == "cart"
            && w[1].event_type == "cart"
            && w[0].product_id == w[1].product_id),
        "duplicate cart rows"
    );
    // Re-key: phones under construction.tools.light from December only.
    let dec = parse_anchor("2019-12-01").unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.ts >= dec && e.category_code == Some("construction.tools.light"))
    );
    assert!(
        !events
            .iter()
            .any(|e| e.ts < dec && e.category_code == Some("construction.tools.light"))
    );
    // Heavy-tailed activity: the top 10% of users hold far more than 10% of events.
    let mut per_user = std::collections::HashMap::new();
    for e in &events {
        *per_user.entry(e.user_id).or_insert(0usize) += 1;
    }
    let mut counts: Vec<usize> = per_user.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = counts[..counts.len() / 10].iter().sum();
    assert!(top as f64 > 0.3 * n, "top decile holds {top} of {n}");
}

#[test]
fn dormant_share_is_near_the_seed_study() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log.parquet");
    let mut c = cfg(8);
    c.users = 8_000;
    write_file(&generate(&c), &p).unwrap();
    let ds = build(&p.to_string_lossy());
    let (mut rows, mut m2) = (0, 0);
    for a in &ds.table.per_anchor {
        rows += a.rows;
        m2 += a.m2;
    }
    let share = m2 as f64 / rows as f64;
    assert!((0.72..=0.88).contains(&share), "m2 share {share}");
}

/// `gen` in slices of users (spilled runs merged by time and user) writes the bytes of the
/// whole log generated in memory: the Parquet written by polars in one piece, with
/// more than one row group; CSV, CSV.gz and monthly files through the same merge.
#[test]
fn streaming_gen_writes_the_bytes_of_the_in_memory_log() {
    use churn_tui::engine::data::synth::{generate_to_with, to_frame};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut big = cfg(21);
    big.users = 100_000;
    let events = generate(&big);
    assert!(
        events.len() > 2 * 262_144,
        "{} events: two row groups",
        events.len()
    );
    let whole = d.join("whole.parquet");
    let mut df = to_frame(&events).unwrap();
    // The writer every Parquet output goes through (plain string types in the footer).
    let schema = df.schema().clone();
    churn_tui::engine::io::parquet_out::writer(std::fs::File::create(&whole).unwrap(), &schema)
        .finish(&mut df)
        .unwrap();
    let sliced = d.join("sliced.parquet");
    let report = generate_to_with(&big, &sliced, 13_001, &mut |_| {}).unwrap();
    assert_eq!(report.events, events.len());
    assert!(
        std::fs::read(&whole).unwrap() == std::fs::read(&sliced).unwrap(),
        "Parquet from 8 slices differs from the frame written whole"
    );
    drop(events);

    let small = cfg(4);
    let events = generate(&small);
    for name in ["log.csv", "log.csv.gz"] {
        let a = d.join(format!("a-{name}"));
        write_file(&events, &a).unwrap();
        let b = d.join(format!("b-{name}"));
        generate_to_with(&small, &b, 97, &mut |_| {}).unwrap();
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{name} from 26 slices"
        );
    }
    std::fs::create_dir(d.join("m1")).unwrap();
    std::fs::create_dir(d.join("m2")).unwrap();
    let one = generate_to_with(&small, &d.join("m1/{month}.csv"), u32::MAX, &mut |_| {}).unwrap();
    let many = generate_to_with(&small, &d.join("m2/{month}.csv"), 250, &mut |_| {}).unwrap();
    assert_eq!(one.files.len(), 7);
    for ((a, na), (b, nb)) in one.files.iter().zip(&many.files) {
        assert_eq!(na, nb);
        assert_eq!(a.file_name(), b.file_name());
        assert!(
            std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
            "{}",
            b.display()
        );
    }
    // The sorted runs lived in a hidden work directory beside the output, gone now.
    let left: Vec<_> = std::fs::read_dir(d.join("m2"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `score` of the committed fixture run on the sample at 2020-04-01, with `extra` arguments.
fn score(out: &std::path::Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .args(["score", "--anchor", "2020-04-01", "--data", &sample_glob()])
        .arg("--run")
        .arg(fixture_run())
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

/// Issue 29, item 1: every command that writes a file takes its format from the extension (or
/// `--format`) and refuses one it cannot write, with exit 1 and no file written.
#[test]
fn outputs_take_their_format_from_the_name_and_refuse_others() {
    let d = tempfile::tempdir().unwrap();
    let run = fixture_run();
    let refused = |mut c: assert_cmd::Command, out: &std::path::Path, what: &str| {
        let a = c.assert().code(1);
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(!out.exists(), "{what}: {} was written", out.display());
        assert!(
            err.contains(&*out.file_name().unwrap().to_string_lossy()),
            "{what}: the message names the file: {err}"
        );
    };
    for bad in ["x.txt", "noext", "x.xlsx", "x.md"] {
        let out = d.path().join(format!("score-{bad}"));
        let mut c = bin();
        c.args(["score", "--anchor", "2020-04-01", "--data", &sample_glob()])
            .arg("--run")
            .arg(&run)
            .arg("--out")
            .arg(&out);
        refused(c, &out, "score");

        let out = d.path().join(format!("features-{bad}"));
        let mut c = bin();
        c.args(["features", "--data", &sample_glob(), "--out"])
            .arg(&out);
        refused(c, &out, "features");

        let out = d.path().join(format!("sql-{bad}"));
        let mut c = bin();
        c.args(["sql", "--dialect", "duckdb", "--time-range"])
            .arg("2019-10-01,2020-04-30")
            .arg("--out")
            .arg(&out);
        refused(c, &out, "sql");

        let out = d.path().join(format!("gen-{bad}"));
        let mut c = bin();
        c.args(["gen", "--users", "50", "--out"]).arg(&out);
        refused(c, &out, "gen");

        let out = d.path().join(format!("report-{bad}"));
        if !bad.ends_with(".xlsx") && !bad.ends_with(".md") {
            let mut c = bin();
            c.args(["report", "--run"]).arg(&run).arg("--out").arg(&out);
            refused(c, &out, "report");
        }

        let out = d.path().join(format!("export-{bad}"));
        if !bad.ends_with(".xlsx") {
            let mut c = bin();
            c.args(["export", "--run"]).arg(&run).arg("--out").arg(&out);
            refused(c, &out, "export");
        }
    }
    // A --format that contradicts the name's extension is refused too.
    let out = d.path().join("scores.parquet");
    score(&out, &["--format", "csv"]).code(1);
    assert!(!out.exists());
    let out = d.path().join("list.parquet");
    bin()
        .args(["export", "--format", "csv", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    assert!(!out.exists());

    // score writes CSV, Parquet and JSON: the same rows in each, read back independently.
    let csv = d.path().join("scores.csv");
    score(&csv, &[]).success();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("rank,user_id,anchor,score"));
    let rows: Vec<(i64, i64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f[2], "2020-04-01T00:00:00Z", "{l}");
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    assert!(rows.len() > 100, "{} rows", rows.len());

    let pq = d.path().join("scores.parquet");
    score(&pq, &[]).success();
    let magic = std::fs::read(&pq).unwrap();
    assert_eq!(
        &magic[..4],
        b"PAR1",
        "a Parquet file, not CSV under its name"
    );
    use polars::prelude::SerReader as _;
    let df = polars::prelude::ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, ["rank", "user_id", "anchor", "score"]);
    let col_i = |n: &str| -> Vec<i64> {
        df.column(n)
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let scores: Vec<f64> = df
        .column("score")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(col_i("rank"), rows.iter().map(|r| r.0).collect::<Vec<_>>());
    assert_eq!(
        col_i("user_id"),
        rows.iter().map(|r| r.1).collect::<Vec<_>>()
    );
    assert_eq!(scores, rows.iter().map(|r| r.2).collect::<Vec<_>>());
    let anchor = df
        .column("anchor")
        .unwrap()
        .cast(&polars::prelude::DataType::Int64)
        .unwrap();
    let want = parse_anchor("2020-04-01").unwrap();
    assert!(anchor.i64().unwrap().into_no_null_iter().all(|a| a == want));

    let json = d.path().join("scores.json");
    score(&json, &[]).success();
    let v: serde_json::Value = read_json(&json);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), rows.len());
    for (o, r) in arr.iter().zip(&rows) {
        assert_eq!(o["rank"].as_i64(), Some(r.0));
        assert_eq!(o["user_id"].as_i64(), Some(r.1));
        assert_eq!(o["score"].as_f64(), Some(r.2));
        assert_eq!(o["anchor"].as_str(), Some("2020-04-01T00:00:00Z"));
    }
    // --format decides for a name without a known extension.
    let plain = d.path().join("scores-latest");
    score(&plain, &["--format", "parquet"]).success();
    assert_eq!(&std::fs::read(&plain).unwrap()[..4], b"PAR1");
}

// Issue 9 #18. The sample is built in: found wherever the binary runs.
#[test]
fn the_built_in_sample_is_the_shipped_one() {
    use churn_tui::engine::data::sample_log::FILES;
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
