//! The booster behind `gbdt` on a feature table: the shipped settings and a few variants, fit
//! on the train rows with early stopping on val, timed fit + test prediction (median of reps),
//! with test PR-AUC and Lift@5% by churn-tui's own metrics. (The engines compared before this
//! one was written, perpetual and hessboost, are in the README's table.)
//!
//! `cargo run --release --example gbdt_engines -- FEATURES.parquet [REPS]`
//! (make the table with `churn-tui features --data LOG --out FEATURES.parquet`; the Python
//! reference is `benches/lightgbm_compare.py` on the same file).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use churn_tui::cli::bench::median;
use churn_tui::engine::dataset;
use churn_tui::engine::eval::KPct;
use churn_tui::engine::models::gbdt::{Gbdt, Settings};
use churn_tui::engine::models::model::eval_on;
use churn_tui::engine::models::{FitCtx, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .ok_or("usage: gbdt_engines FEATURES.parquet [REPS]")?,
    );
    let reps: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let (train, val, test) = dataset::table_splits(path)?;
    let sizes = [train.n(), val.n(), test.n()];
    println!("train, val, test rows: {sizes:?}; {reps} reps");
    let ks = [KPct::DEFAULTS[0]];
    let cancel = AtomicBool::new(false);
    let ctx = FitCtx {
        seed: 42,
        trials: 8,
        ks: &ks,
        cancel: &cancel,
        progress: &|_, _| {},
    };
    let base = Settings::for_rows(train.n());
    let candidates: Vec<(&str, Settings)> = vec![
        ("gbdt (shipped)", base),
        (
            "eta 0.2 (the large-table rate)",
            Settings {
                eta: 0.2,
                patience: 10,
                ..base
            },
        ),
        (
            "eta 0.1, patience 30",
            Settings {
                eta: 0.1,
                patience: 30,
                ..base
            },
        ),
        (
            "eta 0.05, patience 50",
            Settings {
                eta: 0.05,
                patience: 50,
                ..base
            },
        ),
        (
            "eta 0.05, patience 50, 10 rows a leaf",
            Settings {
                eta: 0.05,
                patience: 50,
                min_leaf_rows: 10,
                ..base
            },
        ),
        (
            "eta 0.05, patience 50, 40 rows a leaf",
            Settings {
                eta: 0.05,
                patience: 50,
                min_leaf_rows: 40,
                ..base
            },
        ),
        (
            "eta 0.05, patience 50, 15 leaves",
            Settings {
                eta: 0.05,
                patience: 50,
                max_leaves: 15,
                ..base
            },
        ),
        (
            "eta 0.05, patience 50, 7 leaves",
            Settings {
                eta: 0.05,
                patience: 50,
                max_leaves: 7,
                ..base
            },
        ),
        (
            "eta 0.02, patience 100",
            Settings {
                eta: 0.02,
                patience: 100,
                ..base
            },
        ),
    ];
    println!(
        "| engine | fit+predict (median) | rounds | val PR-AUC | test PR-AUC | test Lift@5% |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, s) in candidates {
        let mut secs = Vec::new();
        let mut last = None;
        for _ in 0..reps {
            let t = Instant::now();
            let mut m = Gbdt::with_settings(s);
            m.fit(&train, &val, &ctx)?;
            let p = m.predict(&test)?;
            secs.push(t.elapsed().as_secs_f64());
            last = Some((m.trees.len(), p, m.predict(&val)?));
        }
        let (rounds, p, pv) = last.ok_or("no rep")?;
        let e = eval_on(&p, &test, &ks);
        let ev = eval_on(&pv, &val, &ks);
        println!(
            "| {name} | {:.3} s | {rounds} | {:.4} | {:.4} | {:.4} |",
            median(&mut secs),
            ev.pr_auc.unwrap_or(f64::NAN),
            e.pr_auc.unwrap_or(f64::NAN),
            e.at_k[0].lift.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
