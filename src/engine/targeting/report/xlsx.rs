//! The campaign report as a workbook (the seed study's report download was an Excel file):
//! Summary (data, model and why, val/test metrics with ceilings, tiers and offers, dormant users
//! caught versus random targeting), Targets (the rows `export` writes) and Leaderboard (every
//! model's val and test metrics). Numbers are written as numbers, formatted for reading, so an
//! analyst can compute with them.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::facts::{ListFacts, ranking_note, tied_models_note, why_this_model};
use crate::engine::eval::{KPct, SplitEval};
use crate::engine::run::open::{LoadedRun, ModelView};
use crate::engine::targeting::export::{header_format, targets_sheet, write_workbook};
use crate::engine::targeting::list::{ListSpec, TargetList, target_list};
use crate::engine::targeting::money::Money;
use crate::engine::time::fmt_anchor;
use crate::engine::{Error, Result};

type X<T> = std::result::Result<T, XlsxError>;

/// The formats of the workbook's cells.
struct Looks {
    head: Format,
    section: Format,
    count: Format,
    share: Format,
    ratio: Format,
    wrap: Format,
}

impl Looks {
    fn new() -> Looks {
        Looks {
            head: header_format(),
            section: Format::new().set_bold().set_font_size(12),
            // Thousands separators: counts read as the Markdown report shows them.
            count: Format::new().set_num_format("#,##0"),
            share: Format::new().set_num_format("0.0%"),
            ratio: Format::new().set_num_format("0.000"),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

/// A worksheet written top to bottom.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    row: u32,
    looks: &'a Looks,
}

impl Sheet<'_> {
    fn skip(&mut self) {
        self.row += 1;
    }

    fn section(&mut self, title: &str) -> X<()> {
        self.ws
            .write_string_with_format(self.row, 0, title, &self.looks.section)?;
        self.row += 1;
        Ok(())
    }

    fn header(&mut self, names: &[&str]) -> X<()> {
        for (c, n) in names.iter().enumerate() {
            self.ws
                .write_string_with_format(self.row, c as u16, *n, &self.looks.head)?;
        }
        self.row += 1;
        Ok(())
    }

    fn text(&mut self, col: u16, v: &str) -> X<()> {
        self.ws.write_string(self.row, col, v)?;
        Ok(())
    }

    fn count(&mut self, col: u16, v: usize) -> X<()> {
        self.ws
            .write_number_with_format(self.row, col, v as f64, &self.looks.count)?;
        Ok(())
    }

    /// A number in `f`, or a dash where the metric is undefined (no positives, no rows).
    fn opt(&mut self, col: u16, v: Option<f64>, f: &Format) -> X<()> {
        match v {
            Some(v) if v.is_finite() => self.ws.write_number_with_format(self.row, col, v, f)?,
            _ => self.ws.write_string(self.row, col, "–")?,
        };
        Ok(())
    }

    /// A label and a text value on one row.
    fn kv(&mut self, label: &str, v: &str) -> X<()> {
        self.text(0, label)?;
        self.ws
            .write_string_with_format(self.row, 1, v, &self.looks.wrap)?;
        self.row += 1;
        Ok(())
    }

    /// A label and a count on one row.
    fn kv_count(&mut self, label: &str, v: usize) -> X<()> {
        self.text(0, label)?;
        self.count(1, v)?;
        self.row += 1;
        Ok(())
    }

    fn kv_opt(&mut self, label: &str, v: Option<f64>, f: &Format) -> X<()> {
        self.text(0, label)?;
        self.opt(1, v, f)?;
        self.row += 1;
        Ok(())
    }
}

fn summary(
    ws: &mut Worksheet,
    looks: &Looks,
    run: &LoadedRun,
    spec: &ListSpec,
    m: &ModelView,
    f: &ListFacts,
    list: &TargetList,
) -> X<()> {
    ws.set_name("Summary")?;
    ws.set_column_width(0, 34.0)?;
    ws.set_column_width(1, 70.0)?;
    for c in 2..10u16 {
        ws.set_column_width(c, 13.0)?;
    }
    let d = &run.stats.data;
    let mut s = Sheet { ws, row: 0, looks };
    s.section(&format!(
        "Campaign report — {} at {}",
        spec.cut.text(list.order.n()),
        run.test_anchor().map_or("–".into(), fmt_anchor)
    ))?;
    s.skip();

    s.section("Data")?;
    s.kv("Run", &run.run_id)?;
    s.kv_count("Input files", d.files.len())?;
    for file in &d.files {
        s.kv("  file", &file.path)?;
    }
    s.kv("Scope", &d.scope)?;
    if d.feature_table {
        // Trained from a feature table made elsewhere: there was no log to count or date.
        s.kv("Events", "not known: no event log was read")?;
        s.kv_count("Users", d.users as usize)?;
    } else {
        // The counts of `dataset::events_counts`, in its order and words, as numbers.
        s.kv_count("Events read", d.rows_read as usize)?;
        s.kv_count("Events in scope", (d.events + d.duplicates) as usize)?;
        s.kv_count("Duplicates dropped", d.duplicates as usize)?;
        s.kv_count("Events used", d.events as usize)?;
        s.kv_count("Users", d.users as usize)?;
        s.kv(
            "Time range",
            &format!(
                "{} – {}",
                &fmt_anchor(d.first_ts)[..10],
                &fmt_anchor(d.last_ts)[..10]
            ),
        )?;
    }
    s.kv_count(
        "Lookback (days before each anchor)",
        d.lookback_days as usize,
    )?;
    s.kv_count(
        "Horizon (days after it; dormant = none)",
        d.horizon_days as usize,
    )?;
    s.kv_count("Scored users at the test anchor", f.n)?;
    s.skip();

    s.section("Model and why it was chosen")?;
    s.kv("Model", spec.model)?;
    let (why, caution) = why_this_model(run, spec.model, |x| x.to_string());
    s.kv("Why", &why)?;
    if let Some(note) = ranking_note(spec, list) {
        s.kv("Ranked by uplift", &note)?;
    }
    if let Some(note) = caution {
        s.kv("Read with care", &note)?;
    }
    if let Some(note) = tied_models_note(run) {
        s.kv("Ties at the cut", &note)?;
    }
    s.skip();
    s.header(&[
        "split",
        "K",
        "k",
        "Lift",
        "Lift ceiling",
        "Precision",
        "Recall",
        "PR-AUC",
        "users",
        "dormant share",
    ])?;
    for (split, e) in [("val", &m.val), ("test (scored once)", &m.test)] {
        for (a, k) in e.at_k.iter().zip(&run.ks) {
            s.text(0, split)?;
            s.text(1, &format!("{k}%"))?;
            s.count(2, a.k)?;
            s.opt(3, a.lift, &looks.ratio)?;
            s.opt(4, a.lift_ceiling, &looks.ratio)?;
            s.opt(5, a.precision, &looks.share)?;
            s.opt(6, a.recall, &looks.share)?;
            s.opt(7, e.pr_auc, &looks.ratio)?;
            s.count(8, e.n)?;
            s.opt(9, e.prevalence, &looks.share)?;
            s.skip();
        }
    }
    s.skip();

    s.section("Tiers")?;
    s.header(&["tier", "reach", "users in the list", "offer"])?;
    for (t, count) in spec.tiers.tiers.iter().zip(&f.per_tier) {
        s.text(0, &t.name)?;
        s.text(1, &format!("top {}%", KPct { bp: t.top_bp }))?;
        s.count(2, *count)?;
        s.text(3, &t.offer)?;
        s.skip();
    }
    if let (true, Some(last)) = (f.beyond > 0, spec.tiers.tiers.last()) {
        s.text(
            0,
            spec.phrases
                .label(crate::engine::targeting::tiers::ADDED_LABEL),
        )?;
        s.text(1, "below every tier, added by hand")?;
        s.count(2, f.beyond)?;
        s.text(3, &last.offer)?;
        s.skip();
    }
    s.skip();

    s.section("Target list (test anchor)")?;
    s.kv("Top K", &spec.cut.text(f.n).replacen("top ", "", 1))?;
    s.kv_count("Users targeted (k)", f.k)?;
    if let Some(note) = list.tie_note(spec.cut) {
        s.kv("Tie at the cut", &format!("{note} (SPEC §5)"))?;
    }
    s.kv_count("Dormant among them", f.caught as usize)?;
    s.kv_count(
        "Random targeting of k would catch",
        f.random.round() as usize,
    )?;
    s.kv_opt("Precision", f.precision, &looks.share)?;
    s.kv_opt("Lift", f.lift, &looks.ratio)?;
    s.kv_count("All dormant users", f.dormant as usize)?;
    s.kv_opt("Recall", f.recall, &looks.share)?;
    s.kv_count("Excluded by hand", f.excluded)?;
    s.kv_count("Added by hand", f.added)?;
    s.kv_count("Users to contact", f.contact)?;
    Ok(())
}

fn leaderboard(ws: &mut Worksheet, looks: &Looks, run: &LoadedRun) -> X<()> {
    ws.set_name("Leaderboard")?;
    let mut names: Vec<String> = vec!["model".into(), "chosen".into()];
    for split in ["val", "test"] {
        names.push(format!("{split} PR-AUC"));
        for k in &run.ks {
            names.push(format!("{split} Lift@{k}%"));
            names.push(format!("{split} Precision@{k}%"));
            names.push(format!("{split} Recall@{k}%"));
        }
    }
    ws.set_column_width(0, 16.0)?;
    for c in 2..names.len() as u16 {
        ws.set_column_width(c, 12.0)?;
    }
    let mut s = Sheet { ws, row: 0, looks };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    s.header(&refs)?;
    s.ws.set_freeze_panes(1, 1)?;
    for m in &run.models {
        s.text(0, &m.name)?;
        s.ws.write_boolean(s.row, 1, m.name == run.chosen)?;
        let mut col = 2u16;
        for e in [&m.val, &m.test] {
            col = metrics_row(&mut s, col, e, run.ks.len())?;
        }
        s.skip();
    }
    if !run.failed.is_empty() {
        s.skip();
        s.section("Models that failed to train")?;
        for (name, why) in &run.failed {
            s.kv(name, why)?;
        }
    }
    Ok(())
}

/// One split's PR-AUC, then Lift, Precision and Recall at each of `ks` K, from `col`; the
/// column after them.
fn metrics_row(s: &mut Sheet, mut col: u16, e: &SplitEval, ks: usize) -> X<u16> {
    let looks = s.looks;
    s.opt(col, e.pr_auc, &looks.ratio)?;
    col += 1;
    for i in 0..ks {
        let a = e.at_k.get(i);
        s.opt(col, a.and_then(|a| a.lift), &looks.ratio)?;
        s.opt(col + 1, a.and_then(|a| a.precision), &looks.share)?;
        s.opt(col + 2, a.and_then(|a| a.recall), &looks.share)?;
        col += 3;
    }
    Ok(col)
}

/// The Plan sheet (SPEC §5.3): what the list costs, then users, cost, customers kept and net
/// with their 90% intervals at each K of the plan, amounts as numbers in the config's currency.
fn plan_sheet(ws: &mut Worksheet, looks: &Looks, spec: &ListSpec, money: &Money) -> X<()> {
    ws.set_name("Plan")?;
    ws.set_column_width(0, 12.0)?;
    for c in 1..10u16 {
        ws.set_column_width(c, 15.0)?;
    }
    let lang = &spec.phrases.lang;
    let amount = Format::new().set_num_format(
        spec.tiers
            .currency
            .map_or("#,##0.00".to_string(), |c| c.excel_format()),
    );
    let kept = Format::new().set_num_format("#,##0.0");
    let mut s = Sheet { ws, row: 0, looks };
    s.section("Plan: cost and expected return by K")?;
    let lines = match (&money.list, &money.why_not) {
        (Some(m), _) => m.lines(spec.tiers, lang),
        (None, Some(why)) => vec![format!("No cost: {why}")],
        (None, None) => {
            vec!["The tier config gives no costs (SPEC §5.1): no cost, budget or return.".into()]
        }
    };
    for line in lines {
        s.text(0, line.trim_start())?;
        s.skip();
    }
    let Some(plan) = &money.plan else {
        return Ok(());
    };
    s.skip();
    s.header(&[
        "K",
        "share",
        "users",
        "cost",
        "kept",
        "kept low",
        "kept high",
        "net",
        "net low",
        "net high",
    ])?;
    for l in plan.all_rows() {
        s.text(0, &l.label)?;
        s.opt(
            1,
            Some(l.row.k_pct / 100.0),
            &Format::new().set_num_format("0.00%"),
        )?;
        s.count(2, l.row.users)?;
        s.opt(3, Some(l.row.cost), &amount)?;
        let est = |e: Option<crate::engine::targeting::money::plan::Estimate>| {
            [e.map(|e| e.mid), e.map(|e| e.low), e.map(|e| e.high)]
        };
        for (i, v) in est(l.row.retained).into_iter().enumerate() {
            s.opt(4 + i as u16, v, &kept)?;
        }
        for (i, v) in est(l.row.net).into_iter().enumerate() {
            s.opt(7 + i as u16, v, &amount)?;
        }
        s.skip();
    }
    s.skip();
    for note in plan.notes(spec.tiers, lang) {
        s.text(0, &note)?;
        s.skip();
    }
    Ok(())
}

fn workbook(
    run: &LoadedRun,
    spec: &ListSpec,
    m: &ModelView,
    list: &TargetList,
    money: &Money,
) -> X<Vec<u8>> {
    let looks = Looks::new();
    let f = ListFacts::of(spec, list);
    let mut book = Workbook::new();
    summary(book.add_worksheet(), &looks, run, spec, m, &f, list)?;
    let ws = book.add_worksheet();
    ws.set_name("Targets")?;
    targets_sheet(ws, &list.rows, spec.tiers)?;
    leaderboard(book.add_worksheet(), &looks, run)?;
    plan_sheet(book.add_worksheet(), &looks, spec, money)?;
    book.save_to_buffer()
}

/// Write the campaign report workbook for `spec` to `path`, whole or not at all.
pub fn write_report_xlsx(
    run: &LoadedRun,
    spec: &ListSpec,
    path: &Path,
    money: &Money,
) -> Result<()> {
    crate::engine::run::files::guard_output(path, &[])?;
    let list = target_list(run, spec)?;
    let m = run
        .model(spec.model)
        .ok_or_else(|| Error::Config(format!("the run has no model {}", spec.model)))?;
    write_workbook(path, || workbook(run, spec, m, &list, money))
}
