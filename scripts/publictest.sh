#!/usr/bin/env bash
# Load test of what verifiers and employers fetch, as recorded in
# docs/performance.md: a release build of zegel on a fresh SQLite database
# issues a few credentials, then wrk (Debian package `wrk`) requests, each
# phase for the given seconds on loopback:
#   1. the credential as JSON-LD (GET /credentials/{id}, Accept: application/ld+json);
#   2. its status list (GET /status/{n});
#   3. the credential page (GET /credentials/{id}, Accept: text/html);
#   4. POST /credentials/verify with the credential (the VC-API, public): each
#      request a full verification (proof, schema, JSON-LD safe mode, its status
#      lists from the service itself), answered 200 only when verified.
# The verify rate limit (ZEGEL_VERIFY_RATE_PER_MIN, per client address) is set
# to its maximum, so that it does not shape what is measured; phase 4 counts
# any answer but 200 as Non-2xx. Everything stops by itself.
# Usage: scripts/publictest.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_PHASE="${1:-15}"
CONNECTIONS="${2:-64}"
command -v wrk > /dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet --bin zegel
source scripts/lib.sh
# The whole run comes from one client address: 1,000,000 a minute (the most
# the setting takes) is over 16,000 a second, more than is measured here.
export ZEGEL_VERIFY_RATE_PER_MIN=1000000
start_server
define_achievement

award() {
    curl -fsS -X POST "$URL/api/v1/awards" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "{
  \"source_record_id\": \"public-$1\", \"course_code\": \"MC-DATA-26\",
  \"learner\": {\"eppn\": \"s$1@uni.example.nl\", \"given_name\": \"Sam\", \"surname_prefix\": \"de\", \"surname\": \"Vries\"},
  \"result\": {\"grade\": \"8\", \"completed_on\": \"2026-06-30\"}}"
}
for n in $(seq 1 20); do award "$n" > "$WORK/award-$n.json"; done
CREDENTIAL_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credential_url"])' "$WORK/award-1.json")"
curl -fsS -H 'Accept: application/ld+json' "$CREDENTIAL_URL" > "$WORK/credential.json"
LIST_URL="$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); s=c["credentialStatus"]; print((s[0] if isinstance(s, list) else s)["statusListCredential"])' "$WORK/credential.json")"

phase() {
    local name="$1"; shift
    echo "$name"
    wrk --latency -t 2 -c "$CONNECTIONS" -d "${SECONDS_PER_PHASE}s" "$@" | grep -E 'Requests/sec|Non-2xx|Socket errors|^ +(50|90|99)%'
}
# Warm-up: first requests render and sign the status list, fill caches.
wrk -t 1 -c 8 -d 2s -H 'Accept: application/ld+json' "$CREDENTIAL_URL" > /dev/null
phase "1. GET the credential as JSON-LD, $CONNECTIONS connections, ${SECONDS_PER_PHASE}s" -H 'Accept: application/ld+json' "$CREDENTIAL_URL"
phase "2. GET its status list" "$LIST_URL"
phase "3. GET the credential page (HTML)" -H 'Accept: text/html' -H 'Accept-Language: nl' "$CREDENTIAL_URL"
if [[ "$(curl -s -o "$WORK/verified.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"verifiableCredential\": $(cat "$WORK/credential.json")}" "$URL/credentials/verify")" == 200 ]]; then
    python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
body = json.dumps({"verifiableCredential": json.load(open(f"{work}/credential.json"))})
lua = 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + '\n'
open(f"{work}/verify.lua", "w").write(lua)
PY
    phase "4. POST /credentials/verify" -s "$WORK/verify.lua" "$URL/credentials/verify"
else
    echo "4. POST /credentials/verify: the credential did not verify; not measured" >&2
    cat "$WORK/verified.json" >&2
    exit 1
fi
echo "5. server memory"
grep -E 'VmHWM|VmRSS' "/proc/$SERVER_PID/status"
