//! What a list is expected to return (SPEC §5.3): with the uplift per tier of a read-out campaign,
//! each group's users × uplift are the customers kept, × value − cost the net, and the 90%
//! intervals of the tiers' uplifts carry to the sums by the MOVER rule (Zou & Donner 2008: the
//! interval of a sum of independent estimates from their own intervals, as Newcombe's hybrid
//! method makes the uplift's from the two Wilson intervals). The costs are expected values, not
//! estimates with an interval of their own.

use super::ledger::Ledger;

/// A tier's uplift from a campaign read-out: dormancy prevented per treated user, with its 90%
/// interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TierUplift {
    pub tier: String,
    pub uplift: f64,
    pub low: f64,
    pub high: f64,
    /// Treated users of the read-out (for the reader: a small group, a wide interval).
    pub n_treatment: u64,
    pub n_control: u64,
}

/// The read-out a plan takes its uplifts from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Uplifts {
    pub campaign_id: i64,
    pub campaign: String,
    /// The read-out's day (its logs' end).
    pub data_end: String,
    pub tiers: Vec<TierUplift>,
}

impl Uplifts {
    /// The uplift of the group named `name`, compared as tier names are (no case, no spaces
    /// around).
    pub fn of(&self, name: &str) -> Option<&TierUplift> {
        let key = name.trim().to_lowercase();
        self.tiers
            .iter()
            .find(|t| t.tier.trim().to_lowercase() == key)
    }
}

/// An estimate with its 90% interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub mid: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    /// Whether the interval holds values on both sides of zero.
    pub fn straddles_zero(&self) -> bool {
        self.low < 0.0 && self.high > 0.0
    }
}

/// `Σ c_g·u_g` with its interval by MOVER, for weights `c_g ≥ 0`.
fn mover(parts: &[(f64, &TierUplift)]) -> Estimate {
    let mid: f64 = parts.iter().map(|(c, u)| c * u.uplift).sum();
    let down: f64 = parts
        .iter()
        .map(|(c, u)| (c * (u.uplift - u.low)).powi(2))
        .sum();
    let up: f64 = parts
        .iter()
        .map(|(c, u)| (c * (u.high - u.uplift)).powi(2))
        .sum();
    Estimate {
        mid,
        low: mid - down.sqrt(),
        high: mid + up.sqrt(),
    }
}

/// One cut of the plan's table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanRow {
    /// Ranking positions taken.
    pub k: usize,
    /// `k` as a share of the users scored, in percent.
    pub k_pct: f64,
    /// Users on the list (hand edits applied).
    pub users: usize,
    pub cost: f64,
    /// Customers kept: Σ users × uplift over the groups; none without a read-out for each
    /// group on the list.
    pub retained: Option<Estimate>,
    /// Σ users' value × uplift − cost.
    pub net: Option<Estimate>,
}

/// Each group's uplift, looked up once: the ledger's groups are the tiers, then the users added
/// from below every tier (named by the list's `added` label).
pub struct Returns<'a> {
    names: Vec<String>,
    uplift: Vec<Option<&'a TierUplift>>,
    /// The read-out, when there is one.
    pub source: Option<&'a Uplifts>,
}

impl<'a> Returns<'a> {
    /// `names`: the groups' names in the ledger's order.
    pub fn new(names: Vec<String>, source: Option<&'a Uplifts>) -> Returns<'a> {
        let uplift = names.iter().map(|n| source.and_then(|s| s.of(n))).collect();
        Returns {
            names,
            uplift,
            source,
        }
    }

    /// The first group on the list cut at `k` that the read-out has no uplift for.
    pub fn missing_at(&self, ledger: &Ledger, k: usize) -> Option<&str> {
        self.source?;
        (0..ledger.groups())
            .find(|&g| {
                self.uplift.get(g).copied().flatten().is_none() && ledger.group_at(g, k).users > 0
            })
            .and_then(|g| self.names.get(g))
            .map(String::as_str)
    }

    /// The row of the list cut at `k`: users and cost always; customers kept and the net with a
    /// read-out that has an uplift for every group on the list (and, for the net, a value in
    /// the config).
    pub fn row_at(&self, ledger: &Ledger, k: usize) -> PlanRow {
        let mut users = 0;
        let mut cost = 0.0;
        let mut kept: Vec<(f64, &TierUplift)> = Vec::new();
        let mut worth: Vec<(f64, &TierUplift)> = Vec::new();
        let mut complete = self.source.is_some();
        for g in 0..ledger.groups() {
            let s = ledger.group_at(g, k);
            users += s.users;
            cost += s.cost;
            if s.users == 0 || !complete {
                continue;
            }
            match self.uplift.get(g).copied().flatten() {
                Some(u) => {
                    kept.push((s.users as f64, u));
                    worth.push((s.value, u));
                }
                None => complete = false,
            }
        }
        let retained = complete.then(|| mover(&kept));
        let net = (complete && ledger.has_value).then(|| {
            let r = mover(&worth);
            Estimate {
                mid: r.mid - cost,
                low: r.low - cost,
                high: r.high - cost,
            }
        });
        PlanRow {
            k,
            k_pct: if ledger.n == 0 {
                0.0
            } else {
                100.0 * k as f64 / ledger.n as f64
            },
            users,
            cost,
            retained,
            net,
        }
    }

    /// The rows at every whole percent of the ranking, 1% to 100%: the plan view's curves.
    pub fn curve(&self, ledger: &Ledger) -> Vec<PlanRow> {
        (1..=100)
            .map(|p| self.row_at(ledger, k_of_pct(p, ledger.n)))
            .collect()
    }

    /// The cut of largest expected net, over every cut from none through the last tier (below
    /// it no user has an offer, so nothing more is spent or returned); the smallest such cut
    /// on a tie. None without a net.
    pub fn best_net(&self, ledger: &Ledger) -> Option<PlanRow> {
        self.source?;
        if !ledger.has_value {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        for k in 0..=ledger.reach {
            let mut net = 0.0;
            for g in 0..ledger.groups() {
                let s = ledger.group_at(g, k);
                net -= s.cost;
                if s.users > 0 {
                    match self.uplift.get(g).copied().flatten() {
                        Some(u) => net += s.value * u.uplift,
                        // From this cut down the list holds a group without an uplift.
                        None => return best.map(|(k, _)| self.row_at(ledger, k)),
                    }
                }
            }
            if best.is_none_or(|(_, b)| net > b) {
                best = Some((k, net));
            }
        }
        best.map(|(k, _)| self.row_at(ledger, k))
    }
}

/// The cuts the plan's table shows, in percent of the users scored (SPEC §5.3).
pub const TABLE_PCTS: [u32; 9] = [1, 2, 5, 10, 15, 20, 30, 50, 100];

/// Ranking positions of `pct` percent of `n` users, as Top-K counts them (`ceil`).
pub fn k_of_pct(pct: u32, n: usize) -> usize {
    crate::engine::eval::KPct { bp: pct * 100 }.k_of(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(tier: &str, uplift: f64, low: f64, high: f64) -> TierUplift {
        TierUplift {
            tier: tier.into(),
            uplift,
            low,
            high,
            n_treatment: 100,
            n_control: 10,
        }
    }

    #[test]
    fn mover_of_one_part_is_that_part_scaled() {
        let a = u("A", 0.1, 0.02, 0.25);
        let e = mover(&[(10.0, &a)]);
        assert!((e.mid - 1.0).abs() < 1e-12);
        assert!((e.low - 0.2).abs() < 1e-12);
        assert!((e.high - 2.5).abs() < 1e-12);
    }

    #[test]
    fn mover_of_two_parts_by_hand() {
        // 3·0.1 + 4·0.2 = 1.1; down √((3·0.1)² + (4·0.1)²) = 0.5; up √((3·0.2)² + (4·0.2)²) = 1.
        let a = u("A", 0.1, 0.0, 0.3);
        let b = u("B", 0.2, 0.1, 0.4);
        let e = mover(&[(3.0, &a), (4.0, &b)]);
        assert!((e.mid - 1.1).abs() < 1e-12);
        assert!((e.low - 0.6).abs() < 1e-12);
        assert!((e.high - 2.1).abs() < 1e-12);
        assert!(!e.straddles_zero());
    }

    #[test]
    fn tier_names_match_as_tier_names_do() {
        let ups = Uplifts {
            campaign_id: 1,
            campaign: "c".into(),
            data_end: "2020-01-01".into(),
            tiers: vec![u("Hot ", 0.1, 0.0, 0.2)],
        };
        assert!(ups.of("hot").is_some());
        assert!(ups.of("Warm").is_none());
    }
}
