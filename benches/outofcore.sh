#!/usr/bin/env bash
# Out-of-core benchmark (issue 10): generated 7-month logs as monthly Parquet files, the feature
# table computed with `--memory 4GB`, unscoped and with the seed study's scope; then one whole
# `train` (all nine models) on a chosen size. Wall time and peak RSS from /usr/bin/time, the
# median of REPS runs, and the disk the spill used at its peak. Not a test: run it by hand.
#
#   cargo build --release
#   bash benches/outofcore.sh                       # 35.5M, 110M and 400M events (~1.5 h)
#   SIZES=19800000 REPS=1 TRAIN=19800000 bash benches/outofcore.sh
#
# SIZES are user counts for `gen` (6.4M users ≈ 35.5M events, 19.8M ≈ 110M, 72M ≈ 400M; the
# seed is fixed, SEED=9 unless set, so every run reads the same bytes). Logs are kept under DIR and made
# once. Outputs: DIR/results.tsv (one line per run) and the medians on stdout.
set -euo pipefail

BIN=${BIN:-target/release/churn-tui}
DIR=${DIR:-target/bench-ooc}
SIZES=${SIZES:-"6400000 19800000 72000000"}
REPS=${REPS:-3}
MEM=${MEM:-4GB}
TRAIN=${TRAIN:-19800000}
SEED=${SEED:-9}
SCOPES=${SCOPES:-"unscoped seed"}
SEED_SCOPE=(--category electronics.clocks --brands samsung,apple,xiaomi)

[ -x "$BIN" ] || { echo "build first: cargo build --release ($BIN missing)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian: time)" >&2; exit 1; }
mkdir -p "$DIR/spill"
results="$DIR/results.tsv"
[ -f "$results" ] || printf 'what\tusers\tevents\tseconds\tpeak_rss_kb\tspill_peak_kb\n' >"$results"

# Run a command under /usr/bin/time while sampling the spill directory's size; prints
# "seconds peak_rss_kb spill_peak_kb".
measure() {
    local log
    log=$(mktemp)
    local peak=0
    /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>"$log.err" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        local now
        now=$(du -sk "$DIR/spill" 2>/dev/null | cut -f1)
        [ "${now:-0}" -gt "$peak" ] && peak=$now
        sleep 1
    done
    if ! wait "$pid"; then
        echo "failed: $*" >&2
        cat "$log.err" >&2
        exit 1
    fi
    echo "$(cat "$log") $peak"
    rm -f "$log" "$log.err"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for users in $SIZES; do
    logdir="$DIR/u$users"
    if [ ! -f "$logdir/.done" ]; then
        mkdir -p "$logdir"
        "$BIN" gen --users "$users" --seed "$SEED" --out "$logdir/{month}.parquet" 2>"$logdir/gen.txt"
        touch "$logdir/.done"
    fi
    events=$(awk '/^generated/ {print $2}' "$logdir/gen.txt")
    for scope in $SCOPES; do
        args=(features --data "$logdir/*.parquet" --memory "$MEM" --spill-dir "$DIR/spill"
            --out "$DIR/features.csv")
        [ "$scope" = seed ] && args+=("${SEED_SCOPE[@]}")
        : >"$DIR/reps"
        for _ in $(seq "$REPS"); do
            m=$(measure "$BIN" "${args[@]}")
            echo "$m" >>"$DIR/reps"
            printf 'features-%s\t%s\t%s\t%s\n' "$scope" "$users" "$events" "${m// /	}" >>"$results"
        done
        secs=$(cut -d' ' -f1 "$DIR/reps" | median)
        rss=$(cut -d' ' -f2 "$DIR/reps" | median)
        spill=$(cut -d' ' -f3 "$DIR/reps" | median)
        per10m=$(awk -v s="$secs" -v e="$events" 'BEGIN {printf "%.1f", s / e * 1e7}')
        echo "features $scope, $events events: ${secs}s (${per10m}s per 10M events), peak RSS ${rss} KB, spill ${spill} KB (medians of $REPS)"
    done
    if [ "$users" = "$TRAIN" ]; then
        rm -rf "$DIR/runs"
        m=$(measure "$BIN" train --data "$logdir/*.parquet" --memory "$MEM" --spill-dir "$DIR/spill" --out "$DIR/runs")
        printf 'train\t%s\t%s\t%s\n' "$users" "$events" "${m// /	}" >>"$results"
        echo "train (all models), $events events: $m (seconds, peak RSS KB, spill KB); run dir $(du -sh "$DIR/runs" | cut -f1)"
    fi
done
