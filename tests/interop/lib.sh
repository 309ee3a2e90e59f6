# Shared setup and helpers of run.sh and edge.sh (sourced, not run).
# Sets HERE, ROOT, ZEGEL, SHARED, TMP (removed on exit); runs `npm ci` unless
# INTEROP_SKIP_NPM_CI=1; defines the expectation helpers and the PASSED/FAILED/GAPS counters.

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
trap 'rm -rf "$TMP"' EXIT
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
