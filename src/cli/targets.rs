//! The target-list commands: `export` (the Top-K list as a file), `report` (the campaign
//! report) and `plan` (what each K costs and returns), over the run's hand edits and the
//! workbench's choices.

use super::args::{ExportArgs, ListArgs, PlanArgs, ReportArgs, UpliftArgs};
use super::show::shown_path;
use crate::engine::eval::KPct;
use crate::engine::run::files::guard_output;
use crate::engine::run::open::LoadedRun;
use crate::engine::targeting::edits::Edits;
use crate::engine::targeting::export::ExportFormat;
use crate::engine::targeting::list::{Cut, ListSpec, target_list};
use crate::engine::targeting::money::{Ledger, ListMoney, Money, PlanTable, group_names};
use crate::engine::targeting::ranking::{Ranking, UpliftRank};
use crate::engine::targeting::tiers::TierRule;
use crate::engine::text::printable;
use crate::engine::{Error, Result};

/// `export`: the list, hand edits applied, as CSV, JSON, Parquet or XLSX.
pub fn export(e: ExportArgs) -> Result<()> {
    use crate::engine::targeting::export::export;
    let format = ExportFormat::for_path(&e.out, e.format)?;
    guard_output(&e.out, &[])?;
    with_list(&e.list, e.tiers, |run, spec, money| {
        let list = target_list(run, spec)?;
        let rows = &list.rows;
        export(rows, spec.tiers, format, &e.out)?;
        eprintln!(
            "wrote {} rows ({} by {}, {} excluded, {} added by hand) to {}",
            rows.len(),
            spec.cut.text(list.order.n()),
            match spec.rank.uplift() {
                Some(u) => format!("uplift ({})", u.model.label()),
                None => printable(spec.model).to_string(),
            },
            spec.edits.excluded.len(),
            rows.iter().filter(|r| r.edited).count(),
            shown_path(&e.out)
        );
        if let Some(note) = list.tie_note(spec.cut) {
            eprintln!("  {note} (SPEC §5)");
        }
        say_money(money, spec);
        Ok(())
    })
}

/// The list's money on stderr: the budget, spent and left, or the cost; each tier's.
fn say_money(money: &Money, spec: &ListSpec) {
    if let Some(m) = &money.list {
        for line in m.lines(spec.tiers, &spec.phrases.lang) {
            eprintln!("{line}");
        }
    } else if let Some(why) = &money.why_not {
        eprintln!("no cost: {}", printable(why));
    }
}

/// `report`: the campaign report, Markdown or XLSX.
pub fn report(r: ReportArgs) -> Result<()> {
    use crate::engine::targeting::report::{ReportFormat, write_report_file};
    // Both refusals come before the run is loaded: a path no output may take, then an
    // extension that is no report format.
    guard_output(&r.out, &[])?;
    ReportFormat::of_path(&r.out)?;
    let uplift = r.uplift.clone();
    with_list(&r.list, false, |run, spec, money| {
        let mut money = money.clone();
        if let Some(ledger) = &money.ledger {
            let uplifts = uplifts_for(run, &uplift)?;
            money.plan = Some(PlanTable::new(
                ledger,
                group_names(spec.tiers, spec.phrases),
                uplifts,
                money.list.as_ref().and_then(|m| m.budget.map(|b| b.budget)),
                spec.tiers,
            ));
        }
        write_report_file(run, spec, &r.out, &money)?;
        eprintln!("wrote the report to {}", shown_path(&r.out));
        say_money(&money, spec);
        Ok(())
    })
}

/// `plan`: users, cost, customers kept and net at fixed shares of the list, at the budget's K
/// and at the K of largest expected net.
pub fn plan(p: PlanArgs) -> Result<()> {
    let uplift_dir = p.rank.uplift_dir()?;
    let (tiers, phrases) = p.target.load()?;
    let run = LoadedRun::load(&p.run)?;
    let rank = ranking(&run, uplift_dir)?;
    let edits = Edits::load_for(&run)?;
    let model = model_of(&run, &edits, p.model.as_deref())?;
    let order = rank.order(&run, &model)?;
    let ledger = Ledger::build(&run, &order, &tiers, &edits)?;
    let uplifts = uplifts_for(&run, &p.uplift)?;
    let table = PlanTable::new(
        &ledger,
        group_names(&tiers, &phrases),
        uplifts,
        p.budget,
        &tiers,
    );
    if p.json {
        let text = serde_json::to_string_pretty(&table)
            .map_err(|e| Error::Config(format!("plan: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let lang = &phrases.lang;
    println!(
        "plan for model {} on {} users scored at {} · costs from {} · value: {}",
        printable(&model),
        crate::engine::text::thousands(ledger.n as u64),
        run.test_anchor()
            .map_or("–".into(), |t| crate::engine::time::fmt_anchor(t)[..10]
                .to_string()),
        printable(&tiers.source),
        match tiers.value {
            Some(crate::engine::targeting::money::Value::Spend) =>
                "each user's total_spend_30d".to_string(),
            Some(crate::engine::targeting::money::Value::Fixed(v)) =>
                format!("{} per kept customer", tiers.amount(v, lang)),
            None => "none given".to_string(),
        }
    );
    println!("{}", rank.describe(&model));
    print!("{}", table.text(&tiers, lang, false));
    for line in table.notes(&tiers, lang) {
        println!("{line}");
    }
    if let Some(b) = table.budget {
        let m = ListMoney::of(&ledger, b.k, Some(b), &group_names(&tiers, &phrases));
        for line in m.lines(&tiers, lang) {
            println!("{line}");
        }
    }
    Ok(())
}

/// The uplifts of the campaign `a` names, else of the run's latest read-out campaign; or why
/// there are none.
fn uplifts_for(
    run: &LoadedRun,
    a: &UpliftArgs,
) -> Result<std::result::Result<crate::engine::targeting::money::plan::Uplifts, String>> {
    match a.open()? {
        Some(mut db) => crate::engine::campaign::uplifts::for_run(
            db.as_mut(),
            &run.run_id,
            a.campaign.as_deref(),
        ),
        None if a.campaign.is_some() => Err(Error::Config(format!(
            "--campaign: no campaign database at {}",
            printable(&a.db)
        ))
        .hint("give --db where the campaign is stored")),
        None => Ok(Err(format!(
            "no campaign database at {}: `churn-tui campaign create --run DIR` (with a \
             holdout), read out a horizon later, gives the uplift per tier",
            printable(&a.db)
        ))),
    }
}

/// The model a list ranks by: `flag`, else the one picked in the workbench, else the run's
/// choice; one the run lacks is refused, naming the ones it has.
fn model_of(run: &LoadedRun, edits: &Edits, flag: Option<&str>) -> Result<String> {
    let (model, _) = edits.model_choice(flag);
    let model = model.unwrap_or_else(|| run.chosen.clone());
    if run.model(&model).is_none() {
        // Names from a run's files: shown escaped by `report`.
        let names: Vec<&str> = run.models.iter().map(|m| m.name.as_str()).collect();
        return Err(Error::Config(format!("the run has no model `{model}`"))
            .hint(format!("its models are {}", names.join(", "))));
    }
    Ok(model)
}

/// Where a list is cut, and why: the flags first, then what the workbench saved with the run,
/// then the run's own first K.
enum Source {
    Share(KPct, &'static str),
    Budget(f64, &'static str),
}

/// The money of a list cut at `cut`: its ledger (when the tiers have costs), the budget it is
/// compared with, or why there is none. A budget needs every tier's cost, so then a missing one
/// is an error; without one, the cost is shown when it can be.
fn money_of(
    run: &LoadedRun,
    model: &str,
    rank: &Ranking,
    tiers: &TierRule,
    edits: &Edits,
    budget: Option<f64>,
) -> Result<(Money, Option<crate::engine::targeting::money::BudgetCut>)> {
    let mut money = Money::default();
    let mut bought = None;
    match Ledger::of_list(run, model, rank, tiers, edits, budget.is_some())? {
        None => {}
        Some(Ok(l)) => {
            bought = budget.map(|b| l.budget_k(b));
            money.ledger = Some(l);
        }
        Some(Err(why)) => money.why_not = Some(why),
    }
    Ok((money, bought))
}

/// Open the run of `a` with its hand edits, tiers and language, and hand `f` the target list's
/// spec and money: the chosen (or named) model at K, at the K a budget buys, or down to the
/// widest tier with `all_tiers`.
fn with_list<T>(
    a: &ListArgs,
    all_tiers: bool,
    f: impl FnOnce(&LoadedRun, &ListSpec, &Money) -> Result<T>,
) -> Result<T> {
    let uplift_dir = a.rank.uplift_dir()?;
    let (tiers, phrases) = a.target.load()?;
    let run = LoadedRun::load(&a.run)?;
    let rank = ranking(&run, uplift_dir)?;
    let edits = Edits::load_for(&run)?;
    // The flags first, then what the workbench saved with the run, then the run's own: the
    // list made here is the one the analyst saw, and the line below says which it is.
    let (_, model_why) = edits.model_choice(a.model.as_deref());
    let model = model_of(&run, &edits, a.model.as_deref())?;
    let (source, compared) = match (all_tiers, a.budget, a.k, edits.k, edits.budget) {
        (true, ..) => (Source::Share(tiers.reach(), "every tier, --tiers"), None),
        (false, Some(b), ..) => (Source::Budget(b, "--budget"), None),
        (false, None, Some(k), ..) => (Source::Share(k, "--k"), None),
        // K moved after a budget was typed: the list is the top K, compared with the budget.
        (false, None, None, Some(k), b) => (Source::Share(k, "set in the workbench"), b),
        (false, None, None, None, Some(b)) => (Source::Budget(b, "set in the workbench"), None),
        (false, None, None, None, None) => (
            Source::Share(
                run.ks.first().copied().unwrap_or(KPct { bp: 500 }),
                "the run's first K",
            ),
            None,
        ),
    };
    let budget = match source {
        Source::Budget(b, _) => Some(b),
        Source::Share(..) => compared,
    };
    let (mut money, bought) = money_of(&run, &model, &rank, &tiers, &edits, budget)?;
    let n = run.model(&model).map_or(0, |m| m.n());
    let cut = match (&source, bought) {
        (Source::Budget(..), Some(b)) => Cut::Users(b.k),
        (Source::Share(k, _), _) => Cut::Share(*k),
        (Source::Budget(..), None) => {
            return Err(Error::Config("a budget needs the tiers' costs".into()));
        }
    };
    match &source {
        Source::Share(k, why) => eprintln!(
            "model {} ({model_why}), top {k}% ({why})",
            printable(&model)
        ),
        Source::Budget(b, why) => eprintln!(
            "model {} ({model_why}), budget {} ({why}): {}",
            printable(&model),
            tiers.amount(*b, &phrases.lang),
            cut.text(n)
        ),
    }
    eprintln!("{}", rank.describe(&model));
    if let Some(l) = &money.ledger {
        money.list = Some(ListMoney::of(
            l,
            cut.k_of(n),
            bought,
            &group_names(&tiers, &phrases),
        ));
    }
    f(
        &run,
        &ListSpec {
            model: &model,
            cut,
            tiers: &tiers,
            edits: &edits,
            phrases: &phrases,
            rank: &rank,
        },
        &money,
    )
}

/// The ranking the flags ask for: by risk, or by the uplift of the folder given (loaded and
/// scored on the run's test users).
fn ranking(run: &LoadedRun, uplift: Option<&std::path::Path>) -> Result<Ranking> {
    Ok(match uplift {
        Some(d) => Ranking::Uplift(std::sync::Arc::new(UpliftRank::load(run, d)?)),
        None => Ranking::Risk,
    })
}
