//! The data commands: `summary`, `features`, `sql` and `gen`.

use std::path::PathBuf;

use super::args::{DataArgs, GenArgs, SqlArgs};
use super::show::{progress_bar, show_pass, shown, shown_path};
use crate::engine::data::synth::{self, GenConfig};
use crate::engine::dataset::{self, DatasetConfig};
use crate::engine::run::files::guard_output;
use crate::engine::{Error, Result};

/// `summary`: what the log holds, its anchors and label shares.
pub fn summary(data: DataArgs) -> Result<()> {
    let cfg = data.to_config()?;
    let files = crate::engine::data::resolve(&cfg.data)?;
    if cfg.features.is_some() || crate::engine::dataset::out_of_core::out_of_core(&files, &cfg.exec)
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
            let too_short = e.is_empty_split();
            match dataset::split_suggestion(&log.summary, &cfg.window) {
                Some(hint) if too_short => Err(e.hint(hint)),
                _ => Err(e),
            }
        }
    }
}

/// `features`: the feature table, written whole or not at all.
pub fn features(data: DataArgs, out: PathBuf) -> Result<()> {
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

/// `sql`: the feature query for Spark or DuckDB.
pub fn sql(q: SqlArgs) -> Result<()> {
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

/// `gen`: a synthetic log.
pub fn generate(g: GenArgs) -> Result<()> {
    let cfg = GenConfig {
        users: g.users,
        start: g.start,
        months: g.months,
        seed: g.seed,
    };
    guard_output(&g.out, &[])?;
    let sim = match (g.campaign_anchor, &g.truth) {
        (Some(anchor), Some(truth)) => {
            guard_output(truth, std::slice::from_ref(&g.out))?;
            Some((
                synth::CampaignSim {
                    anchor,
                    share_bp: g.campaign_share.bp,
                    window: crate::engine::label::Window::default(),
                },
                truth.clone(),
            ))
        }
        _ => None,
    };
    let bar = progress_bar();
    let mut show = |p: synth::GenProgress| {
        let (what, done, total) = match p {
            synth::GenProgress::Users { done, total } => ("gen · users", done as u64, total as u64),
            synth::GenProgress::Written { done, total } => {
                ("gen · events written", done as u64, total as u64)
            }
        };
        bar.set_message(what);
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = match &sim {
        Some((sim, truth)) => {
            synth::generate_campaign_to(&cfg, sim, &g.out, truth, g.chunk_users, &mut show)
                .map(|(r, n)| (r, Some((truth, n))))
        }
        None => synth::generate_to_with(&cfg, &g.out, g.chunk_users, &mut show).map(|r| (r, None)),
    };
    bar.finish_and_clear();
    let (report, truth) = report?;
    eprintln!("{}", shown(&report.to_string()));
    if let Some((path, n)) = truth {
        eprintln!(
            "campaign truth of {} users: {}",
            crate::engine::text::thousands(n as u64),
            shown_path(path)
        );
    }
    Ok(())
}

/// The dataset of `cfg`, with the out-of-core passes shown on a bar.
pub(super) fn build_dataset(cfg: &DatasetConfig) -> Result<dataset::Dataset> {
    let bar = progress_bar();
    let ds = dataset::build_with(cfg, &|pass, done, total| show_pass(&bar, pass, done, total));
    bar.finish_and_clear();
    ds
}
