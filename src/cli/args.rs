//! Every command's arguments, as clap reads them, and what they turn into for the engine
//! (`DatasetConfig`, `TrainConfig`, `Exec`, tiers and phrases). The engine's value enums get their
//! `ValueEnum` here, so the engine knows nothing of clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::campaign::db::{DbUrl, Sql};
use crate::engine::data::synth;
use crate::engine::data::{Format, Scope};
use crate::engine::dataset::DatasetConfig;
use crate::engine::eval::KPct;
use crate::engine::features::sql::Dialect;
use crate::engine::label::{AnchorChoice, Window};
use crate::engine::run::score::ScoreFormat;
use crate::engine::targeting::TierRule;
use crate::engine::targeting::export::ExportFormat;
use crate::engine::targeting::phrases::{Lang, Phrases};
use crate::engine::time::parse_anchor;
use crate::engine::{Error, Result};

/// `ValueEnum` for an engine enum: its values as the command line spells them (clap's derive
/// would put `clap` into the engine).
macro_rules! value_enum {
    ($t:ty { $($v:path => $name:literal $([alias $alias:literal])? $([help $help:literal])?),* $(,)? }) => {
        impl clap::ValueEnum for $t {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($v),*]
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($v => clap::builder::PossibleValue::new($name)$(.alias($alias))?$(.help($help))?,)*
                })
            }
        }
    };
}

value_enum!(Dialect {
    Dialect::Spark => "spark" [help "Spark SQL 3.5+ / 4.x (session time zone UTC)"],
    Dialect::DuckDb => "duckdb" [help "DuckDB 1.x"],
});
value_enum!(Format {
    Format::Csv => "csv",
    Format::CsvGz => "csv.gz" [alias "gz"],
    Format::Parquet => "parquet",
});
value_enum!(ScoreFormat {
    ScoreFormat::Csv => "csv",
    ScoreFormat::Parquet => "parquet",
    ScoreFormat::Json => "json",
});
value_enum!(Lang {
    Lang::En => "en",
    Lang::Ko => "ko",
});
value_enum!(ExportFormat {
    ExportFormat::Csv => "csv",
    ExportFormat::Json => "json",
    ExportFormat::Parquet => "parquet",
    ExportFormat::Xlsx => "xlsx",
});

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
    /// (.xlsx: Summary, Targets, Leaderboard and Plan sheets).
    Report(ReportArgs),
    /// What a list costs and returns at K from 1% to 100% and at a budget's K: users, cost,
    /// customers kept and net with 90% intervals, from the tier costs and a read-out campaign.
    Plan(PlanArgs),
    /// Generate a synthetic REES46-schema event log.
    Gen(GenArgs),
    /// Benchmark the feature table on a generated log (fixed seed).
    Bench(BenchArgs),
    /// Campaigns with a randomised holdout, stored in a database, and their uplift read-out.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Uplift: learn from a randomised campaign whom an offer keeps (SPEC §7a).
    #[command(subcommand)]
    Uplift(UpliftCommand),
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
/// A budget (SPEC §5.2): a finite amount, 0 or more, digits grouped by commas allowed.
pub(crate) fn budget_arg(s: &str) -> std::result::Result<f64, String> {
    crate::engine::targeting::money::parse_budget(s).map_err(|e| e.to_string())
}

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
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: String,
    /// Start the Targets list at the K this budget buys (SPEC §5.2).
    #[arg(long, value_parser = budget_arg, allow_negative_numbers = true, value_name = "AMOUNT")]
    pub budget: Option<f64>,
    /// The uplift folder `u` ranks the Targets list by, and the Campaigns tab's Uplift view
    /// shows (default: the newest `uplift-*` folder in --out).
    #[arg(long, value_name = "DIR")]
    pub uplift: Option<PathBuf>,
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
    /// Targeting config (TOML): `[[tiers]]` with `name`, `top_pct`, `offer`, and the offer's
    /// `cost` (or `discount` and `redeem_rate`); `currency` and `value` at the top. Default:
    /// assets/tiers.toml (SPEC §5).
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
    /// Top K percent (up to two decimals). Default: the K (or budget) set in the workbench for
    /// this run, else the run's first K (5 unless trained with other --k).
    #[arg(long, value_parser = k_arg, allow_negative_numbers = true)]
    pub k: Option<KPct>,
    /// A marketing budget instead of K: the longest prefix of the list whose offers' expected
    /// cost it pays (the tier config's costs; SPEC §5.2).
    #[arg(long, value_parser = budget_arg, conflicts_with = "k", allow_negative_numbers = true, value_name = "AMOUNT")]
    pub budget: Option<f64>,
    /// Another model of the run than the chosen one. Default: the model picked in the
    /// workbench for this run, else the run's chosen model.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// What a list ranks by (SPEC §7a.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RankBy {
    Risk,
    Uplift,
}

#[derive(Args, Debug, Clone)]
pub struct RankArgs {
    /// Rank the list by the model's risk, or by the uplift --uplift's folder predicts (users
    /// with a predicted uplift of zero or below are then not targeted).
    #[arg(long, value_enum, default_value = "risk")]
    pub rank_by: RankBy,
    /// An uplift folder written by `uplift train` (needed by --rank-by uplift).
    #[arg(long, value_name = "DIR")]
    pub uplift: Option<PathBuf>,
}

impl RankArgs {
    /// The uplift folder to rank by, if the list ranks by uplift; each flag without the other
    /// is refused rather than ignored.
    pub fn uplift_dir(&self) -> Result<Option<&std::path::Path>> {
        match (self.rank_by, &self.uplift) {
            (RankBy::Uplift, Some(d)) => Ok(Some(d)),
            (RankBy::Uplift, None) => Err(Error::Config(
                "--rank-by uplift needs --uplift DIR: the folder `uplift train --out DIR` wrote"
                    .into(),
            )),
            (RankBy::Risk, Some(_)) => Err(Error::Config(
                "--uplift is read only with --rank-by uplift".into(),
            )
            .hint("add --rank-by uplift, or leave --uplift out to rank by risk")),
            (RankBy::Risk, None) => Ok(None),
        }
    }
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// The file format (default: from the --out extension).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Export every tier (down to the widest tier's share) instead of the top K.
    #[arg(long, conflicts_with_all = ["k", "budget"])]
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
    #[command(flatten)]
    pub uplift: UpliftArgs,
}

/// Where a plan's uplifts come from (SPEC §5.3).
#[derive(Args, Debug, Clone)]
pub struct UpliftArgs {
    /// The read-out campaign whose uplift per tier gives the return (a name, or `id:N`).
    /// Default: the latest read-out campaign of the run.
    #[arg(long)]
    pub campaign: Option<String>,
    /// The campaign database: an SQLite file or mysql://user:password@host:port/database.
    /// The default file is read only if it exists.
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: String,
}

impl UpliftArgs {
    /// The database, when there is one to read: the default file only once it exists (a plan
    /// makes no database), any other one always (a missing file is an error naming it).
    pub fn open(&self) -> Result<Option<Box<dyn Sql>>> {
        let url = DbUrl::parse(&self.db)?;
        if let DbUrl::Sqlite(p) = &url
            && !p.exists()
        {
            if self.db == DEFAULT_DB {
                return Ok(None);
            }
            return Err(Error::Config(format!(
                "no campaign database at {}",
                crate::engine::text::printable(&p.display().to_string())
            )));
        }
        crate::engine::campaign::db::open(&url).map(Some)
    }
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// A run directory written by `train` (or the workbench); its hand edits apply.
    #[arg(long)]
    pub run: PathBuf,
    /// Also the K this budget buys (SPEC §5.2).
    #[arg(long, value_parser = budget_arg, allow_negative_numbers = true, value_name = "AMOUNT")]
    pub budget: Option<f64>,
    /// Another model of the run than the chosen one (default: the model picked in the
    /// workbench, else the run's chosen model).
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub uplift: UpliftArgs,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
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
    /// Simulate a randomised campaign at this anchor (YYYY-MM-DD[THH:MM:SSZ]): users active in
    /// the 30 days before it are treated at random, and the offer changes their next 30 days
    /// (SPEC §7a.1). Needs --truth.
    #[arg(long, value_parser = anchor_arg, requires = "truth")]
    pub campaign_anchor: Option<i64>,
    /// The share of the campaign's users treated, in percent.
    #[arg(long, default_value = "50", value_parser = k_arg, requires = "campaign_anchor", allow_negative_numbers = true)]
    pub campaign_share: KPct,
    /// Where the campaign's truth goes (.parquet or .csv): user_id, group, p_dormant_control,
    /// p_dormant_treated, true_uplift.
    #[arg(long, requires = "campaign_anchor")]
    pub truth: Option<PathBuf>,
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

// --- `campaign …`

/// Where campaigns go unless `--db` says otherwise: the same file for `campaign …` and the
/// workbench, whatever the workbench's `--out`.
pub const DEFAULT_DB: &str = "artifacts/campaigns.db";

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Target list at an anchor, split into treatment and a random control group per tier,
    /// stored in one transaction; the treatment list is exported with --out.
    Create(Box<CreateArgs>),
    /// After the horizon: dormant rates of treatment and control, and the uplift with its 90%
    /// interval, per tier and overall (stored, and printed).
    Readout(ReadoutArgs),
    /// Every campaign with its groups and status: waiting for data (the horizon is not over),
    /// due (it is; the read-out needs logs through the day shown) or read.
    List(DbArgs),
    /// Register a campaign run elsewhere from its assignment file (user_id,group[,tier]; CSV
    /// or Parquet): every user must be in the logs' population at the anchor.
    Import(ImportArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The campaign's name.
    #[arg(long)]
    pub name: String,
    /// When the offers went out (YYYY-MM-DD[THH:MM:SSZ]).
    #[arg(long, value_parser = anchor_arg)]
    pub anchor: i64,
    /// user_id,group[,tier] per user (group: treatment or control), CSV or Parquet.
    #[arg(long)]
    pub assignment: PathBuf,
    /// The logs the users are checked against (an event in the 30 days before the anchor).
    #[arg(long = "data", value_name = "PATH", required = true)]
    pub data: Vec<String>,
    /// Days after the anchor the outcome is read in.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=365), allow_negative_numbers = true)]
    pub horizon: u32,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Subcommand, Debug)]
pub enum UpliftCommand {
    /// Fit the uplift learners on a campaign's users (features at its anchor, dormancy in its
    /// horizon), judge them on a held-out fold against the risk ranking and random, and write
    /// the folder (models, table.parquet, eval_predictions.csv, uplift.json).
    Train(UpliftTrainArgs),
}

#[derive(Args, Debug)]
pub struct UpliftTrainArgs {
    /// The campaign's name or id (`id:N` for an id only).
    #[arg(long)]
    pub campaign: String,
    /// Logs that cover the campaign's lookback and horizon; repeatable.
    #[arg(long = "data", value_name = "PATH", required = true)]
    pub data: Vec<String>,
    /// Methods, comma-separated: t_learner, x_learner, transformed_outcome (default: all).
    #[arg(long, value_delimiter = ',', value_parser = method_arg)]
    pub method: Vec<crate::engine::uplift::Method>,
    #[arg(long, default_value_t = 42, value_parser = whole_arg::<u64>, allow_negative_numbers = true)]
    pub seed: u64,
    /// The output folder (default: artifacts/uplift-c<ID>-s<SEED>); never replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A run whose chosen model gives the risk ranking (default: the campaign's own run; for an
    /// imported campaign, the control group's dormancy model).
    #[arg(long)]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

fn method_arg(s: &str) -> std::result::Result<crate::engine::uplift::Method, String> {
    crate::engine::uplift::Method::parse(s.trim()).ok_or_else(|| {
        format!(
            "unknown method `{s}`: one of {}",
            crate::engine::uplift::Method::ALL
                .map(|m| m.name())
                .join(", ")
        )
    })
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// The campaign database: an SQLite file (sqlite:PATH or a path) or
    /// mysql://user:password@host:port/database (MySQL or MariaDB). The workbench's default too.
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: String,
}

impl DbArgs {
    pub fn open(&self) -> Result<Box<dyn Sql>> {
        let url = DbUrl::parse(&self.db)?;
        if self.db == DEFAULT_DB {
            url.make_folder()?;
        }
        crate::engine::campaign::db::open(&url)
    }
}

/// A holdout share in percent, 0 to 50, up to two decimals.
fn holdout_arg(s: &str) -> std::result::Result<u32, String> {
    crate::engine::campaign::create::parse_holdout(s).map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The run whose model, edits and window the campaign uses.
    #[arg(long)]
    pub run: PathBuf,
    /// The anchor to target at (default: the run's test anchor; a later one scores the log there).
    #[arg(long, value_parser = anchor_arg)]
    pub anchor: Option<i64>,
    /// Logs to score a later anchor from (default: the run's own inputs).
    #[arg(long = "data", value_name = "PATH")]
    pub data: Vec<String>,
    /// Top K percent (default: the K set in the workbench for this run, else every tier).
    #[arg(long, value_parser = k_arg, conflicts_with = "tiers", allow_negative_numbers = true)]
    pub k: Option<KPct>,
    /// A marketing budget instead of K: the longest prefix of the list whose offers' expected
    /// cost it pays (SPEC §5.2).
    #[arg(long, value_parser = budget_arg, conflicts_with_all = ["k", "tiers"], allow_negative_numbers = true, value_name = "AMOUNT")]
    pub budget: Option<f64>,
    /// Every tier, down to the widest tier's share (the default when the workbench saved no K).
    #[arg(long)]
    pub tiers: bool,
    /// Control share of each tier in percent (0 to 50).
    #[arg(long, default_value = "10", value_parser = holdout_arg, allow_negative_numbers = true)]
    pub holdout: u32,
    /// The campaign's name (unique in the database); default from the run, anchor and K.
    #[arg(long)]
    pub name: Option<String>,
    /// Seed of the control draw.
    #[arg(long, default_value_t = 42, value_parser = whole_arg::<u64>, allow_negative_numbers = true)]
    pub seed: u64,
    /// Another model of the run than the chosen one (default: the model picked in the
    /// workbench for this run, else the run's chosen model).
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub rank: RankArgs,
    /// The treatment list (the coupon system's file): .csv, .json, .parquet or .xlsx.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, requires = "out")]
    pub format: Option<ExportFormat>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct ReadoutArgs {
    /// The campaign's name or id (`id:N` for an id only).
    #[arg(long)]
    pub campaign: String,
    /// Logs that cover the campaign's horizon; repeatable.
    #[arg(long = "data", value_name = "PATH", required = true)]
    pub data: Vec<String>,
    /// Also write the read-out as a Markdown report.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}
