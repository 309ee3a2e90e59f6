#!/usr/bin/env node
// Verifies credentials with independent JavaScript verifiers, fully offline.
//
//   node verify.mjs [--server URL] [--dcc] [--proof-only] [--jwk FILE] FILE...
//
// Each FILE is either a JSON credential with an embedded Data Integrity proof, or a compact
// VC-JWT. Per file: "PASS <file> [kind]" or "FAIL <file> [kind]", then one indented line per
// verifier run on it ("<verifier>: accepted: …" or "<verifier>: REJECTED: <reason>"); a file
// passes only if every verifier accepts it. Exit 0 only when every file passes (1 if any
// fails, 2 on a usage error).
//
//   Data Integrity: Digital Bazaar's @digitalbazaar/vc verifyCredential with DataIntegrityProof +
//     the eddsa-rdfc-2022 cryptosuite (JSON-LD safe mode), plus an explicit safe-mode
//     jsonld.expand so an undefined term is reported as such.
//   --proof-only: check the Data Integrity proofs only (jsonld-signatures with a plain
//     AssertionProofPurpose: the VM must be an assertionMethod of its controller) instead of
//     vc.verifyCredential, which also requires issuer == VM controller. For the W3C vector,
//     whose issuer (https://vc.example/issuers/5678) is not the did:key that signed it.
//   --dcc: also run the Digital Credentials Consortium verifier (@digitalcredentials/
//     verifier-core) on each Data Integrity file and require its signature step to pass. See
//     dcc.mjs for how it is kept offline.
//   --server URL: the credentials come from the zegel server at URL, and the document loader may
//     fetch from that server (and only from it; see loader.mjs): zegel's context, status lists,
//     achievements. Revocation status is then checked for real: @digitalbazaar/vc gets a
//     BitstringStatusList check (the list fetched from the server, its own proof verified, its
//     issuer = the credential's, the bit at statusListIndex clear), and DCC's revocation step
//     must pass.
//   VC-JWT: jose compactVerify with the public key from the preceding `--jwk FILE` (a public
//     JWK, `zegel keys generate --json` output, or a PEM private/public key), or else resolved
//     from a did:key `kid`; then the OB 3.0 claim checks (iss, jti, nbf, sub, exp) against the
//     credential in the payload, and a safe-mode expansion of that credential.
//
// The document loader (loader.mjs) serves only bundled contexts and did:key; it never fetches,
// except from the one --server.

import {readFileSync} from 'node:fs';
import {createPrivateKey, createPublicKey} from 'node:crypto';
import {gunzipSync} from 'node:zlib';
import * as vc from '@digitalbazaar/vc';
import jsigs from 'jsonld-signatures';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import jsonld from 'jsonld';
import * as jose from 'jose';
import {documentLoader, fetchedFromServer, resolveDidKey, serverOrigin, useServer} from './loader.mjs';

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// JWT registered claims that sit beside the credential in an OB 3.0 VC-JWT payload.
const JWT_CLAIMS = ['iss', 'jti', 'sub', 'nbf', 'exp', 'iat', 'aud'];

class Fail extends Error {}

function usage(message) {
  if(message) {
    console.error(`verify.mjs: ${message}`);
  }
  console.error('usage: node verify.mjs [--server URL] [--dcc] [--proof-only] [--jwk FILE] FILE... ' +
    '(--jwk applies to the JWT files after it)');
  process.exit(2);
}

function errorText(error) {
  if(!error) {
    return 'unknown error';
  }
  if(Array.isArray(error)) {
    return error.map(errorText).join('; ');
  }
  if(Array.isArray(error.errors) && error.errors.length) {
    return error.errors.map(errorText).join('; ');
  }
  let text = `${error.name && error.name !== 'Error' ? error.name + ': ' : ''}` +
    `${error.message || String(error)}`;
  const details = error.details;
  if(details && typeof details === 'object') {
    // jsonld.js safe-mode errors carry the JSON-LD event that triggered them.
    const event = details.event;
    const d = {...details, ...(event?.details ?? {})};
    const interesting = [];
    if(event?.code) {
      interesting.push(`${event.code}: ${event.message}`);
    }
    for(const k of ['term', 'property', 'type', 'typeIri', 'value', 'url']) {
      if(d[k] !== undefined && typeof d[k] !== 'object') {
        interesting.push(`${k}=${JSON.stringify(d[k])}`);
      }
    }
    if(interesting.length) {
      text += ` (${interesting.join(', ')})`;
    }
  }
  if(error.cause && error.cause !== error) {
    text += ` <- ${errorText(error.cause)}`;
  }
  return text;
}

function issuerId(credential) {
  const {issuer} = credential;
  return typeof issuer === 'string' ? issuer : issuer?.id;
}

function subjectIds(credential) {
  const subjects = [].concat(credential.credentialSubject ?? []);
  return subjects.map(s => s?.id).filter(id => id !== undefined);
}

async function expandSafe(document) {
  try {
    await jsonld.expand(document, {documentLoader, safe: true, base: null});
  } catch(e) {
    throw new Fail(`JSON-LD safe mode rejects it: ${errorText(e)}`);
  }
}

// ---- Status (server mode) ----------------------------------------------------------------

// Checks every BitstringStatusListEntry of `credential` against the list credential the zegel
// server publishes. Returns {verified, notes}; a list that cannot be had or checked throws.
async function checkBitstringStatus(credential, suite) {
  const notes = [];
  for(const entry of [].concat(credential.credentialStatus ?? [])) {
    if(entry.type !== 'BitstringStatusListEntry') {
      throw new Fail(`status type ${JSON.stringify(entry.type)} is not BitstringStatusListEntry`);
    }
    const url = entry.statusListCredential;
    const {document: list} = await documentLoader(url);
    const listResult = await vc.verifyCredential({
      credential: structuredClone(list), suite, documentLoader,
      checkStatus: async () => ({verified: true})
    });
    if(!listResult.verified) {
      throw new Fail(`status list ${url} does not verify: ${errorText(listResult.error)}`);
    }
    if(list.id !== url) {
      throw new Fail(`status list at ${url} has id ${JSON.stringify(list.id)}`);
    }
    if(issuerId(list) !== issuerId(credential)) {
      throw new Fail(`status list issuer ${issuerId(list)} != credential issuer ${issuerId(credential)}`);
    }
    const subject = list.credentialSubject ?? {};
    if(subject.type !== 'BitstringStatusList' || subject.statusPurpose !== entry.statusPurpose) {
      throw new Fail(`status list ${url} is a ${subject.type} for ${subject.statusPurpose}, ` +
        `not a BitstringStatusList for ${entry.statusPurpose}`);
    }
    if(typeof subject.encodedList !== 'string' || !subject.encodedList.startsWith('u')) {
      throw new Fail(`status list ${url}: encodedList is not multibase base64url`);
    }
    const bits = gunzipSync(Buffer.from(subject.encodedList.slice(1), 'base64url'));
    const index = Number(entry.statusListIndex);
    if(!Number.isSafeInteger(index) || index < 0 || index >= bits.length * 8) {
      throw new Fail(`statusListIndex ${entry.statusListIndex} is outside the list (${bits.length * 8} entries)`);
    }
    // Bit 0 is the left-most bit of the first byte.
    if((bits[index >> 3] >> (7 - (index & 7))) & 1) {
      return {verified: false, error: new Fail(`${entry.statusPurpose}: bit ${index} of ${url} is set`)};
    }
    notes.push(`${entry.statusPurpose} bit ${index} of ${url} is clear (${bits.length * 8} entries, ` +
      'list proof verified)');
  }
  return {verified: true, notes};
}

// ---- Data Integrity ----------------------------------------------------------------------

let dcc; // loaded lazily, only with --dcc

// Runs one verifier; returns {name, ok, text}. A throw (Fail or otherwise) is a rejection.
async function run(name, fn) {
  try {
    return {name, ok: true, text: await fn()};
  } catch(e) {
    const text = e instanceof Fail ? e.message : `unexpected error: ${e.stack || e}`;
    return {name, ok: false, text};
  }
}

async function verifyDataIntegrity(credential, {useDcc, proofOnly}) {
  const proofs = [].concat(credential.proof ?? []);
  if(proofs.length === 0) {
    throw new Fail('no embedded proof');
  }
  for(const proof of proofs) {
    if(proof.type !== 'DataIntegrityProof' || proof.cryptosuite !== 'eddsa-rdfc-2022') {
      throw new Fail(`unexpected proof ${proof.type}/${proof.cryptosuite}`);
    }
  }
  const by = proofs.map(p => p.verificationMethod).join(', ');
  const verdicts = [];
  // Digital Bazaar stack: explicit safe-mode expansion, then the proof(s).
  verdicts.push(await run(proofOnly ? 'jsonld-signatures' : '@digitalbazaar/vc', async () => {
    await expandSafe(credential);
    const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
    if(proofOnly) {
      const result = await jsigs.verify(credential, {
        suite, documentLoader, purpose: new jsigs.purposes.AssertionProofPurpose()
      });
      if(!result.verified) {
        throw new Fail(errorText(result.error) || 'not verified');
      }
      return `${proofs.length} eddsa-rdfc-2022 proof(s) by ${by} verified ` +
        '(proof only: issuer not checked)';
    }
    let statusSeen = false;
    let statusNotes = [];
    const result = await vc.verifyCredential({
      credential: structuredClone(credential),
      suite,
      documentLoader,
      // Offline, status lists are not dereferenced (say so in the output); with --server they
      // are fetched from the server and checked.
      checkStatus: async () => {
        statusSeen = true;
        if(!serverOrigin()) {
          return {verified: true};
        }
        const status = await checkBitstringStatus(credential, suite);
        statusNotes = status.notes ?? [];
        return status;
      }
    });
    if(!result.verified) {
      const reasons = [];
      if(result.error) {
        reasons.push(errorText(result.error));
      }
      for(const r of result.results ?? []) {
        if(!r.verified && r.error) {
          reasons.push(errorText(r.error));
        }
      }
      // @digitalbazaar/vc reports a failed status check apart from the proofs.
      if(result.statusResult && !result.statusResult.verified) {
        reasons.push(`status: ${errorText(result.statusResult.error) || 'not verified'}`);
      }
      throw new Fail([...new Set(reasons)].join('; ') || 'not verified');
    }
    if(serverOrigin() && credential.credentialStatus && !statusNotes.length) {
      throw new Fail('the credential has a status but it was not checked');
    }
    const status = serverOrigin() ? statusNotes.map(n => `, status: ${n}`).join('') :
      (statusSeen ? ', status not checked (offline)' : '');
    return `${proofs.length} eddsa-rdfc-2022 proof(s) by ${by} verified, issuer = controller` + status;
  }));
  if(useDcc) {
    verdicts.push(await run('DCC verifier-core', async () => {
      dcc ??= await import('./dcc.mjs');
      const verdict = await dcc.verifyWithDcc(credential, {requireStatus: Boolean(serverOrigin())});
      if(!verdict.ok) {
        throw new Fail(verdict.reason);
      }
      return verdict.summary;
    }));
  }
  return verdicts;
}

// ---- VC-JWT ------------------------------------------------------------------------------

function loadPublicJwk(file) {
  const text = readFileSync(file, 'utf8');
  if(text.includes('-----BEGIN')) {
    const key = text.includes('PRIVATE KEY') ?
      createPublicKey(createPrivateKey(text)) : createPublicKey(text);
    return key.export({format: 'jwk'});
  }
  let jwk = JSON.parse(text);
  if(jwk.public_jwk) { // `zegel keys generate --json` output
    jwk = jwk.public_jwk;
  }
  if(!jwk.kty) {
    throw new Error(`${file}: not a JWK`);
  }
  if(jwk.d !== undefined) {
    throw new Error(`${file}: a private JWK; give the public key`);
  }
  return jwk;
}

async function jwkForKid(kid) {
  if(typeof kid !== 'string' || !kid.startsWith('did:key:')) {
    throw new Fail(`no --jwk given and kid ${JSON.stringify(kid)} is not a did:key`);
  }
  const vm = await resolveDidKey(kid);
  if(!vm.publicKeyMultibase) {
    throw new Fail(`kid ${kid} does not resolve to a verification method`);
  }
  const keyPair = await Ed25519Multikey.from(vm);
  return Ed25519Multikey.toJwk({keyPair});
}

async function verifyJwt(jwt, {jwk}) {
  let header;
  try {
    header = jose.decodeProtectedHeader(jwt);
  } catch(e) {
    throw new Fail(`bad JOSE header: ${e.message}`);
  }
  const {alg, kid, typ} = header;
  if(alg !== 'EdDSA' && alg !== 'RS256') {
    throw new Fail(`alg ${JSON.stringify(alg)} is neither EdDSA nor RS256`);
  }
  if(typ !== undefined && typ !== 'JWT') {
    throw new Fail(`typ ${JSON.stringify(typ)} (OB 3.0: if present, MUST be "JWT")`);
  }
  if(header.jwk?.d !== undefined) {
    throw new Fail('header jwk contains a private key');
  }
  const notes = [];
  let publicJwk = jwk;
  if(!publicJwk) {
    publicJwk = await jwkForKid(kid);
    notes.push('key from did:key kid');
  } else if(typeof kid === 'string' && !kid.includes(':')) {
    // A bare key id (zegel uses the RFC 7638 thumbprint for RSA keys): it must name the key.
    const thumbprint = await jose.calculateJwkThumbprint(publicJwk, 'sha256');
    if(kid !== thumbprint) {
      throw new Fail(`kid ${kid} is not the RFC 7638 thumbprint ${thumbprint} of the given key`);
    }
    notes.push('kid = RFC 7638 thumbprint of the given JWK');
  }
  let payloadBytes;
  try {
    const key = await jose.importJWK(publicJwk, alg);
    ({payload: payloadBytes} = await jose.compactVerify(jwt, key, {algorithms: [alg]}));
  } catch(e) {
    throw new Fail(`jose compactVerify: ${e.code ? e.code + ': ' : ''}${e.message}`);
  }
  let payload;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(payloadBytes));
  } catch(e) {
    throw new Fail(`payload is not UTF-8 JSON: ${e.message}`);
  }
  // OB 3.0 VC-JWT: the payload is the credential itself plus claims (VC 1.1 style `vc` claim
  // also accepted, as the spec asks of verifiers).
  const credential = payload.vc && typeof payload.vc === 'object' ?
    payload.vc : Object.fromEntries(
      Object.entries(payload).filter(([k]) => !JWT_CLAIMS.includes(k)));
  const iss = issuerId(credential);
  if(payload.iss !== iss) {
    throw new Fail(`iss ${JSON.stringify(payload.iss)} != issuer.id ${JSON.stringify(iss)}`);
  }
  if(payload.jti !== credential.id) {
    throw new Fail(`jti ${JSON.stringify(payload.jti)} != id ${JSON.stringify(credential.id)}`);
  }
  const validFrom = credential.validFrom ?? credential.issuanceDate;
  const expectedNbf = Math.floor(Date.parse(validFrom) / 1000);
  if(!Number.isFinite(expectedNbf) || payload.nbf !== expectedNbf) {
    throw new Fail(`nbf ${payload.nbf} != validFrom ${validFrom} (${expectedNbf})`);
  }
  if(payload.nbf > Date.now() / 1000 + 300) {
    throw new Fail(`nbf ${payload.nbf} is in the future`);
  }
  const subs = subjectIds(credential);
  if(subs.length ? payload.sub !== subs[0] : payload.sub !== undefined) {
    throw new Fail(`sub ${JSON.stringify(payload.sub)} != credentialSubject.id ` +
      `${JSON.stringify(subs[0])}`);
  }
  const validUntil = credential.validUntil ?? credential.expirationDate;
  if(validUntil !== undefined) {
    const expectedExp = Math.floor(Date.parse(validUntil) / 1000);
    if(payload.exp !== expectedExp) {
      throw new Fail(`exp ${payload.exp} != validUntil ${validUntil} (${expectedExp})`);
    }
    if(payload.exp < Date.now() / 1000 - 300) {
      throw new Fail(`expired (exp ${payload.exp})`);
    }
  } else if(payload.exp !== undefined) {
    throw new Fail(`exp ${payload.exp} without validUntil`);
  }
  if(typeof kid === 'string' && kid.startsWith('did:')) {
    const controller = kid.split('#')[0];
    if(controller !== iss) {
      throw new Fail(`kid controller ${controller} != iss ${iss}`);
    }
  }
  await expandSafe(credential);
  return [`${alg} signature verified`, ...notes, 'iss/jti/nbf/sub/exp match the credential',
    'credential expands in JSON-LD safe mode'].join(', ');
}

// ---- main --------------------------------------------------------------------------------

async function verifyFile(file, options) {
  let text;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8').trim();
  } catch(e) {
    throw new Fail(`cannot read: ${e.message}`);
  }
  if(JWT_RE.test(text)) {
    return {kind: 'VC-JWT', verdicts: [await run('jose', () => verifyJwt(text, options))]};
  }
  let credential;
  try {
    credential = JSON.parse(text);
  } catch(e) {
    throw new Fail(`neither a compact JWS nor JSON: ${e.message}`);
  }
  return {kind: 'Data Integrity', verdicts: await verifyDataIntegrity(credential, options)};
}

async function main(argv) {
  const jobs = [];
  let jwk;
  let useDcc = false;
  let proofOnly = false;
  for(let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if(arg === '--jwk') {
      if(i + 1 >= argv.length) {
        usage('--jwk needs a file');
      }
      try {
        jwk = loadPublicJwk(argv[++i]);
      } catch(e) {
        usage(e.message);
      }
    } else if(arg === '--server') {
      if(i + 1 >= argv.length) {
        usage('--server needs a URL');
      }
      try {
        useServer(argv[++i]);
      } catch(e) {
        usage(e.message);
      }
    } else if(arg === '--proof-only') {
      proofOnly = true;
    } else if(arg === '--dcc') {
      useDcc = true;
    } else if(arg === '-h' || arg === '--help') {
      usage();
    } else if(arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      jobs.push({file: arg, jwk});
    }
  }
  if(jobs.length === 0) {
    usage('no files');
  }
  let failed = 0;
  for(const {file, jwk} of jobs) {
    // A file passes only if every verifier run on it accepts it. Each verifier's verdict is
    // printed, so a negative control can check that all of them rejected it.
    let line;
    try {
      const {kind, verdicts} = await verifyFile(file, {jwk, useDcc, proofOnly});
      const ok = verdicts.every(v => v.ok);
      failed += ok ? 0 : 1;
      line = `${ok ? 'PASS' : 'FAIL'} ${file} [${kind}]` + verdicts.map(v =>
        `\n    ${v.name}: ${v.ok ? 'accepted' : 'REJECTED'}: ${v.text}`).join('');
    } catch(e) {
      failed++;
      line = `FAIL ${file}: ${e instanceof Fail ? e.message : `unexpected error: ${e.stack || e}`}`;
    }
    console.log(line);
  }
  if(serverOrigin()) {
    console.log(`fetched from the zegel server: ${[...new Set(fetchedFromServer)].join(', ') || 'nothing'}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
