#!/usr/bin/env python3
"""`churn-tui plan` against the same cost table in DuckDB (SPEC §5a), on one saved run.

    python3 benches/plan_compare.py BIN RUN_DIR [--budget 5000] [--reps 5]

churn-tui: the whole command (process start, loading the run, the targeting order, the ledger,
the table at 1…100% and the budget's K), `--json`, median of REPS. DuckDB: what an analyst
would write instead over the run's own Parquet files (the chosen model's scores joined to the
features, order value = spend / purchases or the buyers' median, the shipped tiers' costs,
a running sum, the same nine cuts and the budget's K), timed in-process (DuckDB already
loaded: its start-up is not counted), median of REPS. DuckDB ranks by score and then user id,
not by the tie rule of SPEC §5, so where the chosen model has ties its cut can take other
users: the script prints both tables' costs side by side and their largest relative difference.
"""

import argparse
import json
import statistics
import subprocess
import time

import duckdb

# assets/tiers.toml [en]: Emergency 5% discount 0.30 × redeem 0.25; Warning 15% 0.20 × 0.20;
# Potential 30% a fixed 5.
QUERY = """
WITH s AS (
  SELECT f.user_id, sc.{model} AS score, f.n_purchase_30d AS p, f.total_spend_30d AS spend
  FROM '{run}/test_scores.parquet' sc JOIN '{run}/test_features.parquet' f USING (user_id)
),
med AS (SELECT median(spend / p) AS m FROM s WHERE p > 0),
r AS (
  SELECT row_number() OVER (ORDER BY score DESC, user_id) AS pos,
         CASE WHEN p > 0 THEN spend / p ELSE (SELECT m FROM med) END AS aov,
         count(*) OVER () AS n
  FROM s
),
c AS (
  SELECT pos, n,
    CASE WHEN pos <= ceil(n * 5 / 100) THEN 0.30 * aov * 0.25
         WHEN pos <= ceil(n * 15 / 100) THEN 0.20 * aov * 0.20
         WHEN pos <= ceil(n * 30 / 100) THEN 5.0
         ELSE 0 END AS cost
  FROM r
),
cum AS (SELECT pos, n, sum(cost) OVER (ORDER BY pos) AS cum FROM c)
SELECT pct, (SELECT cum FROM cum WHERE pos = ceil(cum.n * pct / 100)) AS cost,
       NULL AS budget_k
FROM (SELECT unnest([1, 2, 5, 10, 15, 20, 30, 50, 100]) AS pct), (SELECT n FROM cum LIMIT 1) AS t(n)
UNION ALL
SELECT -1, max(cum), max(pos) FROM cum WHERE cum <= {budget} AND pos <= ceil(n * 30 / 100)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("run")
    ap.add_argument("--budget", type=float, default=5000.0)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--model", help="another model of the run than the chosen one")
    a = ap.parse_args()

    manifest = json.load(open(f"{a.run}/manifest.json"))
    model = a.model or manifest["chosen_model"]
    times, plan = [], None
    for _ in range(a.reps):
        t = time.perf_counter()
        out = subprocess.run(
            [a.bin, "plan", "--run", a.run, "--budget", str(a.budget), "--json", "--model", model],
            check=True, capture_output=True, text=True,
        )
        times.append(time.perf_counter() - t)
        plan = json.loads(out.stdout)
    con = duckdb.connect()
    q = QUERY.format(run=a.run, model=model, budget=a.budget)
    dtimes, rows = [], None
    for _ in range(a.reps):
        t = time.perf_counter()
        rows = con.sql(q).fetchall()
        dtimes.append(time.perf_counter() - t)

    ours = {r["label"]: r["cost"] for r in plan["rows"]}
    worst = 0.0
    print(f"{'K':>6} {'churn-tui cost':>16} {'DuckDB cost':>16}")
    for pct, cost, _ in rows:
        if pct < 0:
            continue
        mine = ours[f"{pct}%"]
        worst = max(worst, abs(mine - cost) / max(abs(cost), 1e-9))
        print(f"{pct:>5}% {mine:>16.2f} {cost:>16.2f}")
    b = [r for r in rows if r[0] < 0][0]
    print(f"budget {a.budget:.2f}: churn-tui k = {plan['budget']['k']}, DuckDB k = {b[2]}")
    print(f"largest relative difference of the costs: {worst:.2e} (ties ranked by user id in DuckDB)")
    n = plan["n"]
    m1, m2 = statistics.median(times), statistics.median(dtimes)
    print(
        f"{n:,} scored users, model {model}: churn-tui plan {m1:.3f} s (whole process, median of "
        f"{a.reps}); DuckDB {m2:.3f} s (query in-process, median of {a.reps}); "
        f"ratio {m1 / m2:.2f}"
    )


if __name__ == "__main__":
    main()
