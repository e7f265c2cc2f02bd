//! The sentences risk reasons are written in, from `assets/reasons.toml` (English and Korean),
//! so they can be reworded or translated without touching code.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::engine::features::FEATURE_NAMES;
use crate::engine::features::matrix::N_FEATURES;
use crate::engine::{Error, Result};

/// The shipped table.
pub const REASONS_TOML: &str = include_str!("../../../assets/reasons.toml");

#[derive(serde::Deserialize)]
struct LangTable {
    sep: String,
    higher: String,
    lower: String,
    features: HashMap<String, String>,
    #[serde(default)]
    labels: HashMap<String, String>,
}

/// The workbench's words around the reasons, in English: what a language's `labels` table
/// translates (a key it lacks stays English).
const LABELS_EN: [(&str, &str); 10] = [
    ("risk_reasons", "risk reasons"),
    ("uplift_reasons", "what raises this user's uplift"),
    ("no_uplift_reason", "no feature raised this user's uplift"),
    ("compared", "compared with the users scored"),
    ("feature", "feature"),
    ("value", "value"),
    ("excluded", "excluded"),
    ("added", "added"),
    ("no_tier", "no tier"),
    ("no_reason", "no feature raised this user's risk"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Phrases {
    pub lang: String,
    sep: String,
    higher: String,
    lower: String,
    features: [String; N_FEATURES],
    /// The phrase for a shown value of exactly 1, where the language needs another one.
    singular: [Option<String>; N_FEATURES],
    no_purchase: String,
    labels: HashMap<String, String>,
}

fn days(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Fill a template's value placeholders.
fn fill(t: &str, v: f64) -> String {
    t.replace("{n}", &format!("{v:.0}"))
        .replace("{pct}", &format!("{:.0}%", 100.0 * v))
        .replace("{d}", &days(v))
        .replace("{sx2}", &format!("{v:+.2}"))
        .replace("{x2}", &format!("{v:.2}"))
}

/// A population share as a whole percent, rounded down so "higher than 100%" never appears.
fn share_floor(v: f64) -> String {
    format!("{:.0}%", (100.0 * v + 1e-9).floor())
}

/// The languages `assets/reasons.toml` has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    /// Every shipped language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// The language's key in `assets/reasons.toml`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

impl Phrases {
    /// One language of a reasons table; `source` names the table in errors.
    pub fn from_toml(text: &str, lang: &str, source: &str) -> Result<Phrases> {
        let mut all: HashMap<String, LangTable> = toml::from_str(text)
            .map_err(|e| Error::Config(format!("{source}: not a valid reasons table: {e}")))?;
        let l = all.remove(lang).ok_or_else(|| {
            Error::Config(format!(
                "{source}: no language `{lang}` (have: {})",
                all.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let get = |k: &str| {
            l.features
                .get(k)
                .cloned()
                .ok_or_else(|| Error::Config(format!("{source}: [{lang}.features] lacks `{k}`")))
        };
        let mut features: [String; N_FEATURES] = Default::default();
        let mut singular: [Option<String>; N_FEATURES] = Default::default();
        for (j, name) in FEATURE_NAMES.iter().enumerate() {
            features[j] = get(name)?;
            singular[j] = l.features.get(&format!("{name}_one")).cloned();
        }
        Ok(Phrases {
            lang: lang.to_string(),
            no_purchase: get("days_since_last_purchase_none")?,
            sep: l.sep,
            higher: l.higher,
            lower: l.lower,
            features,
            singular,
            labels: l.labels,
        })
    }

    /// A label of the workbench (`risk_reasons`, `compared`, `feature`, `value`, `excluded`,
    /// `added`, `no_tier`, `no_reason`) in this language, else in English.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.labels
            .get(key)
            .map(String::as_str)
            .or_else(|| LABELS_EN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
            .unwrap_or(key)
    }

    /// A shipped language (`en`, `ko`).
    pub fn load(lang: &str) -> Result<Phrases> {
        Phrases::from_toml(REASONS_TOML, lang, "assets/reasons.toml")
    }

    /// What a feature value means, in words.
    pub fn describe(&self, feature: usize, v: f64) -> String {
        // days_since_last_purchase is the window length when there was no purchase (SPEC §3).
        if feature == 5 && v >= 30.0 {
            return self.no_purchase.clone();
        }
        let Some(t) = self.features.get(feature) else {
            return format!("feature {feature} = {v}");
        };
        // The number as the phrase shows it: "1" takes the singular phrase where there is one.
        let shown = if t.contains("{n}") {
            format!("{v:.0}")
        } else if t.contains("{d}") {
            days(v)
        } else {
            String::new()
        };
        match self.singular.get(feature) {
            Some(Some(one)) if shown == "1" => one.clone(),
            _ => fill(t, v),
        }
    }

    /// "higher/lower than <share> of users", from the shares of users strictly below and
    /// strictly above the value: the larger side is the one named.
    pub fn comparison(&self, below: f64, above: f64) -> String {
        let (t, s) = if above >= below {
            (&self.lower, above)
        } else {
            (&self.higher, below)
        };
        t.replace("{share}", &share_floor(s))
    }

    /// "<phrase> — higher/lower than <share> of users".
    pub fn sentence(&self, feature: usize, v: f64, below: f64, above: f64) -> String {
        format!(
            "{}{}{}",
            self.describe(feature, v),
            self.sep,
            self.comparison(below, above)
        )
    }
}

/// English, the default.
pub fn english() -> &'static Phrases {
    static EN: OnceLock<Phrases> = OnceLock::new();
    EN.get_or_init(|| {
        // The shipped table is parsed in a unit test, so this cannot fail in a release.
        Phrases::load("en").unwrap_or_else(|_| Phrases {
            lang: "en".into(),
            sep: " — ".into(),
            higher: "higher than {share} of users".into(),
            lower: "lower than {share} of users".into(),
            features: std::array::from_fn(|j| format!("{} {{x2}}", FEATURE_NAMES[j])),
            singular: Default::default(),
            no_purchase: "no purchase in the window".into(),
            labels: HashMap::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_in_the_language_or_else_in_english() {
        let ko = Phrases::load("ko").unwrap();
        assert_eq!(ko.label("risk_reasons"), "위험 이유");
        assert_eq!(ko.label("no_tier"), "등급 없음");
        let en = Phrases::load("en").unwrap();
        assert_eq!(en.label("risk_reasons"), "risk reasons");
        // A table without a label falls back to English.
        let bare = Phrases::from_toml(
            &REASONS_TOML.replace(
                "[ko.labels]\nrisk_reasons = \"위험 이유\"\n",
                "[ko.labels]\n",
            ),
            "ko",
            "test",
        )
        .unwrap();
        assert_eq!(bare.label("risk_reasons"), "risk reasons");
        assert_eq!(bare.label("excluded"), "제외됨");
    }

    #[test]
    fn shipped_languages_parse_and_cover_every_feature() {
        for l in [Lang::En, Lang::Ko].map(Lang::code) {
            let p = Phrases::load(l).unwrap();
            for j in 0..N_FEATURES {
                assert!(!p.describe(j, 1.0).contains('{'), "{l} {j}");
            }
        }
        assert!(Phrases::load("fr").is_err());
    }

    #[test]
    fn sentences_in_english_and_korean() {
        let en = Phrases::load("en").unwrap();
        assert_eq!(
            en.sentence(1, 2.0, 0.05, 0.8),
            "active on 2 of the last 30 days — lower than 80% of users"
        );
        assert_eq!(
            en.sentence(4, 28.56, 0.9999, 0.0),
            "last seen 28.6 days ago — higher than 99% of users"
        );
        assert_eq!(en.describe(5, 30.0), "no purchase in the last 30 days");
        let ko = Phrases::load("ko").unwrap();
        assert_eq!(
            ko.sentence(1, 2.0, 0.05, 0.8),
            "최근 30일 중 2일 활동 — 사용자의 80%보다 낮음"
        );
    }

    #[test]
    fn a_table_missing_a_feature_is_named() {
        let t = "[en]\nsep=\" \"\nhigher=\"h\"\nlower=\"l\"\n[en.features]\nn_events_30d=\"x\"\n";
        let e = Phrases::from_toml(t, "en", "my.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("my.toml") && e.contains("active_days_30d"),
            "{e}"
        );
    }

    #[test]
    fn one_takes_the_singular() {
        let en = Phrases::load("en").unwrap();
        assert_eq!(en.describe(0, 1.0), "1 event in the last 30 days");
        assert_eq!(en.describe(0, 2.0), "2 events in the last 30 days");
        assert_eq!(en.describe(0, 0.0), "0 events in the last 30 days");
        assert_eq!(en.describe(7, 1.0), "switched brands once");
        assert_eq!(en.describe(4, 1.0), "last seen 1 day ago");
        // 1.4 days is shown as "1.4": plural.
        assert_eq!(en.describe(4, 1.4), "last seen 1.4 days ago");
        // Korean needs no singular: the one phrase serves.
        let ko = Phrases::load("ko").unwrap();
        assert_eq!(ko.describe(0, 1.0), "최근 30일 이벤트 1회");
    }
}
