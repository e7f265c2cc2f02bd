//! Each user's life in the log: a fading, then stopping, visit rate, multi-event sessions, view ≫
//! cart ≫ purchase, brand loyalty with switching, duplicate cart rows. Seeded per user, so any
//! range of users is generated alike whatever the chunking.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal};

use crate::engine::time::{US_PER_DAY, US_PER_SEC, next_month_start, parse_anchor};

use super::behaviour::{Behaviour, GenConfig};
use super::campaign::{CampaignSim, Effect, Latent, TruthRow, decide};
use super::catalog::{CATEGORIES, Catalog, build_catalog, pick_weighted};

use super::write::Event;

/// Draws users one at a time from one seeded stream: user `u`'s events depend only on the seed
/// and the users before it, so a log can be made in slices of users with the same bytes.
pub(super) struct Generator {
    cfg: GenConfig,
    behaviour: Behaviour,
    rng: ChaCha8Rng,
    pub(super) catalog: Catalog,
    end: i64,
    pub(super) rekey_at: i64,
    /// A simulated campaign, and the truth of its users so far (in user order).
    campaign: Option<(CampaignSim, Effect)>,
    pub(super) truth: Vec<TruthRow>,
}

fn exp_mean(exp1: Option<Exp<f64>>, rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    exp1.map(|e| e.sample(rng) * mean).unwrap_or(mean)
}

impl Generator {
    pub(super) fn new(cfg: &GenConfig, behaviour: &Behaviour) -> Generator {
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
            campaign: None,
            truth: Vec::new(),
        }
    }

    /// The same generator with a simulated campaign.
    pub(super) fn with_campaign(mut self, sim: CampaignSim, effect: Effect) -> Generator {
        self.campaign = Some((sim, effect));
        self
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
            campaign,
            truth,
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

        // The campaign redraws the horizon of its users (see `campaign`).
        let mut horizon_cut = None;
        if let Some((sim, effect)) = campaign.as_ref() {
            let latent = Latent {
                one_shot,
                arrival,
                death,
                fade,
                rate,
                fade_floor: bu.fade_floor,
                second_visit: bu.one_shot_second_visit,
                second_visit_days: bu.one_shot_second_visit_days,
                comeback: bu.comeback,
                comeback_days: bu.comeback_days,
                loyalty,
                buyer,
            };
            if let Some(o) = decide(sim, effect, cfg.seed, u, user_id, &latent, &sessions) {
                let (t0, t1) = (sim.anchor, sim.anchor + sim.window.horizon_us());
                if o.dormant {
                    let at = |s: f64| s.round() as i64 / US_PER_SEC * US_PER_SEC;
                    sessions.retain(|&s| !(t0..t1).contains(&at(s)));
                    horizon_cut = Some((t0, t1));
                }
                if let Some(v) = o.extra_visit {
                    let i = sessions.partition_point(|&s| s <= v);
                    sessions.insert(i, v);
                }
                truth.push(o.truth);
            }
        }
        let first_event = events.len();

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
        // A session begun before `T` may run into the horizon: a dormant user has none there.
        if let Some((t0, t1)) = horizon_cut {
            let mut own = events.split_off(first_event);
            own.retain(|e| !(t0..t1).contains(&e.ts));
            events.extend(own);
        }
    }

    /// Users `from..to`, their events in the log's months, sorted by (time, user) with each
    /// user's own order kept for ties (the sort is stable).
    pub(super) fn users(&mut self, from: u32, to: u32) -> Vec<Event> {
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

/// Generate all events, sorted by time (then user), as the real monthly files are. Holds every
/// event: `generate_to` makes logs of any size in bounded memory.
pub fn generate(cfg: &GenConfig) -> Vec<Event> {
    Generator::new(cfg, &Behaviour::default()).users(0, cfg.users)
}

#[cfg(test)]
mod tests {
    use super::*;

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
