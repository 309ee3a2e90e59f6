// Strict JSON-LD document loader for the interop harness.
//
// Offline (the default) it serves ONLY:
//   * the third-party contexts bundled in ../shared/contexts/ (URL -> file via index.json),
//   * zegel's own context (src/credential/contexts/zegel-v1.jsonld) for any http(s) URL whose
//     path is /contexts/zegel/v1.jsonld (every zegel instance serves it there),
//   * did:key DIDs and DID URLs (Ed25519 `z6Mk…` only), resolved locally.
// Anything else is an error. Nothing is ever fetched from the network.
//
// Server mode (`useServer(url)`, verify.mjs --server URL): the one zegel server under test is
// the only network source. URLs on its origin (its context, status lists, achievements,
// /.well-known/*) are fetched from it; the bundled third-party contexts and did:key are served
// as above; zegel's context is NOT taken from the bundled copy (it must come from the server);
// anything else is an error.

import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as didKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
export const SHARED_DIR = path.resolve(
  process.env.ZEGEL_SHARED_DIR || path.join(REPO_ROOT, '..', 'shared'));
export const ZEGEL_CONTEXT_PATH = '/contexts/zegel/v1.jsonld';
export const ZEGEL_CONTEXT_FILE =
  path.join(REPO_ROOT, 'src', 'credential', 'contexts', 'zegel-v1.jsonld');

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

// URL -> parsed document, all read once at start-up.
const STATIC = new Map();
{
  const contextsDir = path.join(SHARED_DIR, 'contexts');
  const index = readJson(path.join(contextsDir, 'index.json'));
  for(const [url, file] of Object.entries(index)) {
    STATIC.set(url, readJson(path.join(contextsDir, file)));
  }
}
const ZEGEL_CONTEXT = readJson(ZEGEL_CONTEXT_FILE);

// The real fetch, captured before dcc.mjs replaces globalThis.fetch with its offline stub.
const realFetch = globalThis.fetch;
// The origin of the zegel server under test, in server mode.
let server = null;

/** Server mode: `url`'s origin becomes the only place documents may be fetched from. */
export function useServer(url) {
  const parsed = new URL(url);
  if(parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`--server ${url}: not an http(s) URL`);
  }
  server = parsed.origin;
}

/** The origin of the zegel server under test, or null offline. */
export function serverOrigin() {
  return server;
}

/** True when `url` is on the zegel server under test. */
export function onServer(url) {
  if(!server) {
    return false;
  }
  try {
    return new URL(url).origin === server;
  } catch{
    return false;
  }
}

/** Every URL fetched from the zegel server, in order (for the report). */
export const fetchedFromServer = [];

/** GET `url` from the zegel server (no redirects): the Response. Other URLs are refused. */
export async function serverFetch(url, accept = 'application/ld+json, application/json;q=0.9') {
  if(!onServer(url)) {
    throw new OfflineLoaderError(url);
  }
  const response = await realFetch(url, {redirect: 'error', headers: {accept}});
  fetchedFromServer.push(url);
  return response;
}

/** GET `url` from the zegel server; the parsed JSON body. */
export async function fetchFromServer(url) {
  const response = await serverFetch(url);
  if(!response.ok) {
    throw new Error(`${url}: HTTP ${response.status} from the zegel server`);
  }
  return response.json();
}

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from
});

/** Every URL the loader was asked for, in order (for diagnostics). */
export const requested = [];

export class OfflineLoaderError extends Error {
  constructor(url) {
    super(server ?
      `document loader refuses "${url}": not on the zegel server ${server}, ` +
        'not a bundled third-party context and not a did:key' :
      `offline document loader refuses "${url}": not a bundled context, ` +
        'not zegel\'s context and not a did:key');
    this.name = 'OfflineLoaderError';
    this.url = url;
  }
}

/** The bundled document for a context URL, or undefined. */
export function bundledDocument(url) {
  if(STATIC.has(url)) {
    return structuredClone(STATIC.get(url));
  }
  if(server) {
    // zegel's context comes from the server, never from the bundled copy.
    return undefined;
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch{
    return undefined;
  }
  if((parsed.protocol === 'https:' || parsed.protocol === 'http:') &&
    parsed.pathname === ZEGEL_CONTEXT_PATH && !parsed.search && !parsed.hash) {
    return structuredClone(ZEGEL_CONTEXT);
  }
  return undefined;
}

/** jsonld.js / jsonld-signatures document loader. */
export async function documentLoader(url) {
  requested.push(url);
  if(typeof url === 'string' && url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(onServer(url)) {
    return {contextUrl: null, documentUrl: url, document: await fetchFromServer(url)};
  }
  const document = bundledDocument(url);
  if(document === undefined) {
    throw new OfflineLoaderError(url);
  }
  return {contextUrl: null, documentUrl: url, document};
}

/** The DID document or verification method for a did:key URL. */
export async function resolveDidKey(url) {
  return didKeyDriver.get({url});
}
