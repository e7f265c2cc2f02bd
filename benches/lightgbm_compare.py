"""LightGBM (Python) on a churn-tui feature table: the reference for the gbdt model.

Usage: python benches/lightgbm_compare.py FEATURES.parquet [--threads 2] [--reps 3]

Fits LightGBM with class-balanced weights and early stopping on val (the setting the
models issue names), on the table's train rows, and prints fit+predict time (median over
reps), val and test PR-AUC (average precision) and test Lift@5% with churn-tui's top-K rule
(k = ceil(K·N/100), ties by user_id then anchor).
"""
import argparse, math, statistics, time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

FEATURES = [
    "n_events_30d", "active_days_30d", "n_purchase_30d", "purchase_ratio",
    "days_since_last_event", "days_since_last_purchase", "brand_concentration_ratio",
    "brand_switch_count_30d", "total_spend_30d", "activity_ratio_15d", "price_volatility",
    "n_events_7d", "visit_regularity", "activity_trend",
]


def lift_at(df, score, k_pct):
    order = pd.DataFrame({"s": score, "u": df["user_id"].to_numpy(),
                          "a": df["anchor"].to_numpy(), "y": df["m2"].to_numpy()})
    order = order.sort_values(["s", "u", "a"], ascending=[False, True, True], kind="mergesort")
    n = len(order)
    k = math.ceil(k_pct * n / 100)
    prec = order["y"].iloc[:k].mean()
    return prec / order["y"].mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("table")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    df = pd.read_parquet(a.table)
    df["m2"] = df["y"].astype(int)
    parts = {s: df[df["split"] == s].reset_index(drop=True) for s in ("train", "val", "test")}
    xt, yt = parts["train"][FEATURES].to_numpy(), parts["train"]["m2"].to_numpy()
    xv, yv = parts["val"][FEATURES].to_numpy(), parts["val"]["m2"].to_numpy()
    xs, ys = parts["test"][FEATURES].to_numpy(), parts["test"]["m2"].to_numpy()
    # Balanced class weights, as scikit-learn's class_weight="balanced".
    pos = yt.mean()
    w = np.where(yt == 1, 0.5 / pos, 0.5 / (1 - pos))
    secs, out = [], None
    for _ in range(a.reps):
        t = time.perf_counter()
        m = lgb.LGBMClassifier(n_estimators=2000, learning_rate=0.05, num_leaves=31,
                               n_jobs=a.threads, random_state=42, verbose=-1,
                               deterministic=True, force_col_wise=True)
        m.fit(xt, yt, sample_weight=w, eval_set=[(xv, yv)], eval_metric="average_precision",
              callbacks=[lgb.early_stopping(50, verbose=False)])
        p = m.predict_proba(xs)[:, 1]
        secs.append(time.perf_counter() - t)
        out = (m.best_iteration_, p, m.predict_proba(xv)[:, 1])
    it, p, pv = out
    print(f"lightgbm {lgb.__version__}: train {len(yt)} rows, {a.threads} threads, "
          f"{it} trees (early stopping on val)")
    print(f"  fit+predict median {statistics.median(secs):.3f}s over {a.reps} reps")
    print(f"  val PR-AUC {average_precision_score(yv, pv):.4f}  "
          f"test PR-AUC {average_precision_score(ys, p):.4f}  "
          f"Lift@5% {lift_at(parts['test'], p, 5):.4f}")


if __name__ == "__main__":
    main()
