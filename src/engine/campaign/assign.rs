//! Control and treatment (SPEC §7): inside each tier, `floor(n · h / 10000)` users are held out
//! as control, chosen by a seeded shuffle of the tier's user ids in ascending order. Sorting
//! first makes the groups depend only on who is in the tier, the seed and the tier's name, not
//! on the order the list was built in.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Treatment,
    Control,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Treatment => "treatment",
            Group::Control => "control",
        }
    }

    pub fn parse(s: &str) -> Option<Group> {
        match s {
            "treatment" => Some(Group::Treatment),
            "control" => Some(Group::Control),
            _ => None,
        }
    }
}

/// The number of control users in a tier of `n` with holdout `holdout_bp` (basis points).
pub fn control_size(n: usize, holdout_bp: u32) -> usize {
    (n as u128 * holdout_bp as u128 / 10_000) as usize
}

/// The control users of one tier. Each tier has its own stream, seeded by the campaign's seed
/// and the tier's name, so adding a tier does not reshuffle the others.
pub fn controls(users: &[i64], tier: &str, holdout_bp: u32, seed: u64) -> Vec<i64> {
    let mut sorted = users.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let salt = xxhash_rust::xxh3::xxh3_64(tier.as_bytes());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ salt);
    sorted.shuffle(&mut rng);
    sorted.truncate(control_size(sorted.len(), holdout_bp));
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_the_floor_of_n_times_h() {
        let users: Vec<i64> = (0..997).collect();
        for h in [0, 1, 999, 1000, 2500, 5000] {
            let c = controls(&users, "Warning", h, 7);
            // 997 · h / 10000 by hand: 0, 0, 99, 99, 249, 498.
            let want = [
                (0, 0),
                (1, 0),
                (999, 99),
                (1000, 99),
                (2500, 249),
                (5000, 498),
            ]
            .iter()
            .find(|(hh, _)| *hh == h)
            .map(|(_, w)| *w)
            .unwrap();
            assert_eq!(c.len(), want, "h = {h}");
            let mut d = c.clone();
            d.sort_unstable();
            d.dedup();
            assert_eq!(d.len(), c.len(), "no user twice");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_groups_whatever_the_input_order() {
        let users: Vec<i64> = (0..500).map(|i| i * 7919 % 10_007).collect();
        let mut reversed = users.clone();
        reversed.reverse();
        let a = controls(&users, "Emergency", 1000, 42);
        assert_eq!(a, controls(&reversed, "Emergency", 1000, 42));
        assert_ne!(a, controls(&users, "Emergency", 1000, 43), "another seed");
        assert_ne!(a, controls(&users, "Warning", 1000, 42), "another tier");
    }

    #[test]
    fn control_shares_of_top_and_bottom_halves_are_balanced_over_seeds() {
        // A tier of 200 users ranked by id; holdout 10% → 20 control users. Over 400 seeds the
        // number of controls in the top half is hypergeometric with mean 10 and variance
        // 20·(100/200)·(100/200)·(180/199) = 4.523. The mean over 400 seeds has standard error
        // sqrt(4.523/400) = 0.106: a biased shuffle (e.g. taking the first ids) moves it far
        // beyond 4 standard errors, which the test allows.
        let users: Vec<i64> = (1000..1200).collect();
        let seeds = 400;
        let mut sum = 0.0;
        let mut sum_sq = 0.0;
        for seed in 0..seeds {
            let top = controls(&users, "Potential", 1000, seed)
                .iter()
                .filter(|&&u| u < 1100)
                .count() as f64;
            sum += top;
            sum_sq += top * top;
        }
        let mean = sum / seeds as f64;
        let var = sum_sq / seeds as f64 - mean * mean;
        assert!((mean - 10.0).abs() < 4.0 * 0.106, "mean {mean}");
        // The spread is that of a random draw too (a shuffle that always splits 10/10 is not
        // random): within 30% of the hypergeometric variance.
        assert!((var - 4.523).abs() < 0.3 * 4.523, "variance {var}");
    }
}
