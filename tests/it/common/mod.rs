//! Fixture helpers: tiny REES46 logs written to a temp dir, and feature-table lookups.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use churn_tui::engine::data::{self, EventLog, Scope};
use churn_tui::engine::features::{self, FEATURE_NAMES, FeatureTable};
use churn_tui::engine::label::{AnchorPlan, Split, Window};
use churn_tui::engine::time::{US_PER_DAY, US_PER_SEC, parse_anchor};

pub const DAY: i64 = 86_400;

/// One input row. `t` is seconds since the epoch.
#[derive(Debug, Clone)]
pub struct Row {
    pub t: i64,
    pub event_type: &'static str,
    pub product_id: i64,
    pub category_id: i64,
    pub category_code: Option<String>,
    pub brand: Option<String>,
    pub price: f64,
    pub user_id: i64,
    pub session: Option<String>,
}

impl Row {
    pub fn new(
        user_id: i64,
        t: i64,
        event_type: &'static str,
        brand: Option<&str>,
        price: f64,
    ) -> Row {
        Row {
            t,
            event_type,
            product_id: 1,
            category_id: 10,
            category_code: Some("electronics.clocks".into()),
            brand: brand.map(str::to_string),
            price,
            user_id,
            session: Some("s".into()),
        }
    }
    pub fn product(mut self, product_id: i64, code: Option<&str>) -> Row {
        self.product_id = product_id;
        self.category_code = code.map(str::to_string);
        self
    }
    pub fn session(mut self, s: Option<&str>) -> Row {
        self.session = s.map(str::to_string);
        self
    }
}

/// Seconds since the epoch of `YYYY-MM-DD[ HH:MM:SS]`.
pub fn secs(s: &str) -> i64 {
    parse_anchor(s).expect("fixture time") / US_PER_SEC
}

pub fn fmt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .expect("fixture time")
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

pub const HEADER: &str =
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";

pub fn csv_text(rows: &[Row]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            fmt_time(r.t),
            r.event_type,
            r.product_id,
            r.category_id,
            r.category_code.clone().unwrap_or_default(),
            r.brand.clone().unwrap_or_default(),
            r.price,
            r.user_id,
            r.session.clone().unwrap_or_default()
        ));
    }
    s
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).expect("create fixture");
    f.write_all(text.as_bytes()).expect("write fixture");
    p
}

pub fn load_rows(dir: &Path, rows: &[Row], scope: &Scope) -> EventLog {
    let p = write(dir, "log.csv", &csv_text(rows));
    let files = data::resolve(&[p.to_string_lossy().to_string()]).expect("resolve");
    data::load(&files, scope).expect("load")
}

/// The feature table at one anchor (as a train anchor), without eligibility checks.
pub fn table_at(log: &EventLog, t_secs: i64, w: Window) -> FeatureTable {
    let plan = AnchorPlan {
        anchors: vec![(t_secs * US_PER_SEC, Split::Train)],
        purged: vec![],
        window: w,
    };
    features::build(log, &plan).expect("features")
}

/// Per-user rows of a feature table: label and the 14 features by name.
pub struct UserRow {
    pub label: String,
    pub y: i32,
    pub f: HashMap<&'static str, f64>,
}

pub fn rows_by_user(table: &FeatureTable) -> HashMap<i64, UserRow> {
    let df = &table.df;
    let users = df.column("user_id").unwrap().i64().unwrap().clone();
    let labels = df.column("label").unwrap().str().unwrap().clone();
    let ys = df.column("y").unwrap().i32().unwrap().clone();
    let mut out = HashMap::new();
    for i in 0..df.height() {
        let mut f = HashMap::new();
        for name in FEATURE_NAMES {
            f.insert(
                name,
                df.column(name).unwrap().f64().unwrap().get(i).unwrap(),
            );
        }
        out.insert(
            users.get(i).unwrap(),
            UserRow {
                label: labels.get(i).unwrap().to_string(),
                y: ys.get(i).unwrap(),
                f,
            },
        );
    }
    out
}

pub fn assert_close(got: f64, want: f64, what: &str) {
    let tol = 1e-12 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

/// Population standard deviation, two-pass (an independent check on polars' std).
pub fn pop_std(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
}

pub fn day_us() -> i64 {
    US_PER_DAY
}

/// The `user_id` column of a frame, in row order.
pub fn user_ids(df: &polars::prelude::DataFrame) -> Vec<i64> {
    df.column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

/// Copy a directory tree (a fixture run that a test will write into).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The workbench as a person reads it at `w`×`h`: a line per row, trailing blanks cut.
pub fn screen(app: &mut churn_tui::tui::app::App, w: u16, h: u16) -> String {
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("test terminal");
    app.targets.page = churn_tui::tui::ui::target_page(h);
    app.fill_reasons();
    term.draw(|f| churn_tui::tui::ui::render(app, f))
        .expect("draw");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        // A wide character (Korean) fills two cells; the second is left out, so the text
        // reads as the terminal shows it.
        let mut line = String::new();
        let mut x = 0;
        while x < w {
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            x += (unicode_width::UnicodeWidthStr::width(sym) as u16).max(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
