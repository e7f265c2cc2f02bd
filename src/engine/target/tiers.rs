//! Tiers by rank (SPEC §5): the top 5% Emergency, the top 15% Warning, the top 30% Potential,
//! the rest no action. A tier's size is `ceil(K·N/100)` rows, computed in integers like Top-K.

use crate::engine::eval::KPct;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tier {
    pub name: String,
    /// Cumulative share of the ranking this tier reaches down to.
    pub top_bp: u32,
    pub offer: String,
}

/// The tier list, best first; a rank below the last tier gets no action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TierRule {
    pub tiers: Vec<Tier>,
}

impl Default for TierRule {
    fn default() -> Self {
        let t = |name: &str, bp, offer: &str| Tier {
            name: name.into(),
            top_bp: bp,
            offer: offer.into(),
        };
        TierRule {
            tiers: vec![
                t("Emergency", 500, "30% coupon"),
                t("Warning", 1500, "15–20% discount"),
                t("Potential", 3000, "10% discount or free shipping"),
            ],
        }
    }
}

impl TierRule {
    /// The tier of 1-based `rank` among `n` ranked rows.
    pub fn tier_of(&self, rank: usize, n: usize) -> Option<&Tier> {
        self.tiers
            .iter()
            .find(|t| rank <= KPct { bp: t.top_bp }.k_of(n))
    }

    /// Rows in each tier (not cumulative) for a ranking of `n`.
    pub fn sizes(&self, n: usize) -> Vec<usize> {
        let mut prev = 0;
        self.tiers
            .iter()
            .map(|t| {
                let upto = KPct { bp: t.top_bp }.k_of(n);
                let size = upto.saturating_sub(prev);
                prev = prev.max(upto);
                size
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_by_rank_of_101_rows() {
        // ceil(5·101/100) = 6, ceil(15·101/100) = 16, ceil(30·101/100) = 31.
        let r = TierRule::default();
        assert_eq!(
            r.tier_of(6, 101).map(|t| t.name.as_str()),
            Some("Emergency")
        );
        assert_eq!(r.tier_of(7, 101).map(|t| t.name.as_str()), Some("Warning"));
        assert_eq!(r.tier_of(16, 101).map(|t| t.name.as_str()), Some("Warning"));
        assert_eq!(
            r.tier_of(31, 101).map(|t| t.name.as_str()),
            Some("Potential")
        );
        assert_eq!(r.tier_of(32, 101), None);
        assert_eq!(r.sizes(101), vec![6, 10, 15]);
    }
}
