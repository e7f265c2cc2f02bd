//! `uplift train` (SPEC §7a.2–3): the campaign's users with the 14 features at its anchor (the
//! pipeline's own, out of core when the log needs it), dormant or not by the m2 rule in the
//! horizon, and their group. A seeded split stratified by group puts 30% of each group in the
//! evaluation fold; the rest is the learn fold, of which 20% (again by group) stops the boosters
//! early and chooses the method. The evaluation fold is scored once, by every method, by the
//! risk ranking and at random, each judged with the same bootstrap resamples so their
//! differences have paired intervals.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::evaluate::{Estimate, UpliftEval, evaluate_all};
use super::learners::{self, Fitted, Fold, Method};
use super::metrics::{Curve, qini_curve};
use crate::engine::campaign::Campaign;
use crate::engine::campaign::assign::Group;
use crate::engine::data::{self, Scope};
use crate::engine::dataset::out_of_core::Exec;
use crate::engine::eval::KPct;
use crate::engine::features::matrix::Data;
use crate::engine::label::Split;
use crate::engine::label::anchors::{DataRange, Window};
use crate::engine::text::{printable, thousands};
use crate::engine::time::{US_PER_DAY, fmt_anchor};
use crate::engine::{Error, Result};

/// Share of each group in the evaluation fold, and of the learn fold that stops and chooses.
pub const EVAL_SHARE: f64 = 0.3;
pub const VAL_SHARE: f64 = 0.2;
/// Fewest users of each group with features at the anchor: below it the folds are too small to
/// learn or judge an effect.
pub const MIN_PER_GROUP: usize = 500;
/// Bootstrap resamples of every interval.
pub const RESAMPLES: usize = 200;
/// The K of uplift@K, in percent; the first breaks ties in the choice.
pub const KS_BP: [u32; 4] = [1000, 2000, 3000, 5000];
/// Points kept of each Qini curve written (the curve is drawn, not recomputed, from them).
const CURVE_POINTS: usize = 201;

pub struct UpliftRequest<'a> {
    pub campaign: Campaign,
    /// (user, tier, group) of every target.
    pub targets: Vec<(i64, String, Group)>,
    pub data: Vec<String>,
    pub exec: Exec,
    pub methods: Vec<Method>,
    pub seed: u64,
    /// A run whose chosen model ranks by risk (default: the campaign's own run, if it loads;
    /// else the control's dormancy model).
    pub run: Option<PathBuf>,
    pub cancel: &'a AtomicBool,
    pub progress: &'a dyn Fn(&str),
}

/// Where the risk ranking came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RiskSource {
    /// `run` or `control_model`.
    pub kind: String,
    pub run_dir: Option<String>,
    pub model: Option<String>,
}

/// One ranking judged on a fold.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Judged {
    pub name: String,
    pub eval: UpliftEval,
}

/// The chosen method against another ranking on the evaluation fold.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Versus {
    pub other: String,
    pub qini: Estimate,
    /// Per K: extra users kept in the top K by ranking with the chosen method.
    pub kept: Vec<(f64, Option<Estimate>)>,
}

/// How the method was chosen (SPEC §4's rule on the val part of the learn fold).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MethodChoice {
    pub chosen: Method,
    pub best_by_qini: Method,
    pub tied: Vec<Method>,
    /// Each method's val Qini minus the best's, with its 90% interval.
    pub qini_difference: Vec<(Method, Estimate)>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Folds {
    pub learn: usize,
    pub val: usize,
    pub eval: usize,
    /// Campaign users without a row at the anchor (no event in the lookback in these logs).
    pub without_features: usize,
}

/// What `uplift train` learnt and measured; `uplift.json` in the output folder.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpliftReport {
    pub campaign_id: i64,
    pub campaign: String,
    pub anchor: String,
    pub horizon_days: u32,
    pub lookback_days: u32,
    pub seed: u64,
    pub methods: Vec<Method>,
    pub folds: Folds,
    /// Propensity (share treated) per tier.
    pub propensity: BTreeMap<String, f64>,
    /// The share treated of all campaign users with features: the propensity the X-learner
    /// weighs its effect models by when it scores users outside the campaign (SPEC §7a.3).
    #[serde(default)]
    pub treated_share: Option<f64>,
    pub risk: RiskSource,
    pub choice: MethodChoice,
    /// Val (choice) figures per method.
    pub val: Vec<Judged>,
    /// Evaluation-fold figures: each method, then `risk`, then `random`.
    pub eval: Vec<Judged>,
    pub versus: Vec<Versus>,
    /// Qini curves on the evaluation fold (chosen, risk, random), thinned to at most 201 points.
    pub curves: Vec<(String, Curve)>,
}

/// Everything `uplift train` made, before it is written.
pub struct Trained {
    pub report: UpliftReport,
    pub models: Fitted,
    /// The campaign users' rows: features, dormant, group, fold.
    pub x: Data,
    pub treated: Vec<bool>,
    pub fold: Vec<&'static str>,
    /// Evaluation rows (indices into `x`) and each method's uplift on them, the chosen's first.
    pub eval_rows: Vec<usize>,
    pub eval_uplift: Vec<(Method, Vec<f64>)>,
    pub eval_risk: Vec<f64>,
}

fn campaign_name(c: &Campaign) -> String {
    format!("campaign {} `{}`", c.id, printable(&c.name))
}

/// The groups' sizes per tier must let an effect be learnt: both groups in every tier.
fn check_groups(c: &Campaign, targets: &[(i64, String, Group)]) -> Result<()> {
    let name = campaign_name(c);
    let mut tiers: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (_, tier, g) in targets {
        let e = tiers.entry(tier).or_default();
        match g {
            Group::Treatment => e.0 += 1,
            Group::Control => e.1 += 1,
        }
    }
    let (t, k): (usize, usize) = tiers.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if targets.is_empty() {
        return Err(Error::Config(format!("{name} has no users")));
    }
    if k == 0 {
        return Err(Error::Config(format!(
            "{name} has no control users (all {} were treated): without a randomised control \
             group no effect can be learnt",
            thousands(t as u64)
        ))
        .hint("uplift needs a campaign with a holdout (`campaign create --holdout 50`)"));
    }
    if t == 0 {
        return Err(Error::Config(format!(
            "{name} has no treated users (all {} are control): there is no offer to learn \
             the effect of",
            thousands(k as u64)
        )));
    }
    for (tier, (t, k)) in &tiers {
        if *t == 0 || *k == 0 {
            return Err(Error::Config(format!(
                "tier `{}` of {name} has every user in one group ({} treated, {} control): \
                 its offer's effect cannot be learnt",
                printable(tier),
                thousands(*t as u64),
                thousands(*k as u64)
            )));
        }
    }
    Ok(())
}

/// The logs must run past the horizon: the label of a user seen in no day of it is only
/// known once every day of it is in the logs.
fn check_horizon(c: &Campaign, first: i64, last: i64) -> Result<()> {
    let range = DataRange::of(first, last);
    let end = c.horizon_end_us()?;
    if range.end < end {
        let missing = (end - range.end + US_PER_DAY - 1) / US_PER_DAY;
        return Err(Error::Config(format!(
            "{} is not over in these logs: its horizon runs to {}, the last event is at {}; \
             {missing} day(s) of logs are missing, and who went dormant is not known yet",
            campaign_name(c),
            fmt_anchor(end),
            fmt_anchor(last)
        ))
        .hint(format!(
            "train the uplift model when the logs reach {}",
            c.last_day_needed()?
        )));
    }
    Ok(())
}

/// The risk model: `--run`, else the campaign's run; its window and scope build the features.
struct Risk {
    source: RiskSource,
    model: Option<Box<dyn crate::engine::models::Model>>,
    scope: Scope,
    window: Window,
}

fn risk_model(req: &UpliftRequest) -> Result<Risk> {
    let c = &req.campaign;
    let scope: Scope = serde_json::from_str(&c.scope).map_err(|e| {
        Error::Config(format!(
            "{}: its scope is not valid JSON ({e})",
            campaign_name(c)
        ))
    })?;
    let default_window = Window {
        lookback_days: Window::default().lookback_days,
        horizon_days: c.horizon_days,
    };
    let (dir, explicit) = match &req.run {
        Some(d) => (Some(d.clone()), true),
        None if !c.run_dir.is_empty() => (Some(PathBuf::from(&c.run_dir)), false),
        None => (None, false),
    };
    let loaded = dir.as_ref().map(|d| -> Result<_> {
        let manifest = crate::engine::run::format::read_manifest(d)?;
        let name = if explicit || c.model.is_empty() {
            manifest.chosen_model.clone()
        } else {
            c.model.clone()
        };
        let path = d
            .join(crate::engine::run::files::MODELS_DIR)
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::in_file(&path, format!("not valid JSON: {e}")))?;
        let model = crate::engine::models::load(&name, &json)
            .and_then(|m| m.check().map(|()| m))
            .map_err(|e| Error::in_file(&path, e.to_string()))?;
        Ok((manifest, name, model))
    });
    match loaded {
        Some(Ok((manifest, name, model))) => {
            let w = manifest.config.dataset.window;
            if explicit && manifest.config.dataset.scope != scope {
                return Err(Error::Config(format!(
                    "the run {} has another scope than {}: its risk would be of other events",
                    dir.as_ref()
                        .map_or(String::new(), |d| d.display().to_string()),
                    campaign_name(c)
                )));
            }
            Ok(Risk {
                source: RiskSource {
                    kind: "run".into(),
                    run_dir: dir.map(|d| d.display().to_string()),
                    model: Some(name),
                },
                model: Some(model),
                scope,
                window: Window {
                    lookback_days: w.lookback_days,
                    horizon_days: c.horizon_days,
                },
            })
        }
        // `--run` given and unreadable: said. The campaign's own run gone: the control model.
        Some(Err(e)) if explicit => Err(e),
        _ => Ok(Risk {
            source: RiskSource {
                kind: "control_model".into(),
                run_dir: None,
                model: None,
            },
            model: None,
            scope,
            window: default_window,
        }),
    }
}

/// A seeded split of `idx` (one group's rows, in user order): the first `share` after a
/// shuffle, and the rest.
fn split_group(idx: &[usize], share: f64, rng: &mut ChaCha8Rng) -> (Vec<usize>, Vec<usize>) {
    let mut v = idx.to_vec();
    v.shuffle(rng);
    let k = (v.len() as f64 * share).round() as usize;
    let mut a = v[..k].to_vec();
    let mut b = v[k..].to_vec();
    a.sort_unstable();
    b.sort_unstable();
    (a, b)
}

fn thin(c: Curve) -> Curve {
    let n = c.x.len();
    if n <= CURVE_POINTS {
        return c;
    }
    let pick: Vec<usize> = (0..CURVE_POINTS)
        .map(|i| i * (n - 1) / (CURVE_POINTS - 1))
        .collect();
    Curve {
        x: pick.iter().map(|&i| c.x[i]).collect(),
        y: pick.iter().map(|&i| c.y[i]).collect(),
    }
}

/// SPEC §4's rule on val Qini: the best; every method whose paired difference to it has a 90%
/// interval containing 0 is tied; among the tied the highest val uplift@(first K); then the
/// earlier method.
fn choose(val: &[(Method, UpliftEval)], flat: &[bool]) -> MethodChoice {
    let q = |e: &UpliftEval| {
        if e.qini.value.is_finite() {
            e.qini.value
        } else {
            f64::NEG_INFINITY
        }
    };
    // A method that ranks every user alike learnt nothing: it is not chosen while another
    // method ranks (its Qini of 0 would otherwise tie with any weak ranking).
    let ranks = |i: usize| !flat[i] || flat.iter().all(|&f| f);
    let mut best = (0..val.len()).find(|&i| ranks(i)).unwrap_or(0);
    for (i, (_, e)) in val.iter().enumerate() {
        if ranks(i) && q(e) > q(&val[best].1) {
            best = i;
        }
    }
    let mut tied = Vec::new();
    let mut diffs = Vec::new();
    for (i, (m, e)) in val.iter().enumerate() {
        let d = e.qini_minus(&val[best].1);
        let in_tie =
            i == best || matches!((d.low, d.high), (Some(lo), Some(hi)) if lo <= 0.0 && 0.0 <= hi);
        if in_tie {
            tied.push(i);
        }
        diffs.push((*m, d));
    }
    let first_k = |e: &UpliftEval| {
        e.at_k
            .first()
            .and_then(|a| a.uplift)
            .map_or(f64::NEG_INFINITY, |u| u.value)
    };
    let mut chosen = tied[0];
    for &i in &tied {
        if first_k(&val[i].1) > first_k(&val[chosen].1) {
            chosen = i;
        }
    }
    let names = |v: &[usize]| -> String {
        v.iter()
            .map(|&i| val[i].0.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let k = KS_BP[0] / 100;
    let why = if tied.len() == 1 {
        format!(
            "{} has the best val Qini coefficient ({:.3}), and no other method's 90% interval \
             of the difference reaches it",
            val[best].0.name(),
            val[best].1.qini.value
        )
    } else {
        format!(
            "{} are tied on val Qini (best {} at {:.3}; each difference's 90% interval holds \
             0); {} has the highest val uplift@{k}% among them",
            names(&tied),
            val[best].0.name(),
            val[best].1.qini.value,
            val[chosen].0.name()
        )
    };
    MethodChoice {
        chosen: val[chosen].0,
        best_by_qini: val[best].0,
        tied: tied.iter().map(|&i| val[i].0).collect(),
        qini_difference: diffs,
        why,
    }
}

/// Each phase's time as a `tracing` event (`CHURN_LOG=info`), for profiling.
struct Laps {
    at: std::time::Instant,
    what: &'static str,
}

impl Laps {
    fn next(&mut self, what: &'static str, progress: &dyn Fn(&str)) {
        self.end();
        progress(what);
        self.what = what;
    }

    fn end(&mut self) {
        let now = std::time::Instant::now();
        tracing::info!(
            "uplift train: {} {:.2} s",
            self.what,
            (now - self.at).as_secs_f64()
        );
        self.at = now;
    }
}

pub fn train(req: &UpliftRequest) -> Result<Trained> {
    let mut laps = Laps {
        at: std::time::Instant::now(),
        what: "checks",
    };
    let c = &req.campaign;
    let name = campaign_name(c);
    if req.methods.is_empty() {
        return Err(Error::Config("no uplift method asked for".into()));
    }
    check_groups(c, &req.targets)?;
    let anchor = c.anchor_us()?;
    let risk = risk_model(req)?;
    laps.next("features at the campaign's anchor", req.progress);
    let files = data::resolve(&req.data)?;
    let (summary, table) = crate::engine::run::score::table_at(
        &files,
        &risk.scope,
        risk.window,
        anchor,
        risk.model.as_ref().is_some_and(|m| m.reads_history()),
        &req.exec,
    )?;
    check_horizon(c, summary.first_ts, summary.last_ts)?;
    let all = Data::from_table(&table.df, Split::Test)?;
    drop(table);
    let of: HashMap<i64, (&str, Group)> = req
        .targets
        .iter()
        .map(|(u, t, g)| (*u, (t.as_str(), *g)))
        .collect();
    let keep: Vec<usize> = (0..all.n())
        .filter(|&i| of.contains_key(&all.users[i]))
        .collect();
    let without_features = req.targets.len() - keep.len();
    let x = all.select(&keep);
    drop(all);
    let treated: Vec<bool> = x
        .users
        .iter()
        .map(|u| of.get(u).is_some_and(|(_, g)| *g == Group::Treatment))
        .collect();
    let tiers: Vec<&str> = x
        .users
        .iter()
        .map(|u| of.get(u).map_or("", |t| t.0))
        .collect();
    let (nt, nc) = (
        treated.iter().filter(|&&t| t).count(),
        treated.iter().filter(|&&t| !t).count(),
    );
    if nt < MIN_PER_GROUP || nc < MIN_PER_GROUP {
        return Err(Error::Config(format!(
            "{name} has {} treated and {} control users with features at its anchor ({} of its \
             {} users have no event in the {} days before it): an uplift model needs at least \
             {MIN_PER_GROUP} of each",
            thousands(nt as u64),
            thousands(nc as u64),
            thousands(without_features as u64),
            thousands(req.targets.len() as u64),
            risk.window.lookback_days
        )));
    }
    // The known propensity: each tier's share treated (of its users with features).
    let mut per_tier: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, t) in tiers.iter().enumerate() {
        let e = per_tier.entry(t.to_string()).or_default();
        e.0 += usize::from(treated[i]);
        e.1 += 1;
    }
    let propensity: BTreeMap<String, f64> = per_tier
        .iter()
        .map(|(t, (a, n))| (t.clone(), *a as f64 / *n as f64))
        .collect();
    if let Some((t, p)) = propensity.iter().find(|(_, p)| **p <= 0.0 || **p >= 1.0) {
        return Err(Error::Config(format!(
            "tier `{}` of {name} has every user with features in one group (share treated \
             {p}): its offer's effect cannot be learnt",
            printable(t)
        )));
    }
    let e: Vec<f64> = tiers.iter().map(|t| propensity[*t]).collect();

    // Folds: by group, seeded.
    let mut rng = ChaCha8Rng::seed_from_u64(req.seed ^ 0x0f01_d5ee_d000_0001);
    let mut fold = vec!["learn"; x.n()];
    let (mut fit_idx, mut val_idx, mut eval_idx) = (Vec::new(), Vec::new(), Vec::new());
    for g in [true, false] {
        let members: Vec<usize> = (0..x.n()).filter(|&i| treated[i] == g).collect();
        let (ev, learn) = split_group(&members, EVAL_SHARE, &mut rng);
        let (va, fi) = split_group(&learn, VAL_SHARE, &mut rng);
        eval_idx.extend(ev);
        val_idx.extend(va);
        fit_idx.extend(fi);
    }
    for v in [&mut fit_idx, &mut val_idx, &mut eval_idx] {
        v.sort_unstable();
    }
    for &i in &eval_idx {
        fold[i] = "eval";
    }
    let part = |idx: &[usize]| -> (Data, Vec<bool>, Vec<f64>) {
        (
            x.select(idx),
            idx.iter().map(|&i| treated[i]).collect(),
            idx.iter().map(|&i| e[i]).collect(),
        )
    };
    let (fx, ft, fe) = part(&fit_idx);
    let (vx, vt, ve) = part(&val_idx);
    let (ex, et, ee) = part(&eval_idx);

    laps.next("fitting the uplift learners", req.progress);
    let mut methods = req.methods.clone();
    methods.sort_unstable();
    methods.dedup();
    // The outcome models are always fitted: without a run they are the risk ranking.
    let mut fit_methods = methods.clone();
    if !fit_methods.contains(&Method::TLearner) {
        fit_methods.push(Method::TLearner);
    }
    let models = learners::fit(
        &fit_methods,
        &Fold {
            x: &fx,
            treated: &ft,
            e: &fe,
        },
        &Fold {
            x: &vx,
            treated: &vt,
            e: &ve,
        },
        req.seed,
        req.cancel,
    )?;
    let ks: Vec<KPct> = KS_BP.iter().map(|&bp| KPct { bp }).collect();
    let response = |d: &Data| -> Vec<bool> { d.y.iter().map(|&y| !y).collect() };

    laps.next("choosing the method on the val users", req.progress);
    let (vr, er) = (response(&vx), response(&ex));
    let val_scores: Vec<Vec<f64>> = methods
        .iter()
        .map(|&m| models.predict(m, &vx, &ve))
        .collect::<Result<_>>()?;
    let flat: Vec<bool> = val_scores
        .iter()
        .map(|s| s.windows(2).all(|w| w[0] == w[1]))
        .collect();
    let refs: Vec<&[f64]> = val_scores.iter().map(Vec::as_slice).collect();
    let val: Vec<(Method, UpliftEval)> = methods
        .iter()
        .copied()
        .zip(evaluate_all(&vr, &vt, &refs, &ks, RESAMPLES, req.seed)?)
        .collect();
    let choice = choose(&val, &flat);

    laps.next("judging on the evaluation users", req.progress);
    let mut eval_uplift = methods
        .iter()
        .map(|&m| Ok((m, models.predict(m, &ex, &ee)?)))
        .collect::<Result<Vec<_>>>()?;
    let eval_risk = match &risk.model {
        Some(m) => m.predict(&ex)?,
        None => models
            .control_risk(&ex)
            .ok_or_else(|| Error::Config("the control's dormancy model was not fitted".into()))?,
    };
    let random: Vec<f64> = {
        use rand::RngExt;
        let mut r = ChaCha8Rng::seed_from_u64(req.seed ^ 0x7a4d_0b5e_11ab_c0de);
        (0..ex.n()).map(|_| r.random::<f64>()).collect()
    };
    // Every ranking of the eval users in one pass over the same resamples (so they pair).
    let mut refs: Vec<&[f64]> = eval_uplift.iter().map(|(_, s)| s.as_slice()).collect();
    refs.push(&eval_risk);
    refs.push(&random);
    let mut evals = evaluate_all(&er, &et, &refs, &ks, RESAMPLES, req.seed)?;
    let random_eval = evals
        .pop()
        .ok_or_else(|| Error::Config("random was not judged".into()))?;
    let risk_eval = evals
        .pop()
        .ok_or_else(|| Error::Config("risk was not judged".into()))?;
    let mut judged: Vec<Judged> = methods
        .iter()
        .zip(evals)
        .map(|(m, eval)| Judged {
            name: m.name().into(),
            eval,
        })
        .collect();
    // The chosen method's column first.
    eval_uplift.sort_by_key(|(m, _)| *m != choice.chosen);
    let chosen_eval = judged
        .iter()
        .find(|j| j.name == choice.chosen.name())
        .map(|j| j.eval.clone())
        .ok_or_else(|| Error::Config("the chosen method was not judged".into()))?;
    let versus = [("risk", &risk_eval), ("random", &random_eval)]
        .iter()
        .map(|(n, other)| Versus {
            other: n.to_string(),
            qini: chosen_eval.qini_minus(other),
            kept: (0..ks.len())
                .map(|j| (ks[j].as_f64(), chosen_eval.kept_minus(other, j)))
                .collect(),
        })
        .collect();
    let chosen_scores = &eval_uplift[0].1;
    let curves = vec![
        (
            choice.chosen.name().to_string(),
            thin(qini_curve(&er, &et, chosen_scores)?),
        ),
        ("risk".to_string(), thin(qini_curve(&er, &et, &eval_risk)?)),
        ("random".to_string(), thin(qini_curve(&er, &et, &random)?)),
    ];
    judged.push(Judged {
        name: "risk".into(),
        eval: risk_eval,
    });
    judged.push(Judged {
        name: "random".into(),
        eval: random_eval,
    });
    laps.end();
    let report = UpliftReport {
        campaign_id: c.id,
        campaign: c.name.clone(),
        anchor: c.anchor.clone(),
        horizon_days: c.horizon_days,
        lookback_days: risk.window.lookback_days,
        seed: req.seed,
        methods: methods.clone(),
        folds: Folds {
            learn: fit_idx.len() + val_idx.len(),
            val: val_idx.len(),
            eval: eval_idx.len(),
            without_features,
        },
        propensity,
        treated_share: Some(nt as f64 / (nt + nc) as f64),
        risk: risk.source,
        choice,
        val: val
            .into_iter()
            .map(|(m, e)| Judged {
                name: m.name().into(),
                eval: e,
            })
            .collect(),
        eval: judged,
        versus,
        curves,
    };
    Ok(Trained {
        report,
        models,
        x,
        treated,
        fold,
        eval_rows: eval_idx,
        eval_uplift,
        eval_risk,
    })
}
