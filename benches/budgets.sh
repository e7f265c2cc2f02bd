#!/usr/bin/env bash
# Every budget honoured (issue 28, goal 3): generated logs (fixed seeds) read at `--memory MEM`
# by `features`, `score` and `campaign readout`, and a run opened in the workbench (tmux), each
# under /usr/bin/time; prints the peak RSS beside the budget plus the binary's fixed overhead
# (measured here as the peak of `features` on a 20k-event log). Not a test: run it by hand.
#
#   cargo build --release
#   bash benches/budgets.sh                              # 4M and 39.9M Parquet, a 10 GB CSV
#   PARQUET_USERS="720000" CSV_USERS=200000 bash benches/budgets.sh   # a quick look
#
# Logs are kept under DIR and made once.
set -euo pipefail

BIN=${BIN:-target/release/churn-tui}
DIR=${DIR:-target/bench-budgets}
MEM=${MEM:-512MB}
PARQUET_USERS=${PARQUET_USERS:-"720000 7200000"}
CSV_USERS=${CSV_USERS:-15000000}

[ -x "$BIN" ] || { echo "build first: cargo build --release ($BIN missing)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian: time)" >&2; exit 1; }
BIN=$(realpath "$BIN")
mkdir -p "$DIR/spill"
cd "$DIR"

budget_kb=$(numfmt --from=iec "${MEM%B}" | awk '{print int($1 / 1024)}')

# "seconds peak_kb" of a command (its output thrown away; a failure stops the script).
measure() {
    local log
    log=$(mktemp)
    if ! /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>"$log.err"; then
        echo "failed: $*" >&2
        cat "$log.err" >&2
        exit 1
    fi
    cat "$log"
    rm -f "$log" "$log.err"
}

report() { # what seconds peak_kb
    awk -v w="$1" -v s="$2" -v k="$3" -v b="$budget_kb" -v o="$overhead_kb" 'BEGIN {
        printf "%-58s %8s s %8.0f MB  (budget + overhead %.0f MB: %s)\n", w, s, k / 1024,
            (b + o) / 1024, (k <= b + o ? "within" : "OVER") }'
}

[ -f small.parquet ] || "$BIN" gen --users 3600 --seed 7 --out small.parquet 2>/dev/null
read -r _ overhead_kb < <(measure "$BIN" features --data small.parquet --out small_features.csv)
echo "fixed overhead (features on 20k events): $((overhead_kb / 1024)) MB; budget $MEM"

for users in $PARQUET_USERS; do
    logdir="u$users"
    if [ ! -f "$logdir/.done" ]; then
        mkdir -p "$logdir"
        "$BIN" gen --users "$users" --seed 7 --out "$logdir/{month}.parquet" 2>/dev/null
        touch "$logdir/.done"
    fi
    read -r s k < <(measure "$BIN" features --data "$logdir/*.parquet" --memory "$MEM" \
        --spill-dir spill --out features.parquet)
    report "features, gen --users $users --seed 7 (monthly Parquet)" "$s" "$k"
done

# A run of the largest Parquet log (trained at 2GB: training is not this goal), scored,
# campaigned and read out at the budget, and opened in the workbench.
last=$(echo "$PARQUET_USERS" | awk '{print $NF}')
if [ ! -f "run$last/.done" ]; then
    rm -rf "run$last"
    "$BIN" train --data "u$last/*.parquet" --memory 2GB --spill-dir spill --models logreg,gbdt \
        --out "run$last" >/dev/null 2>&1
    touch "run$last/.done"
fi
run=$(ls -d "run$last"/*/ | head -1)
read -r s k < <(measure "$BIN" score --run "$run" --data "u$last/*.parquet" --memory "$MEM" \
    --spill-dir spill --anchor 2020-04-01 --out scores.csv)
report "score at 2020-04-01, gen --users $last" "$s" "$k"
rm -f campaigns.db
"$BIN" campaign create --run "$run" --tiers --name budget --db campaigns.db >/dev/null 2>&1
read -r s k < <(measure "$BIN" campaign readout --campaign budget --data "u$last/*.parquet" \
    --db campaigns.db)
report "campaign readout, gen --users $last" "$s" "$k"
if command -v tmux >/dev/null; then
    tmux kill-session -t budgets 2>/dev/null || true
    tmux new-session -d -s budgets -x 120 -y 40 "$BIN --run $run; sleep 30"
    sleep 10
    tmux send-keys -t budgets 5
    sleep 5
    pid=$(pgrep -f "^$BIN --run" | head -1)
    k=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    tmux kill-session -t budgets
    report "the workbench opening that run (and its Targets tab)" - "$k"
fi

if [ -n "$CSV_USERS" ]; then
    [ -f "big$CSV_USERS.csv" ] || "$BIN" gen --users "$CSV_USERS" --seed 13 --out "big$CSV_USERS.csv" 2>/dev/null
    read -r s k < <(measure "$BIN" features --data "big$CSV_USERS.csv" --memory "$MEM" \
        --spill-dir spill --out features.parquet)
    report "features, one CSV of $(du -h "big$CSV_USERS.csv" | cut -f1) (gen --users $CSV_USERS --seed 13)" "$s" "$k"
fi
