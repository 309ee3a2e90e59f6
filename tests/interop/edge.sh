#!/usr/bin/env bash
# Edge cases (tests/interop/edge-cases.json): for each, zegel must either refuse to sign, or
# sign something that the JS verifier accepts, that zegel verify accepts, and whose tampered
# copy both reject. Not part of run.sh: it lists known interop bugs (see README.md) and fails
# until they are fixed.
#
#   tests/interop/edge.sh [CASE-NAME…]     (from the repo root, after `cargo build`)
#
# Same environment as run.sh (ZEGEL, ZEGEL_SHARED_DIR, INTEROP_SKIP_NPM_CI).
set -uo pipefail

# shellcheck source=tests/interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

IMPL_KEY="$SHARED/testvectors/ob3-examples/1edtech-impl-guide/key.json"
IMPL_DID="did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
TEST_DID="did:key:z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL"

# Writes $TMP/edge/<name>/{unsigned.json,why.txt,tamper.js} for each selected case.
node - "$HERE/edge-cases.json" tests/fixtures/microcredential-unsigned.json "$TMP/edge" "$@" <<'EOF'
const fs = require('fs');
const [casesFile, fixture, outDir, ...only] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
const bases = {ob: JSON.parse(fs.readFileSync(fixture, 'utf8')), vc: spec.vc};
for(const k of spec.cases) {
  if(only.length && !only.includes(k.name)) continue;
  const c = structuredClone(bases[k.base]);
  if(k.edit) new Function('c', k.edit)(c);
  let text = JSON.stringify(c, null, 2) + '\n';
  if(k.raw) {
    if(!text.includes(k.raw[0])) throw new Error(`${k.name}: raw text not found`);
    text = text.replace(k.raw[0], k.raw[1]);
  }
  const dir = `${outDir}/${k.name}`;
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(`${dir}/unsigned.json`, text);
  fs.writeFileSync(`${dir}/base`, k.base);
  fs.writeFileSync(`${dir}/why.txt`, k.why ?? '');
  if(k.tamper) fs.writeFileSync(`${dir}/tamper.js`, k.tamper);
}
EOF
[[ -d "$TMP/edge" ]] || die "no such case: $*"

for dir in "$TMP"/edge/*/; do
    dir="${dir%/}"; name="$(basename "$dir")"
    section "$name — $(cat "$dir/why.txt")"
    if [[ "$(cat "$dir/base")" == ob ]]; then
        keyargs=(--key "$IMPL_KEY" --verification-method "$IMPL_DID#${IMPL_DID#did:key:}"); vopts=()
    else
        keyargs=(--key keys/test-ed25519.pem --verification-method "$TEST_DID#${TEST_DID#did:key:}")
        vopts=(--any-credential)
    fi
    if ! err="$("$ZEGEL" credential sign "${keyargs[@]}" "$dir/unsigned.json" 2>&1 >"$dir/signed.json")"; then
        if js="$(node "$HERE/canon.mjs" "$dir/unsigned.json" 2>&1 >/dev/null)"; then
            ok "zegel refuses to sign it (jsonld.js would canonicalise it): $(head -c 160 <<<"$err")"
        else
            ok "zegel and jsonld.js both refuse it: $(head -c 160 <<<"$err")"
        fi
        continue
    fi
    js_accepts "JS accepts what zegel signed" "$dir/signed.json"
    zegel_verify "zegel verify: valid" 0 "$dir/signed.json" "${vopts[@]}"
    if [[ -f "$dir/tamper.js" ]]; then
        jedit "$dir/signed.json" "$dir/tampered.json" "$(cat "$dir/tamper.js")"
        js_rejects "JS rejects the tampered copy ($(cat "$dir/tamper.js"))" '.' "$dir/tampered.json"
        zegel_verify "zegel verify: tampered copy invalid" 1 "$dir/tampered.json" "${vopts[@]}"
    fi
done

summary
