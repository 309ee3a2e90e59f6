#!/usr/bin/env bash
# Runs the W3C VC test suites against a local zegel, as vc-api-interop.md
# describes them: vc-di-eddsa-test-suite (tag eddsa-rdfc-2022),
# vc-data-model-2.0-test-suite (vc2.0) and vc-bitstring-status-list-test-suite
# (BitstringStatusList), and prints each suite's pass/fail counts and the
# titles of what failed. Not part of CI: the suites live on GitHub.
#
#   W3C_SUITES_DIR=DIR scripts/w3c-suites.sh [suite…]
#
# DIR holds checkouts (or exports) of github.com/w3c/vc-di-eddsa-test-suite,
# w3c/vc-data-model-2.0-test-suite, w3c/vc-bitstring-status-list-test-suite,
# w3c/vc-test-suite-implementations and w3c-ccg/data-integrity-test-suite-assertion,
# each in a directory of its repository's name. Nothing is fetched from
# GitHub: the suites' GitHub dependencies are packed from DIR; everything
# else comes from the npm registry (`npm install`).
#
# zegel runs from a fresh SQLite database and key, with a did:key issuer,
# behind a small TLS-terminating proxy (a self-signed certificate, made with
# openssl) at https://127.0.0.1:<port>, its public URL: the status list suite
# fetches the lists over https. The suites talk to it with a bearer token of
# a client holding credentials:issue and credentials:status. Reports go to
# $W3C_REPORTS (default: a temporary directory, printed).
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES_DIR="${W3C_SUITES_DIR:?set W3C_SUITES_DIR to the directory holding the suites}"
SUITES=("${@:-vc-di-eddsa-test-suite vc-data-model-2.0-test-suite vc-bitstring-status-list-test-suite}")
read -r -a SUITES <<< "${SUITES[*]}"
for tool in node npm openssl curl; do
    command -v "$tool" > /dev/null || { echo "$tool is missing" >&2; exit 1; }
done

cargo build --quiet --bin zegel
ZEGEL="${CARGO_TARGET_DIR:-$PWD/target}/debug/zegel"
WORK="$(mktemp -d)"
REPORTS="${W3C_REPORTS:-$WORK/reports}"
mkdir -p "$REPORTS"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    [[ -n "${W3C_KEEP:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { node -e 's=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
HTTP_PORT="$(free_port)"
TLS_PORT="$(free_port)"
PUBLIC="https://127.0.0.1:$TLS_PORT"

# The TLS front door: a self-signed certificate for 127.0.0.1 and a proxy to zegel.
openssl req -x509 -newkey ed25519 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
cat > "$WORK/proxy.mjs" <<'JS'
import https from 'node:https';
import http from 'node:http';
import {readFileSync} from 'node:fs';
const [key, cert, listen, target] = process.argv.slice(2);
https.createServer({key: readFileSync(key), cert: readFileSync(cert)}, (req, res) => {
  const upstream = http.request({host: '127.0.0.1', port: Number(target), method: req.method, path: req.url,
    headers: req.headers}, answer => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', e => { res.writeHead(502); res.end(String(e)); });
  req.pipe(upstream);
}).listen(Number(listen), '127.0.0.1');
JS
node "$WORK/proxy.mjs" "$WORK/tls.key" "$WORK/tls.crt" "$TLS_PORT" "$HTTP_PORT" &
PIDS+=($!)

export DATABASE_URL="sqlite:$WORK/zegel.db" ZEGEL_KEYS_DIR="$WORK/keys" ZEGEL_LISTEN="127.0.0.1:$HTTP_PORT" \
    ZEGEL_PUBLIC_URL="$PUBLIC" ZEGEL_ISSUER=did:key ZEGEL_INSTITUTION_BRIN=21PB ZEGEL_ISSUER_NAME="zegel (W3C suites)" \
    ZEGEL_VERIFY_RATE_PER_MIN=1000000 ZEGEL_LOG=warn ZEGEL_STATUS_PUBLISH_DELAY_SECS=1
"$ZEGEL" serve >> "$WORK/zegel.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -fsSk "$PUBLIC/ready" > /dev/null 2>&1 && break; sleep 0.1; done
curl -fsSk "$PUBLIC/ready" > /dev/null
ISSUER="$(curl -fsSk "$PUBLIC/issuer" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')"
TOKEN="$("$ZEGEL" clients create --name w3c-suites --scopes credentials:issue,credentials:status --json \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')"
echo "zegel at $PUBLIC (issuer $ISSUER); work directory $WORK"

# The suites' GitHub dependencies, packed from the checkouts.
for dependency in vc-test-suite-implementations data-integrity-test-suite-assertion; do
    [[ -d "$SUITES_DIR/$dependency" ]] || continue
    (cd "$SUITES_DIR/$dependency" && npm pack --silent --pack-destination "$WORK" > "$WORK/$dependency.pack")
done

local_config() { # TAG
    cat <<JS
module.exports = {
  settings: {enableInteropTests: true, testAllImplementations: false},
  implementations: [{
    name: 'zegel', implementation: 'zegel',
    issuers: [{id: '$ISSUER', endpoint: '$PUBLIC/credentials/issue',
      headers: {authorization: 'Bearer $TOKEN'}, supports: {vc: ['1.1', '2.0']}, tags: ['$1']}],
    verifiers: [{id: '$PUBLIC', endpoint: '$PUBLIC/credentials/verify', supports: {vc: ['1.1', '2.0']}, tags: ['$1']}],
    vpVerifiers: [{id: '$PUBLIC', endpoint: '$PUBLIC/presentations/verify', supports: {vc: ['1.1', '2.0']}, tags: ['$1']}]
  }]
};
JS
}

for suite in "${SUITES[@]}"; do
    case "$suite" in
        vc-di-eddsa-test-suite) tag=eddsa-rdfc-2022 ;;
        vc-data-model-2.0-test-suite) tag=vc2.0 ;;
        vc-bitstring-status-list-test-suite) tag=BitstringStatusList ;;
        *) echo "unknown suite $suite" >&2; exit 2 ;;
    esac
    dir="$WORK/$suite"
    cp -r "$SUITES_DIR/$suite" "$dir"
    node -e 'const fs = require("fs"); const [file, work] = process.argv.slice(1);
      const p = JSON.parse(fs.readFileSync(file, "utf8"));
      for (const deps of [p.dependencies || {}, p.devDependencies || {}]) {
        for (const [name, spec] of Object.entries(deps)) {
          if (!String(spec).startsWith("github:")) continue;
          const packed = fs.readFileSync(`${work}/${name}.pack`, "utf8").trim();
          deps[name] = `file:${work}/${packed}`;
        }
      }
      fs.writeFileSync(file, JSON.stringify(p, null, 2));' "$dir/package.json" "$WORK"
    local_config "$tag" > "$dir/localConfig.cjs"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error > "$WORK/$suite.npm.log" 2>&1) \
        || { echo "$suite: npm install failed (see $WORK/$suite.npm.log)" >&2; continue; }
    echo "== $suite ($tag)"
    (cd "$dir" && NODE_TLS_REJECT_UNAUTHORIZED=0 APP_ROOT_PATH="$dir" npx mocha tests/ --timeout 15000 \
        --preserve-symlinks --reporter json > "$REPORTS/$suite.json" 2> "$REPORTS/$suite.stderr") || true
    node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const s = r.stats;
      console.log(`   ${s.passes} passed, ${s.failures} failed, ${s.pending} pending (of ${s.tests})`);
      for (const f of r.failures) console.log(`   FAIL ${f.fullTitle}`.slice(0, 220));' "$REPORTS/$suite.json" \
        || echo "   no report (see $REPORTS/$suite.stderr)"
done
echo "reports: $REPORTS"
