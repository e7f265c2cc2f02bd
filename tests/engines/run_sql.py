#!/usr/bin/env python3
"""Run a churn-tui feature query (SPEC §8) on a real engine and write the result as Parquet.

    run_sql.py duckdb QUERY.sql OUT.parquet INPUT...
    run_sql.py spark  QUERY.sql OUT_DIR     INPUT...

INPUTs are REES46 logs (.csv, .csv.gz, .parquet). They become the `events` table the query reads:
CSV text is parsed to the SPEC §1 types here (event_time `YYYY-MM-DD HH:MM:SS[ UTC]` as UTC);
Parquet is read as it is. The query itself is churn-tui's, unchanged.
"""
import sys

COLUMNS = ["event_time", "event_type", "product_id", "category_id", "category_code",
           "brand", "price", "user_id", "user_session"]


def duckdb_run(query, out, csvs, parquets):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    parts = []
    if csvs:
        files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in csvs) + "]"
        parts.append(f"""
            SELECT strptime(regexp_replace(event_time, ' UTC$', ''), '%Y-%m-%d %H:%M:%S')
                     AS event_time,
                   event_type,
                   CAST(product_id AS BIGINT) AS product_id,
                   CAST(category_id AS BIGINT) AS category_id,
                   category_code, brand,
                   CAST(price AS DOUBLE) AS price,
                   CAST(user_id AS BIGINT) AS user_id,
                   user_session
            FROM read_csv({files}, all_varchar = true, header = true)""")
    if parquets:
        files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in parquets) + "]"
        parts.append(f"SELECT {', '.join(COLUMNS)} FROM read_parquet({files})")
    con.execute("CREATE VIEW events AS " + " UNION ALL ".join(parts))
    target = out.replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT PARQUET)")


def spark_run(query, out, csvs, parquets):
    from pyspark.sql import SparkSession, functions as F

    spark = (SparkSession.builder.master("local[2]")
             .appName("churn-tui-sql-check")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    frames = []
    if csvs:
        df = spark.read.option("header", True).csv(csvs)
        df = df.select(
            F.to_timestamp(F.regexp_replace("event_time", " UTC$", ""),
                           "yyyy-MM-dd HH:mm:ss").alias("event_time"),
            "event_type",
            F.col("product_id").cast("bigint").alias("product_id"),
            F.col("category_id").cast("bigint").alias("category_id"),
            "category_code", "brand",
            F.col("price").cast("double").alias("price"),
            F.col("user_id").cast("bigint").alias("user_id"),
            "user_session")
        frames.append(df)
    if parquets:
        df = spark.read.parquet(*parquets).select(*COLUMNS)
        df = df.withColumn("event_time", F.col("event_time").cast("timestamp"))
        frames.append(df)
    events = frames[0]
    for f in frames[1:]:
        events = events.unionByName(f)
    events.createOrReplaceTempView("events")
    spark.sql(query).write.mode("overwrite").parquet(out)
    spark.stop()


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("duckdb", "spark"):
        sys.exit(__doc__)
    engine, query_path, out, *inputs = sys.argv[1:]
    with open(query_path, encoding="utf-8") as f:
        query = f.read().strip().rstrip(";")
    csvs = [p for p in inputs if not p.endswith(".parquet")]
    parquets = [p for p in inputs if p.endswith(".parquet")]
    (duckdb_run if engine == "duckdb" else spark_run)(query, out, csvs, parquets)


if __name__ == "__main__":
    main()
