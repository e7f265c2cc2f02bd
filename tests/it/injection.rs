//! Text from data, file names and configs reaching a terminal or a spreadsheet (issue 29,
//! items 13 and 14): the real binary on hostile logs, names and configs. A terminal must get
//! no control character from them (ESC, BEL, OSC 52 would clear the screen, set the title,
//! write the clipboard); a spreadsheet must get no formula (a cell starting with `=`, `+`, `-`,
//! `@`, TAB or CR runs in Excel), while numbers stay numbers.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

/// What a terminal must never be sent from data: ESC, BEL and the 8-bit CSI (U+009B).
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !bytes.iter().any(|&b| b == 0x1b || b == 0x07) && !text.contains('\u{9b}'),
        "{what} carries a control character: {text:?}"
    );
    assert!(!text.contains("panicked"), "{what}: {text}");
}

/// A log of a few users over six months (enough for a train, val and test anchor).
fn good_log() -> String {
    let mut rows = Vec::new();
    let mut t = secs("2019-10-01");
    let mut u = 1;
    while t < secs("2020-04-30") {
        rows.push(Row::new(u % 7, t, "view", Some("apple"), 10.0));
        t += DAY / 2 + 77;
        u += 1;
    }
    csv_text(&rows)
}

const OSC52: &str = "\u{1b}]52;c;SGVsbG8=\u{7}";
const CLEAR: &str = "\u{1b}[2J";

/// Errors quote a log's values, its column names and file names: every one reaches stderr
/// with its control characters escaped (`\u{1b}`), the rest of the text kept.
#[test]
fn errors_show_data_and_file_names_with_control_characters_escaped() {
    let d = tempfile::tempdir().unwrap();
    let row = |event_type: &str, price: &str| {
        format!("{HEADER}\n2019-10-01 00:00:00 UTC,{event_type},1,2,,apple,{price},5,s\n")
    };
    let name = format!("log{OSC52}\u{1b}]0;title\u{7}.csv");
    let cases: Vec<(PathBuf, &str)> = vec![
        // An unknown event type, in a file whose name holds OSC sequences.
        (
            write(d.path(), &name, &row(&format!("view{OSC52}{CLEAR}"), "1.0")),
            "unknown event_type",
        ),
        // A bad number.
        (
            write(
                d.path(),
                "price.csv",
                &row("view", &format!("1{CLEAR}\u{9b}31m")),
            ),
            "price",
        ),
        // A missing column, the found ones listed.
        (
            write(
                d.path(),
                "cols.csv",
                &format!(
                    "{}\n",
                    HEADER.replace(",brand,", &format!(",brand{OSC52},"))
                ),
            ),
            "brand",
        ),
        // A file that is not there.
        (d.path().join(format!("gone{OSC52}.csv")), "gone"),
    ];
    for (path, want) in cases {
        let out = bin()
            .arg("summary")
            .arg("--data")
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{path:?} accepted");
        assert_clean("stderr", &out.stderr);
        assert_clean("stdout", &out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{want}: {err}");
        assert!(err.contains("\\u{1b}"), "the escape is shown: {err}");
    }
}

/// A good log under a hostile name: the summary and the `wrote …` lines name it escaped.
#[test]
fn a_hostile_file_name_is_shown_escaped_on_success() {
    let d = tempfile::tempdir().unwrap();
    let log = write(d.path(), &format!("ok{OSC52}.csv"), &good_log());
    let out_dir = d.path().join(format!("out{CLEAR}"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = bin()
        .arg("features")
        .arg("--data")
        .arg(&log)
        .arg("--out")
        .arg(out_dir.join("t.csv"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ok\\u{1b}]52;c;SGVsbG8=\\u{7}.csv"), "{err}");
    assert!(err.contains("out\\u{1b}[2J"), "{err}");

    let out = bin()
        .arg("summary")
        .arg("--data")
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_clean("stdout", &out.stdout);
    assert_clean("stderr", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok\\u{1b}]52"));
}

/// Tier and offer names a spreadsheet would run, from a config.
const HOSTILE_TIERS: &str = r#"
[[tiers]]
name = "=cmd|' /C calc'!A0"
top_pct = 5
offer = "@SUM(1+1)"

[[tiers]]
name = "+Warning"
top_pct = 15
offer = "-10% =HYPERLINK(\"http://x\")"

[[tiers]]
name = "Potential"
top_pct = 30
offer = "\tfree shipping"
"#;

/// A private copy of the fixture run whose scope names a brand that starts with `=` (as a run
/// trained with `--brands '=HYPERLINK("http://x")'` would).
fn hostile_run(d: &Path) -> PathBuf {
    let run = d.join("run");
    copy_dir(&fixture_run(), &run);
    let stats = run.join("stats.json");
    let mut v: serde_json::Value = read_json(&stats);
    v["data"]["scope"] = "=HYPERLINK(\"http://x\")".into();
    std::fs::write(&stats, serde_json::to_string(&v).unwrap()).unwrap();
    run
}

/// Each record of a CSV export: text cells that would run start with `'`; numbers are bare.
fn check_csv(path: &Path, want_rows: usize) {
    let raw = std::fs::read_to_string(path).unwrap();
    let mut rd = csv::Reader::from_path(path).unwrap();
    let mut n = 0;
    let mut seen = std::collections::BTreeSet::new();
    for r in rd.records() {
        let r = r.unwrap();
        n += 1;
        // Text columns only: a number (a negative score) is written as a number.
        for i in [2, 4, 5, 6, 7] {
            let cell = &r[i];
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "column {i} runs as a formula: {cell:?}"
            );
        }
        r[0].parse::<usize>().expect("rank is a number");
        r[1].parse::<i64>().expect("user_id is a number");
        r[3].parse::<f64>().expect("score is a number");
        seen.insert((r[4].to_string(), r[5].to_string()));
    }
    assert_eq!(n, want_rows, "{raw}");
    for pair in [
        ("'=cmd|' /C calc'!A0", "'@SUM(1+1)"),
        ("'+Warning", "'-10% =HYPERLINK(\"http://x\")"),
        ("Potential", "'\tfree shipping"),
    ] {
        assert!(
            seen.contains(&(pair.0.to_string(), pair.1.to_string())),
            "{pair:?} not in {seen:?}"
        );
    }
    // Text cells are quoted (OWASP): the hostile ones as they reach a spreadsheet.
    assert!(raw.contains("\"'=cmd|' /C calc'!A0\""), "{raw}");
}

/// Every cell of every sheet of a workbook: no formula anywhere, the names kept as text.
fn check_xlsx(path: &Path) -> Vec<String> {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut x: Xlsx<_> = open_workbook(path).unwrap();
    let mut texts = Vec::new();
    for sheet in x.sheet_names() {
        let f = x.worksheet_formula(&sheet).unwrap();
        assert!(
            f.used_cells().all(|(_, _, s)| s.is_empty()),
            "{sheet} has formulas"
        );
        for row in x.worksheet_range(&sheet).unwrap().rows() {
            for c in row {
                if let Data::String(s) = c {
                    texts.push(s.clone());
                }
            }
        }
    }
    texts
}

/// CSV exports and the coupon file of `campaign create` neutralise text cells a spreadsheet
/// would run; XLSX exports and reports hold them as text cells, never formulas.
#[test]
fn exports_and_the_coupon_file_hold_no_formula() {
    let d = tempfile::tempdir().unwrap();
    let run = hostile_run(d.path());
    let cfg = write(d.path(), "tiers.toml", HOSTILE_TIERS);
    // Test users, from scores.csv (`model,split,user_id,…`).
    let users = std::fs::read_to_string(run.join("scores.csv"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1] == "test").then(|| f[2].to_string())
        })
        .collect::<std::collections::HashSet<_>>()
        .len();
    let k30 = (3000 * users).div_ceil(10_000);

    let csv = d.path().join("all.csv");
    bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--config")
        .arg(&cfg)
        .args(["--tiers", "--out"])
        .arg(&csv)
        .assert()
        .success();
    check_csv(&csv, k30);

    // The coupon file: the treatment group (90% of each tier, SPEC §7).
    let coupons = d.path().join("coupons.csv");
    let o = bin()
        .args(["campaign", "create", "--run"])
        .arg(&run)
        .arg("--config")
        .arg(&cfg)
        .args(["--name", "spring", "--db"])
        .arg(d.path().join("c.db"))
        .arg("--out")
        .arg(&coupons)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut tier_sizes = [0usize; 3];
    for (i, bp) in [500usize, 1500, 3000].iter().enumerate() {
        tier_sizes[i] = (bp * users).div_ceil(10_000);
    }
    let treated: usize = [
        tier_sizes[0],
        tier_sizes[1] - tier_sizes[0],
        tier_sizes[2] - tier_sizes[1],
    ]
    .iter()
    .map(|n| n - n * 1000 / 10_000)
    .sum();
    check_csv(&coupons, treated);

    // XLSX: the export and the report, names as written, as text.
    let xlsx = d.path().join("all.xlsx");
    bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--config")
        .arg(&cfg)
        .args(["--tiers", "--out"])
        .arg(&xlsx)
        .assert()
        .success();
    let texts = check_xlsx(&xlsx);
    assert!(texts.iter().any(|t| t == "=cmd|' /C calc'!A0"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "@SUM(1+1)"), "{texts:?}");
    let report = d.path().join("report.xlsx");
    bin()
        .args(["report", "--run"])
        .arg(&run)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&report)
        .assert()
        .success();
    let texts = check_xlsx(&report);
    assert!(
        texts.iter().any(|t| t == "=HYPERLINK(\"http://x\")"),
        "the scope is a text cell: {texts:?}"
    );
    assert!(texts.iter().any(|t| t == "+Warning"), "{texts:?}");
}
