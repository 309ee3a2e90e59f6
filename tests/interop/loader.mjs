// Strict, offline JSON-LD document loader for the interop harness.
//
// It serves ONLY:
//   * the third-party contexts bundled in ../shared/contexts/ (URL -> file via index.json),
//   * zegel's own context (src/credential/contexts/zegel-v1.jsonld) for any http(s) URL whose
//     path is /contexts/zegel/v1.jsonld (every zegel instance serves it there),
//   * did:key DIDs and DID URLs (Ed25519 `z6Mk…` only), resolved locally.
// Anything else is an error. Nothing is ever fetched from the network.

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

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from
});

/** Every URL the loader was asked for, in order (for diagnostics). */
export const requested = [];

export class OfflineLoaderError extends Error {
  constructor(url) {
    super(`offline document loader refuses "${url}": not a bundled context, ` +
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
