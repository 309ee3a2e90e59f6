#!/usr/bin/env bash
# Bulk intake as recorded in docs/performance.md, on the embedded default
# (SQLite), release build, loopback only; everything stops by itself:
#   1. `zegel import` of a generated N-row CSV (default 100,000): elapsed time
#      and peak resident memory of the import process (GNU time or /proc);
#   2. the same file uploaded to POST /api/v1/imports and run by the server's
#      import worker: time until the job is done, server peak memory;
#   3. POST /api/v1/awards/batch, 1,000 awards per request, for S seconds.
# Usage: scripts/importtest.sh [rows] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-100000}"
SECONDS_BATCH="${2:-20}"

cargo build --release --quiet --bin zegel --example loadtest
LOAD="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/loadtest"
source scripts/lib.sh
start_server
define_achievement

make_csv() { # prefix file
    python3 - "$1" "$ROWS" > "$2" <<'PY'
import sys
prefix, rows = sys.argv[1], int(sys.argv[2])
print("record_id;eppn;email;given_name;surname_prefix;surname;student_number;course_code;grade;completed_on")
for n in range(rows):
    print(f"{prefix}-{n};s{n}@uni.example.nl;s{n}@student.uni.example.nl;Sam;de;Vries;{n};MC-DATA-26;7,5;30-06-2026")
PY
}

echo "1. zegel import of $ROWS rows"
make_csv cli "$WORK/cli.csv"
ls -l "$WORK/cli.csv" | awk '{printf "   file: %.1f MB\n", $5/1e6}'
if command -v /usr/bin/time > /dev/null; then
    /usr/bin/time -f '   elapsed %e s, peak RSS %M KB' "$ZEGEL" import "$WORK/cli.csv" 2>&1 > "$WORK/cli.out" | tr '\r' '\n' | grep -E 'elapsed' || true
else
    start=$(date +%s.%N)
    "$ZEGEL" import "$WORK/cli.csv" > "$WORK/cli.out" 2>/dev/null &
    pid=$!; peak=0
    while kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0); [[ -n "$rss" && "$rss" -gt "$peak" ]] && peak=$rss
        sleep 0.2
    done
    wait "$pid" || true
    echo "   elapsed $(python3 -c "import time; print(round(time.time() - $start, 1))") s, peak RSS >= $peak KB (sampled)"
fi
grep -E 'created|refused|rows' "$WORK/cli.out" | sed 's/^/  /'

echo "2. POST /api/v1/imports of $ROWS rows (server's import worker)"
make_csv api "$WORK/api.csv"
start=$(date +%s.%N)
ID="$(curl -fsS -X POST "$URL/api/v1/imports" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' \
    --data-binary @"$WORK/api.csv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
while :; do
    STATE="$(curl -fsS "$URL/api/v1/imports/$ID?limit=1" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["state"], j["rows_done"], j["counts"]["created"])')"
    case "$STATE" in done*|failed*) break ;; esac
    sleep 0.5
done
echo "   $STATE (state, rows done, created) in $(python3 -c "import time; print(round(time.time() - $start, 1))") s"
grep -E 'VmHWM' "/proc/$SERVER_PID/status" | sed 's/^/   server /'

echo "3. POST /api/v1/awards/batch, 1,000 per request, 2 at a time, ${SECONDS_BATCH}s"
"$LOAD" --url "$URL" --token "$TOKEN" --course-code MC-DATA-26 --prefix batch --mode batch --batch-size 1000 \
    --concurrency 2 --seconds "$SECONDS_BATCH"
