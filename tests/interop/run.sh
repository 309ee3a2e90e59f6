#!/usr/bin/env bash
# Interop harness: credentials zegel signs must verify in independent verifiers, not only in
# zegel's own code. CI entry point; see tests/interop/README.md.
#
#   tests/interop/run.sh            (from the repo root, after `cargo build`)
#
# Section 6 starts `zegel serve` on a free loopback port (temporary SQLite database and key) and
# verifies what it issues over HTTP; the server is stopped on exit.
#
# Environment:
#   ZEGEL             zegel binary (default: target/debug/zegel under the repo root)
#   ZEGEL_SHARED_DIR  the shared test data (default: ../shared beside the repo root)
#   INTEROP_SKIP_NPM_CI=1  reuse an existing tests/interop/node_modules (local iterations)
#
# Every expectation prints one line (ok / FAIL / GAP). Exit 0 only when none failed.
set -uo pipefail

# shellcheck source=tests/interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

FIXTURE=tests/fixtures/microcredential-unsigned.json
IMPL_KEY="$SHARED/testvectors/ob3-examples/1edtech-impl-guide/key.json"
IMPL_DID="did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
IMPL_VM="$IMPL_DID#${IMPL_DID#did:key:}"
TEST_DID="did:key:z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL"
TEST_VM="$TEST_DID#${TEST_DID#did:key:}"
TEST_RSA_KID="WND7RF6nBG1tHwUjDx8ztmXChNdyqjHrgQgMnLgyEeg"
CREATED=2026-07-01T10:00:00Z

# ---------------------------------------------------------------------------------------------
section "1. Open Badges micro-credential, eddsa-rdfc-2022, 1EdTech impl-guide key ($IMPL_DID)"
if sign "$TMP/mc.json" --key "$IMPL_KEY" --verification-method "$IMPL_VM" --created "$CREATED" "$FIXTURE"; then
    js_accepts "JS: @digitalbazaar/vc + DCC verifier-core accept it" --dcc "$TMP/mc.json"
    zegel_verify "zegel verify: valid" 0 "$TMP/mc.json"
fi

# ---------------------------------------------------------------------------------------------
section "2. W3C vc-di-eddsa test vector (eddsa-rdfc-2022)"
V="$SHARED/testvectors/eddsa-rdfc-2022"
if sign "$TMP/w3c.json" --key "$V/keyPair.json" \
        --verification-method "$(jget "$V/proofConfigDataInt.json" c.verificationMethod)" \
        --created "$(jget "$V/proofConfigDataInt.json" c.created)" "$V/unsigned.json"; then
    got="$(jget "$TMP/w3c.json" '[].concat(c.proof)[0].proofValue')"
    want="$(tr -d '[:space:]' < "$V/sigBTC58DataInt.txt")"
    if [[ "$got" == "$want" ]]; then ok "proofValue equals sigBTC58DataInt.txt ($want)"
    else bad "proofValue equals sigBTC58DataInt.txt" "got  $got"$'\n'"want $want"; fi
    # The vector's issuer (https://vc.example/issuers/5678) is not the did:key that signs it, so
    # vc.verifyCredential's issuer == controller rule cannot hold; check the proof itself.
    js_accepts "JS: jsonld-signatures + eddsa-rdfc-2022 accept the proof" --proof-only "$TMP/w3c.json"
    zegel_verify "zegel verify --any-credential: valid" 0 "$TMP/w3c.json" --any-credential
fi

# ---------------------------------------------------------------------------------------------
section "3. Fresh keys from 'zegel keys generate'"
mkdir -p "$TMP/keys"
if "$ZEGEL" keys generate --dir "$TMP/keys" --kind ed25519 --json > "$TMP/ed25519.json" 2>"$TMP/err"; then
    FRESH_DID="$(jget "$TMP/ed25519.json" c.did_key)"
    FRESH_KEY="$(jget "$TMP/ed25519.json" c.file)"
    FRESH_VM="$FRESH_DID#$(jget "$TMP/ed25519.json" c.key_id)"
    echo "        fresh key $FRESH_DID"
    jedit "$FIXTURE" "$TMP/fresh-unsigned.json" "c.issuer.id = '$FRESH_DID'"
    if sign "$TMP/fresh.json" --key "$FRESH_KEY" --verification-method "$FRESH_VM" "$TMP/fresh-unsigned.json"; then
        js_accepts "JS: @digitalbazaar/vc + DCC verifier-core accept it (issuer = fresh did:key)" --dcc "$TMP/fresh.json"
        zegel_verify "zegel verify: valid" 0 "$TMP/fresh.json"
    fi
    if sign "$TMP/fresh.jwt" --format jwt --key "$FRESH_KEY" --verification-method "$FRESH_VM" "$TMP/fresh-unsigned.json"; then
        js_accepts "JS: jose accepts the EdDSA VC-JWT with zegel's public_jwk" --jwk "$TMP/ed25519.json" "$TMP/fresh.jwt"
        zegel_verify "zegel verify: VC-JWT valid" 0 "$TMP/fresh.jwt"
    fi
else
    bad "zegel keys generate --kind ed25519" "$(cat "$TMP/err")"
fi
if "$ZEGEL" keys generate --dir "$TMP/keys" --kind rsa --json > "$TMP/rsa.json" 2>"$TMP/err"; then
    jedit "$FIXTURE" "$TMP/fresh-rsa-unsigned.json" "c.issuer.id = 'https://badges.example.edu'"
    if sign "$TMP/fresh-rs256.jwt" --format jwt --key "$(jget "$TMP/rsa.json" c.file)" \
            --verification-method "$(jget "$TMP/rsa.json" c.key_id)" "$TMP/fresh-rsa-unsigned.json"; then
        js_accepts "JS: jose accepts the RS256 VC-JWT with zegel's public_jwk (kid = its RFC 7638 thumbprint)" \
            --jwk "$TMP/rsa.json" "$TMP/fresh-rs256.jwt"
        jwks_of "$(jget "$TMP/rsa.json" c.file)" "$(jget "$TMP/rsa.json" c.key_id)" "$TMP/fresh-rsa.jwks"
        zegel_verify_rsa_jwt "zegel verify: fresh RS256 VC-JWT" "$TMP/fresh-rs256.jwt" "$TMP/fresh-rsa.jwks"
    fi
else
    bad "zegel keys generate --kind rsa" "$(cat "$TMP/err")"
fi

# ---------------------------------------------------------------------------------------------
section "4. Negative controls (must be rejected)"
if [[ -s "$TMP/mc.json" ]]; then
    jedit "$TMP/mc.json" "$TMP/tampered.json" \
        "c.credentialSubject.achievement.name = 'Doctor of Medicine'"
    js_rejects "JS: tampered achievement name rejected by both verifiers" 'signature' --dcc "$TMP/tampered.json"
    zegel_verify "zegel verify: tampered credential invalid" 1 "$TMP/tampered.json"

    jedit "$TMP/mc.json" "$TMP/undefined-after.json" \
        "c.credentialSubject.achievement.zegelUndefinedTerm = 'not in any @context'"
    js_rejects "JS: undefined term added after signing rejected (JSON-LD safe mode)" 'Safe mode' --dcc "$TMP/undefined-after.json"
    zegel_verify "zegel verify: undefined term invalid" 1 "$TMP/undefined-after.json"
fi
jedit "$FIXTURE" "$TMP/undefined-unsigned.json" \
    "c.credentialSubject.achievement.zegelUndefinedTerm = 'not in any @context'"
if err="$("$ZEGEL" credential sign --key "$IMPL_KEY" --verification-method "$IMPL_VM" \
        "$TMP/undefined-unsigned.json" 2>&1 >"$TMP/undefined-signed.json")"; then
    bad "zegel refuses to sign a credential with an undefined term (it signed it)"
    js_rejects "JS: ... and the JS verifiers reject what zegel signed" 'Safe mode' --dcc "$TMP/undefined-signed.json"
else
    ok "zegel refuses to sign a credential with an undefined term"
    printf '          %s\n' "$(head -c 200 <<<"$err")"
fi

# ---------------------------------------------------------------------------------------------
section "5. VC-JWT"
jedit "$FIXTURE" "$TMP/testkey-unsigned.json" "c.issuer.id = '$TEST_DID'"
if sign "$TMP/ed25519.jwt" --format jwt --key keys/test-ed25519.pem --verification-method "$TEST_VM" "$TMP/testkey-unsigned.json"; then
    js_accepts "JS: jose accepts EdDSA VC-JWT (key from the did:key kid)" "$TMP/ed25519.jwt"
    zegel_verify "zegel verify: EdDSA VC-JWT valid" 0 "$TMP/ed25519.jwt"
    # Tamper: change the payload, keep header and signature.
    node -e 'const [h, p, s] = require("fs").readFileSync(process.argv[1], "utf8").trim().split(".");
      const c = JSON.parse(Buffer.from(p, "base64url"));
      c.credentialSubject.achievement.name = "Doctor of Medicine";
      process.stdout.write([h, Buffer.from(JSON.stringify(c)).toString("base64url"), s].join("."));' \
        "$TMP/ed25519.jwt" > "$TMP/tampered.jwt"
    js_rejects "JS: jose rejects the tampered VC-JWT" 'signature verification failed' "$TMP/tampered.jwt"
    zegel_verify "zegel verify: tampered VC-JWT invalid" 1 "$TMP/tampered.jwt"
fi
jedit "$FIXTURE" "$TMP/rsa-unsigned.json" "c.issuer.id = 'https://badges.example.edu'"
if sign "$TMP/rs256.jwt" --format jwt --key keys/test-rsa.pem --verification-method "$TEST_RSA_KID" "$TMP/rsa-unsigned.json"; then
    js_accepts "JS: jose accepts RS256 VC-JWT (public JWK derived from keys/test-rsa.pem by Node crypto)" \
        --jwk keys/test-rsa.pem "$TMP/rs256.jwt"
    jwks_of keys/test-rsa.pem "$TEST_RSA_KID" "$TMP/test-rsa.jwks"
    zegel_verify_rsa_jwt "zegel verify: RS256 VC-JWT" "$TMP/rs256.jwt" "$TMP/test-rsa.jwks"
fi

# ---------------------------------------------------------------------------------------------
section "6. The service: zegel serve issues over HTTP; the credential verifies from its URL"
# Independent verifiers get only zegel's public endpoints: verify.mjs --server lets the document
# loader fetch from this server alone (context, status list), besides the bundled third-party
# contexts and did:key.
SVC="$TMP/service"
if start_zegel_server "$SVC"; then
    ok "zegel serve is ready at $SERVER_URL (SQLite database, fresh key, /ready polled)"
    SERVER_DID="$(jget "$SVC/key.json" c.did_key)"
    if service_env "$ZEGEL" clients create --name interop --scopes admin --json > "$SVC/client.json" 2>"$SVC/err"; then
        TOKEN="$(jget "$SVC/client.json" c.token)"
        ok "zegel clients create --json: a bearer token for the admin scope"
    else
        TOKEN=""
        bad "zegel clients create --json" "$(cat "$SVC/err")"
    fi
    cat > "$SVC/achievement.json" <<'JSON'
{"type": "micro_credential", "name": "Data Literacy for Professionals",
 "description": "Working with data in a professional context: collecting, cleaning, analysing and presenting.",
 "criteria": "Passed the written exam and the final assignment.",
 "learning_outcomes": ["Analyses a data set and reports the findings to a non-expert audience."],
 "ects": 5, "eqf_level": 6, "nlqf_level": "6", "assessment_type": ["written_exam"],
 "participation_type": ["blended"], "identity_checked": true, "assessment_supervised": true,
 "quality_assurance": {"name": "NVAO accreditation", "url": "https://example.org/qa",
                       "description": "The programme is accredited by the NVAO."},
 "language": "nl", "course_codes": ["MC-DATA-26"], "edubadges_badgeclass": "vqjqdus9RwGVlcvJ7KtDcQ"}
JSON
    cat > "$SVC/award.json" <<'JSON'
{"source_record_id": "osiris-2026-000123", "course_code": "MC-DATA-26",
 "learner": {"eppn": "1234567@uni.example.nl", "email": "sam@student.uni.example.nl", "given_name": "Zoë",
             "surname_prefix": "de", "surname": "Vries 🎓", "student_number": "1234567"},
 "result": {"grade": "8.5", "completed_on": "2026-06-30"}, "evidence_url": null}
JSON
    status="$(api POST /api/v1/achievements "$SVC/achievement.json" "$SVC/achievement.out")"
    if [[ "$status" == 201 ]]; then ok "POST /api/v1/achievements: 201 (version $(jget "$SVC/achievement.out" c.version))"
    else bad "POST /api/v1/achievements: HTTP $status, want 201" "$(cat "$SVC/achievement.out" 2>/dev/null)"; fi
    status="$(api POST /api/v1/awards "$SVC/award.json" "$SVC/award.out")"
    if [[ "$status" == 201 ]]; then
        CREDENTIAL_URL="$(jget "$SVC/award.out" c.credential_url)"
        JWT_URL="$(jget "$SVC/award.out" c.credential_jwt_url)"
        ok "POST /api/v1/awards: 201, credential at $CREDENTIAL_URL"
    else
        CREDENTIAL_URL=""
        bad "POST /api/v1/awards: HTTP $status, want 201" "$(cat "$SVC/award.out" 2>/dev/null; cat "$TMP/curl.err" 2>/dev/null)"
    fi
    if [[ -n "$CREDENTIAL_URL" ]] && fetch "$CREDENTIAL_URL" application/ld+json "$SVC/credential.json" \
            && fetch "$JWT_URL" application/vc+jwt "$SVC/credential.jwt"; then
        ok "fetched the credential from its URL (JSON-LD and .jwt)"
        ISSUER="$(jget "$SVC/credential.json" c.issuer.id)"
        if [[ "$ISSUER" == "$SERVER_DID" ]]; then ok "its issuer is the server's key ($ISSUER)"
        else bad "its issuer $ISSUER is the server's key $SERVER_DID"; fi
        js_accepts "JS: @digitalbazaar/vc + DCC accept it, loading only from the server (context, status list); DCC's revocation step finds the list" \
            --server "$SERVER_URL" --dcc "$SVC/credential.json"
        js_accepts "JS: jose accepts the VC-JWT (key from the did:key kid)" --server "$SERVER_URL" "$SVC/credential.jwt"
        if fetch "$SERVER_URL/.well-known/jwks.json" application/json "$SVC/jwks.json"; then
            node -e 'const fs = require("fs"); const jwks = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
              fs.writeFileSync(process.argv[2], JSON.stringify(jwks.keys[0]));' "$SVC/jwks.json" "$SVC/jwk.json"
            js_accepts "JS: jose accepts the VC-JWT with the key from the server's /.well-known/jwks.json" \
                --server "$SERVER_URL" --jwk "$SVC/jwk.json" "$SVC/credential.jwt"
        else
            bad "GET /.well-known/jwks.json"
        fi
        ACHIEVEMENT_URL="$(jget "$SVC/credential.json" c.credentialSubject.achievement.id)"
        if fetch "$ACHIEVEMENT_URL" application/ld+json "$SVC/achievement-published.json" \
                && [[ "$(jget "$SVC/achievement-published.json" c.name)" == "$(jget "$SVC/credential.json" c.credentialSubject.achievement.name)" ]]; then
            ok "the achievement the credential names is published at its id ($ACHIEVEMENT_URL)"
        else
            bad "the achievement the credential names is published at its id ($ACHIEVEMENT_URL)"
        fi
        # One revocation and one suspension entry, each with its own list.
        LIST_URL="$(jget "$SVC/credential.json" '[].concat(c.credentialStatus)[0].statusListCredential')"
        SUSPENSION_URL="$(jget "$SVC/credential.json" '[].concat(c.credentialStatus)[1].statusListCredential')"
        if fetch "$LIST_URL" application/vc+ld+json "$SVC/status-list.json" \
                && fetch "$SUSPENSION_URL" application/vc+ld+json "$SVC/suspension-list.json"; then
            LISTS=(--status-list "$LIST_URL=$SVC/status-list.json" --status-list "$SUSPENSION_URL=$SVC/suspension-list.json")
            zegel_verify "zegel verify --require-status (status lists fetched from $LIST_URL, $SUSPENSION_URL): valid" 0 \
                "$SVC/credential.json" --require-status "${LISTS[@]}"
            zegel_verify "zegel verify --require-status: the VC-JWT is valid" 0 \
                "$SVC/credential.jwt" --require-status "${LISTS[@]}"
        else
            bad "GET $LIST_URL and $SUSPENSION_URL (the credential's status lists)"
        fi
        # Controls: the served bytes changed, and a loader that may not reach this server.
        jedit "$SVC/credential.json" "$SVC/tampered.json" "c.credentialSubject.achievement.name = 'Doctor of Medicine'"
        js_rejects "JS: the fetched credential, tampered, is rejected by both verifiers" 'signature' \
            --server "$SERVER_URL" --dcc "$SVC/tampered.json"
        js_rejects "JS: without the server (another origin allowed) zegel's context cannot be loaded" \
            'InvalidUrl|signature|refuses' --server "http://127.0.0.1:9" --dcc "$SVC/credential.json"
    elif [[ -n "$CREDENTIAL_URL" ]]; then
        bad "fetch $CREDENTIAL_URL"
    fi

    # The lifecycle as independent Bitstring Status List implementations see it: DCC's
    # (@digitalcredentials/vc-bitstring-status-list inside verifier-core) and the harness's own
    # reading of the list beside @digitalbazaar/vc read the lists zegel publishes after a change.
    if [[ -n "$CREDENTIAL_URL" ]]; then
        CREDENTIAL_ID="${CREDENTIAL_URL##*/}"
        echo '{"reason": "Examination board decision 2026-117 (interop)"}' > "$SVC/reason.json"
        status="$(api POST "/api/v1/credentials/$CREDENTIAL_ID/revoke" "$SVC/reason.json" "$SVC/revoke.out")"
        if [[ "$status" == 200 ]]; then
            ok "POST /api/v1/credentials/{id}/revoke: 200 ($(jget "$SVC/revoke.out" c.message))"
            js_rejects "JS: after the revocation, both verifiers read the revocation bit from zegel's list" \
                'revocation' --server "$SERVER_URL" --dcc "$SVC/credential.json"
            if fetch "$LIST_URL" application/vc+ld+json "$SVC/status-list.json"; then
                zegel_verify "zegel verify with the list fetched after the revocation: invalid" 1 \
                    "$SVC/credential.json" --require-status "${LISTS[@]}"
            else
                bad "GET $LIST_URL after the revocation"
            fi
        else
            bad "POST /api/v1/credentials/{id}/revoke: HTTP $status, want 200" "$(cat "$SVC/revoke.out" 2>/dev/null)"
        fi
        jedit "$SVC/award.json" "$SVC/award2.json" "c.source_record_id = 'osiris-2026-000124'"
        status="$(api POST /api/v1/awards "$SVC/award2.json" "$SVC/award2.out")"
        SECOND_URL="$(jget "$SVC/award2.out" c.credential_url 2>/dev/null)"
        if [[ "$status" == 201 ]] && fetch "$SECOND_URL" application/ld+json "$SVC/credential2.json" \
                && [[ "$(api POST "/api/v1/credentials/${SECOND_URL##*/}/suspend" "$SVC/reason.json" "$SVC/suspend.out")" == 200 ]]; then
            ok "a second award, suspended: POST /api/v1/credentials/{id}/suspend: 200"
            js_rejects "JS: after the suspension, both verifiers read the suspension bit from zegel's list" \
                'suspension' --server "$SERVER_URL" --dcc "$SVC/credential2.json"
            api POST "/api/v1/credentials/${SECOND_URL##*/}/unsuspend" "$SVC/reason.json" "$SVC/unsuspend.out" >/dev/null
            js_accepts "JS: unsuspended, both verifiers accept it again" --server "$SERVER_URL" --dcc "$SVC/credential2.json"
        else
            bad "issue and suspend a second award" "$(cat "$SVC/award2.out" "$SVC/suspend.out" 2>/dev/null)"
        fi
    fi
    stop_zegel_server
fi

# ---------------------------------------------------------------------------------------------
section "7. The W3C VC-API: what zegel issues, Digital Bazaar verifies; what Digital Bazaar signs, zegel verifies"
# POST /credentials/issue signs a generic credential (VC 2.0 and 1.1) with the server's key and a
# status entry in its own list; @digitalbazaar/vc (and DCC) must accept it, loading only from the
# server. sign.mjs signs credentials, a proof set and a presentation with Digital Bazaar's stack;
# zegel's public verify endpoints must accept them (200, verified) and refuse them tampered.
VCA="$TMP/vc-api"
# verify_at PATH BODY-FILE OUT : POST a public VC-API verify endpoint; prints the HTTP status.
verify_at() {
    curl -sS --noproxy '*' -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "@$2" "$SERVER_URL$1" 2>>"$TMP/curl.err"
}
# expect_verify NAME PATH MEMBER FILE STATUS [OPTIONS-JSON] : wraps FILE as {MEMBER: …, options}, posts
# it to PATH and expects STATUS (and verified: true exactly when it is 200).
expect_verify() {
    local name="$1" path="$2" member="$3" file="$4" want="$5" options="${6:-}" got verified pass=false
    [[ -n "$options" ]] || options='{}'
    node -e 'const fs = require("fs");
      fs.writeFileSync(process.argv[3], JSON.stringify({[process.argv[1]]: JSON.parse(fs.readFileSync(process.argv[2], "utf8")),
        options: JSON.parse(process.argv[4])}));' "$member" "$file" "$file.request" "$options"
    got="$(verify_at "$path" "$file.request" "$file.result")"
    verified="$(jget "$file.result" c.verified 2>/dev/null)"
    if [[ "$want" == 200 ]]; then
        [[ "$got" == 200 && "$verified" == true ]] && pass=true
    else
        [[ "$got" == "$want" && "$verified" == false ]] && pass=true
    fi
    if [[ "$pass" == true ]]; then
        ok "$name: HTTP $got, verified $verified"
    else
        bad "$name: HTTP $got (verified $verified), want $want" "$(head -c 600 "$file.result" 2>/dev/null)"
    fi
}
if start_zegel_server "$VCA"; then
    SERVER_DID="$(jget "$VCA/key.json" c.did_key)"
    ok "zegel serve is ready at $SERVER_URL (issuer $SERVER_DID)"
    if service_env "$ZEGEL" clients create --name vc-api --scopes credentials:issue,credentials:status --json \
            > "$VCA/client.json" 2>"$VCA/err"; then
        TOKEN="$(jget "$VCA/client.json" c.token)"
        ok "zegel clients create --scopes credentials:issue,credentials:status"
    else
        TOKEN=""
        bad "zegel clients create --scopes credentials:issue,credentials:status" "$(cat "$VCA/err")"
    fi
    cat > "$VCA/issue-v2.json" <<JSON
{"credential": {"@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
  "id": "urn:uuid:2b8f7c1e-5d3a-4f6b-9e0c-7a1d2c3b4e5f", "type": ["VerifiableCredential", "ExampleAlumniCredential"],
  "issuer": "$SERVER_DID", "validFrom": "2026-01-01T00:00:00Z",
  "credentialSubject": {"id": "did:example:alice", "alumniOf": "Hogeschool Zegel", "score": 5.0}},
 "options": {"statusPurpose": ["revocation", "suspension"]}}
JSON
    cat > "$VCA/issue-v1.json" <<JSON
{"credential": {"@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/examples/v2"],
  "id": "urn:uuid:6c1e9a0d-3b2f-4e5a-8d7c-1f0e2d3c4b5a", "type": ["VerifiableCredential", "ExampleAlumniCredential"],
  "issuer": "$SERVER_DID", "issuanceDate": "2026-01-01T00:00:00Z",
  "credentialSubject": {"id": "did:example:alice", "alumniOf": "Hogeschool Zegel"}}}
JSON
    for version in v2 v1; do
        status="$(api POST /credentials/issue "$VCA/issue-$version.json" "$VCA/issued-$version.out")"
        if [[ "$status" == 201 ]]; then
            node -e 'const fs = require("fs"); const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
              fs.writeFileSync(process.argv[2], JSON.stringify(r.verifiableCredential, null, 2));' \
                "$VCA/issued-$version.out" "$VCA/vc-$version.json"
            ok "POST /credentials/issue ($version): 201, proof by $(jget "$VCA/vc-$version.json" c.proof.verificationMethod)"
        else
            bad "POST /credentials/issue ($version): HTTP $status, want 201" "$(cat "$VCA/issued-$version.out" 2>/dev/null)"
        fi
    done
    if [[ -s "$VCA/vc-v2.json" ]]; then
        js_accepts "JS: @digitalbazaar/vc + DCC accept the VC 2.0 credential POST /credentials/issue made (its status lists from the server)" \
            --server "$SERVER_URL" --dcc "$VCA/vc-v2.json"
        expect_verify "POST /credentials/verify: zegel's own VC-API credential" /credentials/verify verifiableCredential "$VCA/vc-v2.json" 200
    fi
    if [[ -s "$VCA/vc-v1.json" ]]; then
        js_accepts "JS: @digitalbazaar/vc accepts the VC 1.1 credential (data-integrity context added)" --server "$SERVER_URL" "$VCA/vc-v1.json"
        expect_verify "POST /credentials/verify: the VC 1.1 credential" /credentials/verify verifiableCredential "$VCA/vc-v1.json" 200
    fi

    # Signed by Digital Bazaar's stack.
    if node "$HERE/sign.mjs" key "$VCA/key1.json" 2>"$VCA/err" && node "$HERE/sign.mjs" key "$VCA/key2.json" 2>>"$VCA/err"; then
        cat > "$VCA/unsigned.json" <<'JSON'
{"@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
 "id": "urn:uuid:9a0b3f52-1c77-4c9e-8d1e-6b3f0c2a4e11", "type": ["VerifiableCredential", "ExampleAlumniCredential"],
 "validFrom": "2026-01-01T00:00:00Z",
 "credentialSubject": {"id": "did:example:alice", "alumniOf": "The School of Examples", "score": 5.5}}
JSON
        jedit "$VCA/unsigned.json" "$VCA/unsigned-v1.json" \
            "c['@context'] = ['https://www.w3.org/2018/credentials/v1', 'https://www.w3.org/ns/credentials/examples/v2', 'https://w3id.org/security/data-integrity/v2']; delete c.validFrom; c.issuanceDate = '2026-01-01T00:00:00Z'"
        if node "$HERE/sign.mjs" credential "$VCA/key1.json" "$VCA/unsigned.json" "$VCA/db.json" 2>"$VCA/err" \
                && node "$HERE/sign.mjs" again "$VCA/key2.json" "$VCA/db.json" "$VCA/db-set.json" 2>>"$VCA/err" \
                && node "$HERE/sign.mjs" credential "$VCA/key1.json" "$VCA/unsigned-v1.json" "$VCA/db-v1.json" 2>>"$VCA/err"; then
            ok "sign.mjs: Digital Bazaar signed a VC 2.0 credential, a proof set of two keys, a VC 1.1 credential"
            expect_verify "POST /credentials/verify: Digital Bazaar's VC 2.0 credential" /credentials/verify verifiableCredential "$VCA/db.json" 200
            expect_verify "POST /credentials/verify: Digital Bazaar's proof set" /credentials/verify verifiableCredential "$VCA/db-set.json" 200
            expect_verify "POST /credentials/verify: Digital Bazaar's VC 1.1 credential" /credentials/verify verifiableCredential "$VCA/db-v1.json" 200
            jedit "$VCA/db.json" "$VCA/db-tampered.json" "c.credentialSubject.score = 9.5"
            expect_verify "POST /credentials/verify: Digital Bazaar's credential, tampered, refused" /credentials/verify verifiableCredential "$VCA/db-tampered.json" 422
            jedit "$VCA/db-set.json" "$VCA/db-set-broken.json" "c.proof[1].proofValue = c.proof[0].proofValue"
            expect_verify "POST /credentials/verify: a proof set with one bad proof, refused" /credentials/verify verifiableCredential "$VCA/db-set-broken.json" 422
            # A presentation by the second key holding zegel's and Digital Bazaar's credentials.
            node -e 'const fs = require("fs"); const read = f => JSON.parse(fs.readFileSync(f, "utf8"));
              fs.writeFileSync(process.argv[1], JSON.stringify({"@context": ["https://www.w3.org/ns/credentials/v2"],
                type: ["VerifiablePresentation"], verifiableCredential: process.argv.slice(2).map(read)}));' \
                "$VCA/vp.json" "$VCA/db.json" "$VCA/vc-v2.json"
            if node "$HERE/sign.mjs" presentation "$VCA/key2.json" "$VCA/vp.json" "$VCA/vp-signed.json" c-2026 verifier.example 2>"$VCA/err"; then
                local_options='{"challenge": "c-2026", "domain": "verifier.example"}'
                expect_verify "POST /presentations/verify: Digital Bazaar's signed presentation (authentication, challenge, domain)" \
                    /presentations/verify verifiablePresentation "$VCA/vp-signed.json" 200 "$local_options"
                expect_verify "POST /presentations/verify: the same with another challenge, refused" \
                    /presentations/verify verifiablePresentation "$VCA/vp-signed.json" 422 '{"challenge": "other", "domain": "verifier.example"}'
            else
                bad "sign.mjs presentation" "$(cat "$VCA/err")"
            fi
        else
            bad "sign.mjs (Digital Bazaar signing)" "$(cat "$VCA/err")"
        fi
    else
        bad "sign.mjs key" "$(cat "$VCA/err")"
    fi

    # Revocation through POST /credentials/status, as the independent verifiers and zegel see it.
    if [[ -s "$VCA/vc-v2.json" ]]; then
        echo '{"credentialId": "urn:uuid:2b8f7c1e-5d3a-4f6b-9e0c-7a1d2c3b4e5f", "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, "status": true}' \
            > "$VCA/revoke.json"
        status="$(api POST /credentials/status "$VCA/revoke.json" "$VCA/revoke.out")"
        if [[ "$status" == 200 ]]; then
            ok "POST /credentials/status: 200 ($(jget "$VCA/revoke.out" c.message))"
            js_rejects "JS: after the revocation, both verifiers read the revocation bit from zegel's list" \
                'revocation' --server "$SERVER_URL" --dcc "$VCA/vc-v2.json"
            expect_verify "POST /credentials/verify: the revoked credential, refused" /credentials/verify verifiableCredential "$VCA/vc-v2.json" 422
        else
            bad "POST /credentials/status: HTTP $status, want 200" "$(cat "$VCA/revoke.out" 2>/dev/null)"
        fi
    fi
    stop_zegel_server
fi

# ---------------------------------------------------------------------------------------------
summary
