//! The longest silence between two progress messages of a training run, per model: what a user
//! watching the gauge waits without news. `cargo run --release --example progress_gaps -- FILE…`
//! (default: the shipped sample), all nine models, seed 42.

use std::sync::Mutex;
use std::time::Instant;

use churn_tui::engine::run::{Progress, TrainConfig, train};

fn main() -> churn_tui::engine::Result<()> {
    let mut data: Vec<String> = std::env::args().skip(1).collect();
    if data.is_empty() {
        data.push(churn_tui::engine::data::sample_log::sample_glob()?);
    }
    let mut cfg = TrainConfig::default();
    cfg.dataset.data = data;
    let last = Mutex::new((Instant::now(), String::from("features")));
    let gaps = Mutex::new(Vec::<(String, f64)>::new());
    let progress = |p: Progress| {
        let who = match &p {
            Progress::Stage(s) => s.to_string(),
            Progress::Pass { .. } | Progress::Stats(_) => "features".to_string(),
            Progress::Model { model, .. }
            | Progress::ModelDone { model, .. }
            | Progress::ModelFailed { model, .. }
            | Progress::Working { model, .. } => model.clone(),
        };
        let (Ok(mut l), Ok(mut g)) = (last.lock(), gaps.lock()) else {
            return;
        };
        let gap = l.0.elapsed().as_secs_f64();
        match g.iter_mut().find(|(m, _)| *m == who) {
            Some(e) => e.1 = e.1.max(gap),
            None => g.push((who.clone(), gap)),
        }
        *l = (Instant::now(), who);
    };
    let t = Instant::now();
    train(&cfg, &progress, &std::sync::atomic::AtomicBool::new(false))?;
    println!(
        "whole run {:.1} s; longest wait for a message, by what it was about:",
        t.elapsed().as_secs_f64()
    );
    for (who, gap) in gaps.into_inner().unwrap_or_default() {
        println!("  {who:<14} {gap:6.2} s");
    }
    Ok(())
}
