#!/usr/bin/env python3
"""churn-tui's uplift learners side by side with causalml 0.18 (SPEC §7a; a benchmark, not a test).

    python3 benches/uplift_compare.py UPLIFT_DIR TRUTH.parquet [--resamples 200]

UPLIFT_DIR is a folder `churn-tui uplift train` wrote (table.parquet, eval_predictions.csv,
uplift.json); TRUTH the `gen --truth` file of the same campaign. causalml's X-learner and
T-learner (LightGBM, default settings, the propensity given as the known share) learn on the same
learn fold and score the same evaluation fold. Printed per ranking: the Qini coefficient
(scikit-uplift's `qini_auc_score`, as churn-tui defines it) with a 90% bootstrap interval
stratified by group (the same resamples for every ranking), the fit time, and the Spearman
correlation with the true uplift. Needs causalml 0.18, lightgbm, pandas, pyarrow, scipy (a
throw-away venv: `python3 -m venv V && V/bin/pip install causalml==0.18.0 lightgbm pyarrow`).
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

FEATURES = [
    "n_events_30d", "active_days_30d", "n_purchase_30d", "purchase_ratio",
    "days_since_last_event", "days_since_last_purchase", "brand_concentration_ratio",
    "brand_switch_count_30d", "total_spend_30d", "activity_ratio_15d", "price_volatility",
    "n_events_7d", "visit_regularity", "activity_trend",
]


def qini_coefficient(y, t, s):
    """scikit-uplift 0.5.1's qini_auc_score(negative_effect=True), by its definition."""
    def curve(score):
        order = np.argsort(-score, kind="mergesort")
        ys, ts, ss = y[order], t[order], score[order]
        ends = np.r_[np.nonzero(np.diff(ss))[0], len(ss) - 1]
        n = np.arange(1, len(ss) + 1)
        nt = np.cumsum(ts)
        rt = np.cumsum(ys * ts)
        rc = np.cumsum(ys * (1 - ts))
        nc = n - nt
        with np.errstate(divide="ignore", invalid="ignore"):
            q = rt - np.where(nc > 0, rc * nt / nc, 0.0)
        x = np.r_[0, n[ends]]
        v = np.r_[0, q[ends]]
        return x, v
    def area(x, v):
        return float(np.sum((x[1:] - x[:-1]) * (v[1:] + v[:-1]) / 2))
    x, v = curve(s)
    best = np.where((y == 1) & (t == 1), 1.0, np.where((y == 1) & (t == 0), -1.0, 0.0))
    bx, bv = curve(best)
    base = bx[-1] * bv[-1] / 2
    return (area(x, v) - base) / (area(bx, bv) - base)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    folder, truth_path = args[0], args[1]
    resamples = int(args[args.index("--resamples") + 1]) if "--resamples" in args else 200
    table = pd.read_parquet(f"{folder}/table.parquet")
    report = json.load(open(f"{folder}/uplift.json"))
    truth = pd.read_parquet(truth_path)[["user_id", "true_uplift"]]
    evalp = pd.read_csv(f"{folder}/eval_predictions.csv")
    learn = table[table.fold == "learn"]
    ev = table[table.fold == "eval"].merge(evalp[["user_id", "uplift", "risk"]], on="user_id")
    ev = ev.merge(truth, on="user_id", how="left")
    xl, xe = learn[FEATURES].to_numpy(), ev[FEATURES].to_numpy()
    tl = (learn.group == "treatment").to_numpy().astype(int)
    yl = learn.dormant.to_numpy()
    share = tl.mean()

    from causalml.inference.meta import BaseTClassifier, BaseXClassifier
    from lightgbm import LGBMClassifier, LGBMRegressor

    rankings = {}
    seconds = {}
    t0 = time.perf_counter()
    tl_model = BaseTClassifier(learner=LGBMClassifier(verbose=-1, random_state=0))
    tl_model.fit(xl, treatment=tl, y=yl)
    # causalml's effect is on P(dormant): treated minus control; churn-tui's uplift is its fall.
    rankings["causalml T-learner"] = -tl_model.predict(xe).ravel()
    seconds["causalml T-learner"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    xl_model = BaseXClassifier(
        outcome_learner=LGBMClassifier(verbose=-1, random_state=0),
        effect_learner=LGBMRegressor(verbose=-1, random_state=0),
    )
    xl_model.fit(xl, treatment=tl, y=yl, p=np.full(len(tl), share))
    rankings["causalml X-learner"] = -xl_model.predict(xe, p=np.full(len(xe), share)).ravel()
    seconds["causalml X-learner"] = time.perf_counter() - t0
    chosen = report["choice"]["chosen"]
    rankings[f"churn-tui {chosen}"] = ev.uplift.to_numpy()
    rankings["risk"] = ev.risk.to_numpy()

    y = 1 - ev.dormant.to_numpy()
    t = (ev.group == "treatment").to_numpy().astype(int)
    rng = np.random.default_rng(7)
    groups = [np.nonzero(t == 1)[0], np.nonzero(t == 0)[0]]
    draws = [np.concatenate([rng.choice(g, len(g)) for g in groups]) for _ in range(resamples)]
    true = ev.true_uplift.to_numpy()
    print(f"evaluation fold: {len(ev):,} users ({t.sum():,} treated); learn fold {len(learn):,}")
    print(f"truth's own Qini coefficient (ranking by true uplift): {qini_coefficient(y, t, true):.4f}")
    print(f"{'ranking':<34} {'Qini coefficient [90%]':<28} {'fit s':>7} {'Spearman':>9}")
    for name, s in rankings.items():
        q = qini_coefficient(y, t, s)
        qs = np.array([qini_coefficient(y[d], t[d], s[d]) for d in draws])
        lo, hi = np.percentile(qs, [5, 95])
        rho = spearmanr(s, true).correlation
        fit = f"{seconds[name]:.2f}" if name in seconds else "–"
        print(f"{name:<34} {q:.4f} [{lo:.4f}, {hi:.4f}]       {fit:>7} {rho:>9.3f}")
    print("churn-tui's fit time is `uplift train`'s whole run (features included), printed by it.")


if __name__ == "__main__":
    main()
