//! Money on the command line (SPEC §5.2–5.3): `--budget` refused when it is no amount, with
//! nothing written; a bad cost config refused naming file, tier and key; `export --budget`
//! saying what it spent; `plan` with a real read-out; the report's Plan sheet in numbers.

use std::path::Path;

use churn_tui::engine::campaign::create::create;
use churn_tui::engine::campaign::find;
use churn_tui::engine::campaign::readout::{ALL, read_out};
use churn_tui::engine::targeting::tiers::TierRule;

use crate::common::campaign::{phrases, request, sqlite};
use crate::common::{bin, fails, fixture_log, run_copy};

fn nothing_in(dir: &Path, names: &[&str]) {
    for n in names {
        assert!(!dir.join(n).exists(), "{n} was written");
    }
}

#[test]
fn budgets_that_are_no_amount_are_refused_and_nothing_is_written() {
    let (d, run) = run_copy();
    let out = d.path().join("t.csv");
    let rep = d.path().join("r.md");
    let db = d.path().join("c.db");
    for bad in ["-1", "nan", "inf", "1e400", "abc", ""] {
        let e = fails(
            bin()
                .args(["export", "--budget", bad, "--run"])
                .arg(&run)
                .arg("--out")
                .arg(&out),
        );
        assert!(e.contains("budget"), "{bad:?}: {e}");
        let e = fails(
            bin()
                .args(["report", "--budget", bad, "--run"])
                .arg(&run)
                .arg("--out")
                .arg(&rep),
        );
        assert!(e.contains("budget"), "{bad:?}: {e}");
        let e = fails(
            bin()
                .args(["campaign", "create", "--budget", bad, "--run"])
                .arg(&run)
                .arg("--db")
                .arg(&db)
                .arg("--out")
                .arg(&out),
        );
        assert!(e.contains("budget"), "{bad:?}: {e}");
        let e = fails(bin().args(["plan", "--budget", bad, "--run"]).arg(&run));
        assert!(e.contains("budget"), "{bad:?}: {e}");
    }
    // With --k or --tiers it is refused as well.
    for other in [vec!["--k", "5"], vec!["--tiers"]] {
        let mut c = bin();
        c.args(["export", "--budget", "100"])
            .args(&other)
            .arg("--run")
            .arg(&run)
            .arg("--out")
            .arg(&out);
        let e = fails(&mut c);
        assert!(e.contains("--budget") && e.contains(other[0]), "{e}");
    }
    nothing_in(d.path(), &["t.csv", "r.md", "c.db"]);
    assert!(
        !run.join("edits.json").exists(),
        "nothing saved with the run"
    );
}

#[test]
fn a_bad_cost_config_is_refused_naming_file_tier_and_key_and_nothing_is_written() {
    let (d, run) = run_copy();
    let out = d.path().join("t.csv");
    let cases = [
        ("cost = -5", "cost"),
        ("cost = nan", "cost"),
        ("cost = inf", "cost"),
        ("cost = \"abc\"", "cost"),
        ("cost = 1\ndiscount = 0.2\nredeem_rate = 0.5", "cost"),
        ("discount = 1.2\nredeem_rate = 0.5", "discount"),
        ("discount = 0.2\nredeem_rate = -0.5", "redeem_rate"),
    ];
    for (i, (hot, key)) in cases.iter().enumerate() {
        let cfg = d.path().join(format!("c{i}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "currency = \"KRW\"\n[[tiers]]\nname = \"Hot\"\ntop_pct = 5\noffer = \"x\"\n{hot}\n"
            ),
        )
        .unwrap();
        let e = fails(
            bin()
                .args(["export", "--budget", "1000", "--run"])
                .arg(&run)
                .arg("--config")
                .arg(&cfg)
                .arg("--out")
                .arg(&out),
        );
        assert!(
            e.contains(&format!("c{i}.toml")) && e.contains("tier 1 (Hot)") && e.contains(key),
            "{hot:?}: {e}"
        );
    }
    let cfg = d.path().join("cur.toml");
    std::fs::write(
        &cfg,
        "currency = \"WON\"\n[[tiers]]\nname = \"Hot\"\ntop_pct = 5\noffer = \"x\"\ncost = 1\n",
    )
    .unwrap();
    let e = fails(
        bin()
            .args(["plan", "--run"])
            .arg(&run)
            .arg("--config")
            .arg(&cfg),
    );
    assert!(
        e.contains("cur.toml") && e.contains("currency") && e.contains("WON"),
        "{e}"
    );
    // A config without costs: export works as before; a budget names the tier without one.
    let cfg = d.path().join("free.toml");
    std::fs::write(
        &cfg,
        "[[tiers]]\nname = \"Hot\"\ntop_pct = 5\noffer = \"x\"\n",
    )
    .unwrap();
    let mut c = bin();
    c.args(["export", "--run"])
        .arg(&run)
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&out);
    c.assert().success();
    std::fs::remove_file(&out).unwrap();
    let e = fails(
        bin()
            .args(["export", "--budget", "1", "--run"])
            .arg(&run)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&out),
    );
    assert!(
        e.contains("free.toml") && e.contains("`Hot` has no cost"),
        "{e}"
    );
    nothing_in(d.path(), &["t.csv"]);
}

/// (rows, stderr) of `export --budget B` on `run`.
fn export_budget(run: &Path, out: &Path, budget: &str) -> (usize, String) {
    let o = bin()
        .args(["export", "--budget", budget, "--run"])
        .arg(run)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    let rows = std::fs::read_to_string(out).unwrap().lines().count() - 1;
    (rows, err)
}

#[test]
fn export_by_budget_says_budget_spent_left_k_and_each_tier_and_the_edge_cases_plainly() {
    let (d, run) = run_copy();
    let out = d.path().join("t.csv");
    // A fixed cost per tier, so the cumulative cost is the count times the cost.
    let cfg = d.path().join("fixed.toml");
    std::fs::write(
        &cfg,
        "currency = \"KRW\"\nvalue = 10000\n\
         [[tiers]]\nname = \"Hot\"\ntop_pct = 5\noffer = \"x\"\ncost = 3000\n\
         [[tiers]]\nname = \"Warm\"\ntop_pct = 15\noffer = \"y\"\ncost = 1000\n",
    )
    .unwrap();
    let with_cfg = |budget: &str| {
        let o = bin()
            .args(["export", "--lang", "ko", "--budget", budget, "--run"])
            .arg(&run)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{err}");
        let rows = std::fs::read_to_string(&out).unwrap().lines().count() - 1;
        (rows, err)
    };
    // 496 users scored: Hot ceil(24.8) = 25 users, Warm to ceil(74.4) = 75.
    // 25 × 3,000 = 75,000, then 1,000 each: 100,000 buys 25 + 25 = 50 users.
    let (rows, err) = with_cfg("100000");
    assert_eq!(rows, 50, "{err}");
    assert!(
        err.contains(
            "budget 100,000원: spent 100,000원, 0원 left · K = 50 users (10.08% of 496 scored)"
        ),
        "{err}"
    );
    assert!(
        err.contains("Hot: 25 users, 75,000원") && err.contains("Warm: 25 users, 25,000원"),
        "{err}"
    );
    // One unit under: one user fewer.
    let (rows, err) = with_cfg("99,999");
    assert_eq!(rows, 49);
    assert!(err.contains("spent 99,000원, 999원 left"), "{err}");
    // Nothing: an empty list, said plainly.
    let (rows, err) = with_cfg("0");
    assert_eq!(rows, 0);
    assert!(
        err.contains("budget 0원 buys no offer (the first costs 3,000원): the list is empty"),
        "{err}"
    );
    // More than the whole list: through the last tier, said plainly. 75,000 + 50 × 1,000.
    let (rows, err) = with_cfg("1e9");
    assert_eq!(rows, 75);
    assert!(
        err.contains("covers every tier")
            && err.contains("costs 125,000원")
            && err.contains("999,875,000원 left"),
        "{err}"
    );
    // The default config's costs: the line is there and the list is the budget's.
    let (rows, err) = export_budget(&run, &out, "300");
    assert!(err.contains(&format!("K = {rows} users")), "{err}");
}

#[test]
fn plan_reads_the_runs_latest_read_out_and_its_kept_customers_add_up_by_tier() {
    let (d, run) = run_copy();
    let mut db = sqlite(d.path());
    let (tiers, ph) = (TierRule::default(), phrases());
    let mut none = |_: usize| {};
    let mut req = request(&tiers, &ph, &mut none);
    req.run_dir = run.clone();
    req.holdout_bp = 5000;
    req.seed = 11;
    req.name = Some("spring".into());
    create(db.as_mut(), &mut req).unwrap();
    let c = find(db.as_mut(), "spring").unwrap();
    let rows = read_out(db.as_mut(), &c, &[fixture_log().display().to_string()]).unwrap();
    drop(db);
    let o = bin()
        .args(["plan", "--json", "--budget", "300", "--run"])
        .arg(&run)
        .arg("--db")
        .arg(d.path().join("c.db"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["uplifts"]["campaign"], "spring");
    assert_eq!(j["currency"], "USD");
    // At 30% the list is the three tiers whole: 25, 50 and 74 users of 496 (ceil of 5%,
    // 15%, 30%). Customers kept: Σ size × the tier's uplift from the stored read-out.
    let up = |t: &str| rows.iter().find(|r| r.tier == t).unwrap().uplift.unwrap();
    let want = 25.0 * up("Emergency") + 50.0 * up("Warning") + 74.0 * up("Potential");
    let row30 = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "30%")
        .unwrap();
    assert_eq!(row30["users"], 149);
    let kept = &row30["retained"];
    assert!(
        (kept["mid"].as_f64().unwrap() - want).abs() < 1e-9,
        "{kept} vs {want}"
    );
    assert!(kept["low"].as_f64().unwrap() <= want && want <= kept["high"].as_f64().unwrap());
    let net = &row30["net"];
    assert!(net["low"].as_f64().unwrap() <= net["mid"].as_f64().unwrap());
    assert!(j["best"]["net"]["mid"].as_f64().unwrap() >= net["mid"].as_f64().unwrap());
    assert!(j["budget_row"]["cost"].as_f64().unwrap() <= 300.0);
    assert!(rows.iter().any(|r| r.tier == ALL));

    // The text says where the uplift came from; the report's Plan sheet has the table as
    // numbers, in the currency's format.
    let o = bin()
        .args(["plan", "--run"])
        .arg(&run)
        .arg("--db")
        .arg(d.path().join("c.db"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        text.contains("uplift per tier from campaign `spring`"),
        "{text}"
    );
    // The fixture's offers change nothing (a generated log): then no list pays, and it says so.
    if j["best"]["k"] == 0 {
        assert!(
            text.contains("no list pays: the expected net is below zero at every K"),
            "{text}"
        );
    } else {
        assert!(text.contains("largest expected net at K ="), "{text}");
    }

    let xlsx = d.path().join("r.xlsx");
    let o = bin()
        .args(["report", "--budget", "300", "--run"])
        .arg(&run)
        .arg("--db")
        .arg(d.path().join("c.db"))
        .arg("--out")
        .arg(&xlsx)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    use calamine::{Data as Cell, Reader, Xlsx, open_workbook};
    let mut x: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let plan = x.worksheet_range("Plan").unwrap();
    let row = |label: &str| -> Vec<Cell> {
        plan.rows()
            .find(|r| r.first() == Some(&Cell::String(label.into())))
            .unwrap_or_else(|| panic!("no row {label}"))
            .to_vec()
    };
    let r30 = row("30%");
    assert_eq!(r30[2], Cell::Float(149.0));
    let num = |c: &Cell| match c {
        Cell::Float(v) => *v,
        other => panic!("not a number: {other:?}"),
    };
    assert!((num(&r30[3]) - row30["cost"].as_f64().unwrap()).abs() < 1e-9);
    assert!((num(&r30[4]) - want).abs() < 1e-9);
    assert!((num(&r30[7]) - net["mid"].as_f64().unwrap()).abs() < 1e-9);
    assert!(matches!(row("budget")[3], Cell::Float(_)));
    assert!(matches!(row("best net")[7], Cell::Float(_)));
}
