//! The command-line face: argument parsing and printing over the engine.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod campaign;

use crate::engine::data::synth::{self, GenConfig};
use crate::engine::data::{Format, Scope};
use crate::engine::dataset::{self, DatasetConfig};
use crate::engine::eval::KPct;
use crate::engine::features::sql::Dialect;
use crate::engine::label::{AnchorChoice, Window};
use crate::engine::run::files::guard_output;
use crate::engine::targeting::TierRule;
use crate::engine::targeting::export::ExportFormat;
use crate::engine::targeting::list::{ListSpec, target_list};
use crate::engine::targeting::phrases::{Lang, Phrases};
use crate::engine::text::printable;
use crate::engine::time::parse_anchor;
use crate::engine::{Error, Result};

/// Inputs as the run records them: absolute, so a run names the same files from any directory.
/// A glob keeps its pattern; the current directory is escaped, as it is no pattern.
pub fn absolute_inputs(inputs: &[String]) -> Result<Vec<String>> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    Ok(inputs
        .iter()
        .map(|s| {
            let p = std::path::Path::new(s);
            if p.is_absolute() {
                s.clone()
            } else if !p.exists() && s.contains(['*', '?', '[']) {
                format!("{}/{s}", glob::Pattern::escape(&cwd.to_string_lossy()))
            } else {
                cwd.join(p).to_string_lossy().to_string()
            }
        })
        .collect())
}

#[derive(Parser, Debug)]
#[command(
    name = "churn-tui",
    version,
    about = "Predict which customers go dormant, and whom to target."
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand: the workbench on the shipped sample (or --data …).
    #[command(flatten)]
    pub tui: TuiArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The terminal workbench (the default when no subcommand is given).
    Tui(TuiArgs),
    /// Build the feature table (SPEC §6) and print a data summary to stderr.
    Features {
        #[command(flatten)]
        data: DataArgs,
        /// Output file: .csv or .parquet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the feature query as SQL for another engine (SPEC §8): from an `events` table with
    /// the REES46 schema, the same feature table as `features` writes.
    Sql(SqlArgs),
    /// Print the data summary (files, events, users, anchors per split, label shares).
    Summary {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Train the model leaderboard (time-split, test scored once) and save a run directory.
    Train(TrainArgs),
    /// Score users at a new anchor with a saved run's chosen model (no labels needed).
    Score(ScoreArgs),
    /// Export the Top-K target list (hand edits applied) as CSV, JSON, Parquet or XLSX.
    Export(ExportArgs),
    /// Write the campaign report for the Top-K target list: Markdown (.md) or an Excel workbook
    /// (.xlsx: Summary, Targets and Leaderboard sheets).
    Report(ReportArgs),
    /// Generate a synthetic REES46-schema event log.
    Gen(GenArgs),
    /// Benchmark the feature table on a generated log (fixed seed).
    Bench(BenchArgs),
    /// Campaigns with a randomised holdout, stored in a database, and their uplift read-out.
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
}

#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Input file or glob (.csv, .csv.gz, .parquet); repeatable. Default: the shipped sample.
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<String>,
    #[command(flatten)]
    pub table: TableArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// What the feature table is of: scope, windows and anchors (the log aside).
#[derive(Args, Debug, Clone, Default)]
pub struct TableArgs {
    /// Keep only products whose resolved category_code starts with this prefix.
    #[arg(long, value_name = "PREFIX")]
    pub category: Option<String>,
    /// Keep only these brands (exact, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub brands: Option<Vec<String>>,
    /// Lookback window W in days.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650), allow_negative_numbers = true)]
    pub lookback_days: u32,
    /// Label horizon H in days.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650), allow_negative_numbers = true)]
    pub horizon_days: u32,
    /// Anchors (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), split by the default rule. Default: monthly.
    #[arg(long, value_delimiter = ',', value_parser = anchor_arg, conflicts_with_all = ["train_anchors", "val_anchors", "test_anchors"])]
    pub anchors: Option<Vec<i64>>,
    /// Explicit train anchors (needs --val-anchors and --test-anchors).
    #[arg(long, value_delimiter = ',', value_parser = anchor_arg, requires_all = ["val_anchors", "test_anchors"])]
    pub train_anchors: Option<Vec<i64>>,
    #[arg(long, value_delimiter = ',', value_parser = anchor_arg, requires_all = ["train_anchors", "test_anchors"])]
    pub val_anchors: Option<Vec<i64>>,
    #[arg(long, value_delimiter = ',', value_parser = anchor_arg, requires_all = ["train_anchors", "val_anchors"])]
    pub test_anchors: Option<Vec<i64>>,
}

impl TableArgs {
    pub fn scope(&self) -> Result<Scope> {
        // Brands match exactly (SPEC §1): no trimming or case folding.
        let brands = self.brands.clone();
        if brands
            .as_ref()
            .is_some_and(|b| b.is_empty() || b.iter().any(|s| s.is_empty()))
        {
            return Err(Error::Config("--brands needs non-empty brand names".into()));
        }
        if self.category.as_deref() == Some("") {
            return Err(Error::Config("--category needs a non-empty prefix".into()));
        }
        let scope = Scope {
            category: self.category.clone(),
            brands,
        };
        // The engine checks again where the scope is used; here it fails before any work.
        scope.check()?;
        Ok(scope)
    }

    pub fn window(&self) -> Window {
        Window {
            lookback_days: self.lookback_days,
            horizon_days: self.horizon_days,
        }
    }

    pub fn anchors(&self) -> AnchorChoice {
        match (
            &self.anchors,
            &self.train_anchors,
            &self.val_anchors,
            &self.test_anchors,
        ) {
            (Some(a), _, _, _) => AnchorChoice::List(a.clone()),
            (None, Some(tr), Some(va), Some(te)) => AnchorChoice::Assigned {
                train: tr.clone(),
                val: va.clone(),
                test: te.clone(),
            },
            _ => AnchorChoice::Monthly,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SqlArgs {
    /// The SQL dialect.
    #[arg(long, value_enum)]
    pub dialect: Dialect,
    #[command(flatten)]
    pub table: TableArgs,
    /// The data's time range, FIRST,LAST (the first and the last event's time): monthly
    /// anchors are chosen and split as `features` would for such a log.
    #[arg(long, value_delimiter = ',', value_name = "FIRST,LAST", num_args = 1, value_parser = anchor_arg)]
    pub time_range: Option<Vec<i64>>,
    /// The events table (a plain name, optionally qualified: db.events).
    #[arg(long = "events-table", default_value = "events")]
    pub events_table: String,
    /// Write the query to this .sql file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// How a log is read: in memory or out of core, in what budget.
#[derive(Args, Debug, Clone, Default)]
pub struct ExecArgs {
    /// Memory budget (e.g. 4GB, 512MB): a log whose events may not fit is computed out of
    /// core, user bucket by bucket. Default: half of the memory available.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Compute out of core whatever the size (spilling user buckets to disk).
    #[arg(long)]
    pub out_of_core: bool,
    /// Where the out-of-core path spills (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
}

impl ExecArgs {
    pub fn to_exec(&self) -> Result<crate::engine::dataset::out_of_core::Exec> {
        Ok(crate::engine::dataset::out_of_core::Exec {
            mode: if self.out_of_core {
                crate::engine::dataset::out_of_core::Mode::OutOfCore
            } else {
                crate::engine::dataset::out_of_core::Mode::Auto
            },
            memory: self
                .memory
                .as_deref()
                .map(crate::engine::dataset::out_of_core::parse_size)
                .transpose()?,
            spill_dir: self.spill_dir.clone(),
            buckets: None,
            user_sample: None,
        })
    }
}

/// A time argument: `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ`, as µs.
pub(crate) fn anchor_arg(s: &str) -> std::result::Result<i64, String> {
    parse_anchor(s).ok_or_else(|| "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ".to_string())
}

/// A Top-K percentage argument (up to two decimals, `%` allowed).
pub(crate) fn k_arg(s: &str) -> std::result::Result<KPct, String> {
    if s.trim_start().starts_with('-') {
        return Err("K must be more than 0% (a share of the ranking, up to 100%)".into());
    }
    KPct::parse(s).map_err(|e| e.to_string())
}

/// A whole-number argument (a seed, a count): a negative one is out of range, not a flag.
/// (Numeric flags take `allow_negative_numbers`, so `--seed -1` reaches here and gets this
/// message instead of clap's "unexpected argument".)
pub(crate) fn whole_arg<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String> {
    s.trim().parse::<T>().map_err(|_| {
        if s.trim_start().starts_with('-') {
            "must be ≥ 0".to_string()
        } else {
            format!(
                "expected a whole number ≥ 0, got `{}`",
                crate::engine::text::clip(s, 40)
            )
        }
    })
}

impl DataArgs {
    pub fn to_config(&self) -> Result<DatasetConfig> {
        let data = if self.data.is_empty() {
            vec![crate::engine::data::sample_log::sample_glob()?]
        } else {
            absolute_inputs(&self.data)?
        };
        Ok(DatasetConfig {
            features: None,
            data,
            scope: self.table.scope()?,
            window: self.table.window(),
            anchors: self.table.anchors(),
            exec: self.exec.to_exec()?,
        })
    }
}

/// What a training run needs: data, scope, models, trials, seed, K list, and where runs go.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Train from a feature table made elsewhere (SPEC §6 columns, .parquet or .csv; e.g. by
    /// Spark with `churn-tui sql`) instead of a log. BG/NBD needs the log and is left out.
    #[arg(long, value_name = "FILE", conflicts_with = "data")]
    pub features: Option<PathBuf>,
    /// Where run directories go.
    #[arg(long, default_value = "artifacts")]
    pub out: PathBuf,
    /// Models to train (default: all).
    #[arg(long, value_delimiter = ',')]
    pub models: Option<Vec<String>>,
    /// Tuning trials: points on logreg's C path (the tree tries every depth from 2 to 10).
    #[arg(long, default_value_t = crate::engine::run::DEFAULT_TRIALS as u32, value_parser = clap::value_parser!(u32).range(1..=1000), allow_negative_numbers = true)]
    pub trials: u32,
    #[arg(long, default_value_t = 42, value_parser = whole_arg::<u64>, allow_negative_numbers = true)]
    pub seed: u64,
    /// Top-K percentages (up to two decimals).
    #[arg(long = "k", value_delimiter = ',', default_value = "5,10,15,30", value_parser = k_arg, allow_negative_numbers = true)]
    pub ks: Vec<KPct>,
    /// Learn from at most this many train rows: a seeded sample of a larger train split
    /// (0: all rows). Test rows are all scored.
    #[arg(long, default_value_t = crate::engine::features::row_sample::DEFAULT_TRAIN_ROWS, value_parser = whole_arg::<usize>, allow_negative_numbers = true)]
    pub sample_train: usize,
    /// Fit, tune and choose on at most this many val rows (0: all rows).
    #[arg(long, default_value_t = crate::engine::features::row_sample::DEFAULT_VAL_ROWS, value_parser = whole_arg::<usize>, allow_negative_numbers = true)]
    pub sample_val: usize,
}

impl RunArgs {
    pub fn to_config(&self) -> Result<crate::engine::run::TrainConfig> {
        use crate::engine::eval::KPct;
        let mut dataset = self.data.to_config()?;
        if let Some(table) = &self.features {
            let t = &self.data.table;
            if t.category.is_some()
                || t.brands.is_some()
                || t.anchors.is_some()
                || t.train_anchors.is_some()
            {
                return Err(Error::Config(
                    "--features takes a finished feature table: its scope and anchors are \
                     already in it (--lookback-days and --horizon-days say what it was made with)"
                        .into(),
                ));
            }
            dataset.data = Vec::new();
            dataset.features = Some(std::path::absolute(table).map_err(|e| Error::io(table, e))?);
        }
        let mut cfg = crate::engine::run::TrainConfig {
            dataset,
            seed: self.seed,
            trials: self.trials as usize,
            sample_train: self.sample_train,
            sample_val: self.sample_val,
            ks_bp: self.ks.iter().map(|k| k.bp).collect(),
            ..Default::default()
        };
        if let Some(m) = &self.models {
            for (i, name) in m.iter().enumerate() {
                crate::engine::models::make(name)?;
                if m[..i].contains(name) {
                    return Err(Error::Config(format!("--models names `{name}` twice")));
                }
            }
            cfg.models = m.clone();
        }
        for (i, k) in cfg.ks_bp.iter().enumerate() {
            if cfg.ks_bp[..i].contains(k) {
                return Err(Error::Config(format!(
                    "--k names {}% twice",
                    KPct::from_bp(*k)?
                )));
            }
        }
        Ok(cfg)
    }
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Print eval.json to stdout instead of the leaderboard.
    #[arg(long)]
    pub json: bool,
}

/// The workbench: opens a saved run, or the newest run trained with these settings, or trains.
#[derive(Args, Debug)]
pub struct TuiArgs {
    #[command(flatten)]
    pub run_args: RunArgs,
    /// Open this saved run directory.
    #[arg(long, value_name = "DIR")]
    pub run: Option<PathBuf>,
    /// Monochrome (also when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,
    /// Only ASCII on screen: boxes in + - |, a character per model on charts.
    #[arg(long)]
    pub ascii: bool,
    /// The campaign database: an SQLite file or mysql://user:password@host:port/database.
    /// The same default as `campaign …`, whatever --out says.
    #[arg(long, default_value = campaign::DEFAULT_DB)]
    pub db: String,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// A run directory written by `train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Input file or glob; repeatable. Default: the run's own inputs.
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<String>,
    /// The anchor to score at (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_parser = anchor_arg)]
    pub anchor: i64,
    /// Another model of the run than the chosen one.
    #[arg(long)]
    pub model: Option<String>,
    /// Output file with rank, user_id, anchor, score: .csv, .parquet or .json.
    #[arg(long)]
    pub out: PathBuf,
    /// The file format (default: from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<crate::engine::run::score::ScoreFormat>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Targeting settings shared by the workbench, `export` and `report`.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Targeting config (TOML): `[[tiers]]` with `name`, `top_pct`, `offer`. Default: SPEC §5 tiers.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Language of the risk reasons, and of the default tiers and offers (a --config file's
    /// are used as written).
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
}

impl TargetArgs {
    pub(crate) fn load(&self) -> Result<(TierRule, Phrases)> {
        Ok((
            TierRule::load(self.config.as_deref(), self.lang.code())?,
            Phrases::load(self.lang.code())?,
        ))
    }
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// A run directory written by `train` (or the workbench); its hand edits apply.
    #[arg(long)]
    pub run: PathBuf,
    /// Top K percent (up to two decimals). Default: the K set in the workbench for this run,
    /// else the run's first K (5 unless trained with other --k).
    #[arg(long, value_parser = k_arg, allow_negative_numbers = true)]
    pub k: Option<KPct>,
    /// Another model of the run than the chosen one. Default: the model picked in the
    /// workbench for this run, else the run's chosen model.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// The file format (default: from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Export every tier (down to the widest tier's share) instead of the top K.
    #[arg(long, conflicts_with = "k")]
    pub tiers: bool,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Output: .md (Markdown) or .xlsx (workbook).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct GenArgs {
    /// Number of users.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    pub users: u32,
    /// First day (YYYY-MM-DD).
    #[arg(long, default_value = "2019-10-01", value_parser = anchor_arg)]
    pub start: i64,
    /// Number of calendar months.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=60), allow_negative_numbers = true)]
    pub months: u32,
    #[arg(long, default_value_t = 42, value_parser = whole_arg::<u64>, allow_negative_numbers = true)]
    pub seed: u64,
    /// Output: .csv, .csv.gz or .parquet. With `{month}` in the name, one file per month
    /// (e.g. `data/{month}.csv.gz` gives `data/2019-Oct.csv.gz`, …).
    #[arg(long)]
    pub out: PathBuf,
    /// Users generated and sorted in memory at a time (memory grows with it; the bytes do not
    /// change). For tests.
    #[arg(long, hide = true, default_value_t = synth::CHUNK_USERS, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    pub chunk_users: u32,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Users in the generated log (about 4M events at the default).
    #[arg(long, default_value_t = 720_000, value_parser = whole_arg::<u32>, allow_negative_numbers = true)]
    pub users: u32,
    #[arg(long, default_value_t = 7, value_parser = whole_arg::<u64>, allow_negative_numbers = true)]
    pub seed: u64,
    /// Timed repetitions per format; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000), allow_negative_numbers = true)]
    pub reps: u16,
    /// Where the generated files go (kept between runs: regenerated only if missing).
    #[arg(long, default_value = "target/bench-data")]
    pub dir: PathBuf,
    /// Formats to time.
    #[arg(long, value_delimiter = ',', value_enum, default_values_t = [Format::Parquet, Format::Csv])]
    pub formats: Vec<Format>,
    /// Also time whole training runs on the Parquet file.
    #[arg(long)]
    pub train: bool,
}

/// glibc gives each thread that allocates its own heap arena (up to 8 per core), and polars'
/// threads leave them fragmented: measured on a 35.5M-event log out of core with `--memory
/// 4GB`, peak RSS 4.25 GB with the default and 2.77 GB with two arenas, the same time. Two
/// arenas keep memory near what is in use, so a budget means something.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs before any thread is spawned.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// color-eyre prints errors (headline, causes, suggestion) and panics; in colour only on a
/// terminal and without NO_COLOR.
fn install_error_report() {
    use std::io::IsTerminal;
    // A user's error is no bug: no backtrace under it, even with RUST_BACKTRACE set (panics
    // still get theirs).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = if color {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let _ = color_eyre::config::HookBuilder::default()
        .theme(theme)
        .display_env_section(false)
        .install();
}

/// Text for the terminal: control characters escaped (ESC, BEL, CR, C1 …) as by
/// [`printable`], line by line, so a message's or a summary's own line breaks stay. Every text
/// the command line prints that may hold a log's value, a file name or a config's name goes
/// through here: a hostile log must not clear the screen, set the title or write the
/// clipboard (OSC 52).
pub(crate) fn shown(s: &str) -> String {
    s.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

/// A path as the terminal may show it.
pub(crate) fn shown_path(p: &std::path::Path) -> String {
    printable(&p.display().to_string()).into_owned()
}

/// The error as color-eyre shows it: the headline, each cause under it, and the suggestion,
/// each with control characters escaped (they may quote a log's value or a file name).
fn report(e: &Error) -> color_eyre::Report {
    use color_eyre::Section as _;
    let (headline, causes) = e.headline_and_causes();
    let causes: Vec<String> = causes.iter().map(|c| shown(c)).collect();
    let headline = shown(&headline);
    let mut r = match causes.split_last() {
        Some((innermost, outer)) => outer
            .iter()
            .rev()
            .fold(color_eyre::eyre::eyre!("{innermost}"), |r, c| {
                r.wrap_err(c.clone())
            })
            .wrap_err(headline),
        None => color_eyre::eyre::eyre!("{headline}"),
    };
    if let Some(h) = e.suggestion() {
        r = r.suggestion(shown(h));
    }
    r
}

pub fn main() -> ExitCode {
    limit_malloc_arenas();
    install_error_report();
    let cli = Cli::parse();
    crate::engine::io::atomic::remove_live_on_signal();
    let result = run(cli);
    // A worker thread may still be writing (the TUI closed mid-training): its temp files go.
    crate::engine::io::atomic::remove_live();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {:?}", report(&e));
            ExitCode::FAILURE
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    // The workbench logs to its own file (it owns the screen); commands to stderr.
    if !matches!(cli.command, None | Some(Command::Tui(_))) {
        crate::logging::to_stderr();
    }
    match cli.command {
        None => tui(cli.tui),
        Some(Command::Tui(t)) => tui(t),
        Some(Command::Summary { data }) => {
            let cfg = data.to_config()?;
            let files = crate::engine::data::resolve(&cfg.data)?;
            if cfg.features.is_some()
                || crate::engine::dataset::out_of_core::out_of_core(&files, &cfg.exec)
            {
                let ds = build_dataset(&cfg)?;
                print!("{}", shown(&dataset::summary(&ds)));
                return Ok(());
            }
            // In memory the log is read once: when no split can be made, what it holds is
            // still shown, with why and what would make a split.
            let log = crate::engine::data::load(&files, &cfg.scope)?;
            match dataset::build_from_log(&log, &cfg) {
                Ok(ds) => {
                    print!("{}", shown(&dataset::summary(&ds)));
                    Ok(())
                }
                Err(e) => {
                    print!("{}", shown(&dataset::log_summary(&log.summary)));
                    let too_short = e.to_string().contains("split is empty");
                    match dataset::split_suggestion(&log.summary, &cfg.window) {
                        Some(hint) if too_short => Err(e.hint(hint)),
                        _ => Err(e),
                    }
                }
            }
        }
        Some(Command::Sql(q)) => sql(q),
        Some(Command::Features { data, out }) => {
            let cfg = data.to_config()?;
            let inputs: Vec<PathBuf> = crate::engine::data::resolve(&cfg.data)?
                .into_iter()
                .map(|f| f.path)
                .collect();
            guard_output(&out, &inputs)?;
            // The name is checked before any work: an extension that is no table format is
            // refused at once, and nothing is written.
            crate::engine::io::file_kind::FileKind::expect(
                &out,
                &crate::engine::features::write::TABLE_KINDS,
                "feature table",
            )?;
            let bar = progress_bar();
            let ds = dataset::write_features(&cfg, &out, &|pass, done, total| {
                show_pass(&bar, pass, done, total)
            });
            bar.finish_and_clear();
            let ds = ds?;
            eprint!("{}", shown(&dataset::summary(&ds)));
            let rows: u64 = ds.table.per_anchor.iter().map(|a| a.rows).sum();
            eprintln!("wrote {rows} rows to {}", shown_path(&out));
            Ok(())
        }
        Some(Command::Train(t)) => train(t),
        Some(Command::Export(e)) => {
            use crate::engine::targeting::export::export;
            let format = ExportFormat::for_path(&e.out, e.format)?;
            guard_output(&e.out, &[])?;
            with_list(&e.list, e.tiers, |wb, spec| {
                let list = target_list(wb, spec)?;
                let rows = &list.rows;
                export(rows, spec.tiers, format, &e.out)?;
                eprintln!(
                    "wrote {} rows (top {}% by {}, {} excluded, {} added by hand) to {}",
                    rows.len(),
                    spec.k,
                    printable(spec.model),
                    spec.edits.excluded.len(),
                    rows.iter().filter(|r| r.edited).count(),
                    shown_path(&e.out)
                );
                if let Some(note) = list.tie_note(spec.k) {
                    eprintln!("  {note} (SPEC §5)");
                }
                Ok(())
            })
        }
        Some(Command::Report(r)) => {
            use crate::engine::targeting::report::{ReportFormat, write_report_file};
            // Both refusals come before the run is loaded: a path no output may take, then an
            // extension that is no report format.
            guard_output(&r.out, &[])?;
            ReportFormat::of_path(&r.out)?;
            with_list(&r.list, false, |wb, spec| {
                write_report_file(wb, spec, &r.out)?;
                eprintln!("wrote the report to {}", shown_path(&r.out));
                Ok(())
            })
        }
        Some(Command::Score(s)) => {
            use crate::engine::run::score;
            let anchor = s.anchor;
            guard_output(&s.out, &[])?;
            let format = score::ScoreFormat::for_path(&s.out, s.format)?;
            let scored = score::score(&score::ScoreRequest {
                run_dir: s.run,
                data: s.data,
                anchor,
                model: s.model,
                exec: s.exec.to_exec()?,
            })?;
            score::write(&scored, &s.out, format)?;
            eprintln!(
                "scored {} users at {} with {} -> {}",
                scored.rows.len(),
                crate::engine::time::fmt_anchor(anchor),
                printable(&scored.model),
                shown_path(&s.out)
            );
            Ok(())
        }
        Some(Command::Gen(g)) => {
            let cfg = GenConfig {
                users: g.users,
                start: g.start,
                months: g.months,
                seed: g.seed,
            };
            guard_output(&g.out, &[])?;
            let bar = progress_bar();
            let report = synth::generate_to_with(&cfg, &g.out, g.chunk_users, &mut |p| {
                let (what, done, total) = match p {
                    synth::GenProgress::Users { done, total } => {
                        ("gen · users", done as u64, total as u64)
                    }
                    synth::GenProgress::Written { done, total } => {
                        ("gen · events written", done as u64, total as u64)
                    }
                };
                bar.set_message(what);
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let report = report?;
            eprintln!("{}", shown(&report.to_string()));
            Ok(())
        }
        Some(Command::Campaign(c)) => campaign::run(c),
        Some(Command::Bench(b)) => crate::engine::bench::run(&crate::engine::bench::BenchConfig {
            users: b.users,
            seed: b.seed,
            reps: b.reps as usize,
            dir: b.dir,
            formats: b.formats,
            train: b.train,
        }),
    }
}

/// Open the run of `a` with its hand edits, tiers and language, and hand `f` the target list's
/// spec: the chosen (or named) model at K, or down to the widest tier with `all_tiers`.
fn sql(q: SqlArgs) -> Result<()> {
    use crate::engine::features::sql::{SqlRequest, feature_query, plan};
    let range = match q.time_range.as_deref() {
        None => None,
        Some(&[first, last]) => Some((first, last)),
        Some(_) => {
            return Err(Error::Config(
                "--time-range takes two times: FIRST,LAST".into(),
            ));
        }
    };
    let window = q.table.window();
    let request = SqlRequest {
        dialect: q.dialect,
        scope: q.table.scope()?,
        plan: plan(&q.table.anchors(), range, &window)?,
        table: q.events_table.clone(),
    };
    if let Some(path) = &q.out {
        // Refused before the query is made: only a .sql name holds a query.
        crate::engine::io::file_kind::FileKind::expect(
            path,
            &[crate::engine::io::file_kind::FileKind::Sql],
            "query file",
        )?;
    }
    let text = feature_query(&request)? + "\n";
    use std::io::Write as _;
    match &q.out {
        Some(path) => {
            guard_output(path, &[])?;
            crate::engine::io::atomic::write_atomic(path, |w| w.write_all(text.as_bytes()))?;
            eprintln!(
                "wrote the {} query to {}",
                q.dialect.name(),
                shown_path(path)
            );
        }
        None => {
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| Error::Config(format!("writing the query: {e}")))?;
        }
    }
    Ok(())
}

fn with_list<T>(
    a: &ListArgs,
    all_tiers: bool,
    f: impl FnOnce(&crate::engine::run::open::LoadedRun, &ListSpec) -> Result<T>,
) -> Result<T> {
    let (tiers, phrases) = a.target.load()?;
    let wb = crate::engine::run::open::LoadedRun::load(&a.run)?;
    let edits = crate::engine::targeting::edits::Edits::load_for(&wb)?;
    // The flags first, then what the workbench saved with the run, then the run's own: the
    // list made here is the one the analyst saw, and the line below says which it is.
    let (model, model_why) = edits.model_choice(a.model.as_deref());
    let model = model.unwrap_or_else(|| wb.chosen.clone());
    let (k, k_why) = match (all_tiers, a.k, edits.k) {
        (true, _, _) => (tiers.reach(), "every tier, --tiers"),
        (false, Some(k), _) => (k, "--k"),
        (false, None, Some(k)) => (k, "set in the workbench"),
        (false, None, None) => (
            wb.ks.first().copied().unwrap_or(KPct { bp: 500 }),
            "the run's first K",
        ),
    };
    if wb.model(&model).is_none() {
        // Names from a run's files: shown escaped by `report`.
        let names: Vec<&str> = wb.models.iter().map(|m| m.name.as_str()).collect();
        return Err(Error::Config(format!("the run has no model `{model}`"))
            .hint(format!("its models are {}", names.join(", "))));
    }
    eprintln!(
        "model {} ({model_why}), top {k}% ({k_why})",
        printable(&model)
    );
    f(
        &wb,
        &ListSpec {
            model: &model,
            k,
            tiers: &tiers,
            edits: &edits,
            phrases: &phrases,
        },
    )
}

fn tui(t: TuiArgs) -> Result<()> {
    use crate::tui::{TuiOptions, run, theme::Theme};
    let no_color = t.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (tiers, phrases) = t.target.load()?;
    crate::logging::to_file(&t.run_args.out.join("churn-tui.log"));
    run(TuiOptions {
        tiers,
        phrases,
        train: t.run_args.to_config()?,
        run: t.run,
        out: t.run_args.out.clone(),
        campaign_db: t.db.clone(),
        theme: Theme {
            color: !no_color,
            ascii: t.ascii,
        },
    })
}

/// One bar on stderr: the stage, then each step. indicatif hides it when stderr is not a
/// terminal (scripts and cron see only the finished lines).
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} {msg} {wide_bar} {pos}/{len}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A finished line above the bar, or on stderr when the bar is hidden (not a terminal).
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// A pass of the out-of-core feature stage on the bar: events scanned (with the rate), or
/// bucket units done.
fn show_pass(bar: &indicatif::ProgressBar, pass: &str, done: u64, total: u64) {
    if total == 0 {
        let secs = bar.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "features · {pass}: {:.1}M ({:.1}M/s)",
            done as f64 / 1e6,
            done as f64 / 1e6 / secs
        ));
        bar.set_length(0);
    } else {
        bar.set_message(format!("features · {pass}"));
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// The dataset of `cfg`, with the out-of-core passes shown on a bar.
fn build_dataset(cfg: &DatasetConfig) -> Result<dataset::Dataset> {
    let bar = progress_bar();
    let ds = dataset::build_with(cfg, &|pass, done, total| show_pass(&bar, pass, done, total));
    bar.finish_and_clear();
    ds
}

fn train(t: TrainArgs) -> Result<()> {
    use crate::engine::run::{self, Progress};
    use std::sync::atomic::AtomicBool;

    let cfg = t.run.to_config()?;
    let bar = progress_bar();
    let progress = |p: Progress| match p {
        Progress::Stage(s) => {
            bar.set_message(s.to_string());
            bar.set_length(0);
            bar.set_position(0);
        }
        Progress::Model { model, done, total } => {
            bar.set_message(model);
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Progress::ModelFailed { model, error } => say(
            &bar,
            shown(&format!("! {model} failed and is left out: {error}")),
        ),
        // The bar's own clock shows the time; a script's log needs no line a second.
        Progress::Working { model, .. } => bar.set_message(model),
        // The summary is printed with the results.
        Progress::Stats(_) => {}
        Progress::Pass { pass, done, total } => show_pass(&bar, pass, done, total),
        Progress::ModelDone { model, seconds } => {
            say(&bar, format!("· {model}: fit in {seconds:.2}s"))
        }
    };
    let cancel = AtomicBool::new(false);
    let report = run::train(&cfg, &progress, &cancel);
    bar.finish_and_clear();
    let report = report?;
    let (dir, _) = crate::engine::run::save::save_new(&report, &t.run.out)?;
    if t.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&crate::engine::run::save::eval_file(&report))
                .unwrap_or_default()
        );
    } else {
        eprint!("{}", shown(&dataset::summary(&report.dataset)));
        println!("{}", shown(&crate::engine::run::save::leaderboard(&report)));
    }
    eprintln!("run saved to {}", shown_path(&dir));
    Ok(())
}
