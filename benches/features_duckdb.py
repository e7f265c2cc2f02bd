#!/usr/bin/env python3
"""The feature table: churn-tui against DuckDB running the query churn-tui prints (issue 28,
goals 1 and 2; a benchmark, not a test).

    python3 benches/features_duckdb.py BIN LOG [--reps 3] [--threads 2] [--memory 2GB]

LOG is a Parquet log or a glob of them (quote it): `churn-tui gen --users 720000 --seed 7 --out
LOG.parquet` makes the 3.99M-event one the README quotes, `gen --users 7200000 --seed 7 --out
'DIR/{month}.parquet'` the ~40M-event monthly files. Each rep runs, one after the other, `BIN
features --data LOG --out …parquet` and DuckDB (in its own process, `threads` and the printed
query's `COPY … TO parquet`), both timed as whole processes with /usr/bin/time (wall and peak
RSS); DuckDB's query alone is timed inside its process too. With `--memory`, churn-tui gets
`--memory M --spill-dir` and DuckDB `memory_limit = M` and a `temp_directory`, both in the
work directory (the same disk). The query is printed by `BIN sql --dialect duckdb
--time-range FIRST,LAST` with the log's own first and last event, so both compute the same
anchors. The two tables are then compared row by row (user, anchor, split, label and the 14
features to 1e-9). Prints the medians and the ratio. Needs duckdb (PyPI) and /usr/bin/time.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

FEATURES = [
    "n_events_30d", "active_days_30d", "n_purchase_30d", "purchase_ratio",
    "days_since_last_event", "days_since_last_purchase", "brand_concentration_ratio",
    "brand_switch_count_30d", "total_spend_30d", "activity_ratio_15d", "price_volatility",
    "n_events_7d", "visit_regularity", "activity_trend",
]

DUCK = r"""
import json, sys, time, duckdb
q = lambda p: p.replace("'", "''")  # a path as a SQL string literal
log, sql, out, threads = q(sys.argv[1]), sys.argv[2], q(sys.argv[3]), int(sys.argv[4])
memory, tmp = q(sys.argv[5]), q(sys.argv[6])
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f"SET threads = {threads}")
if memory:
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute(f"SET temp_directory = '{tmp}'")
con.execute(f"CREATE VIEW events AS FROM read_parquet('{log}')")
query = open(sql).read().rstrip().rstrip(";")
t1 = time.perf_counter()
con.execute(f"COPY ({query}) TO '{out}' (FORMAT PARQUET)")
print(json.dumps({"query_s": time.perf_counter() - t1}))
"""


def timed(cmd, env=None):
    """(wall seconds, peak RSS in MB, stdout) of a whole process, by /usr/bin/time."""
    r = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True,
                       text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{r.stderr[-2000:]}")
    line = [l for l in r.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, wall, kb = line.split()
    return float(wall), int(kb) / 1024, r.stdout


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    binary, log = os.path.abspath(args[0]), os.path.abspath(args[1])
    reps = int(args[args.index("--reps") + 1]) if "--reps" in args else 3
    threads = int(args[args.index("--threads") + 1]) if "--threads" in args else 2
    memory = args[args.index("--memory") + 1] if "--memory" in args else ""
    import duckdb

    q = lambda p: p.replace("'", "''")  # a path as a SQL string literal
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    first, last, events = con.execute(
        "SELECT strftime(min(event_time), '%Y-%m-%dT%H:%M:%SZ'), "
        "strftime(max(event_time), '%Y-%m-%dT%H:%M:%SZ'), count(*) "
        f"FROM read_parquet('{q(log)}')").fetchone()
    work = tempfile.mkdtemp(prefix="features-duckdb-")
    sql = os.path.join(work, "features.sql")
    subprocess.run([binary, "sql", "--dialect", "duckdb", "--time-range", f"{first},{last}",
                    "--out", sql], check=True, capture_output=True)
    ours_out, duck_out = os.path.join(work, "ours.parquet"), os.path.join(work, "duck.parquet")
    script = os.path.join(work, "duck.py")
    open(script, "w").write(DUCK)
    spill, duck_tmp = os.path.join(work, "spill"), os.path.join(work, "duck_tmp")
    os.makedirs(spill)
    ours_cmd = [binary, "features", "--data", log, "--out", ours_out]
    if memory:
        ours_cmd += ["--memory", memory, "--spill-dir", spill]
    ours, duck, duck_query = [], [], []
    for _ in range(reps):
        for p in (ours_out, duck_out):
            if os.path.exists(p):
                os.remove(p)
        ours.append(timed(ours_cmd)[:2])
        wall, rss, out = timed([sys.executable, script, log, sql, duck_out, str(threads),
                                memory, duck_tmp])
        duck.append((wall, rss))
        duck_query.append(json.loads(out)["query_s"])

    # The same table: every row and value, compared inside DuckDB (millions of rows).
    # The anchor as µs since the epoch: churn-tui writes it with the UTC zone, DuckDB without.
    keys = "user_id, epoch_us(anchor) AS anchor_us, split, label, y"
    con.execute(f"CREATE VIEW a AS SELECT {keys}, {', '.join(FEATURES)} "
                f"FROM read_parquet('{q(ours_out)}')")
    con.execute(f"CREATE VIEW b AS SELECT {keys}, {', '.join(FEATURES)} "
                f"FROM read_parquet('{q(duck_out)}')")
    rows_a, rows_b = (con.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in "ab")
    rel = ", ".join(f"max(abs(a.{f} - b.{f}) / greatest(1.0, abs(b.{f})))" for f in FEATURES)
    matched, *diffs = con.execute(
        f"SELECT count(*), {rel} FROM a JOIN b USING (user_id, anchor_us) "
        "WHERE a.split = b.split AND a.label = b.label AND a.y = b.y").fetchone()
    worst = max((d or 0.0) for d in diffs)
    same = rows_a == rows_b == matched and worst <= 1e-9

    med = lambda xs: statistics.median(xs)
    o_wall, o_rss = med([w for w, _ in ours]), med([r for _, r in ours])
    d_wall, d_rss = med([w for w, _ in duck]), med([r for _, r in duck])
    print(f"log: {log} ({events:,} events, {first} – {last}); {reps} reps, DuckDB "
          f"{duckdb.__version__} with {threads} threads"
          + (f"; memory {memory} for both, spilling under {work}" if memory else ""))
    print(f"churn-tui features      median {o_wall:6.2f} s  peak {o_rss:7.0f} MB  "
          f"(runs {', '.join(f'{w:.2f}' for w, _ in ours)})")
    print(f"DuckDB, whole process   median {d_wall:6.2f} s  peak {d_rss:7.0f} MB  "
          f"(runs {', '.join(f'{w:.2f}' for w, _ in duck)})")
    print(f"DuckDB, query alone     median {med(duck_query):6.2f} s")
    print(f"ratio (DuckDB process / churn-tui): {d_wall / o_wall:.2f}; "
          f"against the query alone: {med(duck_query) / o_wall:.2f}")
    print(f"tables: {rows_a:,} rows ({rows_b:,} from DuckDB, {matched:,} matched), {'the same to 1e-9' if same else 'DIFFERENT'} "
          f"(largest relative difference {worst:.1e})")


if __name__ == "__main__":
    main()
