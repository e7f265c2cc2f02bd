//! Exports and reports of the target list (SPEC §5): CSV, JSON, Parquet and XLSX read back
//! equal to the list; writes are whole or nothing; the `export` and `report` commands (tiers,
//! Korean, a bad config or extension refused); the report's representative users, its XLSX
//! sheets, and a user added by hand below every tier shown as `added` everywhere.

use std::collections::BTreeSet;

use churn_tui::engine::eval::KPct;
use churn_tui::engine::run::open::LoadedRun;
use churn_tui::engine::targeting::TierRule;
use churn_tui::engine::targeting::edits::Edits;
use churn_tui::engine::targeting::export::{ExportFormat, export};
use churn_tui::engine::targeting::list::target_rows;
use churn_tui::engine::targeting::phrases::Phrases;

use crate::common::targeting::*;
use crate::common::{bin, read_json, run_copy};

#[test]
fn exports_read_back_equal_to_the_list() {
    let (d, run) = run_copy();
    let (rows, want, tiers) = list_for_export(&run);
    assert_eq!(
        rows.iter()
            .map(|r| (r.rank, r.user_id, r.edited))
            .collect::<Vec<_>>(),
        want
    );

    // CSV, with the csv crate.
    let p = d.path().join("t.csv");
    export(&rows, &tiers, ExportFormat::Csv, &p).unwrap();
    let mut rd = csv::Reader::from_path(&p).unwrap();
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "rank", "user_id", "anchor", "score", "tier", "offer", "reasons", "edited"
        ]
    );
    let back: Vec<(usize, i64, bool, f64, String)> = rd
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].parse().unwrap(),
                r[1].parse().unwrap(),
                r[7].parse().unwrap(),
                r[3].parse().unwrap(),
                r[6].to_string(),
            )
        })
        .collect();
    assert_eq!(back.len(), rows.len());
    for (b, r) in back.iter().zip(&rows) {
        assert_eq!((b.0, b.1, b.2), (r.rank, r.user_id, r.edited));
        assert_eq!(b.3, r.score, "shortest round-trip floats");
        assert_eq!(b.4, r.reasons.join(" | "));
    }

    // JSON.
    let p = d.path().join("t.json");
    export(&rows, &tiers, ExportFormat::Json, &p).unwrap();
    let v: serde_json::Value = read_json(&p);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), rows.len());
    for (j, r) in arr.iter().zip(&rows) {
        assert_eq!(j["user_id"].as_i64(), Some(r.user_id));
        assert_eq!(j["rank"].as_u64(), Some(r.rank as u64));
        assert_eq!(j["edited"].as_bool(), Some(r.edited));
        assert_eq!(
            j["reasons"].as_array().map(|a| a.len()),
            Some(r.reasons.len())
        );
        assert_eq!(j["anchor"].as_str(), Some("2020-04-01T00:00:00Z"));
    }

    // Parquet, with polars.
    use polars::prelude::*;
    let p = d.path().join("t.parquet");
    export(&rows, &tiers, ExportFormat::Parquet, &p).unwrap();
    let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), rows.len());
    let users: Vec<i64> = df
        .column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(users, rows.iter().map(|r| r.user_id).collect::<Vec<_>>());
    let edited: Vec<bool> = df
        .column("edited")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(edited, rows.iter().map(|r| r.edited).collect::<Vec<_>>());
    let tier: Vec<String> = df
        .column("tier")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert_eq!(
        tier,
        rows.iter().map(|r| r.tier.clone()).collect::<Vec<_>>()
    );

    // XLSX, with calamine.
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let p = d.path().join("t.xlsx");
    export(&rows, &tiers, ExportFormat::Xlsx, &p).unwrap();
    let mut x: Xlsx<_> = open_workbook(&p).unwrap();
    let range = x.worksheet_range("targets").unwrap();
    let all: Vec<Vec<Cell>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(all.len(), rows.len() + 1, "header + rows");
    assert_eq!(all[0][1], Cell::String("user_id".into()));
    for (c, r) in all[1..].iter().zip(&rows) {
        assert_eq!(c[0], Cell::Float(r.rank as f64));
        assert_eq!(c[1], Cell::Float(r.user_id as f64));
        // The anchor is a date cell: Excel's serial day, 25,569 at 1970-01-01 00:00 UTC.
        match &c[2] {
            Cell::DateTime(t) => {
                assert!(t.is_datetime());
                let want = r.anchor as f64 / 86_400e6 + 25_569.0;
                assert!((t.as_f64() - want).abs() < 1e-9, "{} vs {want}", t.as_f64());
            }
            c => panic!("the anchor is no date cell: {c:?}"),
        }
        assert_eq!(c[4], Cell::String(r.tier.clone()));
        assert_eq!(c[7], Cell::Bool(r.edited));
    }
}

#[test]
fn an_interrupted_write_leaves_the_old_file_and_no_temp() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("targets.csv");
    std::fs::write(&p, "old contents\n").unwrap();
    // Every export goes through write_atomic; fail it halfway through the rows.
    let r = churn_tui::engine::io::atomic::write_atomic(&p, |w| {
        use std::io::Write;
        writeln!(w, "rank,user_id")?;
        writeln!(w, "1,2")?;
        Err(std::io::Error::other("disk full (simulated)"))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "old contents\n");
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec!["targets.csv".to_string()], "no temp file left");
    // An export to a directory that does not exist fails and writes nothing.
    let (rows, _, tiers) = list_for_export(&run_copy().1);
    let bad = d.path().join("no/such/dir/t.xlsx");
    assert!(export(&rows, &tiers, ExportFormat::Xlsx, &bad).is_err());
    assert!(!bad.exists());
}

#[test]
fn export_and_report_commands() {
    let (d, run) = run_copy();
    let model = LoadedRun::load(&run).unwrap().chosen;
    let r = ranked(&run, &model);
    let mut edits = Edits::default();
    edits.toggle_exclude(r[0].0);
    edits.add(r[400].0);
    edits.save(&run).unwrap();

    let out = d.path().join("list.xlsx");
    bin()
        .args([
            "export",
            "--run",
            run.to_str().unwrap(),
            "--k",
            "10",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    use calamine::{Reader, Xlsx, open_workbook};
    let mut x: Xlsx<_> = open_workbook(&out).unwrap();
    let rows = x.worksheet_range("targets").unwrap().height() - 1;
    let k = (1000 * r.len()).div_ceil(10_000);
    assert_eq!(rows, k - 1 + 1);

    // --tiers: down to the widest tier (30%), with offers.
    let out = d.path().join("tiers.csv");
    bin()
        .args([
            "export",
            "--run",
            run.to_str().unwrap(),
            "--tiers",
            "--format",
            "csv",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let k30 = (3000 * r.len()).div_ceil(10_000);
    assert_eq!(text.lines().count(), 1 + k30 - 1 + 1);
    assert!(text.contains("30% coupon") && text.contains("free shipping"));

    // Korean reasons.
    let out = d.path().join("ko.json");
    bin()
        .args([
            "export",
            "--run",
            run.to_str().unwrap(),
            "--lang",
            "ko",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    // Korean reasons, and the default tiers and offers in Korean too.
    let ko = std::fs::read_to_string(&out).unwrap();
    assert!(ko.contains("사용자의"), "{ko}");
    assert!(
        ko.contains("\"tier\": \"긴급\"") && ko.contains("30% 쿠폰"),
        "{ko}"
    );
    assert!(!ko.contains("Emergency") && !ko.contains("coupon"), "{ko}");
    let out = d.path().join("ko.md");
    bin()
        .args([
            "report",
            "--run",
            run.to_str().unwrap(),
            "--lang",
            "ko",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let rep = std::fs::read_to_string(&out).unwrap();
    for want in [
        "| 긴급 | top 5% |",
        "| 30% 쿠폰 |",
        "| 잠재 | top 30% |",
        "무료 배송",
    ] {
        assert!(
            rep.contains(want),
            "`{want}` not in the Korean report:\n{rep}"
        );
    }

    // The report.
    let out = d.path().join("report.md");
    bin()
        .args([
            "report",
            "--run",
            run.to_str().unwrap(),
            "--k",
            "5",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let rep = std::fs::read_to_string(&out).unwrap();
    for section in [
        "## Data",
        "## Model",
        "## Target list",
        "## Why these users",
        "Three representative users",
    ] {
        assert!(rep.contains(section), "{section} missing:\n{rep}");
    }
    let k5 = (500 * r.len()).div_ceil(10_000);
    assert!(
        rep.contains(&format!("k = {k5} of {} users", r.len())),
        "{rep}"
    );
    assert!(rep.contains("1 excluded, 1 added"), "{rep}");

    // A bad tier config names the file; an unknown format is refused; nothing is written.
    let cfg = d.path().join("tiers.toml");
    std::fs::write(
        &cfg,
        "[[tiers]]\nname = \"A\"\ntop_pct = 200\noffer = \"x\"\n",
    )
    .unwrap();
    let out = d.path().join("never.csv");
    let a = bin()
        .args(["export", "--run", run.to_str().unwrap(), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("tiers.toml") && err.contains("top_pct"),
        "{err}"
    );
    assert!(!out.exists());
    let a = bin()
        .args(["export", "--run", run.to_str().unwrap(), "--out"])
        .arg(d.path().join("x.txt"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("x.txt") && err.contains(".xlsx"), "{err}");
}

#[test]
fn the_reports_representative_users_are_on_the_models_list_not_added_by_hand() {
    let (d, run, model, r, added) = run_with_last_user_added();
    let out = d.path().join("report.md");
    write_report_of(&run, &out);
    let rep = std::fs::read_to_string(&out).unwrap();
    assert!(rep.contains("0 excluded, 1 added"), "{rep}");
    // Counts are grouped by thousands (the fixture's log has between 1,000 and 999,999 events).
    let stats: serde_json::Value = read_json(&run.join("stats.json"));
    let events = stats["data"]["events"].as_u64().unwrap();
    assert!((1000..1_000_000).contains(&events));
    let grouped = format!("{},{:03}", events / 1000, events % 1000);
    // In the one wording of the CLI's summary and the Labels tab: read, in scope, dropped, used.
    assert!(
        rep.contains("- Events: ") && rep.contains(&format!("duplicates dropped, {grouped} used")),
        "{rep}"
    );
    // The model's own list: the top 5% of its ranking (the added user is far below it).
    let edits = Edits {
        added: vec![added],
        ..Default::default()
    };
    let list = expected(&run, &model, 500, &edits);
    assert_eq!(list.last().map(|x| (x.1, x.2)), Some((added, true)));
    let own: Vec<i64> = list.iter().filter(|x| !x.2).map(|x| x.1).collect();
    assert_eq!(own.len(), (500 * r.len()).div_ceil(10_000));
    let want = [
        ("top", own[0]),
        ("middle", own[own.len() / 2]),
        ("last", own[own.len() - 1]),
    ];
    for (what, user) in want {
        assert!(
            rep.contains(&format!("- **{what}: user {user}** — rank ")),
            "{what} should be user {user}:\n{rep}"
        );
    }
    assert!(
        !rep.contains(&format!("user {added}**")),
        "the added user is no representative:\n{rep}"
    );
}

#[test]
fn the_xlsx_report_has_summary_targets_and_leaderboard_sheets() {
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let (d, run, model, r, added) = run_with_last_user_added();
    let xlsx = d.path().join("report.xlsx");
    write_report_of(&run, &xlsx);
    // The list expected from scores.csv, and the first row of the CSV export.
    let edits = Edits {
        added: vec![added],
        ..Default::default()
    };
    let want: Vec<String> = expected(&run, &model, 500, &edits)
        .iter()
        .map(|x| x.1.to_string())
        .collect();
    let csv = d.path().join("list.csv");
    let (tiers, en) = (TierRule::default(), Phrases::load("en").unwrap());
    let loaded = LoadedRun::load(&run).unwrap();
    let rows = target_rows(
        &loaded,
        &spec(&model, KPct { bp: 500 }, &tiers, &edits, &en),
    )
    .unwrap();
    export(&rows, &tiers, ExportFormat::Csv, &csv).unwrap();
    let csv_first = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();

    let mut x: Xlsx<_> = open_workbook(&xlsx).unwrap();
    assert_eq!(
        x.sheet_names(),
        ["Summary", "Targets", "Leaderboard", "Plan"]
    );

    // Summary: label in column A, value in B.
    let summary = x.worksheet_range("Summary").unwrap();
    let value = |label: &str| -> Cell {
        summary
            .rows()
            .find(|row| row.first() == Some(&Cell::String(label.into())))
            .unwrap_or_else(|| panic!("no {label} row"))[1]
            .clone()
    };
    let eval: serde_json::Value = read_json(&run.join("eval.json"));
    let manifest: serde_json::Value = read_json(&run.join("manifest.json"));
    assert_eq!(manifest["chosen_model"].as_str().unwrap(), model);
    assert_eq!(value("Model"), Cell::String(model.clone()));
    let why = eval["choice"]["why"].as_str().unwrap();
    match value("Why") {
        Cell::String(s) => assert!(s.contains(why), "{s}"),
        c => panic!("{c:?}"),
    }
    let k5 = (500 * r.len()).div_ceil(10_000);
    assert_eq!(value("Users targeted (k)"), Cell::Float(k5 as f64));
    // The event counts as the summary and the Labels tab word them, from stats.json.
    let stats: serde_json::Value = read_json(&run.join("stats.json"));
    let (read, dups, used) = (
        stats["data"]["rows_read"].as_f64().unwrap(),
        stats["data"]["duplicates"].as_f64().unwrap(),
        stats["data"]["events"].as_f64().unwrap(),
    );
    assert_eq!(value("Events read"), Cell::Float(read));
    assert_eq!(value("Events in scope"), Cell::Float(used + dups));
    assert_eq!(value("Duplicates dropped"), Cell::Float(dups));
    assert_eq!(value("Events used"), Cell::Float(used));
    assert_eq!(value("Added by hand"), Cell::Float(1.0));
    assert_eq!(value("Users to contact"), Cell::Float(want.len() as f64));
    // Dormant caught in the top k, counted from scores.csv's labels.
    let text = std::fs::read_to_string(run.join("scores.csv")).unwrap();
    let dormant: BTreeSet<i64> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == model && f[1] == "test" && f[4] == "1").then(|| f[2].parse().unwrap())
        })
        .collect();
    let caught = r[..k5].iter().filter(|(u, _)| dormant.contains(u)).count();
    assert_eq!(value("Dormant among them"), Cell::Float(caught as f64));
    assert_eq!(
        value("All dormant users"),
        Cell::Float(dormant.len() as f64)
    );

    // Targets: the rows `export` writes, the added user last.
    let targets: Vec<Vec<Cell>> = x
        .worksheet_range("Targets")
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(targets[0][1], Cell::String("user_id".into()));
    let users: Vec<String> = targets[1..]
        .iter()
        .map(|row| match &row[1] {
            Cell::Float(v) => format!("{}", *v as i64),
            c => panic!("{c:?}"),
        })
        .collect();
    assert_eq!(users, want);
    assert_eq!(users[0], csv_first);
    let last = targets.last().unwrap();
    assert_eq!(last[1], Cell::Float(added as f64));
    assert_eq!(last[7], Cell::Bool(true));

    // Leaderboard: one row per model of eval.json, in its order, the chosen one marked.
    let board: Vec<Vec<Cell>> = x
        .worksheet_range("Leaderboard")
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect();
    let models = eval["models"].as_array().unwrap();
    assert_eq!(board[0][2], Cell::String("val PR-AUC".into()));
    assert_eq!(board[0][3], Cell::String("val Lift@5%".into()));
    for (i, m) in models.iter().enumerate() {
        let row = &board[i + 1];
        let name = m["name"].as_str().unwrap();
        assert_eq!(row[0], Cell::String(name.into()));
        assert_eq!(row[1], Cell::Bool(name == model));
        let val = &m["splits"]["val"];
        assert_eq!(row[2], Cell::Float(val["pr_auc"].as_f64().unwrap()));
        assert_eq!(
            row[3],
            Cell::Float(val["at_k"][0]["lift"].as_f64().unwrap())
        );
        assert_eq!(
            row[5],
            Cell::Float(val["at_k"][0]["recall"].as_f64().unwrap())
        );
    }
    assert!(
        board.len() == models.len() + 1,
        "no other rows: the fixture has no failed models"
    );
}

#[test]
fn a_report_of_another_extension_is_refused_and_nothing_written() {
    let (d, run) = run_copy();
    let out = d.path().join("report.txt");
    let a = bin()
        .args(["report", "--run", run.to_str().unwrap(), "--out"])
        .arg(&out)
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("report.txt") && err.contains(".md or .xlsx"),
        "{err}"
    );
    assert!(!out.exists());
    // An XLSX report into a directory that does not exist fails and writes nothing.
    let bad = d.path().join("no/such/dir/report.xlsx");
    bin()
        .args(["report", "--run", run.to_str().unwrap(), "--out"])
        .arg(&bad)
        .assert()
        .failure();
    assert!(!bad.exists());
}

/// A user added by hand from below every tier is `added` with the last tier's offer in every
/// file: the CSV and XLSX exports and the report's tier table, never counted in the last tier.
#[test]
fn a_user_added_below_every_tier_is_added_in_exports_and_the_report() {
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let (d, run, _model, r, added) = run_with_last_user_added();
    let csv = d.path().join("t.csv");
    let o = bin()
        .args(["export", "--tiers", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Read as a CSV reader would: text cells are quoted (SPEC §5).
    let records: Vec<csv::StringRecord> = csv::Reader::from_path(&csv)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect();
    let last = records.last().unwrap();
    let f: Vec<&str> = last.iter().collect();
    assert_eq!(
        (f[0], f[1], f[4], f[5]),
        (
            r.len().to_string().as_str(),
            added.to_string().as_str(),
            "added",
            "10% discount or free shipping"
        ),
        "{last:?}"
    );
    // Potential holds ranks ceil(15 · 496 / 100) + 1 = 76 to ceil(30 · 496 / 100) = 149; the
    // added user is not among them.
    assert_eq!(
        records.iter().filter(|r| &r[4] == "Potential").count(),
        149 - 75
    );
    let xlsx = d.path().join("t.xlsx");
    bin()
        .args(["export", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&xlsx)
        .assert()
        .success();
    let mut x: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let sheet = x.worksheet_range("targets").unwrap();
    let row = sheet.rows().next_back().unwrap();
    assert_eq!(row[4], Cell::String("added".into()));
    assert_eq!(row[5], Cell::String("10% discount or free shipping".into()));
    let md = d.path().join("r.md");
    bin()
        .args(["report", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&md)
        .assert()
        .success();
    let rep = std::fs::read_to_string(&md).unwrap();
    assert!(
        rep.contains(
            "| added | below every tier, added by hand | 1 | 10% discount or free shipping |"
        ),
        "{rep}"
    );
    assert!(rep.contains("| Potential | top 30% | 0 |"), "{rep}");
}
