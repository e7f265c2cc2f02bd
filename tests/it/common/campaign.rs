//! Helpers of the campaign tests (`campaign*.rs`, and the Campaigns tab in `tui.rs`): a SQLite
//! store in a temp dir, a create request on the fixture run, and counts read back from the
//! stored rows.

use std::collections::HashMap;
use std::path::Path;

use churn_tui::engine::campaign;
use churn_tui::engine::campaign::create::CreateRequest;
use churn_tui::engine::campaign::db::{DbUrl, Sql, Val};
use churn_tui::engine::targeting::phrases::Phrases;
use churn_tui::engine::targeting::tiers::TierRule;

use super::fixture_run;

pub fn sqlite(dir: &Path) -> Box<dyn Sql> {
    campaign::db::open(&DbUrl::Sqlite(dir.join("c.db"))).unwrap()
}

pub fn request<'a>(
    tiers: &'a TierRule,
    phrases: &'a Phrases,
    on_rows: &'a mut dyn FnMut(usize),
) -> CreateRequest<'a> {
    CreateRequest {
        run_dir: fixture_run(),
        anchor: None,
        data: vec![],
        exec: Default::default(),
        k: None,
        budget: None,
        holdout_bp: 1000,
        name: None,
        seed: 7,
        model: None,
        uplift: None,
        tiers,
        phrases,
        out: None,
        on_rows,
    }
}

pub fn phrases() -> Phrases {
    Phrases::load("en").unwrap()
}

/// (user → (tier, group)) of a stored campaign.
pub fn groups(db: &mut dyn Sql, id: i64) -> HashMap<i64, (String, String)> {
    db.query(
        "SELECT user_id, tier, grp FROM campaign_targets WHERE campaign_id = ?",
        &[Val::Int(id)],
    )
    .unwrap()
    .into_iter()
    .map(|r| {
        (
            r[0].int().unwrap(),
            (
                r[1].text().unwrap().to_string(),
                r[2].text().unwrap().to_string(),
            ),
        )
    })
    .collect()
}

pub fn count(db: &mut dyn Sql, table: &str) -> i64 {
    db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap()[0][0]
        .int()
        .unwrap()
}

pub fn db_arg(d: &Path) -> String {
    d.join("c.db").display().to_string()
}

/// Hidden work folders of staged coupon files in `dir`.
pub fn staged_folders(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".churn-tui-campaign-"))
        .collect()
}
