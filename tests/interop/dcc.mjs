// Runs the Digital Credentials Consortium verifier (@digitalcredentials/verifier-core, the
// verifier behind the DCC Learner Credential Wallet and VerifierPlus) offline.
//
// verifier-core has no documentLoader parameter: it builds its own loader at import time
// (@digitalcredentials/security-document-loader with fetchRemoteContexts: true, bundling VC,
// OB 3.0 and Data Integrity contexts and resolving did:key/did:web) and fetches anything else
// -- unknown contexts, JSON schemas, status lists, issuer registries -- with the global
// `fetch`. So, without touching node_modules, we replace globalThis.fetch BEFORE importing it
// with a stub that answers only from local files:
//   * the contexts of loader.mjs (../shared/contexts + zegel's context);
//   * the 1EdTech OB 3.0 JSON schemas in ../shared/schemas under their purl URLs;
// and answers 404 to every other URL (recorded in `offlineMisses`). No request leaves the
// process. Status lists are therefore reported by DCC as "not found" (we treat that as "not
// checked"); the issuer-registry step is run with no registries.
//
// In server mode (loader.mjs `useServer`, verify.mjs --server URL) URLs on the zegel server
// under test are passed through to it (its context, status lists, …), and nowhere else: then
// the revocation step must find the status list and pass (`requireStatus`).

import {readFileSync} from 'node:fs';
import path from 'node:path';
import {bundledDocument, onServer, serverFetch, SHARED_DIR} from './loader.mjs';

const SCHEMA_BASE = 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/';
const SCHEMAS = new Map(
  ['achievementcredential', 'endorsementcredential', 'profile'].map(name => {
    const file = `ob_v3p0_${name}_schema.json`;
    const schema = JSON.parse(readFileSync(path.join(SHARED_DIR, 'schemas', file), 'utf8'));
    // The shared copies carry the build-time $id; publish them under the purl URL.
    schema.$id = SCHEMA_BASE + file;
    return [SCHEMA_BASE + file, schema];
  }));

/** URLs verifier-core asked for that the stub could not serve (each answered 404). */
export const offlineMisses = [];

globalThis.fetch = async function offlineFetch(input) {
  const url = typeof input === 'string' ? input :
    input instanceof URL ? input.href : input?.url;
  if(onServer(url)) {
    const accept = input instanceof Request ? input.headers.get('accept') ?? undefined : undefined;
    return serverFetch(url, accept);
  }
  const document = bundledDocument(url) ?? structuredClone(SCHEMAS.get(url));
  if(document === undefined) {
    offlineMisses.push(url);
    return new Response('not available offline', {
      status: 404, statusText: 'Not Found (offline interop harness)',
      headers: {'content-type': 'text/plain'}
    });
  }
  return new Response(JSON.stringify(document), {
    status: 200, headers: {'content-type': 'application/ld+json'}
  });
};

const {verifyCredential} = await import('@digitalcredentials/verifier-core');

function describe(entry) {
  if(entry.error) {
    return `${entry.id}=error(${entry.error.name ?? entry.error.message})`;
  }
  return `${entry.id}=${entry.valid}`;
}

/**
 * Verifies one credential with verifier-core. ok = no fatal error and the signature step
 * valid; expiration must not be invalid. Registry results are reported only; the revocation
 * step is reported only, unless `requireStatus` (then it must be valid: list found, signature
 * checked, bit not set).
 */
export async function verifyWithDcc(credential, {requireStatus = false} = {}) {
  const missesBefore = offlineMisses.length;
  // verifier-core (ajv, the registry client) talks on the console; keep that out of our output
  // and show it only when the credential is rejected.
  const chatter = [];
  const saved = {log: console.log, warn: console.warn, error: console.error};
  for(const level of Object.keys(saved)) {
    console[level] = (...args) => chatter.push(args.map(String).join(' '));
  }
  let result;
  try {
    // verifier-core mutates its input in places; give it a copy.
    result = await verifyCredential({
      credential: structuredClone(credential), knownDIDRegistries: []
    });
  } finally {
    Object.assign(console, saved);
  }
  const noise = chatter.filter(line => !line.startsWith('strict mode:'));
  const misses = offlineMisses.slice(missesBefore);
  const missText = misses.length ? ` [answered 404 offline: ${misses.join(', ')}]` : '';
  if(result.errors?.length) {
    const reasons = result.errors.map(e => `${e.name}: ${e.message}` +
      (e.details ? ` ${JSON.stringify(e.details)}` : '')).join('; ');
    return {ok: false, reason: `fatal: ${reasons}${missText}` +
      (noise.length ? ` [console: ${noise.join(' | ')}]` : '')};
  }
  const log = result.log ?? [];
  const step = id => log.find(e => e.id === id);
  const signature = step('valid_signature');
  const expiration = step('expiration');
  if(!signature || signature.valid !== true) {
    return {
      ok: false,
      reason: `signature step ${signature ? describe(signature) : 'missing'}${missText}`
    };
  }
  if(expiration && expiration.valid === false) {
    return {ok: false, reason: `expired${missText}`};
  }
  const status = step('revocation_status');
  if(requireStatus && (!status || status.valid !== true)) {
    return {
      ok: false,
      reason: `revocation_status ${status ? describe(status) : 'missing'}` +
        `${status?.error?.message ? ` (${status.error.message})` : ''}${missText}`
    };
  }
  // A set suspension bit is not fatal to verifier-core; to a relying party it is.
  const suspension = step('suspension_status');
  if(suspension && suspension.valid === false) {
    return {ok: false, reason: `suspension_status ${describe(suspension)}${missText}`};
  }
  const parts = log.map(describe);
  const schema = (result.additionalInformation ?? []).find(e => e.id === 'schema_check');
  if(schema) {
    const results = Array.isArray(schema.results) ? schema.results : [];
    parts.push(`schema=${results.length ?
      results.map(r => r.result?.valid).join(',') : JSON.stringify(schema.results)}`);
  }
  return {ok: true, summary: parts.join(', ') + missText, result};
}
