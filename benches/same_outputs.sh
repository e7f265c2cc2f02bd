#!/usr/bin/env bash
# Behaviour unchanged by a refactor: run two builds of churn-tui over the same inputs and compare
# every output byte for byte (feature tables in memory and out of core, a generated log, the
# summary, the DuckDB query, a fixed-seed run's folder, exports, reports, a score, --help texts).
# What must differ run to run is normalised first: the output folder's name, the run id (UTC
# time), measured seconds, and the XLSX creation time.
# usage: benches/same_outputs.sh OLD_BINARY NEW_BINARY   (from the repository root)
set -euo pipefail
old=$1; new=$2; work=$(mktemp -d)
snap() { # BIN OUT
  local B=$1 O=$2; mkdir -p "$O"
  "$B" features --out "$O/features.csv" 2>"$O/features.err"
  "$B" features --out "$O/features.parquet" 2>/dev/null
  "$B" features --out-of-core --memory 64MB --out "$O/features_ooc.csv" 2>/dev/null
  "$B" gen --users 3000 --months 3 --seed 5 --out "$O/gen.csv" >/dev/null 2>&1
  "$B" summary > "$O/summary.txt"
  "$B" sql --dialect duckdb --anchors 2019-12-01,2020-01-01,2020-02-01 > "$O/duckdb.sql"
  "$B" train --out "$O/runs" --seed 7 > "$O/train.txt" 2>/dev/null
  local R; R=$(ls -d "$O"/runs/*/ | head -1)
  "$B" export --run "$R" --out "$O/export.csv" 2>"$O/export.err"
  "$B" export --run "$R" --out "$O/export.json" 2>/dev/null
  "$B" export --run "$R" --tiers --out "$O/export_tiers.csv" 2>/dev/null
  "$B" report --run "$R" --out "$O/report.md" 2>/dev/null
  "$B" report --run "$R" --out "$O/report.xlsx" 2>/dev/null
  "$B" score --run "$R" --anchor 2020-03-01 --out "$O/score.csv" 2>/dev/null
  "$B" train --out "$O/runs2" --seed 7 --models logreg,gbdt --out-of-core --memory 64MB >/dev/null 2>&1
  "$B" --help > "$O/help.txt"
  for c in tui features sql summary train score export report gen bench campaign; do "$B" $c --help > "$O/help_$c.txt"; done
  (cd "$O" && mkdir xlsx && cd xlsx && unzip -q ../report.xlsx && rm ../report.xlsx)
  mv "$O/runs"/*/ "$O/run"; mv "$O/runs2"/*/ "$O/run2"; rmdir "$O/runs" "$O/runs2"
}
# Both binaries under one name, so their --help's usage lines match.
mkdir -p "$work/a" "$work/b"; cp "$old" "$work/a/churn-tui"; cp "$new" "$work/b/churn-tui"
snap "$work/a/churn-tui" "$work/out" && mv "$work/out" "$work/old"
snap "$work/b/churn-tui" "$work/out" && mv "$work/out" "$work/new"
norm() { sed -E "s#$work/(old|new|out)#OUT#g; s/[0-9]{8}T[0-9]{6}Z-s7/RUNID/g; s/\"(fit_)?seconds\": [0-9.e-]+/\"\1seconds\": SEC/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z<\/dcterms/TIME<\/dcterms/g"; }
rc=0; n=0
while IFS= read -r f; do
  n=$((n + 1))
  cmp -s <(norm < "$work/old/$f") <(norm < "$work/new/$f") || { echo "DIFFERS: $f"; rc=1; }
done < <(cd "$work/old" && find . -type f | sort)
[ "$(cd "$work/old" && find . -type f | sort)" = "$(cd "$work/new" && find . -type f | sort)" ] || { echo "the file lists differ"; rc=1; }
echo "$n files compared: $([ $rc = 0 ] && echo identical || echo DIFFERENT)"
rm -rf "$work"; exit $rc
