//! The out-of-core path (issue 10) computes the very table the in-memory path does: the same
//! rows, the same values to the last bit, the same visit history and the same counts, whatever
//! the number of buckets.

use crate::common;

use std::path::{Path, PathBuf};

use churn_tui::engine::data::Scope;
use churn_tui::engine::dataset::out_of_core::{Exec, Mode};
use churn_tui::engine::dataset::{self, Dataset, DatasetConfig};
use churn_tui::engine::features::write::write_csv;
use churn_tui::engine::label::{AnchorChoice, Window};
use common::*;
use polars::prelude::SerReader;
use proptest::prelude::*;

fn build(
    cfg: &DatasetConfig,
    mode: Mode,
    buckets: Option<usize>,
    spill: &Path,
) -> Result<Dataset, String> {
    dataset::build(&with_exec(cfg, mode, buckets, spill)).map_err(|e| e.to_string())
}

/// `cfg` run as `mode`; out of core, with a budget so small (2 MB: about 4,000 events a unit)
/// that the buckets are packed into many units.
fn with_exec(
    cfg: &DatasetConfig,
    mode: Mode,
    buckets: Option<usize>,
    spill: &Path,
) -> DatasetConfig {
    let mut cfg = cfg.clone();
    cfg.exec = Exec {
        mode,
        buckets,
        // Bucket ranges from all user ids, 1 in 2 or 1 in 3 (as a large input samples them).
        user_sample: buckets.map(|b| 1 + b as u64 % 3),
        memory: Some(2 << 20),
        spill_dir: Some(spill.to_path_buf()),
    };
    cfg
}

/// The in-memory and out-of-core datasets of `cfg` agree: table bytes as written, every column
/// (visit history included), label counts and the log summary.
fn assert_same(cfg: &DatasetConfig, buckets: &[usize]) {
    let d = tempfile::tempdir().unwrap();
    let mem = match build(cfg, Mode::InMemory, None, d.path()) {
        Ok(m) => m,
        // A log the in-memory path refuses (an empty split, say) is refused alike.
        Err(e) => {
            for &b in buckets {
                let o = build(cfg, Mode::OutOfCore, Some(b), d.path()).err();
                assert_eq!(o.as_deref(), Some(e.as_str()), "{b} buckets");
            }
            return;
        }
    };
    let a = d.path().join("mem.csv");
    write_csv(&mem.table.df, &a).unwrap();
    for &b in buckets {
        let ooc = build(cfg, Mode::OutOfCore, Some(b), d.path()).unwrap();
        assert!(
            mem.table.df.equals_missing(&ooc.table.df),
            "{b} buckets: tables differ\n{}\n{}",
            mem.table.df.head(Some(5)),
            ooc.table.df.head(Some(5))
        );
        let o = d.path().join(format!("ooc{b}.csv"));
        write_csv(&ooc.table.df, &o).unwrap();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&o).unwrap(),
            "{b} buckets"
        );
        assert_eq!(mem.table.per_anchor, ooc.table.per_anchor, "{b} buckets");
        let (m, x) = (&mem.log, &ooc.log);
        assert_eq!(
            (
                m.rows_read,
                m.rows_in_scope,
                m.duplicates,
                m.events,
                m.users
            ),
            (
                x.rows_read,
                x.rows_in_scope,
                x.duplicates,
                x.events,
                x.users
            ),
            "{b} buckets: summary"
        );
        assert_eq!((m.first_ts, m.last_ts), (x.first_ts, x.last_ts));
    }
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "spill directories removed: {left:?}");
}

fn cfg(data: Vec<String>) -> DatasetConfig {
    DatasetConfig {
        features: None,
        data,
        ..Default::default()
    }
}

#[test]
fn the_sample_out_of_core_is_the_sample_in_memory() {
    assert_same(&cfg(vec![sample_glob()]), &[1, 7, 64]);
}

#[test]
fn the_streamed_table_file_is_the_in_memory_file() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(vec![sample_glob()]);
    let none = &|_: &'static str, _: u64, _: u64| {};
    for ext in ["csv", "parquet"] {
        let a = d.path().join(format!("mem.{ext}"));
        let b = d.path().join(format!("ooc.{ext}"));
        dataset::write_features(&with_exec(&c, Mode::InMemory, None, d.path()), &a, none).unwrap();
        let ds = dataset::write_features(
            &with_exec(&c, Mode::OutOfCore, Some(40), d.path()),
            &b,
            none,
        )
        .unwrap();
        assert_eq!(ds.table.df.height(), 0, "streamed, not held");
        if ext == "csv" {
            assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        } else {
            let read = |p: &Path| {
                polars::prelude::ParquetReader::new(std::fs::File::open(p).unwrap())
                    .finish()
                    .unwrap()
            };
            assert!(read(&a).equals_missing(&read(&b)));
        }
    }
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "spill directories removed: {left:?}");
}

#[test]
fn every_format_and_a_glob_of_months() {
    let d = tempfile::tempdir().unwrap();
    let exe = assert_cmd::cargo::cargo_bin("churn-tui");
    let make = |out: &str| {
        let ok = std::process::Command::new(&exe)
            .args(["gen", "--users", "1500", "--seed", "11", "--out"])
            .arg(d.path().join(out))
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "gen {out}");
    };
    make("log.csv");
    make("log.csv.gz");
    make("log.parquet");
    std::fs::create_dir(d.path().join("m")).unwrap();
    make("m/{month}.parquet");
    for data in [
        "log.csv".to_string(),
        "log.csv.gz".into(),
        "log.parquet".into(),
        "m/*.parquet".into(),
    ] {
        let p = d.path().join(&data).to_string_lossy().to_string();
        assert_same(&cfg(vec![p]), &[5]);
    }
    // With the seed study's scope, and explicit anchors.
    let mut scoped = cfg(vec![
        d.path().join("log.parquet").to_string_lossy().to_string(),
    ]);
    scoped.scope = Scope {
        category: Some("electronics".into()),
        brands: Some(vec!["samsung".into(), "apple".into(), "xiaomi".into()]),
    };
    assert_same(&scoped, &[3]);
    let mut assigned = cfg(vec![d.path().join("log.csv").to_string_lossy().to_string()]);
    let t = |s: &str| churn_tui::engine::time::parse_anchor(s).unwrap();
    assigned.anchors = AnchorChoice::Assigned {
        train: vec![t("2019-11-01"), t("2019-11-15")],
        val: vec![t("2020-01-10")],
        test: vec![t("2020-03-20")],
    };
    assert_same(&assigned, &[4]);
}

#[test]
fn duplicates_split_across_files_meet_in_one_bucket() {
    let d = tempfile::tempdir().unwrap();
    let rows = random_log(&[(1, 3), (2, 40), (3, 7), (9, 12)], 2020);
    let (a, b) = rows.split_at(rows.len() / 2);
    // Each half again in the other file: every row is an exact duplicate across files.
    let mut first = a.to_vec();
    first.extend_from_slice(&b[..b.len() / 3]);
    let mut second = b.to_vec();
    second.extend_from_slice(a);
    write(d.path(), "a.csv", &csv_text(&first));
    write(d.path(), "b.csv", &csv_text(&second));
    let c = cfg(vec![format!("{}/*.csv", d.path().display())]);
    assert_same(&c, &[1, 2, 9]);
}

/// A log over 31 days for the given (user, events) pairs, every pattern the features read:
/// same-second brand ties, missing brands, purchases, prices with decimals, repeated rows.
fn random_log(users: &[(i64, usize)], seed: u64) -> Vec<Row> {
    let mut s = seed;
    let mut next = move |n: u64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % n
    };
    let start = secs("2020-01-01");
    let brands = [None, Some("apple"), Some("samsung"), Some("xiaomi")];
    let kinds = ["view", "cart", "remove_from_cart", "purchase"];
    let mut rows = vec![
        // The range: day 0 to day 31.
        Row::new(999, start, "view", None, 1.0),
        Row::new(999, start + 31 * DAY - 1, "view", None, 1.0),
    ];
    for &(u, n) in users {
        for _ in 0..n {
            let t = start + next(31 * DAY as u64) as i64;
            let row = Row::new(
                u,
                t,
                kinds[next(4) as usize],
                brands[next(4) as usize],
                next(10_000) as f64 / 100.0,
            );
            if next(5) == 0 {
                rows.push(row.clone());
                let mut tie = row.clone();
                tie.brand = brands[next(4) as usize].map(str::to_string);
                rows.push(tie);
            }
            rows.push(row);
        }
    }
    rows
}

fn small_cfg(path: PathBuf) -> DatasetConfig {
    let t = |s: &str| churn_tui::engine::time::parse_anchor(s).unwrap();
    DatasetConfig {
        features: None,
        data: vec![path.to_string_lossy().to_string()],
        window: Window {
            lookback_days: 7,
            horizon_days: 5,
        },
        anchors: AnchorChoice::Assigned {
            train: vec![t("2020-01-09"), t("2020-01-13")],
            val: vec![t("2020-01-19")],
            test: vec![t("2020-01-25")],
        },
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn any_small_log_and_any_bucket_count(
        users in proptest::collection::vec((1i64..60, 1usize..25), 1..12),
        seed in any::<u64>(),
        buckets in 1usize..12,
    ) {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "log.csv", &csv_text(&random_log(&users, seed)));
        assert_same(&small_cfg(p), &[buckets]);
    }
}

/// The out-of-core `features` run killed (SIGKILL, as kill -9) or interrupted (SIGINT, as
/// Ctrl-C) in each pass: user ids, the spill, the units, the write. Killed, it leaves a dead
/// work directory that the next run removes and never reads; interrupted, it removes its own
/// at once. Either way no output appears, and the next run writes the table a clean run does.
#[test]
fn killed_or_interrupted_in_each_pass() {
    use churn_tui::engine::data::synth::{GenConfig, generate, write_file};
    use std::process::Command;
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("log.parquet");
    let events = generate(&GenConfig {
        users: 15_000,
        start: churn_tui::engine::time::parse_anchor("2019-10-01").unwrap(),
        months: 4,
        seed: 3,
    });
    write_file(&events, &log).unwrap();
    let spill = d.path().join("spill");
    let outdir = d.path().join("out");
    std::fs::create_dir_all(&spill).unwrap();
    std::fs::create_dir_all(&outdir).unwrap();
    let out = outdir.join("features.csv");
    let exe = assert_cmd::cargo::cargo_bin("churn-tui");
    let features = |target: &Path| {
        let mut c = Command::new(&exe);
        c.arg("features")
            .arg("--data")
            .arg(&log)
            .args(["--out-of-core", "--memory", "64MB", "--spill-dir"])
            .arg(&spill)
            .arg("--out")
            .arg(target)
            .stderr(std::process::Stdio::null());
        c
    };
    let reference = outdir.join("reference.csv");
    assert!(features(&reference).status().unwrap().success());
    let want = std::fs::read(&reference).unwrap();
    std::fs::remove_file(&reference).unwrap();
    let names = |dir: &Path| -> Vec<PathBuf> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            v.push(e.path());
            if e.path().is_dir() {
                v.extend(
                    std::fs::read_dir(e.path())
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|e| e.path()),
                );
            }
        }
        v
    };
    let seen = |what: &str| -> bool {
        let has = |dir: &Path, f: &dyn Fn(&str) -> bool| {
            names(dir)
                .iter()
                .any(|p| f(&p.file_name().unwrap().to_string_lossy()))
        };
        match what {
            "user ids" => has(&spill, &|n| n.starts_with(".churn-spill-")),
            "spill" => has(&spill, &|n| n.starts_with("bucket-")),
            "units" => has(&spill, &|n| n.starts_with("unit-")),
            _ => has(&outdir, &|n| n.starts_with(".churn-tui-")),
        }
    };
    for pass in ["user ids", "spill", "units", "write"] {
        for signal in ["KILL", "INT"] {
            let mut child = features(&out).spawn().unwrap();
            let clock = std::time::Instant::now();
            while !seen(pass) {
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "{pass}: finished before the pass was seen"
                );
                assert!(clock.elapsed().as_secs() < 120, "{pass}: never seen");
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
            let pid = child.id().to_string();
            assert!(
                Command::new("kill")
                    .args(["-s", signal, &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            let status = child.wait().unwrap();
            assert!(!out.exists(), "{pass}/{signal}: an output appeared");
            if signal == "INT" {
                assert_eq!(status.code(), Some(130), "{pass}: {status:?}");
                assert!(
                    names(&spill).is_empty() && names(&outdir).is_empty(),
                    "{pass}: Ctrl-C left {:?} {:?}",
                    names(&spill),
                    names(&outdir)
                );
            } else {
                // Age what the killed run left past the grace a live writer gets.
                let past = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
                for p in names(&spill).into_iter().chain(names(&outdir)) {
                    // Directories too (opened read-only): one killed before its lock file
                    // existed is judged by its own age.
                    let f = std::fs::File::options()
                        .write(true)
                        .open(&p)
                        .or_else(|_| std::fs::File::open(&p));
                    if let Ok(f) = f {
                        let _ = f.set_modified(past);
                    }
                }
            }
            // The next run: succeeds, writes the clean table, leaves nothing behind.
            assert!(
                features(&out).status().unwrap().success(),
                "{pass}/{signal}: next run"
            );
            assert!(
                std::fs::read(&out).unwrap() == want,
                "{pass}/{signal}: another table"
            );
            std::fs::remove_file(&out).unwrap();
            assert!(
                names(&spill).is_empty() && names(&outdir).is_empty(),
                "{pass}/{signal}: left {:?} {:?}",
                names(&spill),
                names(&outdir)
            );
        }
    }
}

/// A training run's sample (train and val capped, every test row) is the same rows whether the
/// table is sampled whole in memory or unit by unit out of core; label counts stay those of the
/// whole table, and the sample says how much it holds.
#[test]
fn the_training_sample_is_the_same_in_and_out_of_core() {
    use churn_tui::engine::dataset::{RowCaps, build_for_training};
    use churn_tui::engine::label::Split;
    let d = tempfile::tempdir().unwrap();
    let c = cfg(vec![sample_glob()]);
    let none = &|_: &'static str, _: u64, _: u64| {};
    let full = build(&c, Mode::InMemory, None, d.path()).unwrap();
    let (train, val) = (
        full.table.split_counts(Split::Train).rows,
        full.table.split_counts(Split::Val).rows,
    );
    let test = full.table.split_counts(Split::Test).rows;
    assert!(train > 400 && val > 100, "train {train}, val {val}");
    let caps = RowCaps {
        train: 300,
        val: 100,
        seed: 7,
    };
    let mem =
        build_for_training(&with_exec(&c, Mode::InMemory, None, d.path()), caps, none).unwrap();
    let s = mem.table.sample.expect("sampled");
    assert_eq!((s.train, s.val), ((300, train), (100, val)));
    assert_eq!(mem.table.df.height() as u64, 300 + 100 + test);
    assert_eq!(
        mem.table.per_anchor, full.table.per_anchor,
        "counts of all rows"
    );
    for b in [3, 17] {
        let ooc = build_for_training(
            &with_exec(&c, Mode::OutOfCore, Some(b), d.path()),
            caps,
            none,
        )
        .unwrap();
        assert!(mem.table.df.equals_missing(&ooc.table.df), "{b} buckets");
        assert_eq!(mem.table.per_anchor, ooc.table.per_anchor);
        assert_eq!(mem.table.sample, ooc.table.sample);
    }
    // Caps above the splits' sizes: nothing sampled, the whole table.
    let all = RowCaps {
        train: 1_000_000,
        val: 0,
        seed: 7,
    };
    let whole = build_for_training(
        &with_exec(&c, Mode::OutOfCore, Some(5), d.path()),
        all,
        none,
    )
    .unwrap();
    assert!(whole.table.sample.is_none());
    assert!(whole.table.df.equals_missing(&full.table.df));
}

/// One anchor's table read from its span only (`[t − W, t + H)`; everything before `t + H`
/// for a model that reads the visit history) is the table of the whole log, in memory and out
/// of core; the summary still spans the whole log.
#[test]
fn one_anchors_table_from_its_span_is_the_whole_logs() {
    use churn_tui::engine::data::{load, resolve};
    use churn_tui::engine::features::{self, write::spec_columns};
    use churn_tui::engine::label::{AnchorPlan, Split};
    use churn_tui::engine::run::score::table_at;
    let files = resolve(&["sample_data/*.csv.gz".to_string()]).unwrap();
    let scope = Scope::default();
    let w = Window::default();
    let anchor = secs("2020-01-01 00:00:00") * 1_000_000;
    let log = load(&files, &scope).unwrap();
    let plan = AnchorPlan {
        anchors: vec![(anchor, Split::Test)],
        purged: vec![],
        window: w,
    };
    let whole = features::build(&log, &plan).unwrap();
    let spill = tempfile::tempdir().unwrap();
    let ooc = Exec {
        mode: Mode::OutOfCore,
        memory: Some(2 << 20),
        spill_dir: Some(spill.path().to_path_buf()),
        buckets: Some(5),
        user_sample: None,
    };
    for exec in [Exec::default(), ooc] {
        for history in [false, true] {
            let what = format!("{:?}, history {history}", exec.mode);
            let (summary, t) = table_at(&files, &scope, w, anchor, history, &exec).unwrap();
            assert_eq!(
                (summary.first_ts, summary.last_ts),
                (log.summary.first_ts, log.summary.last_ts),
                "{what}"
            );
            assert_eq!(summary.rows_read, log.summary.rows_read, "{what}");
            // The span was cut: fewer events held than the log has.
            assert!(summary.events < log.summary.events, "{what}");
            let (got, want) = if history {
                (t.df.clone(), whole.df.clone())
            } else {
                (
                    spec_columns(&t.df).unwrap(),
                    spec_columns(&whole.df).unwrap(),
                )
            };
            assert!(got.height() > 100, "{what}");
            assert!(got.equals_missing(&want), "{what}");
        }
    }
}

/// A span outside the logs gets the caller's range error (naming the anchor and the logs'
/// range), not "no events", in memory and out of core, and for an imported campaign's
/// population.
#[test]
fn a_span_outside_the_logs_is_named_by_the_range_check() {
    use churn_tui::engine::data::resolve;
    use churn_tui::engine::run::score::table_at;
    let files = resolve(&["sample_data/2019-Oct.csv.gz".to_string()]).unwrap();
    let scope = Scope::default();
    let w = Window::default();
    let late = secs("2021-01-01 00:00:00") * 1_000_000;
    let spill = tempfile::tempdir().unwrap();
    let ooc = Exec {
        mode: Mode::OutOfCore,
        memory: Some(2 << 20),
        spill_dir: Some(spill.path().to_path_buf()),
        buckets: Some(3),
        user_sample: None,
    };
    for exec in [Exec::default(), ooc] {
        let e = table_at(&files, &scope, w, late, false, &exec)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("cannot score at 2021-01-01") && e.contains("must lie inside the data"),
            "{:?}: {e}",
            exec.mode
        );
    }
    let e = churn_tui::engine::campaign::import::population(&files, &scope, late, w)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("the anchor 2021-01-01") && e.contains("must lie inside the logs"),
        "{e}"
    );
}
