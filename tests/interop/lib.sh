# Shared setup and helpers of run.sh and edge.sh (sourced, not run).
# Sets HERE, ROOT, ZEGEL, SHARED, TMP (removed on exit); runs `npm ci` unless
# INTEROP_SKIP_NPM_CI=1; defines the expectation helpers and the PASSED/FAILED/GAPS counters,
# and the helpers that run `zegel serve` (stopped on exit).

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
if [[ -z "${ZEGEL:-}" ]]; then
    ZEGEL="$ROOT/target/debug/zegel"
elif [[ "$ZEGEL" != /* ]]; then
    ZEGEL="$PWD/$ZEGEL"
fi
SHARED="${ZEGEL_SHARED_DIR:-$ROOT/../shared}"
cd "$ROOT"

die() { echo "interop: $*" >&2; exit 1; }
[[ -x "$ZEGEL" ]] || die "zegel binary not found at $ZEGEL (run cargo build, or set ZEGEL)"
[[ -d "$SHARED/contexts" && -d "$SHARED/testvectors" ]] || die "shared test data not found at $SHARED"
SHARED="$(cd "$SHARED" && pwd)"
export ZEGEL_SHARED_DIR="$SHARED"
command -v node >/dev/null || die "node is not installed (Node.js >= 20 is required)"
command -v npm >/dev/null || die "npm is not installed"
command -v curl >/dev/null || die "curl is not installed"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
(( NODE_MAJOR >= 20 )) || die "Node.js >= 20 is required, found $(node --version)"

START=$SECONDS
if [[ "${INTEROP_SKIP_NPM_CI:-}" == 1 && -d "$HERE/node_modules" ]]; then
    echo "interop: reusing tests/interop/node_modules (INTEROP_SKIP_NPM_CI=1)"
else
    echo "interop: npm ci (tests/interop)"
    if ! NPM_LOG="$(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error 2>&1)"; then
        printf '%s\n' "$NPM_LOG" >&2
        die "npm ci failed"
    fi
fi
echo "interop: node $(node --version), zegel $("$ZEGEL" --version 2>/dev/null | awk '{print $NF}'), npm ci took $((SECONDS - START))s"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/zegel-interop.XXXXXX")"
SERVER_PID=""
cleanup() { stop_zegel_server; rm -rf "$TMP"; }
trap cleanup EXIT
PASSED=0 FAILED=0 GAPS=0

ok()  { PASSED=$((PASSED + 1)); printf '  ok    %s\n' "$1"; }
bad() {
    FAILED=$((FAILED + 1)); printf '  FAIL  %s\n' "$1"
    [[ -n "${2:-}" ]] && printf '%s\n' "$2" | sed 's/^/          /'
    return 0
}
gap() {
    GAPS=$((GAPS + 1)); printf '  GAP   %s\n' "$1"
    [[ -n "${2:-}" ]] && printf '%s\n' "$2" | sed 's/^/          /'
    return 0
}
section() { printf '\n%s\n' "$1"; }

VERIFY=(node "$HERE/verify.mjs")

# js_accepts NAME VERIFY-ARGS… : every JS verifier run must accept every file.
js_accepts() {
    local name="$1" out rc; shift
    out="$("${VERIFY[@]}" "$@" 2>&1)"; rc=$?
    if (( rc == 0 )); then ok "$name"; printf '%s\n' "$out" | grep -v '^PASS' | sed 's/^ */          /'
    else bad "$name" "$out"; fi
}
# js_rejects NAME WHY-REGEX VERIFY-ARGS… : exit 1, no verifier accepted, and every rejection
# matches WHY-REGEX (so e.g. a safe-mode control fails for the safe-mode reason).
js_rejects() {
    local name="$1" why="$2" out rc; shift 2
    out="$("${VERIFY[@]}" "$@" 2>&1)"; rc=$?
    if (( rc == 1 )) && ! grep -q ': accepted:' <<<"$out" \
        && ! grep ': REJECTED: ' <<<"$out" | grep -vEq "$why"; then
        ok "$name"; printf '%s\n' "$out" | grep ': REJECTED: ' | cut -c1-220 | sed 's/^ */          /'
    else
        bad "$name (verify.mjs exit $rc; want 1, every verifier rejecting with /$why/)" "$out"
    fi
}
# zegel_verify NAME WANT-EXIT FILE [OPTIONS…]
zegel_verify() {
    local name="$1" want="$2" file="$3" out rc; shift 3
    out="$("$ZEGEL" verify "$@" "$file" 2>&1)"; rc=$?
    if (( rc == want )); then ok "$name"
    else bad "$name (zegel verify exit $rc, want $want)" "$(verdict_of "$out")"; fi
}
# zegel_verify_rsa_jwt NAME FILE : exit 0 is ok; exit 2 ("could not check") is a GAP: the CLI
# has no option to be given an RSA public key offline, so it cannot resolve a bare RSA kid.
zegel_verify_rsa_jwt() {
    local name="$1" file="$2" jwks="$3" out rc
    out="$("$ZEGEL" verify "$file" --jwks "$jwks" 2>&1)"; rc=$?
    if (( rc == 0 )); then ok "$name: valid (public key given with --jwks)"
    else bad "$name (exit $rc, want 0)" "$(verdict_of "$out")"; fi
}
# jwks_of KEY-FILE KID OUT : a JWK Set with the public part of a PEM key (Node crypto), under KID.
jwks_of() {
    node -e 'const crypto = require("crypto"); const fs = require("fs");
      const jwk = crypto.createPublicKey(fs.readFileSync(process.argv[1])).export({format: "jwk"});
      jwk.kid = process.argv[2];
      fs.writeFileSync(process.argv[3], JSON.stringify({keys: [jwk]}));' "$1" "$2" "$3"
}
# The verdict, code and reason of a zegel verify report (or the raw text).
verdict_of() {
    node -e 'try { const r = JSON.parse(process.argv[1]);
      console.log([r.verdict, r.code, r.reason].filter(Boolean).join(": ")); }
      catch { console.log(process.argv[1]); }' "$1"
}
# sign OUT ZEGEL-SIGN-ARGS… ; a failure to sign is a failed expectation.
sign() {
    local out="$1" err; shift
    if ! err="$("$ZEGEL" credential sign "$@" 2>&1 >"$out")"; then
        bad "zegel credential sign $* (exit non-zero)" "$err"; return 1
    fi
}
# jedit IN OUT JS-STATEMENTS : edit a JSON file, the parsed object is `c`.
jedit() {
    node -e 'const fs = require("fs");
      const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      new Function("c", process.argv[3])(c);
      fs.writeFileSync(process.argv[2], JSON.stringify(c, null, 2) + "\n");' "$1" "$2" "$3"
}
jget() { node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(new Function("c", "return " + process.argv[2])(c));' "$1" "$2"; }

# ---- zegel serve --------------------------------------------------------------------------

# A loopback port that was free a moment ago.
free_port() {
    node -e 'const s = require("net").createServer();
      s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
# service_env CMD… : runs CMD with the environment of the server started by start_zegel_server.
service_env() { env "${SERVICE_ENV[@]}" "$@"; }
# start_zegel_server DIR : `zegel serve` on a free loopback port, with a SQLite database and a
# fresh Ed25519 key in DIR; sets SERVER_URL, SERVER_PID, SERVICE_ENV and waits until /ready
# answers 200 (polling; gives up after 30 s or when the process exits). A failure is a failed
# expectation (returns 1).
start_zegel_server() {
    local dir="$1" port attempt i
    mkdir -p "$dir"
    if ! "$ZEGEL" keys generate --dir "$dir/keys" --json > "$dir/key.json" 2>"$dir/err"; then
        bad "zegel keys generate --dir (the service's key)" "$(cat "$dir/err")"; return 1
    fi
    for attempt in 1 2 3; do
        port="$(free_port)"
        SERVER_URL="http://127.0.0.1:$port"
        SERVICE_ENV=(DATABASE_URL="sqlite:$dir/zegel.db" ZEGEL_KEYS_DIR="$dir/keys" ZEGEL_GENERATE_KEYS=false
            ZEGEL_LISTEN="127.0.0.1:$port" ZEGEL_PUBLIC_URL="$SERVER_URL" ZEGEL_INSTITUTION_BRIN=21PB
            ZEGEL_ISSUER_NAME="zegel interop" ZEGEL_LOG=info ZEGEL_LOG_FORMAT=json ZEGEL_WORKERS=2)
        # Not through service_env: $! must be the server itself (env execs it).
        env "${SERVICE_ENV[@]}" "$ZEGEL" serve > "$dir/serve.log" 2>&1 &
        SERVER_PID=$!
        for ((i = 0; i < 300; i++)); do
            if curl -fsS --noproxy '*' -o /dev/null "$SERVER_URL/ready" 2>/dev/null; then
                return 0
            fi
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                wait "$SERVER_PID" 2>/dev/null
                SERVER_PID=""
                # The port was taken in the meantime: try another.
                grep -q 'cannot listen' "$dir/serve.log" && continue 2
                bad "zegel serve exited" "$(tail -n 20 "$dir/serve.log")"; return 1
            fi
            sleep 0.1
        done
        bad "zegel serve did not answer /ready within 30 s" "$(tail -n 20 "$dir/serve.log")"; return 1
    done
    bad "zegel serve found no free port" "$(tail -n 20 "$dir/serve.log")"; return 1
}
# stop_zegel_server : SIGTERM (graceful), SIGKILL after 10 s.
stop_zegel_server() {
    [[ -n "${SERVER_PID:-}" ]] || return 0
    local i
    kill "$SERVER_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
# api METHOD PATH BODY-FILE OUT : a JSON request to the server's API with $TOKEN; prints the
# HTTP status (000 when there was no answer), the body goes to OUT.
api() {
    curl -sS --noproxy '*' -o "$4" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data-binary "@$3" "$SERVER_URL$2" 2>>"$TMP/curl.err"
}
# fetch URL ACCEPT OUT : GET from the server (loopback only, no redirects); fails on HTTP errors.
fetch() {
    case "$1" in "$SERVER_URL"/*) ;; *) echo "fetch: $1 is not on $SERVER_URL" >&2; return 1;; esac
    curl -fsS --noproxy '*' -H "Accept: $2" -o "$3" "$1"
}

# summary : the closing lines; returns non-zero when an expectation failed.
summary() {
    printf '\ninterop: %ss in all\n' "$((SECONDS - START))"
    if (( GAPS )); then
        echo "interop: GAP = a comparison zegel's CLI cannot make yet (see tests/interop/README.md)"
        echo "interop: $PASSED passed, $FAILED failed, $GAPS skipped"
    else
        echo "interop: $PASSED passed, $FAILED failed"
    fi
    (( FAILED == 0 ))
}
