//! Scope filters (SPEC §1): a category prefix, tested against each product's resolved code, and
//! a brand list, pushed into the scan.

use std::collections::HashMap;

use polars::prelude::*;

use super::schema::*;
use crate::engine::Result;
use crate::engine::error::PolarsContext;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// Plain starts-with prefix of the product's resolved `category_code`.
    pub category: Option<String>,
    /// Exact, case-sensitive brand names; a null brand never matches.
    pub brands: Option<Vec<String>>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.category.is_none() && self.brands.is_none()
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.category {
            parts.push(format!("category prefix `{c}`"));
        }
        if let Some(b) = &self.brands {
            parts.push(format!("brands {}", b.join(",")));
        }
        if parts.is_empty() {
            "no scope filter".into()
        } else {
            parts.join(" and ")
        }
    }
}

/// Resolve each product's category as the code of its earliest event with a non-null code (ties:
/// the smallest code), over the whole unscoped log, and return the products whose resolved code
/// starts with `prefix`. `events` must carry `product_id`, `ts` and `category_code`.
pub fn products_in_category(events: LazyFrame, prefix: &str) -> Result<Vec<i64>> {
    // One streaming pass down to (product, code, first time seen): small, whatever the log size.
    let firsts = events
        .filter(col(CATEGORY_CODE).is_not_null().and(col(TS).is_not_null()))
        .group_by([col(PRODUCT_ID), col(CATEGORY_CODE)])
        .agg([col(TS).min()])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .ctx(|| "resolving product categories".into())?;
    let products = firsts
        .column(PRODUCT_ID)
        .and_then(|c| c.i64())
        .ctx(|| "product_id".into())?;
    let codes = firsts
        .column(CATEGORY_CODE)
        .and_then(|c| c.str())
        .ctx(|| "category_code".into())?;
    let times = firsts
        .column(TS)
        .and_then(|c| c.i64())
        .ctx(|| "ts".into())?;
    let mut best: HashMap<i64, (i64, &str)> = HashMap::new();
    for ((p, c), t) in products.iter().zip(codes.iter()).zip(times.iter()) {
        let (Some(p), Some(c), Some(t)) = (p, c, t) else {
            continue;
        };
        best.entry(p)
            .and_modify(|cur| {
                if (t, c) < (cur.0, cur.1) {
                    *cur = (t, c);
                }
            })
            .or_insert((t, c));
    }
    let mut ids: Vec<i64> = best
        .into_iter()
        .filter(|(_, (_, code))| code.starts_with(prefix))
        .map(|(p, _)| p)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}
