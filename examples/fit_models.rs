//! Each model's fit + test prediction on a feature table, timed (median of reps), with test
//! PR-AUC and Lift@5%; then the interval stage (the paired bootstrap, B = 200, over val and
//! test with every model's scores), timed the same way. The pieces of a training run one by
//! one, for profiling; `churn-tui bench --train` times the whole.
//!
//! `cargo run --release --example fit_models -- FEATURES.parquet [REPS] [MODEL,...]`
//! (make the table with `churn-tui features --data LOG --out FEATURES.parquet`).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use churn_tui::cli::bench::median;
use churn_tui::engine::dataset;
use churn_tui::engine::eval::KPct;
use churn_tui::engine::eval::bootstrap::{RESAMPLES, resample_split};
use churn_tui::engine::models::model::eval_on;
use churn_tui::engine::models::{FitCtx, MODEL_NAMES, make};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .ok_or("usage: fit_models FEATURES.parquet [REPS] [MODEL,...]")?,
    );
    let reps: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let names: Vec<String> = match args.next() {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => MODEL_NAMES.iter().map(|s| s.to_string()).collect(),
    };
    let (train, val, test) = dataset::table_splits(path)?;
    let sizes = [train.n(), val.n(), test.n()];
    println!("train, val, test rows: {sizes:?}; {reps} reps");
    let ks = KPct::DEFAULTS;
    let cancel = AtomicBool::new(false);
    let ctx = FitCtx {
        seed: 42,
        trials: churn_tui::engine::run::DEFAULT_TRIALS,
        ks: &ks,
        cancel: &cancel,
        progress: &|_, _| {},
    };
    println!("| model | fit+predict (median) | test PR-AUC | test Lift@5% |");
    println!("|---|---|---|---|");
    let (mut val_scores, mut test_scores) = (Vec::new(), Vec::new());
    for name in &names {
        let mut secs = Vec::new();
        let mut last = None;
        for _ in 0..reps {
            let t = Instant::now();
            let mut m = make(name)?;
            m.fit(&train, &val, &ctx)?;
            let p = m.predict(&test)?;
            secs.push(t.elapsed().as_secs_f64());
            last = Some((m.predict(&val)?, p));
        }
        let Some((v, p)) = last else { continue };
        let e = eval_on(&p, &test, &ks);
        println!(
            "| {name} | {:.3} s | {:.4} | {:.4} |",
            median(&mut secs),
            e.pr_auc.unwrap_or(f64::NAN),
            e.at_k[0].lift.unwrap_or(f64::NAN)
        );
        val_scores.push(v);
        test_scores.push(p);
    }
    let mut secs = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for (d, s, salt) in [(&val, &val_scores, 1), (&test, &test_scores, 2)] {
            let s: Vec<&[f64]> = s.iter().map(Vec::as_slice).collect();
            let r = resample_split(&s, &d.y, &d.users, &d.anchors, &ks, 42, salt, RESAMPLES);
            std::hint::black_box(r);
        }
        secs.push(t.elapsed().as_secs_f64());
    }
    println!(
        "intervals: B = {RESAMPLES}, {} models, val + test: {:.3} s (median)",
        names.len(),
        median(&mut secs)
    );
    Ok(())
}
