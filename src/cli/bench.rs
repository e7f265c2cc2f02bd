//! `churn-tui bench`: the feature table on a generated log (fixed seed), timed over repetitions,
//! with medians and the process's peak RSS. In the CLI, not the engine: it prints.

use std::path::PathBuf;
use std::time::Instant;

use super::args::BenchArgs;
use crate::engine::data::synth::{GenConfig, generate, write_file};
use crate::engine::dataset::{self, DatasetConfig};
use crate::engine::time::parse_anchor;
use crate::engine::{Error, Result};

pub struct BenchConfig {
    pub users: u32,
    pub seed: u64,
    pub reps: usize,
    pub dir: PathBuf,
    pub formats: Vec<crate::engine::data::Format>,
    /// Also time whole training runs (features → models → eval → artifacts) on the Parquet file.
    pub train: bool,
}

/// Peak resident set size of this process so far, in MB (Linux `VmHWM`).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub fn run(cfg: &BenchConfig) -> Result<()> {
    std::fs::create_dir_all(&cfg.dir).map_err(|e| Error::io(&cfg.dir, e))?;
    let gen_cfg = GenConfig {
        users: cfg.users,
        start: parse_anchor("2019-10-01").unwrap_or_default(),
        months: 7,
        seed: cfg.seed,
    };
    let stem = format!("gen-u{}-s{}", cfg.users, cfg.seed);
    let mut events = None;
    for fmt in &cfg.formats {
        let ext = fmt.suffix().trim_start_matches('.');
        let path = cfg.dir.join(format!("{stem}.{ext}"));
        if !path.exists() {
            let t = Instant::now();
            let ev = events.get_or_insert_with(|| generate(&gen_cfg));
            write_file(ev, &path)?;
            eprintln!(
                "generated {} ({} events) in {:.2}s",
                crate::engine::text::printable(&path.display().to_string()),
                ev.len(),
                t.elapsed().as_secs_f64()
            );
        }
        let ds_cfg = DatasetConfig {
            features: None,
            data: vec![path.to_string_lossy().to_string()],
            ..Default::default()
        };
        let mut secs = Vec::with_capacity(cfg.reps);
        let mut rows = 0;
        let mut events_used = 0;
        for _ in 0..cfg.reps.max(1) {
            let t = Instant::now();
            let ds = dataset::build(&ds_cfg)?;
            secs.push(t.elapsed().as_secs_f64());
            let stages: Vec<String> = ds
                .log
                .timings
                .iter()
                .map(|(n, s)| format!("{n} {s:.2}s"))
                .collect();
            eprintln!("  {:.2}s: {}", secs[secs.len() - 1], stages.join(", "));
            rows = ds.table.df.height();
            events_used = ds.log.events;
        }
        let med = median(&mut secs);
        if cfg.train && ext == "parquet" {
            train_bench(cfg, &ds_cfg)?;
        }
        println!(
            "features from {ext:<8} {} events -> {} rows: median {:.3}s over {} reps (min {:.3}s, max {:.3}s); peak RSS so far {:.0} MB",
            events_used,
            rows,
            med,
            secs.len(),
            secs.first().copied().unwrap_or(f64::NAN),
            secs.last().copied().unwrap_or(f64::NAN),
            peak_rss_mb().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}

fn train_bench(cfg: &BenchConfig, ds_cfg: &DatasetConfig) -> Result<()> {
    use crate::engine::run::{TrainConfig, train};
    use std::sync::atomic::AtomicBool;

    let tcfg = TrainConfig {
        dataset: ds_cfg.clone(),
        seed: cfg.seed,
        ..Default::default()
    };
    let out = cfg.dir.join("runs");
    let cancel = AtomicBool::new(false);
    let mut totals = Vec::new();
    let mut per_model: Vec<(String, Vec<f64>)> = Vec::new();
    let mut gbdt_pr_auc = None;
    let mut rule_pr_auc = None;
    let mut pr_aucs: Vec<(String, Option<f64>)> = Vec::new();
    for rep in 0..cfg.reps.max(1) {
        let t = Instant::now();
        let r = train(&tcfg, &|_| {}, &cancel)?;
        let dir = crate::engine::run::save::save(
            &r,
            &out,
            &format!("bench-{rep}-{}", std::process::id()),
        )?;
        totals.push(t.elapsed().as_secs_f64());
        let _ = std::fs::remove_dir_all(dir);
        for m in &r.models {
            match per_model.iter_mut().find(|(n, _)| *n == m.name) {
                Some((_, v)) => v.push(m.fit_seconds),
                None => per_model.push((m.name.clone(), vec![m.fit_seconds])),
            }
            if m.name == "gbdt" {
                gbdt_pr_auc = m.val.pr_auc;
            }
            if m.name == "rule_recency" {
                rule_pr_auc = m.val.pr_auc;
            }
        }
        pr_aucs = r
            .models
            .iter()
            .map(|m| (m.name.clone(), m.val.pr_auc))
            .collect();
    }
    println!(
        "train end to end (features -> {} models -> eval -> artifacts): median {:.3}s over {} reps",
        per_model.len(),
        median(&mut totals),
        totals.len()
    );
    for (name, v) in &mut per_model {
        println!("  {name:<13} fit+predict median {:.3}s", median(v));
    }
    println!(
        "  val PR-AUC: {} (gbdt {:?}, rule_recency {:?})",
        pr_aucs
            .iter()
            .map(|(n, a)| format!("{n} {}", a.map_or("-".into(), |a| format!("{a:.4}"))))
            .collect::<Vec<_>>()
            .join(", "),
        gbdt_pr_auc,
        rule_pr_auc
    );
    Ok(())
}

/// `bench`: the command's flags as a `BenchConfig`.
pub fn bench(b: BenchArgs) -> Result<()> {
    run(&BenchConfig {
        users: b.users,
        seed: b.seed,
        reps: b.reps as usize,
        dir: b.dir,
        formats: b.formats,
        train: b.train,
    })
}
