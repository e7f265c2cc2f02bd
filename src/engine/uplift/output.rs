//! The files of an uplift folder anyone can check with their own tools (SPEC §7a.2):
//! `table.parquet` (every campaign user: user_id, the 14 features, group, dormant, fold) and
//! `eval_predictions.csv` (the evaluation fold: user_id, group, dormant, the chosen method's
//! `uplift`, each method's `uplift_<method>`, and the risk ranking's `risk`).

use std::io::Write as _;
use std::path::Path;

use polars::prelude::*;

use super::train::Trained;
use crate::engine::error::PolarsContext;
use crate::engine::features::FEATURE_NAMES;
use crate::engine::io::csv_out::{self, Fields};
use crate::engine::{Error, Result};

fn group(t: bool) -> &'static str {
    if t { "treatment" } else { "control" }
}

pub fn write_table(t: &Trained, path: &Path) -> Result<()> {
    let x = &t.x;
    let mut cols = vec![Column::new("user_id".into(), x.users.clone())];
    for (j, name) in FEATURE_NAMES.iter().enumerate() {
        cols.push(Column::new((*name).into(), x.cols[j].clone()));
    }
    cols.push(Column::new(
        "group".into(),
        t.treated.iter().map(|&g| group(g)).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "dormant".into(),
        x.y.iter().map(|&y| i32::from(y)).collect::<Vec<_>>(),
    ));
    cols.push(Column::new("fold".into(), t.fold.clone()));
    let mut df = DataFrame::new_infer_height(cols).ctx(|| "the uplift table".into())?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let schema = df.schema().clone();
    crate::engine::io::parquet_out::writer(file, &schema)
        .finish(&mut df)
        .map(|_| ())
        .map_err(|e| Error::io(path, std::io::Error::other(e)))
}

pub fn write_eval(t: &Trained, path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut buf = std::io::BufWriter::new(file);
    let mut w = csv_out::writer(&mut buf as &mut dyn std::io::Write);
    let io = |e: csv::Error| Error::io(path, csv_out::io(e));
    let mut header: Vec<String> = vec!["user_id".into(), "group".into(), "dormant".into()];
    header.push("uplift".into());
    for (m, _) in &t.eval_uplift {
        header.push(format!("uplift_{}", m.name()));
    }
    header.push("risk".into());
    w.write_record(&header).map_err(io)?;
    let mut f = Fields::default();
    for (r, &i) in t.eval_rows.iter().enumerate() {
        let mut rec: Vec<String> = vec![
            t.x.users[i].to_string(),
            group(t.treated[i]).to_string(),
            u8::from(t.x.y[i]).to_string(),
        ];
        // The chosen method's column comes first in `eval_uplift`.
        rec.push(f.show(t.eval_uplift[0].1[r]).to_string());
        for (_, s) in &t.eval_uplift {
            rec.push(f.show(s[r]).to_string());
        }
        rec.push(f.show(t.eval_risk[r]).to_string());
        w.write_record(&rec).map_err(io)?;
    }
    w.flush().map_err(|e| Error::io(path, e))?;
    drop(w);
    buf.flush().map_err(|e| Error::io(path, e))
}

/// The output folder's file names.
pub const REPORT_FILE: &str = "uplift.json";
pub const MODELS_FILE: &str = "models.json";
pub const TABLE_FILE: &str = "table.parquet";
pub const EVAL_FILE: &str = "eval_predictions.csv";

/// Write the output folder: staged in a hidden work folder beside it and renamed into place,
/// so it is whole or absent; an existing folder is never replaced.
pub fn write(t: &Trained, out: &Path) -> Result<()> {
    use crate::engine::io::atomic::WorkDir;
    if out.exists() {
        return Err(Error::Config(format!(
            "{} already exists: an uplift folder is never replaced",
            out.display()
        ))
        .hint("choose another --out, or remove that folder"));
    }
    let root = crate::engine::io::atomic::dir_of(out);
    let work = WorkDir::new(&root, ".churn-tui-uplift-")?;
    let dir = work.path().to_path_buf();
    let text = |name: &str, v: &dyn erased::Json| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, v.text()?).map_err(|e| Error::io(&p, e))
    };
    text(REPORT_FILE, &t.report)?;
    text(MODELS_FILE, &t.models)?;
    write_table(t, &dir.join(TABLE_FILE))?;
    write_eval(t, &dir.join(EVAL_FILE))?;
    crate::engine::run::save::rename_noreplace(&dir, out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Config(format!(
                "{} already exists: an uplift folder is never replaced",
                out.display()
            ))
        } else {
            Error::io(out, e)
        }
    })?;
    let _ = std::fs::remove_file(out.join(crate::engine::io::atomic::WRITING_LOCK));
    work.disarm();
    Ok(())
}

mod erased {
    /// A value written as pretty JSON with a final newline.
    pub trait Json {
        fn text(&self) -> crate::engine::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> crate::engine::Result<String> {
            crate::engine::run::format::to_text(self, true)
        }
    }
}
