#!/usr/bin/env python3
"""Read Parquet files churn-tui wrote with pyarrow, DuckDB and Spark, and say what each saw.

    read_parquet.py FILE...

Prints one JSON object: {"pyarrow": VERSION, "files": {FILE: {"pyarrow": {"rows", "columns",
"types"}, "duckdb": {"rows", "columns"}, "spark": {"rows", "columns"}}}}, or for a reader that
fails, {"error": MESSAGE} in its place. tests/it/sql.rs compares it with the files' own content.
"""
import json
import sys


def with_pyarrow(path):
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return {"rows": t.num_rows, "columns": t.column_names, "types": [str(x) for x in t.schema.types]}


def with_duckdb(path):
    import duckdb

    rel = duckdb.sql("SELECT * FROM read_parquet('" + path.replace("'", "''") + "')")
    return {"rows": len(rel.fetchall()), "columns": rel.columns}


def guarded(f, *args):
    try:
        return f(*args)
    except Exception as e:  # a reader's failure is the finding, not a crash of the check
        return {"error": f"{type(e).__name__}: {e}"[:500]}


def main(paths):
    import pyarrow
    from pyspark.sql import SparkSession

    out = {"pyarrow": pyarrow.__version__, "files": {}}
    spark = (SparkSession.builder.master("local[1]")
             .appName("churn-tui-parquet-check")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    def with_spark(path):
        df = spark.read.parquet(path)
        return {"rows": df.count(), "columns": df.columns}

    try:
        for p in paths:
            out["files"][p] = {
                "pyarrow": guarded(with_pyarrow, p),
                "duckdb": guarded(with_duckdb, p),
                "spark": guarded(with_spark, p),
            }
    finally:
        spark.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
