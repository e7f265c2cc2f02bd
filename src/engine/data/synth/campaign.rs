//! A simulated randomised campaign with a known truth (SPEC §7a.1): at the anchor `T`, a seeded
//! share of the users active in `[T − L, T)` is treated, and each campaign user's horizon
//! `[T, T + H)` is redrawn from two known chances of going dormant, one without the offer and
//! one with it.
//!
//! Without the offer the chance is the generator's own process seen from `T`: the regular
//! visits still to come (the visit rate thinned by the fade, up to the user's end) taken as a
//! Poisson process, a one-shot visitor's second visit and the one return after going dormant;
//! `p_control = e^{−λ} · (1 − q_second) · (1 − q_return)`. The offer's effect is heterogeneous
//! and documented in [`Effect`]. One uniform draw per user decides the outcome in either arm
//! (`dormant ⇔ u < p`), so the truth is exact: a dormant user's events in the horizon are
//! removed, an active one keeps its own visits there or, having none, gets one at a uniform
//! time in it. Before `T` the log is the generator's as ever; after `T` it holds only what a
//! real log would.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::label::anchors::Window;
use crate::engine::time::US_PER_DAY;

/// What `gen --campaign-anchor T --campaign-share S` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CampaignSim {
    /// `T`, µs UTC.
    pub anchor: i64,
    /// Share treated, in basis points.
    pub share_bp: u32,
    /// Who is eligible (active in the lookback) and the horizon the outcome is read in.
    pub window: Window,
}

/// The offer's effect on the chance of going dormant, by what the user is like at `T`:
///
/// * **persuadable** (medium risk): the fall is `peak · bump(p_control)`, with
///   `bump(p) = max(0, 1 − ((p − centre) / width)²)`; price-sensitive users (brand switchers,
///   loyalty below `sensitive_below`) get all of it, the rest `insensitive_share` of it;
/// * **lost causes** (`p_control ≥ centre + width`) and sure things: no effect;
/// * **sleeping dogs**: keen buyers (buying propensity above `dog_buyer_above`) at low risk
///   (`p_control < dog_risk_below`) are pushed away: their chance rises by `dog_rise`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub peak: f64,
    pub centre: f64,
    pub width: f64,
    pub sensitive_below: f64,
    pub insensitive_share: f64,
    pub dog_buyer_above: f64,
    pub dog_risk_below: f64,
    pub dog_rise: f64,
}

impl Default for Effect {
    fn default() -> Self {
        Effect {
            peak: 0.40,
            centre: 0.50,
            width: 0.45,
            sensitive_below: 0.70,
            insensitive_share: 0.3,
            dog_buyer_above: 0.5,
            dog_risk_below: 0.3,
            dog_rise: 0.05,
        }
    }
}

impl Effect {
    /// The fall in the chance of going dormant when treated (negative: a rise), before clamping.
    pub fn uplift(&self, p_control: f64, loyalty: f64, buyer: f64) -> f64 {
        if buyer > self.dog_buyer_above && p_control < self.dog_risk_below {
            return -self.dog_rise;
        }
        let z = (p_control - self.centre) / self.width;
        let bump = (1.0 - z * z).max(0.0);
        let sensitivity = if loyalty < self.sensitive_below {
            1.0
        } else {
            self.insensitive_share
        };
        self.peak * bump * sensitivity
    }
}

/// One campaign user's truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthRow {
    pub user_id: i64,
    pub treated: bool,
    pub p_control: f64,
    pub p_treated: f64,
}

/// A user's latent state as the generator drew it (times in µs as f64).
pub(super) struct Latent {
    pub one_shot: bool,
    pub arrival: f64,
    pub death: f64,
    pub fade: f64,
    /// Sessions a day.
    pub rate: f64,
    pub fade_floor: f64,
    pub second_visit: f64,
    pub second_visit_days: f64,
    pub comeback: f64,
    pub comeback_days: f64,
    pub loyalty: f64,
    pub buyer: f64,
}

/// P(an exponential delay of mean `mean_days` after `from` lands in `[t0, t1)`).
fn exp_lands(from: f64, mean_days: f64, t0: f64, t1: f64) -> f64 {
    let m = mean_days * US_PER_DAY as f64;
    if m <= 0.0 || t1 <= from {
        return 0.0;
    }
    let cdf = |t: f64| 1.0 - (-(t - from).max(0.0) / m).exp();
    cdf(t1) - cdf(t0)
}

impl Latent {
    /// The chance of no visit in `[t0, t1)` without the offer (see the module's text).
    pub fn p_dormant(&self, t0: f64, t1: f64) -> f64 {
        let mut lambda = 0.0;
        if !self.one_shot {
            // Midpoint rule over 240 steps of the thinned rate; the integrand is piecewise
            // linear, so this is within 1e-4 of the exact integral.
            let (a, b) = (t0.max(self.arrival), t1.min(self.death));
            if b > a {
                const STEPS: usize = 240;
                let h = (b - a) / STEPS as f64;
                let keep = |t: f64| {
                    let to_death = self.death - t;
                    if to_death < self.fade {
                        (to_death / self.fade).max(self.fade_floor)
                    } else {
                        1.0
                    }
                };
                let integral: f64 = (0..STEPS)
                    .map(|i| keep(a + (i as f64 + 0.5) * h))
                    .sum::<f64>()
                    * h;
                lambda = self.rate * integral / US_PER_DAY as f64;
            }
        }
        let q_second = if self.one_shot {
            self.second_visit * exp_lands(self.arrival, self.second_visit_days, t0, t1)
        } else {
            0.0
        };
        let q_return = self.comeback * exp_lands(self.death, self.comeback_days, t0, t1);
        ((-lambda).exp() * (1.0 - q_second) * (1.0 - q_return)).clamp(0.0, 1.0)
    }
}

/// What the campaign does to one user: `None` when they are not in it.
pub(super) struct Outcome {
    pub truth: TruthRow,
    pub dormant: bool,
    /// When an active user had no visit of their own in the horizon: the one given (µs).
    pub extra_visit: Option<f64>,
}

/// Decide a user's part in the campaign. `sessions` are the user's session starts (µs, in the
/// log's months or not); `in_log` says whether a time is inside the log. Draws only from the
/// user's own campaign stream, so the rest of the log is drawn as without a campaign.
pub(super) fn decide(
    sim: &CampaignSim,
    effect: &Effect,
    seed: u64,
    user: u32,
    user_id: i64,
    latent: &Latent,
    sessions: &[f64],
) -> Option<Outcome> {
    let t = sim.anchor as f64;
    let from = t - sim.window.lookback_us() as f64;
    let end = t + sim.window.horizon_us() as f64;
    // A session's first event is its start, truncated to the second.
    let second = crate::engine::time::US_PER_SEC;
    let at = |s: f64| (s.round() as i64 / second * second) as f64;
    if !sessions.iter().any(|&s| (from..t).contains(&at(s))) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ 0x63a1_9e5c_0d2b_7f41 ^ (user as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    let treated = rng.random_bool(f64::from(sim.share_bp.min(10_000)) / 10_000.0);
    let u: f64 = rng.random();
    let visit = t + rng.random::<f64>() * (end - t);
    let p_control = latent.p_dormant(t, end);
    let p_treated =
        (p_control - effect.uplift(p_control, latent.loyalty, latent.buyer)).clamp(0.0, 1.0);
    let dormant = u < if treated { p_treated } else { p_control };
    let has_own = sessions.iter().any(|&s| (t..end).contains(&at(s)));
    Some(Outcome {
        truth: TruthRow {
            user_id,
            treated,
            p_control,
            p_treated,
        },
        dormant,
        extra_visit: (!dormant && !has_own).then_some(visit),
    })
}

impl CampaignSim {
    /// The lookback and the horizon must lie in the log's months, and both groups be drawn.
    pub fn check(&self, cfg: &super::behaviour::GenConfig) -> crate::engine::Result<()> {
        use crate::engine::time::{fmt_anchor, next_month_start};
        let mut end = cfg.start;
        for _ in 0..cfg.months {
            end = next_month_start(end).unwrap_or(end + 31 * US_PER_DAY);
        }
        let (from, to) = (
            self.anchor - self.window.lookback_us(),
            self.anchor + self.window.horizon_us(),
        );
        if from < cfg.start || to > end {
            return Err(crate::engine::Error::Config(format!(
                "--campaign-anchor {}: its lookback and horizon ({} – {}) must lie in the log's \
                 months ({} – {})",
                fmt_anchor(self.anchor),
                fmt_anchor(from),
                fmt_anchor(to),
                fmt_anchor(cfg.start),
                fmt_anchor(end)
            ))
            .hint("move the anchor, or generate more --months"));
        }
        if self.share_bp == 0 || self.share_bp >= 10_000 {
            return Err(crate::engine::Error::Config(format!(
                "--campaign-share {}%: a campaign treats more than 0% and less than 100% of its \
                 users, so that both groups exist",
                f64::from(self.share_bp) / 100.0
            )));
        }
        Ok(())
    }
}

/// The truth file: one row per campaign user, in user order.
pub fn truth_frame(rows: &[TruthRow]) -> crate::engine::Result<polars::prelude::DataFrame> {
    use crate::engine::error::PolarsContext;
    use polars::prelude::*;
    let group: Vec<&str> = rows
        .iter()
        .map(|r| if r.treated { "treatment" } else { "control" })
        .collect();
    DataFrame::new_infer_height(vec![
        Column::new(
            "user_id".into(),
            rows.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        ),
        Column::new("group".into(), group),
        Column::new(
            "p_dormant_control".into(),
            rows.iter().map(|r| r.p_control).collect::<Vec<_>>(),
        ),
        Column::new(
            "p_dormant_treated".into(),
            rows.iter().map(|r| r.p_treated).collect::<Vec<_>>(),
        ),
        Column::new(
            "true_uplift".into(),
            rows.iter()
                .map(|r| r.p_control - r.p_treated)
                .collect::<Vec<_>>(),
        ),
    ])
    .ctx(|| "the truth table".into())
}

pub(super) fn write_truth(
    rows: &[TruthRow],
    kind: crate::engine::io::file_kind::FileKind,
    path: &std::path::Path,
) -> crate::engine::Result<()> {
    use crate::engine::io::file_kind::FileKind;
    let mut df = truth_frame(rows)?;
    match kind {
        FileKind::Parquet => crate::engine::io::atomic::write_parquet(&mut df, path),
        _ => crate::engine::io::atomic::write_atomic(path, |w| {
            use polars::prelude::SerWriter;
            polars::prelude::CsvWriter::new(w)
                .finish(&mut df)
                .map_err(std::io::Error::other)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latent() -> Latent {
        Latent {
            one_shot: false,
            arrival: 0.0,
            death: 100.0 * US_PER_DAY as f64,
            fade: 20.0 * US_PER_DAY as f64,
            rate: 0.1,
            fade_floor: 0.05,
            second_visit: 0.3,
            second_visit_days: 1.5,
            comeback: 0.0,
            comeback_days: 45.0,
            loyalty: 0.5,
            buyer: 0.1,
        }
    }

    /// Before the fade the rate is whole: 30 days at 0.1 a day is λ = 3, e^{−3} by hand.
    #[test]
    fn a_steady_regular_is_poisson() {
        let d = US_PER_DAY as f64;
        let p = latent().p_dormant(10.0 * d, 40.0 * d);
        assert!((p - (-3.0f64).exp()).abs() < 1e-9, "{p}");
    }

    /// Across the fade: 10 whole days, then 20 days where keep falls linearly from 1 to its
    /// floor-clipped end; the area is 10 + ∫ over the fade by hand (death at 100, fade 20:
    /// keep = (100 − t)/20 on [80, 100)), so λ = 0.1 · (10 + 10) = 2.
    #[test]
    fn the_fade_thins_the_rate() {
        let d = US_PER_DAY as f64;
        let mut l = latent();
        l.fade_floor = 0.0;
        let p = l.p_dormant(70.0 * d, 100.0 * d);
        assert!((p - (-2.0f64).exp()).abs() < 1e-4, "{p}");
    }

    /// A one-shot visitor seen a day before `T`: the second visit lands in the horizon with
    /// 0.3 · (e^{−(1/1.5)} − e^{−(31/1.5)}), and there is nothing else.
    #[test]
    fn a_one_shot_visitor_has_only_the_second_visit() {
        let d = US_PER_DAY as f64;
        let mut l = latent();
        l.one_shot = true;
        l.arrival = 9.0 * d;
        let q = 0.3 * ((-1.0f64 / 1.5).exp() - (-31.0f64 / 1.5).exp());
        let p = l.p_dormant(10.0 * d, 40.0 * d);
        assert!((p - (1.0 - q)).abs() < 1e-12, "{p} vs {}", 1.0 - q);
    }

    #[test]
    fn the_effect_has_its_segments() {
        let e = Effect::default();
        // The peak, on a price-sensitive user at the centre.
        assert!((e.uplift(0.5, 0.5, 0.1) - 0.40).abs() < 1e-12);
        // A loyal one gets 0.3 of it.
        assert!((e.uplift(0.5, 0.9, 0.1) - 0.12).abs() < 1e-12);
        // Lost causes: nothing.
        assert_eq!(e.uplift(0.96, 0.5, 0.1), 0.0);
        // Half-way out (0.5 + 0.225): 1 − 0.5² = 0.75 of the peak.
        assert!((e.uplift(0.725, 0.5, 0.1) - 0.30).abs() < 1e-12);
        // Sleeping dogs.
        assert_eq!(e.uplift(0.2, 0.5, 0.8), -0.05);
    }
}
