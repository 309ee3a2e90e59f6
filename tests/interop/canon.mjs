#!/usr/bin/env node
// Diagnostic: prints the RDFC-1.0 canonical N-Quads that the eddsa-rdfc-2022 cryptosuite
// (jsonld.js + rdf-canonize, safe mode, offline loader) computes for a credential's unsecured
// document (without its top-level `proof`), or with --proof N, for its N-th proof configuration
// (the proof minus `proofValue`, with the document's @context). Compare with zegel's canonical
// N-Quads when a zegel-signed credential fails to verify here.
//
//   node canon.mjs [--proof N] FILE|-

import {readFileSync} from 'node:fs';
import {cryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {documentLoader} from './loader.mjs';

const args = process.argv.slice(2);
let proofIndex = null;
if(args[0] === '--proof') {
  proofIndex = Number(args[1]);
  args.splice(0, 2);
}
if(args.length !== 1) {
  console.error('usage: node canon.mjs [--proof N] FILE|-');
  process.exit(2);
}
const document = JSON.parse(readFileSync(args[0] === '-' ? 0 : args[0], 'utf8'));
let input;
if(proofIndex === null) {
  input = {...document};
  delete input.proof;
} else {
  const proof = {...[].concat(document.proof)[proofIndex]};
  delete proof.proofValue;
  input = {'@context': document['@context'], ...proof};
}
try {
  process.stdout.write(await cryptosuite.canonize(input, {documentLoader}));
} catch(e) {
  console.error(`canonize failed: ${e.name}: ${e.message}` +
    (e.details ? ` ${JSON.stringify(e.details)}` : ''));
  process.exit(1);
}
