//! A synthetic REES46-schema event log with the structure of the real dump: heavy-tailed
//! activity, multi-event sessions, view ≫ cart ≫ purchase, brand loyalty with switching, prices
//! per brand, null brands and codes, other categories and brands, duplicate cart rows and the
//! December-2019 category re-key. Dormancy follows a fading, then stopping, visit rate, so it is
//! predictable from past behaviour but noisy. Same seed, same bytes.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use polars::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal};

use super::source::Format;
use crate::engine::atomic::write_atomic;
use crate::engine::time::{US_PER_DAY, US_PER_SEC, next_month_start, parse_anchor};
use crate::engine::{Error, Result};

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub users: u32,
    /// First day, µs UTC.
    pub start: i64,
    pub months: u32,
    pub seed: u64,
}

/// One generated row.
#[derive(Debug, Clone)]
pub struct Event {
    pub ts: i64,
    pub event_type: &'static str,
    pub product_id: i64,
    pub category_id: i64,
    pub category_code: Option<&'static str>,
    pub brand: Option<&'static str>,
    pub price: f64,
    pub user_id: i64,
    pub session: Option<u128>,
}

struct Category {
    code: &'static str,
    /// The wrong code REES46 gave it from December 2019.
    rekeyed_code: &'static str,
    brands: &'static [(&'static str, f64, f64)], // (brand, weight, median price)
    weight: f64,
}

const CATEGORIES: &[Category] = &[
    Category {
        code: "electronics.clocks",
        rekeyed_code: "appliances.personal.massager",
        brands: &[
            ("samsung", 5.0, 180.0),
            ("apple", 4.0, 390.0),
            ("xiaomi", 4.0, 45.0),
            ("huawei", 2.0, 120.0),
            ("garmin", 1.5, 260.0),
            ("casio", 2.0, 70.0),
            ("amazfit", 1.5, 60.0),
        ],
        weight: 3.0,
    },
    Category {
        code: "electronics.smartphone",
        rekeyed_code: "construction.tools.light",
        brands: &[
            ("samsung", 6.0, 250.0),
            ("apple", 5.0, 800.0),
            ("xiaomi", 5.0, 160.0),
            ("huawei", 3.0, 200.0),
            ("oppo", 1.0, 180.0),
        ],
        weight: 3.0,
    },
    Category {
        code: "computers.notebook",
        rekeyed_code: "furniture.living_room.cabinet",
        brands: &[
            ("lenovo", 3.0, 600.0),
            ("hp", 3.0, 550.0),
            ("asus", 2.0, 650.0),
            ("apple", 1.0, 1400.0),
        ],
        weight: 1.0,
    },
    Category {
        code: "appliances.kitchen.refrigerators",
        rekeyed_code: "appliances.kitchen.refrigerators",
        brands: &[
            ("lg", 2.0, 500.0),
            ("samsung", 2.0, 600.0),
            ("bosch", 1.0, 700.0),
        ],
        weight: 1.0,
    },
    Category {
        code: "apparel.shoes",
        rekeyed_code: "apparel.shoes",
        brands: &[
            ("nike", 2.0, 90.0),
            ("adidas", 2.0, 80.0),
            ("puma", 1.0, 60.0),
        ],
        weight: 1.0,
    },
];

struct Product {
    id: i64,
    category: usize,
    brand: Option<&'static str>,
    price: f64,
    /// No `category_code` on any row (REES46 has many such products).
    uncoded: bool,
    /// Re-keyed to a wrong code from December 2019.
    rekeyed: bool,
}

struct Catalog {
    products: Vec<Product>,
    /// Indices of products per (category, brand index).
    by_brand: Vec<Vec<Vec<usize>>>,
    category_ids: Vec<(i64, i64)>, // (before, after the re-key)
}

fn build_catalog(rng: &mut ChaCha8Rng) -> Catalog {
    let mut products = Vec::new();
    let mut by_brand = Vec::new();
    let mut category_ids = Vec::new();
    for (ci, cat) in CATEGORIES.iter().enumerate() {
        category_ids.push((
            2_053_013_550_000_000_000 + ci as i64 * 1_000_003,
            2_232_732_080_000_000_000 + ci as i64 * 999_983,
        ));
        let mut per_brand = Vec::new();
        for &(brand, _, median) in cat.brands {
            let n = rng.random_range(20..60);
            let mut ids = Vec::new();
            for _ in 0..n {
                let spread = LogNormal::new(0.0, 0.35)
                    .map(|d| d.sample(rng))
                    .unwrap_or(1.0);
                let price = ((median * spread) * 100.0).round() / 100.0;
                ids.push(products.len());
                products.push(Product {
                    id: 1_000_000 + products.len() as i64 * 7 + rng.random_range(0..7),
                    category: ci,
                    // About 1 product in 12 has no brand on record.
                    brand: if rng.random_bool(0.08) {
                        None
                    } else {
                        Some(brand)
                    },
                    price,
                    uncoded: rng.random_bool(0.1),
                    rekeyed: rng.random_bool(0.7),
                });
            }
            per_brand.push(ids);
        }
        by_brand.push(per_brand);
    }
    Catalog {
        products,
        by_brand,
        category_ids,
    }
}

fn pick_weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

/// Generate all events, sorted by time (then user), as the real monthly files are.
pub fn generate(cfg: &GenConfig) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let catalog = build_catalog(&mut rng);
    let mut end = cfg.start;
    for _ in 0..cfg.months {
        end = next_month_start(end).unwrap_or(end + 31 * US_PER_DAY);
    }
    let rekey_at = parse_anchor("2019-12-01").unwrap_or(i64::MAX);
    let span = (end - cfg.start) as f64;
    let exp1 = Exp::new(1.0).ok();
    let exp = |rng: &mut ChaCha8Rng, mean: f64| exp1.map(|e| e.sample(rng) * mean).unwrap_or(mean);
    let rate_dist = LogNormal::new((0.07f64).ln(), 1.0).ok();
    let mut events = Vec::new();

    for u in 0..cfg.users {
        let user_id = 500_000_000 + u as i64 * 13 + rng.random_range(0..13);
        // Home category and brand, and how loyal the user is to them.
        let cat = pick_weighted(&mut rng, CATEGORIES.iter().map(|c| c.weight));
        let brand = pick_weighted(&mut rng, CATEGORIES[cat].brands.iter().map(|b| b.1));
        let loyalty = 0.45 + 0.5 * rng.random::<f64>();
        // Arrival: some users are already active when the log starts.
        let arrival = cfg.start as f64 - 20.0 * US_PER_DAY as f64
            + rng.random::<f64>() * (span + 20.0 * US_PER_DAY as f64);
        // Most visitors come once; the rest stay a while with a heavy-tailed visit rate.
        let one_shot = rng.random_bool(0.87);
        let rate = rate_dist
            .map(|d| d.sample(&mut rng))
            .unwrap_or(0.1)
            .min(3.0); // sessions/day
        // Traits that also set how long a regular stays: buyers, brand-loyal and regular
        // visitors last longer, so purchases, brand concentration and visit regularity carry
        // signal beyond recency.
        let buyer = rng.random::<f64>().powi(2);
        let regular_shape = [1.0, 2.0, 5.0][rng.random_range(0..3)];
        let life_days = if one_shot {
            exp(&mut rng, 2.0)
        } else {
            let mean = 45.0 * (1.0 + 2.5 * buyer) * (0.4 + loyalty) * (0.7 + 0.15 * regular_shape);
            exp(&mut rng, mean)
        };
        let gap_dist = Gamma::new(regular_shape, 1.0 / regular_shape).ok();
        let death = arrival + life_days * US_PER_DAY as f64;
        // The rate fades over the last part of a life: the signal a model can learn.
        let fade = (0.25 + 0.5 * rng.random::<f64>()) * life_days * US_PER_DAY as f64;
        let mut sessions: Vec<f64> = vec![arrival];
        if !one_shot {
            let mut t = arrival;
            loop {
                // Gamma gaps with mean 1/rate: a larger shape is a more regular visitor.
                let unit = gap_dist.map(|g| g.sample(&mut rng)).unwrap_or(1.0);
                t += unit / rate * US_PER_DAY as f64;
                if t >= death {
                    break;
                }
                let to_death = death - t;
                let keep = if to_death < fade {
                    (to_death / fade).max(0.05)
                } else {
                    1.0
                };
                if rng.random_bool(keep) {
                    sessions.push(t);
                }
            }
        } else if rng.random_bool(0.3) {
            sessions.push(arrival + exp(&mut rng, 1.5) * US_PER_DAY as f64);
        }
        // Noise: some dormant users come back once.
        if rng.random_bool(0.12) {
            sessions.push(death + exp(&mut rng, 45.0) * US_PER_DAY as f64);
        }

        for s in sessions {
            let mut t = s.round() as i64 / US_PER_SEC * US_PER_SEC;
            if t < cfg.start || t >= end {
                continue;
            }
            let session = if rng.random_bool(0.01) {
                None
            } else {
                Some(rng.random::<u128>())
            };
            let n_events = 1 + (exp(&mut rng, 2.2) as usize).min(40);
            let mut in_cart: Vec<usize> = Vec::new();
            for _ in 0..n_events {
                // Loyal picks stay in the home category and brand; others wander.
                let (c, b) = if rng.random_bool(loyalty) {
                    (cat, brand)
                } else if rng.random_bool(0.6) {
                    (
                        cat,
                        pick_weighted(&mut rng, CATEGORIES[cat].brands.iter().map(|b| b.1)),
                    )
                } else {
                    let c = pick_weighted(&mut rng, CATEGORIES.iter().map(|c| c.weight));
                    (
                        c,
                        pick_weighted(&mut rng, CATEGORIES[c].brands.iter().map(|b| b.1)),
                    )
                };
                let list = &catalog.by_brand[c][b];
                let p = list[rng.random_range(0..list.len())];
                let r = rng.random::<f64>();
                let event_type = if r < 0.09 {
                    "cart"
                } else if r < 0.11 && !in_cart.is_empty() {
                    "remove_from_cart"
                } else {
                    "view"
                };
                let make = |ts: i64, et: &'static str, p: usize, rng: &mut ChaCha8Rng| -> Event {
                    let prod = &catalog.products[p];
                    let after = ts >= rekey_at;
                    let (cid_before, cid_after) = catalog.category_ids[prod.category];
                    let code = if prod.uncoded || rng.random_bool(0.03) {
                        None
                    } else if after && prod.rekeyed {
                        Some(CATEGORIES[prod.category].rekeyed_code)
                    } else {
                        Some(CATEGORIES[prod.category].code)
                    };
                    Event {
                        ts,
                        event_type: et,
                        product_id: prod.id,
                        category_id: if after { cid_after } else { cid_before },
                        category_code: code,
                        brand: prod.brand,
                        price: prod.price,
                        user_id,
                        session,
                    }
                };
                events.push(make(t, event_type, p, &mut rng));
                if event_type == "cart" {
                    in_cart.push(p);
                    // The real dump repeats some cart rows, identical to the second.
                    if rng.random_bool(0.06) {
                        let copies = if rng.random_bool(0.02) {
                            rng.random_range(10..78)
                        } else {
                            rng.random_range(1..4)
                        };
                        let last = events.len() - 1;
                        for _ in 0..copies {
                            let e = events[last].clone();
                            events.push(e);
                        }
                    }
                    if rng.random_bool(0.15 + 0.6 * buyer) {
                        t += 20 * US_PER_SEC + (exp(&mut rng, 90.0) as i64) * US_PER_SEC;
                        events.push(make(t, "purchase", p, &mut rng));
                    }
                }
                t += US_PER_SEC + (exp(&mut rng, 50.0) as i64) * US_PER_SEC;
            }
        }
    }
    events.retain(|e| e.ts >= cfg.start && e.ts < end);
    events.sort_by_key(|e| (e.ts, e.user_id));
    events
}

fn fmt_time(ts: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(ts) {
        Some(dt) => dt.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => String::new(),
    }
}

fn fmt_session(s: u128) -> String {
    let h = format!("{s:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The events as REES46 CSV text (header included).
pub fn write_csv(events: &[Event], w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        w,
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    )?;
    for e in events {
        writeln!(
            w,
            "{},{},{},{},{},{},{:.2},{},{}",
            fmt_time(e.ts),
            e.event_type,
            e.product_id,
            e.category_id,
            e.category_code.unwrap_or(""),
            e.brand.unwrap_or(""),
            e.price,
            e.user_id,
            e.session.map(fmt_session).unwrap_or_default()
        )?;
    }
    Ok(())
}

/// The events as a DataFrame in the REES46 schema, `event_time` a UTC timestamp.
pub fn to_frame(events: &[Event]) -> PolarsResult<DataFrame> {
    let ts: Vec<i64> = events.iter().map(|e| e.ts).collect();
    let time = Series::new("event_time".into(), ts).cast(&DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))?;
    let price: Vec<f64> = events
        .iter()
        .map(|e| (e.price * 100.0).round() / 100.0)
        .collect();
    DataFrame::new_infer_height(vec![
        time.into(),
        Column::new(
            "event_type".into(),
            events.iter().map(|e| e.event_type).collect::<Vec<_>>(),
        ),
        Column::new(
            "product_id".into(),
            events.iter().map(|e| e.product_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "category_id".into(),
            events.iter().map(|e| e.category_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "category_code".into(),
            events.iter().map(|e| e.category_code).collect::<Vec<_>>(),
        ),
        Column::new(
            "brand".into(),
            events.iter().map(|e| e.brand).collect::<Vec<_>>(),
        ),
        Column::new("price".into(), price),
        Column::new(
            "user_id".into(),
            events.iter().map(|e| e.user_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "user_session".into(),
            events
                .iter()
                .map(|e| e.session.map(fmt_session))
                .collect::<Vec<_>>(),
        ),
    ])
}

/// Write events to one file; the format follows the extension.
pub fn write_file(events: &[Event], path: &Path) -> Result<()> {
    let format = Format::of(path).ok_or_else(|| {
        Error::Config(format!(
            "{}: unknown output type: expected .csv, .csv.gz or .parquet",
            path.display()
        ))
    })?;
    match format {
        Format::Csv => write_atomic(path, |w| write_csv(events, w)),
        Format::CsvGz => write_atomic(path, |w| {
            // gzip header without a timestamp, so the same seed gives the same bytes.
            let mut gz = GzEncoder::new(w, Compression::new(6));
            write_csv(events, &mut gz)?;
            gz.finish().map(|_| ())
        }),
        Format::Parquet => {
            let mut df = to_frame(events).map_err(|e| Error::Polars {
                context: "building the generated frame".into(),
                source: e,
            })?;
            write_atomic(path, |w| {
                ParquetWriter::new(w)
                    .finish(&mut df)
                    .map(|_| ())
                    .map_err(std::io::Error::other)
            })
        }
    }
}

/// What `gen` wrote.
pub struct GenReport {
    pub files: Vec<(PathBuf, usize)>,
    pub events: usize,
    pub users: u32,
}

impl fmt::Display for GenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "generated {} events for {} users",
            self.events, self.users
        )?;
        for (p, n) in &self.files {
            writeln!(f, "  {} ({} events)", p.display(), n)?;
        }
        Ok(())
    }
}

/// Generate and write: one file, or one per month when the name holds `{month}`.
pub fn generate_to(cfg: &GenConfig, out: &Path) -> Result<GenReport> {
    let events = generate(cfg);
    let name = out.to_string_lossy().to_string();
    let mut files = Vec::new();
    if name.contains("{month}") {
        let mut start = 0;
        while start < events.len() {
            let month = DateTime::<Utc>::from_timestamp_micros(events[start].ts)
                .map(|d| d.format("%Y-%b").to_string())
                .unwrap_or_default();
            let next = next_month_start(events[start].ts).unwrap_or(i64::MAX);
            let end = start + events[start..].partition_point(|e| e.ts < next);
            let path = PathBuf::from(name.replace("{month}", &month));
            write_file(&events[start..end], &path)?;
            files.push((path, end - start));
            start = end;
        }
    } else {
        write_file(&events, out)?;
        files.push((out.to_path_buf(), events.len()));
    }
    Ok(GenReport {
        files,
        events: events.len(),
        users: cfg.users,
    })
}
