//! The feature query as SQL (SPEC §8): one query that computes the SPEC §6 feature table from an
//! `events` table with the SPEC §1 schema, for engines beyond one machine (Spark, DuckDB).
//!
//! The anchors and their splits are decided here, by the same rules as `churn-tui features`
//! (SPEC §2), and written into the query as literals; the query checks on the data that each
//! one is eligible and raises an error otherwise, rather than return a table that is silently
//! different. Every step is a named CTE that mirrors the in-memory pipeline.

use std::fmt::Write as _;

use crate::engine::data::Scope;
use crate::engine::label::anchors::DataRange;
use crate::engine::label::splits::{self, AnchorPlan};
use crate::engine::label::{AnchorChoice, Window};
use crate::engine::time::{US_PER_DAY, fmt_anchor};
use crate::engine::{Error, Result};

/// The SQL engines the query is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Spark SQL 3.5+ / 4.x (session time zone UTC).
    Spark,
    /// DuckDB 1.x.
    DuckDb,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Spark => "spark",
            Dialect::DuckDb => "duckdb",
        }
    }

    /// Microseconds since the epoch of a timestamp.
    fn epoch_us(self, e: &str) -> String {
        match self {
            Dialect::Spark => format!("unix_micros(CAST({e} AS TIMESTAMP))"),
            Dialect::DuckDb => format!("epoch_us({e})"),
        }
    }

    /// A UTC timestamp from microseconds since the epoch.
    fn timestamp_of_us(self, e: &str) -> String {
        match self {
            Dialect::Spark => format!("timestamp_micros({e})"),
            Dialect::DuckDb => format!("make_timestamp({e})"),
        }
    }

    /// An expression that fails the query with `message` (a text expression).
    fn raise(self, message: &str) -> String {
        match self {
            Dialect::Spark => format!("raise_error({message})"),
            Dialect::DuckDb => format!("error({message})"),
        }
    }

    /// A text literal.
    fn text(self, s: &str) -> String {
        let quoted = s.replace('\'', "''");
        match self {
            // Spark reads backslashes in literals as escapes.
            Dialect::Spark => format!("'{}'", quoted.replace('\\', "\\\\")),
            Dialect::DuckDb => format!("'{quoted}'"),
        }
    }
}

/// What the query computes.
#[derive(Debug, Clone)]
pub struct SqlRequest {
    pub dialect: Dialect,
    pub scope: Scope,
    pub plan: AnchorPlan,
    /// The events table (a name, optionally qualified: `db.events`).
    pub table: String,
}

/// The anchors and splits for a query: as `churn-tui features` would choose them for a log
/// covering `range` (`[first event, last event]`, µs); without a range, only explicit anchors
/// can be planned (and their eligibility is checked by the query itself).
pub fn plan(choice: &AnchorChoice, range: Option<(i64, i64)>, w: &Window) -> Result<AnchorPlan> {
    match (choice, range) {
        (_, Some((first, last))) => {
            if last < first {
                return Err(Error::Config(format!(
                    "--time-range ends ({}) before it starts ({})",
                    fmt_anchor(last),
                    fmt_anchor(first)
                )));
            }
            splits::plan(choice, &DataRange::of(first, last), w)
        }
        (AnchorChoice::Monthly, None) => Err(Error::Config(
            "the query needs its anchors: give --anchors, --train-anchors/--val-anchors/\
             --test-anchors, or --time-range FIRST,LAST for monthly anchors"
                .into(),
        )),
        (AnchorChoice::List(anchors), None) => splits::split_default(anchors, w),
        (AnchorChoice::Assigned { train, val, test }, None) => {
            splits::split_assigned(train, val, test, w)
        }
    }
}

/// A table name as given, refused unless it is plain (letters, digits, `_`, dotted parts):
/// it is pasted into the query.
fn check_table(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "--events-table `{name}`: expected a plain table name (letters, digits, _; parts joined by .)"
        )))
    }
}

/// The query, one statement, without a trailing semicolon.
pub fn feature_query(r: &SqlRequest) -> Result<String> {
    check_table(&r.table)?;
    // Values reach the query as quoted literals, and the comment below shows them escaped;
    // control characters are refused outright (a newline once ended the comment).
    r.scope.check()?;
    if r.plan.anchors.is_empty() {
        return Err(Error::Config("no anchors to compute".into()));
    }
    let d = r.dialect;
    let w = &r.plan.window;
    let day = US_PER_DAY;
    let dbl = |e: &str| format!("CAST({e} AS DOUBLE)");
    let day_dbl = dbl(&day.to_string());
    let mut q = String::new();
    let _ = writeln!(
        q,
        "-- churn-tui feature table (SPEC §6) as one {} query (SPEC §8).",
        d.name()
    );
    let _ = writeln!(
        q,
        "-- Lookback W = {} days, horizon H = {} days; scope: {}.",
        w.lookback_days,
        w.horizon_days,
        r.scope.describe()
    );
    for split in crate::engine::label::Split::ALL {
        let list = r.plan.of_split(split);
        let _ = writeln!(
            q,
            "-- {split}: {}",
            list.iter()
                .map(|t| fmt_anchor(*t))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !r.plan.purged.is_empty() {
        let _ = writeln!(
            q,
            "-- purged (labels would reach into a later split): {}",
            r.plan
                .purged
                .iter()
                .map(|t| fmt_anchor(*t))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if d == Dialect::Spark {
        let _ = writeln!(
            q,
            "-- Run with spark.sql.session.timeZone=UTC (event_time is read as UTC)."
        );
    }
    let _ = writeln!(q, "WITH");

    // Anchors, as literals.
    let _ = writeln!(q, "anchors AS (");
    for (i, (t, split)) in r.plan.anchors.iter().enumerate() {
        let _ = writeln!(
            q,
            "  {}SELECT CAST({t} AS BIGINT) AS t, {} AS split, {} AS anchor_text",
            if i == 0 { "" } else { "UNION ALL " },
            d.text(split.as_str()),
            d.text(&fmt_anchor(*t))
        );
    }
    let _ = writeln!(q, "),");

    // Parsed events: time in µs; an empty text is no value (SPEC §1).
    let _ = writeln!(
        q,
        "parsed_events AS (
  SELECT
    {ts} AS ts,
    event_type,
    CAST(product_id AS BIGINT) AS product_id,
    CAST(category_id AS BIGINT) AS category_id,
    NULLIF(category_code, '') AS category_code,
    NULLIF(brand, '') AS brand,
    CAST(price AS DOUBLE) AS price,
    CAST(user_id AS BIGINT) AS user_id,
    NULLIF(user_session, '') AS user_session
  FROM {table}
),",
        ts = d.epoch_us("event_time"),
        table = r.table
    );

    // Scope.
    let mut scope_join = String::new();
    let mut scope_where = Vec::new();
    if let Some(prefix) = &r.scope.category {
        let _ = writeln!(
            q,
            "product_category AS (
  -- Each product's category: the code of its earliest event with a code, over the whole
  -- unscoped log (ties in time: the smallest code); every row of the product follows it.
  SELECT product_id, category_code
  FROM (
    SELECT product_id, category_code,
      ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY ts, category_code) AS pick
    FROM parsed_events
    WHERE category_code IS NOT NULL
  ) coded
  WHERE pick = 1
),"
        );
        scope_join = format!(
            "\n  JOIN product_category pc ON pc.product_id = e.product_id\n    AND substr(pc.category_code, 1, {}) = {}",
            prefix.chars().count(),
            d.text(prefix)
        );
    }
    if let Some(brands) = &r.scope.brands {
        let list = brands
            .iter()
            .map(|b| d.text(b))
            .collect::<Vec<_>>()
            .join(", ");
        // A null brand is never in the list.
        scope_where.push(format!("e.brand IN ({list})"));
    }
    let _ = writeln!(
        q,
        "scoped_events AS (
  SELECT e.*
  FROM parsed_events e{scope_join}{}
),",
        if scope_where.is_empty() {
            String::new()
        } else {
            format!("\n  WHERE {}", scope_where.join(" AND "))
        }
    );
    let _ = writeln!(
        q,
        "events_once AS (
  -- Exact duplicates (identical in every parsed column) count once.
  SELECT DISTINCT ts, event_type, product_id, category_id, category_code, brand, price,
    user_id, user_session
  FROM scoped_events
),"
    );

    // Eligibility against the data, checked: an anchor the data cannot hold fails the query.
    let (lookback, horizon, half) = (w.lookback_us(), w.horizon_us(), w.half_lookback_us());
    let message = format!(
        "concat('anchor ', a.anchor_text, ' is not eligible: [t - {}d, t + {}d) must lie inside the data''s time range (SPEC 2)')",
        w.lookback_days, w.horizon_days
    );
    let _ = writeln!(
        q,
        "data_range AS (
  -- [first event's day 00:00, the day after the last event) in µs.
  SELECT
    FLOOR({min} / {day_dbl}) * {day} AS range_start,
    FLOOR({max} / {day_dbl}) * {day} + {day} AS range_end
  FROM events_once
),
eligible_anchors AS (
  SELECT a.t, a.split
  FROM anchors a CROSS JOIN data_range r
  WHERE CASE
    WHEN r.range_start <= a.t - {lookback} AND a.t + {horizon} <= r.range_end THEN TRUE
    ELSE {raise}
  END
),",
        min = dbl("MIN(ts)"),
        max = dbl("MAX(ts)"),
        raise = d.raise(&message),
    );

    // The lookback window and its per-user totals.
    let _ = writeln!(
        q,
        "lookback_events AS (
  -- Each anchor's lookback window [t - W, t): features see nothing at or after t.
  SELECT a.t, a.split, e.user_id, e.ts, e.event_type, e.brand, e.price,
    FLOOR({ts_dbl} / {day_dbl}) AS day
  FROM eligible_anchors a
  JOIN events_once e ON e.ts >= a.t - {lookback} AND e.ts < a.t
),
lookback_totals AS (
  -- The population: users with an event in the window, one row per (anchor, user).
  SELECT t, split, user_id,
    COUNT(*) AS n,
    COUNT(DISTINCT day) AS active_days,
    SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS n_purchase,
    MAX(ts) AS last_ts,
    MAX(CASE WHEN event_type = 'purchase' THEN ts END) AS last_purchase_ts,
    SUM(CASE WHEN event_type = 'purchase' THEN price ELSE {zero} END) AS spend,
    SUM(CASE WHEN ts >= t - {half} THEN 1 ELSE 0 END) AS n_recent_half,
    SUM(CASE WHEN ts >= t - {week} THEN 1 ELSE 0 END) AS n_7d,
    STDDEV_POP(price) AS price_std,
    COUNT(brand) AS n_branded
  FROM lookback_events
  GROUP BY t, split, user_id
),
active_dates AS (
  SELECT DISTINCT t, user_id, day FROM lookback_events
),
date_gaps AS (
  -- Days between consecutive distinct active dates.
  SELECT t, user_id,
    day - LAG(day) OVER (PARTITION BY t, user_id ORDER BY day) AS gap
  FROM active_dates
),
gap_spread AS (
  SELECT t, user_id, STDDEV_POP(gap) AS gap_std
  FROM date_gaps
  GROUP BY t, user_id
),
brand_sequence AS (
  -- Events with a brand, in time order (same second: by brand), each with the brand before it.
  SELECT t, user_id, brand,
    LAG(brand) OVER (PARTITION BY t, user_id ORDER BY ts, brand) AS previous_brand
  FROM lookback_events
  WHERE brand IS NOT NULL
),
brand_switches AS (
  SELECT t, user_id,
    SUM(CASE WHEN brand <> previous_brand THEN 1 ELSE 0 END) AS switches
  FROM brand_sequence
  GROUP BY t, user_id
),",
        ts_dbl = dbl("e.ts"),
        zero = dbl("0"),
        week = 7 * day,
    );

    // Brand modes (home before t, future after), ties to the smallest brand.
    let mode = |name: &str, events: &str| {
        format!(
            "{name}_counts AS (
  SELECT t, user_id, brand, COUNT(*) AS brand_events
  FROM {events}
  WHERE brand IS NOT NULL
  GROUP BY t, user_id, brand
),
{name} AS (
  -- The most frequent brand (ties: the smallest).
  SELECT t, user_id, brand AS {name}, brand_events AS {name}_events
  FROM (
    SELECT t, user_id, brand, brand_events,
      ROW_NUMBER() OVER (PARTITION BY t, user_id ORDER BY brand_events DESC, brand) AS pick
    FROM {name}_counts
  ) ranked
  WHERE pick = 1
),"
        )
    };
    let _ = writeln!(q, "{}", mode("home_brand", "lookback_events"));
    let _ = writeln!(
        q,
        "horizon_events AS (
  -- Each anchor's horizon [t, t + H): label material only, never a feature.
  SELECT a.t, e.user_id, e.brand
  FROM eligible_anchors a
  JOIN events_once e ON e.ts >= a.t AND e.ts < a.t + {horizon}
),
horizon_activity AS (
  SELECT t, user_id, COUNT(*) AS n_future
  FROM horizon_events
  GROUP BY t, user_id
),"
    );
    let _ = writeln!(q, "{}", mode("future_brand", "horizon_events"));
    let _ = writeln!(
        q,
        "labelled AS (
  SELECT p.*, g.gap_std, s.switches, h.home_brand_events,
    CASE
      WHEN f.n_future IS NULL THEN 'm2'
      WHEN h.home_brand IS NOT NULL AND fb.future_brand IS NOT NULL
        AND h.home_brand <> fb.future_brand THEN 'm1'
      ELSE 'm0'
    END AS label
  FROM lookback_totals p
  LEFT JOIN gap_spread g ON g.t = p.t AND g.user_id = p.user_id
  LEFT JOIN brand_switches s ON s.t = p.t AND s.user_id = p.user_id
  LEFT JOIN home_brand h ON h.t = p.t AND h.user_id = p.user_id
  LEFT JOIN horizon_activity f ON f.t = p.t AND f.user_id = p.user_id
  LEFT JOIN future_brand fb ON fb.t = p.t AND fb.user_id = p.user_id
)"
    );
    let days_before = |e: &str| format!("{} / {day_dbl}", dbl(&format!("t - {e}")));
    let _ = writeln!(
        q,
        "SELECT
  user_id,
  {anchor} AS anchor,
  split,
  label,
  CASE WHEN label = 'm2' THEN 1 ELSE 0 END AS y,
  {n} AS n_events_30d,
  {active_days} AS active_days_30d,
  {n_purchase} AS n_purchase_30d,
  {n_purchase} / {n} AS purchase_ratio,
  {since_last} AS days_since_last_event,
  CASE WHEN last_purchase_ts IS NULL THEN {sentinel}
    ELSE {since_purchase} END AS days_since_last_purchase,
  CASE WHEN n_branded > 0 THEN {home_events} / {n_branded}
    ELSE {zero} END AS brand_concentration_ratio,
  {switches} AS brand_switch_count_30d,
  {spend} AS total_spend_30d,
  {recent} / {n} AS activity_ratio_15d,
  CASE WHEN n < 2 THEN {zero} ELSE COALESCE(price_std, {zero}) END AS price_volatility,
  {n7} AS n_events_7d,
  CASE WHEN active_days < 3 THEN {zero} ELSE {one} / ({one} + gap_std) END AS visit_regularity,
  {trend} / {n} AS activity_trend
FROM labelled
ORDER BY t, user_id",
        anchor = d.timestamp_of_us("t"),
        n = dbl("n"),
        active_days = dbl("active_days"),
        n_purchase = dbl("n_purchase"),
        since_last = days_before("last_ts"),
        sentinel = dbl(&w.lookback_days.to_string()),
        since_purchase = days_before("last_purchase_ts"),
        home_events = dbl("home_brand_events"),
        n_branded = dbl("n_branded"),
        zero = dbl("0"),
        one = dbl("1"),
        switches = dbl("COALESCE(switches, 0)"),
        spend = dbl("spend"),
        recent = dbl("n_recent_half"),
        n7 = dbl("n_7d"),
        trend = dbl("n_recent_half - (n - n_recent_half)"),
    );
    Ok(q.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(dialect: Dialect, scope: Scope) -> SqlRequest {
        let w = Window {
            lookback_days: 30,
            horizon_days: 30,
        };
        let day = |d: &str| crate::engine::time::parse_anchor(d).unwrap();
        let anchors = ["2019-11-01", "2019-12-01", "2020-01-01", "2020-02-01"]
            .map(day)
            .to_vec();
        SqlRequest {
            dialect,
            scope,
            plan: plan(&AnchorChoice::List(anchors), None, &w).unwrap(),
            table: "events".into(),
        }
    }

    /// A newline or CR in a scope value once ended the `-- scope:` comment and ran the rest
    /// as SQL: such a scope gives no query at all, in either dialect.
    #[test]
    fn a_scope_value_with_a_line_break_gives_no_query() {
        for d in [Dialect::DuckDb, Dialect::Spark] {
            for evil in ["x\nDROP TABLE events;--", "x\rDROP TABLE events;--"] {
                for scope in [
                    Scope {
                        category: None,
                        brands: Some(vec!["apple".into(), evil.into()]),
                    },
                    Scope {
                        category: Some(evil.into()),
                        brands: None,
                    },
                ] {
                    let e = feature_query(&request(d, scope)).expect_err("refused");
                    assert!(e.to_string().contains("control character"), "{e}");
                }
            }
        }
    }

    /// Every comment line of the query is one line: no scope value starts a line of its own.
    #[test]
    fn scope_values_are_quoted_in_literals_and_escaped_in_comments() {
        for d in [Dialect::DuckDb, Dialect::Spark] {
            let scope = Scope {
                category: Some("it's -- a prefix".into()),
                brands: Some(vec!["DROP TABLE events;--".into(), "o'neil".into()]),
            };
            let q = feature_query(&request(d, scope)).unwrap();
            assert!(
                q.lines().all(|l| !l.trim_start().starts_with("DROP")),
                "{q}"
            );
            assert!(q.contains("'DROP TABLE events;--'"), "{q}");
            assert!(q.contains("'o''neil'"), "{q}");
            assert!(q.contains("'it''s -- a prefix'"), "{q}");
        }
    }
}
