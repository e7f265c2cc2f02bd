//! Tiers by rank (SPEC §5): the top 5% Emergency, the top 15% Warning, the top 30% Potential,
//! the rest no action. A tier's size is `ceil(K·N/100)` rows, computed in integers like Top-K.

use std::path::Path;

use crate::engine::eval::KPct;
use crate::engine::{Error, Result};

use super::money::costs::{Cost, Value};
use super::money::costs::{Place, parse_cost, parse_value};
use super::money::currency::Currency;

#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub name: String,
    /// Cumulative share of the ranking this tier reaches down to.
    pub top_bp: u32,
    pub offer: String,
    /// What the offer is expected to cost per targeted user (SPEC §5.1); none in a config
    /// without costs.
    pub cost: Option<Cost>,
}

/// The name of a campaign read-out's overall row: no tier may take it.
pub const OVERALL_ROW: &str = "all";

/// Where a listed row stands (`TierRule::place`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed<'a> {
    /// The tier whose offer the row gets.
    pub tier: &'a Tier,
    /// Its place in the tier list.
    pub index: usize,
    /// Added by hand from below every tier: shown and exported as `added`, not as `tier`.
    pub beyond: bool,
}

impl Placed<'_> {
    /// The tier column's text: the tier's name, or the `added` label of `phrases`.
    pub fn name<'a>(&'a self, phrases: &'a super::phrases::Phrases) -> &'a str {
        if self.beyond {
            phrases.label(ADDED_LABEL)
        } else {
            &self.tier.name
        }
    }
}

/// The phrase key of the tier column of a user added by hand beyond the last tier.
pub const ADDED_LABEL: &str = "added";

/// The `added` label in every shipped language (a tier may take none of them as its name).
fn added_labels() -> Vec<String> {
    super::phrases::Lang::ALL
        .iter()
        .filter_map(|l| super::phrases::Phrases::load(l.code()).ok())
        .map(|p| p.label(ADDED_LABEL).to_string())
        .collect()
}

/// The tier list, best first; a rank below the last tier gets no action.
#[derive(Debug, Clone, PartialEq)]
pub struct TierRule {
    pub tiers: Vec<Tier>,
    /// How amounts print (none: grouped numbers without a symbol).
    pub currency: Option<Currency>,
    /// What a kept customer is worth (none: no return is computed).
    pub value: Option<Value>,
    /// Where the tiers came from, for messages: the config's path, or the shipped table.
    pub source: String,
}

/// The shipped default tiers, by language.
pub const TIERS_TOML: &str = include_str!("../../../assets/tiers.toml");

impl Default for TierRule {
    /// The English defaults.
    fn default() -> Self {
        // The shipped table is parsed in a unit test, so the fallback is never used in a
        // release; it keeps the defaults even so.
        TierRule::shipped("en").unwrap_or_else(|_| TierRule::fallback())
    }
}

impl TierRule {
    fn fallback() -> TierRule {
        let t = |name: &str, bp, offer: &str, cost| Tier {
            name: name.into(),
            top_bp: bp,
            offer: offer.into(),
            cost: Some(cost),
        };
        let d = |discount, redeem_rate| Cost::Discount {
            discount,
            redeem_rate,
        };
        TierRule {
            tiers: vec![
                t("Emergency", 500, "30% coupon", d(0.30, 0.25)),
                t("Warning", 1500, "15–20% discount", d(0.20, 0.20)),
                t(
                    "Potential",
                    3000,
                    "10% discount or free shipping",
                    Cost::Fixed(5.0),
                ),
            ],
            currency: Currency::of_code("USD"),
            value: Some(Value::Spend),
            source: "assets/tiers.toml [en]".into(),
        }
    }

    /// How an amount prints in the config's currency, grouped as `lang` expects.
    pub fn amount(&self, x: f64, lang: &str) -> String {
        match self.currency {
            Some(c) => c.format(x, lang),
            None => super::money::currency::plain(x),
        }
    }

    /// Whether any tier has a cost (a config without costs keeps working without money).
    pub fn has_costs(&self) -> bool {
        self.tiers.iter().any(|t| t.cost.is_some())
    }

    /// The default tiers in a shipped language (`en`, `ko`), from `assets/tiers.toml`.
    pub fn shipped(lang: &str) -> Result<TierRule> {
        let source = "assets/tiers.toml";
        let mut all: std::collections::HashMap<String, ConfigFile> =
            toml::from_str(TIERS_TOML).map_err(|e| Error::Config(format!("{source}: {e}")))?;
        let c = all.remove(lang).ok_or_else(|| {
            Error::Config(format!("{source}: no default tiers in language `{lang}`"))
        })?;
        TierRule::from_config(c, &format!("{source} [{lang}]"))
    }
}

/// The longest tier name and offer: the campaign tables' columns (SPEC §7) hold no more.
const MAX_NAME: usize = 100;
const MAX_OFFER: usize = 200;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TierSpec {
    name: String,
    /// Cumulative top share in percent (up to two decimals).
    top_pct: f64,
    offer: String,
    /// The offer's cost per user, or its `discount` and `redeem_rate` (SPEC §5.1); kept as
    /// TOML values so a bad one is refused naming its tier.
    cost: Option<toml::Value>,
    discount: Option<toml::Value>,
    redeem_rate: Option<toml::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    currency: Option<toml::Value>,
    value: Option<toml::Value>,
    tiers: Vec<TierSpec>,
}

impl TierRule {
    /// Tiers from a TOML config (`[[tiers]]` with `name`, `top_pct`, `offer`), best first.
    pub fn from_toml(text: &str, source: &str) -> Result<TierRule> {
        let c: ConfigFile =
            toml::from_str(text).map_err(|e| Error::Config(format!("{source}: {e}")))?;
        TierRule::from_config(c, source)
    }

    /// A config checked: its currency and value, then its tiers.
    fn from_config(c: ConfigFile, source: &str) -> Result<TierRule> {
        let currency = match &c.currency {
            None => None,
            Some(toml::Value::String(code)) => Some(Currency::parse(code, source)?),
            Some(other) => {
                return Err(Error::Config(format!(
                    "{source}: currency: {} is not an ISO 4217 currency code (e.g. KRW, USD)",
                    super::money::costs::shown(other)
                )));
            }
        };
        let value = parse_value(c.value.as_ref(), source)?;
        let mut rule = TierRule::from_specs(c.tiers, source)?;
        rule.currency = currency;
        rule.value = value;
        Ok(rule)
    }

    /// Tiers checked: at least one, each named, their reach growing from tier to tier.
    fn from_specs(specs: Vec<TierSpec>, source: &str) -> Result<TierRule> {
        let bad = |m: String| Error::Config(format!("{source}: {m}"));
        if specs.is_empty() {
            return Err(bad("no [[tiers]]".into()));
        }
        let mut prev = 0;
        let mut tiers = Vec::new();
        // Each shipped language's reasons table is parsed once here, not once per tier.
        let added = added_labels();
        for (i, t) in specs.into_iter().enumerate() {
            let k = KPct::parse(&t.top_pct.to_string())
                .map_err(|e| bad(format!("tier {} ({}): top_pct: {e}", i + 1, t.name)))?;
            if k.bp <= prev {
                return Err(bad(format!(
                    "tier {} ({}): top_pct must grow from tier to tier",
                    i + 1,
                    t.name
                )));
            }
            if t.name.trim().is_empty() {
                return Err(bad(format!("tier {}: empty name", i + 1)));
            }
            let shown = crate::engine::text::clip(&t.name, 60);
            // The read-out's overall row is `all`, and a campaign's rows are keyed by tier name
            // (in MySQL without regard to case): a tier of that name, or two of one name, would
            // merge rows. Compared as the database compares them.
            let key = t.name.trim().to_lowercase();
            if key == OVERALL_ROW {
                return Err(bad(format!(
                    "tier {} is named `{shown}`, the name of the overall row of a read-out: \
                     choose another",
                    i + 1
                )));
            }
            // A user added by hand below every tier is listed, and stored in a campaign, under
            // the `added` label of the list's language: a tier of that name would merge with them.
            if added.iter().any(|l| l.trim().to_lowercase() == key) {
                return Err(bad(format!(
                    "tier {} is named `{shown}`, the label of users added by hand below every \
                     tier: choose another",
                    i + 1
                )));
            }
            if let Some(j) = tiers
                .iter()
                .position(|p: &Tier| p.name.trim().to_lowercase() == key)
            {
                return Err(bad(format!(
                    "tiers {} and {} are both named `{shown}`: each tier needs its own name",
                    j + 1,
                    i + 1
                )));
            }
            if t.name.chars().count() > MAX_NAME {
                return Err(bad(format!(
                    "tier {} ({shown}): a tier name is at most {MAX_NAME} characters",
                    i + 1
                )));
            }
            if t.offer.chars().count() > MAX_OFFER {
                return Err(bad(format!(
                    "tier {} ({shown}): an offer is at most {MAX_OFFER} characters",
                    i + 1
                )));
            }
            let cost = parse_cost(
                t.cost.as_ref(),
                t.discount.as_ref(),
                t.redeem_rate.as_ref(),
                &Place {
                    source,
                    tier: Some((i + 1, &t.name)),
                },
            )?;
            prev = k.bp;
            tiers.push(Tier {
                name: t.name,
                top_bp: k.bp,
                offer: t.offer,
                cost,
            });
        }
        Ok(TierRule {
            tiers,
            currency: None,
            value: None,
            source: source.to_string(),
        })
    }

    /// The tiers of a config file, as written; or, when `path` is `None`, the default tiers
    /// in `lang` (a shipped language's code, as the risk reasons take it).
    pub fn load(path: Option<&Path>, lang: &str) -> Result<TierRule> {
        match path {
            None => TierRule::shipped(lang),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                TierRule::from_toml(&text, &p.display().to_string())
            }
        }
    }

    /// The widest tier's share: `--tiers` exports down to it.
    pub fn reach(&self) -> KPct {
        KPct {
            bp: self.tiers.last().map_or(10_000, |t| t.top_bp),
        }
    }
    /// The tier of 1-based `rank` among `n` ranked rows.
    pub fn tier_of(&self, rank: usize, n: usize) -> Option<&Tier> {
        self.tiers
            .iter()
            .find(|t| rank <= KPct { bp: t.top_bp }.k_of(n))
    }

    /// Where a listed row stands: in the tier of its rank; or, for a user added by hand from
    /// below every tier, `beyond` the tiers with the last tier's offer (marketing put them on
    /// the list to receive one, but they were not ranked there, and every list says `added`).
    pub fn place(&self, rank: usize, n: usize, added: bool) -> Option<Placed<'_>> {
        if let Some(i) = self
            .tiers
            .iter()
            .position(|t| rank <= KPct { bp: t.top_bp }.k_of(n))
        {
            return Some(Placed {
                tier: &self.tiers[i],
                index: i,
                beyond: false,
            });
        }
        let last = self.tiers.len().checked_sub(1).filter(|_| added)?;
        Some(Placed {
            tier: &self.tiers[last],
            index: last,
            beyond: true,
        })
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
        // Added by hand from rank 32: the last tier's offer, but beyond the tiers.
        let p = r.place(32, 101, true).unwrap();
        assert_eq!(
            (p.tier.name.as_str(), p.index, p.beyond),
            ("Potential", 2, true)
        );
        assert_eq!(r.place(32, 101, false), None);
        let p = r.place(31, 101, true).unwrap();
        assert!(
            !p.beyond,
            "an added user ranked inside a tier is placed there"
        );
        assert_eq!(r.sizes(101), vec![6, 10, 15]);
    }

    #[test]
    fn shipped_tiers_in_english_and_korean() {
        let en = TierRule::shipped("en").unwrap();
        assert_eq!(en, TierRule::fallback(), "the file and the fallback agree");
        assert_eq!(en, TierRule::default());
        let ko = TierRule::shipped("ko").unwrap();
        let names: Vec<&str> = ko.tiers.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["긴급", "경고", "잠재"]);
        assert_eq!(ko.tiers[0].offer, "30% 쿠폰");
        // The same cuts in every language.
        let bps = |r: &TierRule| r.tiers.iter().map(|t| t.top_bp).collect::<Vec<_>>();
        assert_eq!(bps(&ko), bps(&en));
        assert!(TierRule::shipped("fr").is_err());
        let cfg = TierRule::load(None, "ko").unwrap();
        assert_eq!(cfg, ko);
    }

    #[test]
    fn tiers_from_toml_and_bad_configs_named() {
        let t = "[[tiers]]\nname = \"Hot\"\ntop_pct = 2.5\noffer = \"40% off\"\n\n[[tiers]]\nname = \"Warm\"\ntop_pct = 10\noffer = \"10% off\"\n";
        let r = TierRule::from_toml(t, "c.toml").unwrap();
        assert_eq!(r.tiers[0].top_bp, 250);
        assert_eq!(r.reach().bp, 1000);
        // ceil(2.5·200/100) = 5; ceil(10·200/100) = 20.
        assert_eq!(r.sizes(200), vec![5, 15]);
        let shrinking = t.replace("top_pct = 10", "top_pct = 2");
        let e = TierRule::from_toml(&shrinking, "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml") && e.contains("Warm"), "{e}");
        let e = TierRule::from_toml("[[tiers]]\nname=\"x\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml"), "{e}");
    }

    #[test]
    fn tier_names_that_would_merge_rows_are_refused_naming_the_file() {
        let two = |a: &str, b: &str| {
            format!(
                "[[tiers]]\nname = \"{a}\"\ntop_pct = 5\noffer = \"x\"\n\n\
                 [[tiers]]\nname = \"{b}\"\ntop_pct = 10\noffer = \"y\"\n"
            )
        };
        // Two of one name, also as MySQL compares them (case, trailing spaces).
        for (a, b) in [("Hot", "Hot"), ("Hot", "hot"), ("Hot", "Hot  ")] {
            let e = TierRule::from_toml(&two(a, b), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("t.toml") && e.contains("tiers 1 and 2") && e.contains("both named"),
                "{a:?}/{b:?}: {e}"
            );
        }
        // The read-out's overall row, in any case.
        for name in ["all", "ALL", " All"] {
            let e = TierRule::from_toml(&two("Hot", name), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("t.toml") && e.contains("overall row"),
                "{name:?}: {e}"
            );
        }
        // Longer than the campaign tables hold.
        let long = "n".repeat(101);
        let e = TierRule::from_toml(&two("Hot", &long), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 100 characters"), "{e}");
        // The label of users added below every tier, in each shipped language.
        for name in ["added", "Added ", "추가됨"] {
            let e = TierRule::from_toml(&two("Hot", name), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("t.toml") && e.contains("added by hand"),
                "{name:?}: {e}"
            );
        }
        // Distinct names, `all` inside a longer one: fine.
        assert!(TierRule::from_toml(&two("Hot", "all-in"), "t.toml").is_ok());
        assert!(TierRule::from_toml(&two("Hot", "Warm"), "t.toml").is_ok());
    }
}
