//! What `gen` is asked for (`GenConfig`: users, start, months, seed) and the behaviour model it
//! follows (users, sessions, events, catalog), every rate and shape with its default.

use std::ops::Range;

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
