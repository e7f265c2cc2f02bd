//! Frame time of the Targets tab at 160x48 with 100,000 ranked users (fixed seed): the work a
//! real frame does (reasons for rows coming into view, then drawing), with the selection moving
//! one row per frame; then of the plan view (SPEC §5.3) with K moving one step per frame, its
//! uplifts from a read-out. `cargo bench --bench render`; prints the medians and the 95th
//! percentiles.

use std::time::Instant;

use churn_tui::engine::campaign::readout::TierReadout;
use churn_tui::engine::campaign::{Campaign, Status, Summary};
use churn_tui::engine::dataset::stats::{DataInfo, FeatureStats, RunStats};
use churn_tui::engine::eval::{SplitEval, evaluate};
use churn_tui::engine::features::matrix::{Data, N_FEATURES};
use churn_tui::engine::features::table::AnchorCounts;
use churn_tui::engine::label::Split;
use churn_tui::engine::run::TrainConfig;
use churn_tui::engine::run::open::{LoadedRun, ModelView};
use churn_tui::tui::action::{Action, Tab};
use churn_tui::tui::app::App;
use churn_tui::tui::effects;
use churn_tui::tui::theme::Theme;
use churn_tui::tui::ui;
use rand::{RngExt, SeedableRng};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const USERS: usize = 100_000;
const FRAMES: usize = 300;

fn workbench() -> LoadedRun {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let anchor = 1_585_699_200_000_000; // 2020-04-01T00:00:00Z in µs
    let mut test = Data {
        cols: (0..N_FEATURES).map(|_| Vec::with_capacity(USERS)).collect(),
        y: Vec::with_capacity(USERS),
        users: (0..USERS as i64).map(|u| 500_000_000 + u).collect(),
        anchors: vec![anchor; USERS],
        hist: Vec::new(),
    };
    let mut scores = Vec::with_capacity(USERS);
    for _ in 0..USERS {
        let s: f64 = rng.random();
        scores.push(s);
        test.y.push(rng.random::<f64>() < 0.6 + 0.3 * s);
        for c in test.cols.iter_mut() {
            c.push(rng.random::<f64>() * 30.0);
        }
    }
    let cfg = TrainConfig::default();
    let ks = cfg.ks().unwrap_or_default();
    let eval: SplitEval = evaluate(&scores, &test.y, &test.users, &test.anchors, &ks);
    let stats = RunStats {
        data: DataInfo {
            users: USERS as u64,
            first_ts: anchor,
            last_ts: anchor,
            lookback_days: 30,
            horizon_days: 30,
            anchors: vec![(anchor, Split::Test)],
            ..Default::default()
        },
        labels: vec![AnchorCounts {
            anchor,
            split: Split::Test,
            rows: USERS as u64,
            m0: 0,
            m1: 0,
            m2: test.y.iter().filter(|y| **y).count() as u64,
        }],
        features: FeatureStats::of(&test),
        sample: None,
    };
    let test = std::sync::Arc::new(test);
    let view = ModelView::new(
        "synthetic".into(),
        serde_json::Value::Null,
        0.0,
        eval.clone(),
        eval,
        vec![],
        vec![],
        scores,
        &test,
    );
    LoadedRun::from_parts(
        std::env::temp_dir(),
        "bench".into(),
        cfg,
        "synthetic".into(),
        vec![],
        stats,
        vec![view],
        test,
    )
    .unwrap_or_else(|e| panic!("synthetic workbench: {e}"))
}

fn main() {
    // The same frames with tiers that have no costs: what the money line and its ledger add.
    let mut free = App::new(Theme::default(), 1);
    for t in &mut free.tiers.tiers {
        t.cost = None;
    }
    targets_tab(free, "tiers without costs");
    let app = App::new(Theme::default(), 1);
    targets_tab(app, "the shipped tiers, with costs");
}

fn targets_tab(mut app: App, what: &str) {
    effects::open(&mut app, workbench());
    app.update(Action::GoTab(Tab::Targets));
    // K = 30%: 30,000 rows in the list.
    for _ in 0..5 {
        app.update(Action::KPlus5);
    }
    let mut term = match Terminal::new(TestBackend::new(160, 48)) {
        Ok(t) => t,
        Err(e) => panic!("terminal: {e}"),
    };
    let mut times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let t = Instant::now();
        app.update(if i % 50 == 49 {
            Action::PageDown
        } else {
            Action::Down
        });
        app.targets.page = ui::target_page(48);
        app.fill_reasons();
        if let Err(e) = term.draw(|f| ui::render(&app, f)) {
            panic!("draw: {e}");
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "targets tab 160x48 ({what}), {USERS} ranked users, K = {}% (k = {}): median {:.3} ms, p95 {:.3} ms, max {:.3} ms over {FRAMES} frames",
        app.targets.k,
        app.k_rows(),
        times[FRAMES / 2],
        times[FRAMES * 95 / 100],
        times[FRAMES - 1]
    );
    if app.tiers.has_costs() {
        plan_view(&mut app, &mut term);
    }
}

/// A read-out of every default tier, for the plan's return.
fn readout() -> Summary {
    let row = |tier: &str, u: f64| TierReadout {
        tier: tier.into(),
        n_treatment: 900,
        n_control: 100,
        dormant_treatment: 450,
        dormant_control: 60,
        uplift: Some(u),
        ci_low: Some(u - 0.05),
        ci_high: Some(u + 0.05),
        data_end: "2020-05-31T00:00:00Z".into(),
        read_at: "2020-06-01T00:00:00Z".into(),
    };
    Summary {
        campaign: Campaign {
            id: 1,
            name: "bench".into(),
            created_at: "2020-04-01T00:00:00Z".into(),
            run_id: "bench".into(),
            model: "synthetic".into(),
            anchor: "2020-04-01T00:00:00Z".into(),
            k_bp: 3000,
            holdout_bp: 1000,
            seed: 1,
            horizon_days: 30,
            scope: "{}".into(),
            run_dir: ".".into(),
        },
        n_treatment: 900,
        n_control: 100,
        status: Status::Read,
        readout: vec![
            row("Emergency", 0.12),
            row("Warning", 0.06),
            row("Potential", 0.02),
        ],
    }
}

/// The plan view open, K stepping up and down one percent per frame: the curves are made once
/// (the first frame, timed apart), then each frame moves the mark and the figures under it.
fn plan_view(app: &mut App, term: &mut Terminal<TestBackend>) {
    app.campaigns.set(Ok(vec![readout()]));
    app.update(Action::Plan);
    let draw = |app: &mut App, term: &mut Terminal<TestBackend>| {
        app.targets.page = ui::target_page(48);
        app.fill_reasons();
        if let Err(e) = term.draw(|f| ui::render(app, f)) {
            panic!("draw: {e}");
        }
    };
    let t = Instant::now();
    draw(app, term);
    let first = t.elapsed().as_secs_f64() * 1e3;
    let mut times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let t = Instant::now();
        app.update(if (i / 20) % 2 == 0 {
            Action::KPlus1
        } else {
            Action::KMinus1
        });
        draw(app, term);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "plan view 160x48, {USERS} ranked users, K moving by 1%: median {:.3} ms, p95 {:.3} ms, max {:.3} ms over {FRAMES} frames (first frame, making the curves: {first:.3} ms)",
        times[FRAMES / 2],
        times[FRAMES * 95 / 100],
        times[FRAMES - 1]
    );
}
