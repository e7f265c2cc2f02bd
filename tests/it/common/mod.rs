//! The helpers every test file shares: the binary and the committed fixture run, tiny REES46
//! logs written to a temp dir, feature-table lookups and screens. Helpers that only one area's
//! files share live in the submodules: `campaign` (a SQLite store and create requests),
//! `targeting` (the target list rebuilt independently from a run's files) and `tui` (the
//! workbench on the fixture run, keys pressed).
#![allow(dead_code)]

pub mod campaign;
pub mod targeting;
pub mod tui;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// `p` inside the repository (the crate's root).
pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// The built `churn-tui`, for `std::process::Command`.
pub fn exe() -> PathBuf {
    assert_cmd::cargo::cargo_bin("churn-tui")
}

/// `churn-tui` with a quiet backtrace.
pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("churn-tui").unwrap();
    c.env("RUST_BACKTRACE", "0");
    c
}

/// `churn-tui` with a quiet backtrace and `NO_COLOR=1` (the campaign commands' output).
pub fn bin_no_color() -> assert_cmd::Command {
    let mut c = bin();
    c.env("NO_COLOR", "1");
    c
}

/// Run and expect failure without a panic; returns stderr.
pub fn fails(c: &mut assert_cmd::Command) -> String {
    let out = c.assert().failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!err.contains("panicked"), "a panic: {err}");
    err
}

/// The committed fixture run (`tests/fixtures/run`: a generated 3,000-user log, five models).
pub fn fixture_run() -> PathBuf {
    repo("tests/fixtures/run")
}

/// A private copy of the committed fixture run (for tests that write into it), at `<tmp>/run`.
pub fn run_copy() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let to = d.path().join("run");
    copy_dir(&fixture_run(), &to);
    (d, to)
}

/// The log the fixture run was trained on, generated again (`gen --users 3000 --seed 5`), once
/// per test process.
pub fn fixture_log() -> &'static Path {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let p = dir.join("events.csv.gz");
        bin_no_color()
            .args(["gen", "--users", "3000", "--seed", "5", "--out"])
            .arg(&p)
            .assert()
            .success();
        p
    })
}

/// The shipped sample's folder (`sample_data/`, monthly `.csv.gz` files).
pub fn sample_dir() -> PathBuf {
    repo("sample_data")
}

/// A glob of the shipped sample's files, the repository's path escaped.
pub fn sample_glob() -> String {
    format!(
        "{}/sample_data/*.csv.gz",
        glob::Pattern::escape(env!("CARGO_MANIFEST_DIR"))
    )
}

/// A JSON file, parsed.
pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Hidden entries (temp files and work directories) in `d`.
pub fn hidden_in(d: &Path) -> Vec<String> {
    std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// `churn-tui export --run RUN --out OUT`.
pub fn export_cmd(run: &Path, out: &Path) -> assert_cmd::Command {
    let mut c = bin();
    c.arg("export").arg("--run").arg(run).arg("--out").arg(out);
    c
}

/// `churn-tui report --run RUN --out OUT`.
pub fn report_cmd(run: &Path, out: &Path) -> assert_cmd::Command {
    let mut c = bin();
    c.arg("report").arg("--run").arg(run).arg("--out").arg(out);
    c
}

/// Train the two quick models on `data` (as given on the command line, from `cwd`) into
/// `out`; returns the run directory.
pub fn train_quick(cwd: &Path, data: &str, out: &Path) -> PathBuf {
    let a = bin()
        .current_dir(cwd)
        .args(["train", "--models", "rule_recency,logreg", "--trials", "1"])
        .args(["--data", data])
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("run saved to "))
        .unwrap_or_else(|| panic!("no run saved: {err}"));
    cwd.join(line.trim())
}

/// Oct 1 – Apr 30 with brand-less events, session-less views and a category-less product.
pub fn rows_with_empty_fields() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut t = secs("2019-10-01");
    let end = secs("2020-04-30 23:00:00");
    let mut u = 1;
    while t <= end {
        let brand = if u % 3 == 0 { None } else { Some("apple") };
        rows.push(Row::new(u % 9, t, "view", brand, 10.0).session(None));
        rows.push(
            Row::new((u + 4) % 9, t + 60, "purchase", Some("samsung"), 20.0).product(2, None),
        );
        t += 2 * DAY + 3600;
        u += 1;
    }
    rows
}

/// Run `churn-tui ARGS` (`NO_COLOR=1`) and expect success; returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let o = bin_no_color().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Run `churn-tui ARGS` (`NO_COLOR=1`) and expect failure without a panic; returns stderr.
pub fn run_err(args: &[&str]) -> String {
    let o = bin_no_color().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{err}");
    err
}
