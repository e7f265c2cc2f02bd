//! A synthetic REES46-schema event log with the structure of the real dump: heavy-tailed
//! activity, multi-event sessions, view ≫ cart ≫ purchase, brand loyalty with switching, prices
//! per brand, null brands and codes, other categories and brands, duplicate cart rows and the
//! December-2019 category re-key. Dormancy follows a fading, then stopping, visit rate, so it is
//! predictable from past behaviour but noisy. Same seed, same bytes.

use std::fmt;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use polars::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal};

use super::source::Format;
use crate::engine::io::atomic::write_atomic;
use crate::engine::io::csv_out;
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

/// The generator's behaviour model: what shoppers, their visits and the catalog are like. The
/// default is the model the fixtures and tests are built on; its values are those the
/// generator had as literals, so the same seed gives the same bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Behaviour {
    pub users: UserBehaviour,
    pub sessions: SessionBehaviour,
    pub events: EventBehaviour,
    pub catalog: CatalogBehaviour,
}

/// Who a shopper is and how long they keep visiting. Probabilities are in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct UserBehaviour {
    /// Days before the log's first day that arrivals start, so some users are already active
    /// when the log begins (arrivals are uniform over this lead plus the log's span).
    pub arrival_lead_days: f64,
    /// Probability that a visitor is one-shot: one visit, maybe a second soon after, then gone.
    pub one_shot: f64,
    /// A one-shot visitor's mean lifetime in days (exponential).
    pub one_shot_life_days: f64,
    /// Probability that a one-shot visitor comes back once soon after the first visit.
    pub one_shot_second_visit: f64,
    /// Mean days from a one-shot visitor's first visit to the second (exponential).
    pub one_shot_second_visit_days: f64,
    /// Lowest brand loyalty: the probability that a pick stays in the home category and brand.
    pub loyalty_min: f64,
    /// Width of the uniform loyalty draw above `loyalty_min`.
    pub loyalty_range: f64,
    /// Median visit rate of a regular, in sessions per day (log-normal).
    pub rate_median: f64,
    /// Spread of the visit rate: the log-normal's σ in natural-log units.
    pub rate_sigma: f64,
    /// Cap on the visit rate, in sessions per day.
    pub rate_max: f64,
    /// Power a uniform draw is raised to for a user's buying propensity in [0, 1]: the higher,
    /// the fewer keen buyers.
    pub buyer_skew: i32,
    /// Gamma shapes of a regular's gaps between visits, one picked uniformly per user: a larger
    /// shape is a more regular visitor (the gaps' mean stays 1 / rate).
    pub visit_shapes: [f64; 3],
    /// A regular's base mean lifetime in days (exponential), before the factors below.
    pub life_days: f64,
    /// Lifetime gain per unit of buying propensity: the mean is × (1 + gain × propensity).
    pub life_buyer_gain: f64,
    /// Added to loyalty in the lifetime factor (× (offset + loyalty)): loyal users stay longer.
    pub life_loyalty_offset: f64,
    /// Base of the lifetime's regularity factor (× (base + gain × shape)).
    pub life_regularity_base: f64,
    /// Lifetime gain per unit of visit shape: regular visitors stay longer.
    pub life_regularity_gain: f64,
    /// Shortest fade, as a share of the lifetime: over the fade before dying, visits thin out.
    pub fade_min: f64,
    /// Width of the uniform fade draw above `fade_min`, as a share of the lifetime.
    pub fade_range: f64,
    /// Lowest share of visits kept at the very end of a fade.
    pub fade_floor: f64,
    /// Probability that a user comes back once after going dormant (noise on the label).
    pub comeback: f64,
    /// Mean days from going dormant to that one return (exponential).
    pub comeback_days: f64,
}

/// What happens within one visit.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionBehaviour {
    /// Probability that a session's rows have no `user_session` (as in the real dump).
    pub no_session_id: f64,
    /// Mean number of events in a session beyond the first (exponential, truncated).
    pub extra_events_mean: f64,
    /// Most events in a session beyond the first.
    pub extra_events_max: usize,
    /// Probability that a non-loyal pick stays in the home category (another of its brands)
    /// rather than wandering to any category.
    pub home_category: f64,
    /// Least seconds between a session's events.
    pub event_gap_min_secs: i64,
    /// Mean seconds between a session's events beyond the least (exponential).
    pub event_gap_mean_secs: f64,
}

/// What one pick of a product turns into.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBehaviour {
    /// A pick is a cart when a uniform draw falls below this: the cart share of picks.
    pub cart_below: f64,
    /// A pick with something in the cart is a removal when the draw falls from `cart_below` up
    /// to this (so the removal share is the difference), otherwise a view.
    pub remove_below: f64,
    /// Probability that a row loses its `category_code` (besides uncoded products).
    pub code_missing: f64,
    /// Probability that a cart row is repeated (the real dump has duplicate cart rows).
    pub cart_repeat: f64,
    /// Probability that a repeated cart row comes as a burst rather than a few copies.
    pub cart_burst: f64,
    /// Copies in a burst (uniform, end excluded).
    pub cart_burst_copies: Range<u32>,
    /// Copies otherwise (uniform, end excluded).
    pub cart_repeat_copies: Range<u32>,
    /// Probability that a cart is bought, for a user with no buying propensity.
    pub purchase_base: f64,
    /// Added to that probability per unit of buying propensity.
    pub purchase_buyer_gain: f64,
    /// Least seconds from a cart to its purchase.
    pub purchase_delay_min_secs: i64,
    /// Mean seconds from a cart to its purchase beyond the least (exponential).
    pub purchase_delay_mean_secs: f64,
}

/// The shop's catalog (the categories, brands and median prices are `CATEGORIES`).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogBehaviour {
    /// Products per brand in a category (uniform, end excluded).
    pub products_per_brand: Range<u32>,
    /// Spread of a product's price around its brand's median: the log-normal's σ in
    /// natural-log units.
    pub price_sigma: f64,
    /// Probability that a product has no brand on record.
    pub unbranded: f64,
    /// Probability that a product has no `category_code` on any row.
    pub uncoded: f64,
    /// Probability that a product is re-keyed to its category's wrong code from December 2019.
    pub rekeyed: f64,
}

impl Default for UserBehaviour {
    fn default() -> Self {
        UserBehaviour {
            arrival_lead_days: 20.0,
            one_shot: 0.87,
            one_shot_life_days: 2.0,
            one_shot_second_visit: 0.3,
            one_shot_second_visit_days: 1.5,
            loyalty_min: 0.45,
            loyalty_range: 0.5,
            rate_median: 0.07,
            rate_sigma: 1.0,
            rate_max: 3.0,
            buyer_skew: 2,
            visit_shapes: [1.0, 2.0, 5.0],
            life_days: 45.0,
            life_buyer_gain: 2.5,
            life_loyalty_offset: 0.4,
            life_regularity_base: 0.7,
            life_regularity_gain: 0.15,
            fade_min: 0.25,
            fade_range: 0.5,
            fade_floor: 0.05,
            comeback: 0.12,
            comeback_days: 45.0,
        }
    }
}

impl Default for SessionBehaviour {
    fn default() -> Self {
        SessionBehaviour {
            no_session_id: 0.01,
            extra_events_mean: 2.2,
            extra_events_max: 40,
            home_category: 0.6,
            event_gap_min_secs: 1,
            event_gap_mean_secs: 50.0,
        }
    }
}

impl Default for EventBehaviour {
    fn default() -> Self {
        EventBehaviour {
            cart_below: 0.09,
            remove_below: 0.11,
            code_missing: 0.03,
            cart_repeat: 0.06,
            cart_burst: 0.02,
            cart_burst_copies: 10..78,
            cart_repeat_copies: 1..4,
            purchase_base: 0.15,
            purchase_buyer_gain: 0.6,
            purchase_delay_min_secs: 20,
            purchase_delay_mean_secs: 90.0,
        }
    }
}

impl Default for CatalogBehaviour {
    fn default() -> Self {
        CatalogBehaviour {
            products_per_brand: 20..60,
            price_sigma: 0.35,
            // About 1 product in 12 has no brand on record.
            unbranded: 0.08,
            uncoded: 0.1,
            rekeyed: 0.7,
        }
    }
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
    /// Index in the generator's catalog (what a spilled event is rebuilt from).
    pub product: u32,
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

fn build_catalog(rng: &mut ChaCha8Rng, b: &CatalogBehaviour) -> Catalog {
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
            let n = rng.random_range(b.products_per_brand.clone());
            let mut ids = Vec::new();
            for _ in 0..n {
                // The spread's median is 1, so the brand's median price is the product's.
                let spread = LogNormal::new(0.0, b.price_sigma)
                    .map(|d| d.sample(rng))
                    .unwrap_or(1.0);
                let price = ((median * spread) * 100.0).round() / 100.0;
                ids.push(products.len());
                products.push(Product {
                    id: 1_000_000 + products.len() as i64 * 7 + rng.random_range(0..7),
                    category: ci,
                    brand: if rng.random_bool(b.unbranded) {
                        None
                    } else {
                        Some(brand)
                    },
                    price,
                    uncoded: rng.random_bool(b.uncoded),
                    rekeyed: rng.random_bool(b.rekeyed),
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

/// Draws users one at a time from one seeded stream: user `u`'s events depend only on the seed
/// and the users before it, so a log can be made in slices of users with the same bytes.
struct Generator {
    cfg: GenConfig,
    behaviour: Behaviour,
    rng: ChaCha8Rng,
    catalog: Catalog,
    end: i64,
    rekey_at: i64,
}

fn exp_mean(exp1: Option<Exp<f64>>, rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    exp1.map(|e| e.sample(rng) * mean).unwrap_or(mean)
}

impl Generator {
    fn new(cfg: &GenConfig, behaviour: &Behaviour) -> Generator {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let catalog = build_catalog(&mut rng, &behaviour.catalog);
        let mut end = cfg.start;
        for _ in 0..cfg.months {
            end = next_month_start(end).unwrap_or(end + 31 * US_PER_DAY);
        }
        Generator {
            cfg: cfg.clone(),
            behaviour: behaviour.clone(),
            rng,
            catalog,
            end,
            rekey_at: parse_anchor("2019-12-01").unwrap_or(i64::MAX),
        }
    }

    /// Append user `u`'s events (some may fall outside the log's months; the caller drops them).
    fn user(&mut self, u: u32, events: &mut Vec<Event>) {
        let Generator {
            cfg,
            behaviour,
            rng,
            catalog,
            end,
            rekey_at,
        } = self;
        let (end, rekey_at) = (*end, *rekey_at);
        let (bu, bs, be) = (&behaviour.users, &behaviour.sessions, &behaviour.events);
        let span = (end - cfg.start) as f64;
        let exp1 = Exp::new(1.0).ok();
        let exp = |rng: &mut ChaCha8Rng, mean: f64| exp_mean(exp1, rng, mean);
        let rate_dist = LogNormal::new(bu.rate_median.ln(), bu.rate_sigma).ok();

        let user_id = 500_000_000 + u as i64 * 13 + rng.random_range(0..13);
        // Home category and brand, and how loyal the user is to them.
        let cat = pick_weighted(rng, CATEGORIES.iter().map(|c| c.weight));
        let brand = pick_weighted(rng, CATEGORIES[cat].brands.iter().map(|b| b.1));
        let loyalty = bu.loyalty_min + bu.loyalty_range * rng.random::<f64>();
        // Arrival: some users are already active when the log starts.
        let arrival = cfg.start as f64 - bu.arrival_lead_days * US_PER_DAY as f64
            + rng.random::<f64>() * (span + bu.arrival_lead_days * US_PER_DAY as f64);
        // Most visitors come once; the rest stay a while with a heavy-tailed visit rate.
        let one_shot = rng.random_bool(bu.one_shot);
        let rate = rate_dist
            .map(|d| d.sample(rng))
            .unwrap_or(bu.rate_median)
            .min(bu.rate_max); // sessions/day
        // Traits that also set how long a regular stays: buyers, brand-loyal and regular
        // visitors last longer, so purchases, brand concentration and visit regularity carry
        // signal beyond recency.
        let buyer = rng.random::<f64>().powi(bu.buyer_skew);
        let regular_shape = bu.visit_shapes[rng.random_range(0..bu.visit_shapes.len())];
        let life_days = if one_shot {
            exp(rng, bu.one_shot_life_days)
        } else {
            let mean = bu.life_days
                * (1.0 + bu.life_buyer_gain * buyer)
                * (bu.life_loyalty_offset + loyalty)
                * (bu.life_regularity_base + bu.life_regularity_gain * regular_shape);
            exp(rng, mean)
        };
        let gap_dist = Gamma::new(regular_shape, 1.0 / regular_shape).ok();
        let death = arrival + life_days * US_PER_DAY as f64;
        // The rate fades over the last part of a life: the signal a model can learn.
        let fade =
            (bu.fade_min + bu.fade_range * rng.random::<f64>()) * life_days * US_PER_DAY as f64;
        let mut sessions: Vec<f64> = vec![arrival];
        if !one_shot {
            let mut t = arrival;
            loop {
                // Gamma gaps with mean 1/rate: a larger shape is a more regular visitor.
                let unit = gap_dist.map(|g| g.sample(rng)).unwrap_or(1.0);
                t += unit / rate * US_PER_DAY as f64;
                if t >= death {
                    break;
                }
                let to_death = death - t;
                let keep = if to_death < fade {
                    (to_death / fade).max(bu.fade_floor)
                } else {
                    1.0
                };
                if rng.random_bool(keep) {
                    sessions.push(t);
                }
            }
        } else if rng.random_bool(bu.one_shot_second_visit) {
            sessions.push(arrival + exp(rng, bu.one_shot_second_visit_days) * US_PER_DAY as f64);
        }
        // Noise: some dormant users come back once.
        if rng.random_bool(bu.comeback) {
            sessions.push(death + exp(rng, bu.comeback_days) * US_PER_DAY as f64);
        }

        for s in sessions {
            let mut t = s.round() as i64 / US_PER_SEC * US_PER_SEC;
            if t < cfg.start || t >= end {
                continue;
            }
            let session = if rng.random_bool(bs.no_session_id) {
                None
            } else {
                Some(rng.random::<u128>())
            };
            let n_events = 1 + (exp(rng, bs.extra_events_mean) as usize).min(bs.extra_events_max);
            let mut in_cart: Vec<usize> = Vec::new();
            for _ in 0..n_events {
                // Loyal picks stay in the home category and brand; others wander.
                let (c, b) = if rng.random_bool(loyalty) {
                    (cat, brand)
                } else if rng.random_bool(bs.home_category) {
                    (
                        cat,
                        pick_weighted(rng, CATEGORIES[cat].brands.iter().map(|b| b.1)),
                    )
                } else {
                    let c = pick_weighted(rng, CATEGORIES.iter().map(|c| c.weight));
                    (
                        c,
                        pick_weighted(rng, CATEGORIES[c].brands.iter().map(|b| b.1)),
                    )
                };
                let list = &catalog.by_brand[c][b];
                let p = list[rng.random_range(0..list.len())];
                let r = rng.random::<f64>();
                let event_type = if r < be.cart_below {
                    "cart"
                } else if r < be.remove_below && !in_cart.is_empty() {
                    "remove_from_cart"
                } else {
                    "view"
                };
                let make = |ts: i64, et: &'static str, p: usize, rng: &mut ChaCha8Rng| -> Event {
                    let prod = &catalog.products[p];
                    let code = if prod.uncoded || rng.random_bool(be.code_missing) {
                        None
                    } else {
                        Some(catalog.code_at(p, ts, rekey_at))
                    };
                    catalog.event(p, ts, et, code, user_id, session, rekey_at)
                };
                events.push(make(t, event_type, p, rng));
                if event_type == "cart" {
                    in_cart.push(p);
                    // The real dump repeats some cart rows, identical to the second.
                    if rng.random_bool(be.cart_repeat) {
                        let copies = if rng.random_bool(be.cart_burst) {
                            rng.random_range(be.cart_burst_copies.clone())
                        } else {
                            rng.random_range(be.cart_repeat_copies.clone())
                        };
                        let last = events.len() - 1;
                        for _ in 0..copies {
                            let e = events[last].clone();
                            events.push(e);
                        }
                    }
                    if rng.random_bool(be.purchase_base + be.purchase_buyer_gain * buyer) {
                        t += be.purchase_delay_min_secs * US_PER_SEC
                            + (exp(rng, be.purchase_delay_mean_secs) as i64) * US_PER_SEC;
                        events.push(make(t, "purchase", p, rng));
                    }
                }
                t += bs.event_gap_min_secs * US_PER_SEC
                    + (exp(rng, bs.event_gap_mean_secs) as i64) * US_PER_SEC;
            }
        }
    }

    /// Users `from..to`, their events in the log's months, sorted by (time, user) with each
    /// user's own order kept for ties (the sort is stable).
    fn users(&mut self, from: u32, to: u32) -> Vec<Event> {
        let mut events = Vec::new();
        for u in from..to {
            self.user(u, &mut events);
        }
        let (start, end) = (self.cfg.start, self.end);
        events.retain(|e| e.ts >= start && e.ts < end);
        events.sort_by_key(|e| (e.ts, e.user_id));
        events
    }
}

impl Catalog {
    /// The code product `p` shows at `ts` (when its row has one).
    fn code_at(&self, p: usize, ts: i64, rekey_at: i64) -> &'static str {
        let prod = &self.products[p];
        if ts >= rekey_at && prod.rekeyed {
            CATEGORIES[prod.category].rekeyed_code
        } else {
            CATEGORIES[prod.category].code
        }
    }

    /// Product `p`'s row at `ts`: what the generator makes and what a spilled run is read back as.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        p: usize,
        ts: i64,
        event_type: &'static str,
        category_code: Option<&'static str>,
        user_id: i64,
        session: Option<u128>,
        rekey_at: i64,
    ) -> Event {
        let prod = &self.products[p];
        Event {
            ts,
            event_type,
            product_id: prod.id,
            category_id: self.category_id_at(p, ts, rekey_at),
            category_code,
            brand: prod.brand,
            price: prod.price,
            user_id,
            session,
            product: p as u32,
        }
    }

    fn category_id_at(&self, p: usize, ts: i64, rekey_at: i64) -> i64 {
        let (before, after) = self.category_ids[self.products[p].category];
        if ts >= rekey_at { after } else { before }
    }
}

/// Generate all events, sorted by time (then user), as the real monthly files are. Holds every
/// event: `generate_to` makes logs of any size in bounded memory.
pub fn generate(cfg: &GenConfig) -> Vec<Event> {
    Generator::new(cfg, &Behaviour::default()).users(0, cfg.users)
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
    let mut it = events.iter().cloned().map(Ok);
    write_csv_stream(&mut it, events.len(), w)
}

fn write_csv_row(e: &Event, out: &mut csv::Writer<&mut dyn Write>) -> std::io::Result<()> {
    let row: [&str; 9] = [
        &fmt_time(e.ts),
        e.event_type,
        &e.product_id.to_string(),
        &e.category_id.to_string(),
        e.category_code.unwrap_or(""),
        e.brand.unwrap_or(""),
        &format!("{:.2}", e.price),
        &e.user_id.to_string(),
        &e.session.map(fmt_session).unwrap_or_default(),
    ];
    out.write_record(row).map_err(csv_out::io)
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

fn format_of(path: &Path) -> Result<Format> {
    Format::of(path).ok_or_else(|| {
        Error::Config(format!(
            "{}: unknown output type: expected .csv, .csv.gz or .parquet",
            path.display()
        ))
    })
}

/// Write events to one file; the format follows the extension.
pub fn write_file(events: &[Event], path: &Path) -> Result<()> {
    let n = events.len();
    let mut it = events.iter().cloned().map(Ok);
    write_stream(&mut it, n, path)
}

/// Rows per Parquet row group, as polars' `ParquetWriter::finish` splits a one-chunk frame of
/// `n` rows (groups of `n / (n / 2^18)` rows, the last one taking the rest), so a log written
/// group by group has the bytes of one written whole.
fn row_groups(n: usize) -> Vec<usize> {
    const TARGET: usize = 512 * 512;
    let parts = n / TARGET;
    if parts <= 1 {
        return vec![n];
    }
    let size = n / parts;
    let mut out = vec![size; parts - 1];
    out.push(n - size * (parts - 1));
    out
}

type EventStream<'a> = dyn Iterator<Item = std::io::Result<Event>> + 'a;

/// Write the next `n` events of `events` to `path` (atomically; the format follows the
/// extension), holding at most one Parquet row group.
fn write_stream(events: &mut EventStream<'_>, n: usize, path: &Path) -> Result<()> {
    let format = format_of(path)?;
    let mut take = move |w: &mut dyn Write| -> std::io::Result<()> {
        match format {
            Format::Csv => write_csv_stream(events, n, w),
            Format::CsvGz => {
                // gzip header without a timestamp, so the same seed gives the same bytes.
                let mut gz = GzEncoder::new(w, Compression::new(6));
                write_csv_stream(events, n, &mut gz)?;
                gz.finish().map(|_| ())
            }
            Format::Parquet => write_parquet_stream(events, n, w),
        }
    };
    write_atomic(path, |w| take(w))
}

fn write_csv_stream(
    events: &mut EventStream<'_>,
    n: usize,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let mut no_flush = csv_out::NoFlush(w);
    let mut out = csv_out::writer(&mut no_flush as &mut dyn Write);
    out.write_record([
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "user_id",
        "user_session",
    ])
    .map_err(csv_out::io)?;
    for _ in 0..n {
        let e = next_event(events)?;
        write_csv_row(&e, &mut out)?;
    }
    out.flush()
}

fn next_event(events: &mut EventStream<'_>) -> std::io::Result<Event> {
    events
        .next()
        .unwrap_or_else(|| Err(std::io::Error::other("the generated log ended early")))
}

fn write_parquet_stream(
    events: &mut EventStream<'_>,
    n: usize,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    if n == 0 {
        let mut df = to_frame(&[]).map_err(std::io::Error::other)?;
        let schema = df.schema().clone();
        return crate::engine::io::parquet_out::writer(w, &schema)
            .finish(&mut df)
            .map(|_| ())
            .map_err(std::io::Error::other);
    }
    let mut writer = None;
    for size in row_groups(n) {
        let group = (0..size)
            .map(|_| next_event(events))
            .collect::<std::io::Result<Vec<_>>>()?;
        let df = to_frame(&group).map_err(std::io::Error::other)?;
        if writer.is_none() {
            writer = Some(
                crate::engine::io::parquet_out::writer(&mut *w, df.schema())
                    .batched(df.schema())
                    .map_err(std::io::Error::other)?,
            );
        }
        if let Some(b) = writer.as_mut() {
            b.write_batch(&df).map_err(std::io::Error::other)?;
        }
    }
    if let Some(b) = writer {
        b.finish().map_err(std::io::Error::other)?;
    }
    Ok(())
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

/// Users generated and sorted in memory at a time: about 5.5 events each, ~130 bytes per
/// event, so well under 1 GB.
pub const CHUNK_USERS: u32 = 1_000_000;

/// How far `gen` is: users generated so far, then events written.
#[derive(Debug, Clone, Copy)]
pub enum GenProgress {
    Users { done: u32, total: u32 },
    Written { done: usize, total: usize },
}

/// Generate and write: one file, or one per month when the name holds `{month}`.
pub fn generate_to(cfg: &GenConfig, out: &Path) -> Result<GenReport> {
    generate_to_with(cfg, out, CHUNK_USERS, &mut |_| {})
}

/// `generate_to` in bounded memory: `chunk_users` users at a time are generated, sorted and
/// spilled to a run file beside the output; the runs are merged by (time, user) into the
/// output files. Users of different runs never tie, and each run keeps a user's own order, so
/// the bytes are those of `generate` + `write_file` for any chunk size.
pub fn generate_to_with(
    cfg: &GenConfig,
    out: &Path,
    chunk_users: u32,
    progress: &mut dyn FnMut(GenProgress),
) -> Result<GenReport> {
    let name = out.to_string_lossy().to_string();
    let monthly = name.contains("{month}");
    // Refuse a bad name before any work.
    format_of(&PathBuf::from(name.replace("{month}", "m")))?;
    let chunk_users = chunk_users.max(1);
    let mut g = Generator::new(cfg, &Behaviour::default());
    // Events per month (keyed by the month's start), for file names and Parquet row groups.
    let mut months: std::collections::BTreeMap<i64, usize> = Default::default();
    let count_months = |events: &[Event], months: &mut std::collections::BTreeMap<i64, usize>| {
        let mut i = 0;
        while i < events.len() {
            let first = crate::engine::time::month_start(events[i].ts).unwrap_or(events[i].ts);
            let next = next_month_start(events[i].ts).unwrap_or(i64::MAX);
            let j = i + events[i..].partition_point(|e| e.ts < next);
            *months.entry(first).or_default() += j - i;
            i = j;
        }
    };
    let work_root = crate::engine::io::atomic::dir_of(out);
    // A killed gen's work directory (and temp files) go now, whether or not this run needs
    // one of its own: a small run after a killed large one left gigabytes of runs behind.
    crate::engine::io::atomic::clean_stale_dirs(&work_root, GEN_TMP_PREFIX);
    let mut work = None;
    let mut runs: Vec<PathBuf> = Vec::new();
    let mut held: Vec<Event> = Vec::new();
    let mut from = 0u32;
    while from < cfg.users || (from == 0 && cfg.users == 0) {
        let to = from.saturating_add(chunk_users).min(cfg.users);
        let events = g.users(from, to);
        count_months(&events, &mut months);
        if from == 0 && to == cfg.users {
            held = events;
        } else {
            if work.is_none() {
                work = Some(crate::engine::io::atomic::WorkDir::new(
                    &work_root,
                    GEN_TMP_PREFIX,
                )?);
            }
            let dir = work
                .as_ref()
                .map(|w| w.path().to_path_buf())
                .unwrap_or_default();
            let path = dir.join(format!("run-{:05}.bin", runs.len()));
            write_run(&events, &g.catalog, &path).map_err(|e| Error::io(&path, e))?;
            runs.push(path);
        }
        progress(GenProgress::Users {
            done: to,
            total: cfg.users,
        });
        if to >= cfg.users {
            break;
        }
        from = to;
    }
    let total: usize = months.values().sum();
    let mut stream: Box<EventStream<'_>> = if runs.is_empty() {
        Box::new(held.into_iter().map(Ok))
    } else {
        Box::new(Merge::open(&runs, &g.catalog, g.rekey_at)?)
    };
    let mut files = Vec::new();
    let mut written = 0usize;
    if monthly {
        for (&start, &n) in &months {
            let month = DateTime::<Utc>::from_timestamp_micros(start)
                .map(|d| d.format("%Y-%b").to_string())
                .unwrap_or_default();
            let path = PathBuf::from(name.replace("{month}", &month));
            write_stream(&mut *stream, n, &path)?;
            written += n;
            progress(GenProgress::Written {
                done: written,
                total,
            });
            files.push((path, n));
        }
    } else {
        write_stream(&mut *stream, total, out)?;
        progress(GenProgress::Written { done: total, total });
        files.push((out.to_path_buf(), total));
    }
    drop(work);
    Ok(GenReport {
        files,
        events: total,
        users: cfg.users,
    })
}

/// Work directories of `gen`'s sorted runs are named `.churn-gen-XXXXXX.tmp`.
pub const GEN_TMP_PREFIX: &str = ".churn-gen-";

/// A sorted run: per event its time, type, catalog product, code (0 none, 1 the category's
/// code, 2 the re-keyed one), user and session.
fn write_run(events: &[Event], catalog: &Catalog, path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for e in events {
        w.write_all(&e.ts.to_le_bytes())?;
        let et = EVENT_TYPES
            .iter()
            .position(|t| *t == e.event_type)
            .unwrap_or(0) as u8;
        w.write_all(&[et])?;
        w.write_all(&e.product.to_le_bytes())?;
        let code = match e.category_code {
            None => 0u8,
            Some(c) if c == CATEGORIES[catalog.products[e.product as usize].category].code => 1,
            Some(_) => 2,
        };
        w.write_all(&[code])?;
        w.write_all(&e.user_id.to_le_bytes())?;
        match e.session {
            None => w.write_all(&[0])?,
            Some(s) => {
                w.write_all(&[1])?;
                w.write_all(&s.to_le_bytes())?;
            }
        }
    }
    w.flush()
}

const EVENT_TYPES: [&str; 4] = ["view", "cart", "remove_from_cart", "purchase"];

/// One run being merged: its reader and its next event.
struct Run {
    r: std::io::BufReader<std::fs::File>,
    path: PathBuf,
}

/// The k-way merge of sorted runs by (time, user).
struct Merge<'a> {
    runs: Vec<Run>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(i64, i64, usize)>>,
    heads: Vec<Option<Event>>,
    catalog: &'a Catalog,
    rekey_at: i64,
}

impl<'a> Merge<'a> {
    fn open(paths: &[PathBuf], catalog: &'a Catalog, rekey_at: i64) -> Result<Merge<'a>> {
        let mut m = Merge {
            runs: Vec::new(),
            heap: Default::default(),
            heads: Vec::new(),
            catalog,
            rekey_at,
        };
        for (i, p) in paths.iter().enumerate() {
            let f = std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
            m.runs.push(Run {
                r: std::io::BufReader::with_capacity(1 << 18, f),
                path: p.clone(),
            });
            m.heads.push(None);
            m.advance(i).map_err(|e| Error::io(p, e))?;
        }
        Ok(m)
    }

    /// Read run `i`'s next event into its head and the heap.
    fn advance(&mut self, i: usize) -> std::io::Result<()> {
        let e = read_event(&mut self.runs[i].r, self.catalog, self.rekey_at)?;
        if let Some(e) = &e {
            self.heap.push(std::cmp::Reverse((e.ts, e.user_id, i)));
        }
        self.heads[i] = e;
        Ok(())
    }
}

impl Iterator for Merge<'_> {
    type Item = std::io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        let std::cmp::Reverse((_, _, i)) = self.heap.pop()?;
        let e = self.heads[i].take()?;
        if let Err(err) = self.advance(i) {
            let path = self.runs[i].path.display().to_string();
            return Some(Err(std::io::Error::other(format!("{path}: {err}"))));
        }
        Some(Ok(e))
    }
}

fn read_event(
    r: &mut impl std::io::Read,
    catalog: &Catalog,
    rekey_at: i64,
) -> std::io::Result<Option<Event>> {
    let mut head = [0u8; 8];
    // A clean end of the run is a zero-byte read at a record's start.
    let mut got = 0;
    while got < 8 {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    let ts = i64::from_le_bytes(head);
    let mut rest = [0u8; 1 + 4 + 1 + 8 + 1];
    r.read_exact(&mut rest)?;
    let et = EVENT_TYPES
        .get(rest[0] as usize)
        .copied()
        .ok_or_else(|| std::io::Error::other("a corrupt run file"))?;
    let p = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
    let prod = catalog
        .products
        .get(p)
        .ok_or_else(|| std::io::Error::other("a corrupt run file"))?;
    let code = match rest[5] {
        0 => None,
        1 => Some(CATEGORIES[prod.category].code),
        _ => Some(CATEGORIES[prod.category].rekeyed_code),
    };
    let mut user = [0u8; 8];
    user.copy_from_slice(&rest[6..14]);
    let session = if rest[14] == 1 {
        let mut s = [0u8; 16];
        r.read_exact(&mut s)?;
        Some(u128::from_le_bytes(s))
    } else {
        None
    };
    Ok(Some(catalog.event(
        p,
        ts,
        et,
        code,
        i64::from_le_bytes(user),
        session,
        rekey_at,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_groups_split_as_polars_does() {
        // n / 2^18 parts of n / parts rows, the last taking the rest; under two parts, one.
        assert_eq!(row_groups(0), vec![0]);
        assert_eq!(row_groups(262_143), vec![262_143]);
        assert_eq!(row_groups(524_287), vec![524_287]);
        assert_eq!(row_groups(524_288), vec![262_144, 262_144]);
        assert_eq!(row_groups(786_433), vec![262_144, 262_144, 262_145]);
        assert_eq!(row_groups(1_000_000), vec![333_333, 333_333, 333_334]);
    }

    /// The behaviour model reaches the generator: one-visit users without carts give one
    /// session per user and views only, where the default gives regulars and carts.
    #[test]
    fn behaviour_drives_the_generator() {
        let cfg = GenConfig {
            users: 400,
            start: parse_anchor("2019-10-01").unwrap_or_default(),
            months: 2,
            seed: 4,
        };
        let sessions_and_types = |b: &Behaviour| {
            let events = Generator::new(&cfg, b).users(0, cfg.users);
            let mut sessions = std::collections::HashMap::<i64, Vec<u128>>::new();
            for e in &events {
                let s = sessions.entry(e.user_id).or_default();
                if let Some(id) = e.session.filter(|id| !s.contains(id)) {
                    s.push(id);
                }
            }
            let most = sessions.values().map(Vec::len).max().unwrap_or(0);
            let views_only = events.iter().all(|e| e.event_type == "view");
            (most, views_only)
        };
        let (most, views_only) = sessions_and_types(&Behaviour::default());
        assert!(
            most > 1 && !views_only,
            "{most} sessions, views only: {views_only}"
        );
        let mut b = Behaviour::default();
        b.users.one_shot = 1.0;
        b.users.one_shot_second_visit = 0.0;
        b.users.comeback = 0.0;
        b.sessions.no_session_id = 0.0;
        b.events.cart_below = 0.0;
        b.events.remove_below = 0.0;
        assert_eq!(sessions_and_types(&b), (1, true));
    }
}
