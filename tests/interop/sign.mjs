#!/usr/bin/env node
// Signs credentials and presentations with Digital Bazaar's stack (@digitalbazaar/vc,
// DataIntegrityProof + eddsa-rdfc-2022, JSON-LD safe mode), so that zegel's VC-API verifiers
// (POST /credentials/verify, POST /presentations/verify) are tested on proofs zegel did not
// make. Offline: the document loader serves the bundled contexts and did:key only.
//
//   node sign.mjs credential KEY IN OUT        sign IN (an unsigned credential) as KEY
//   node sign.mjs again KEY IN OUT             add a proof by KEY to IN's proof set
//   node sign.mjs presentation KEY IN OUT CHALLENGE DOMAIN
//                                              sign IN (an unsigned presentation) as KEY for
//                                              authentication, with CHALLENGE and DOMAIN
//   node sign.mjs key OUT                      a fresh Ed25519 key (Multikey JSON, did:key)
//
// KEY is a file written by `node sign.mjs key`. The credential's `issuer` (or the
// presentation's `holder`) is set to KEY's did:key.

import {readFileSync, writeFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {documentLoader} from './loader.mjs';

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function loadKey(file) {
  const exported = readJson(file);
  return Ed25519Multikey.from(exported);
}

function suiteFor(keyPair) {
  return new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: eddsaRdfc2022});
}

const [command, ...args] = process.argv.slice(2);
try {
  if(command === 'key') {
    const keyPair = await Ed25519Multikey.generate();
    const did = `did:key:${keyPair.publicKeyMultibase}`;
    keyPair.controller = did;
    keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
    const exported = await keyPair.export({publicKey: true, secretKey: true, includeContext: true});
    writeFileSync(args[0], JSON.stringify({...exported, did}, null, 2) + '\n');
  } else if(command === 'credential' || command === 'again') {
    const [keyFile, input, output] = args;
    const keyPair = await loadKey(keyFile);
    const credential = readJson(input);
    if(command === 'credential') {
      credential.issuer = keyPair.controller;
    }
    const signed = await vc.issue({credential, suite: suiteFor(keyPair), documentLoader});
    writeFileSync(output, JSON.stringify(signed, null, 2) + '\n');
  } else if(command === 'presentation') {
    const [keyFile, input, output, challenge, domain] = args;
    const keyPair = await loadKey(keyFile);
    const presentation = readJson(input);
    presentation.holder = keyPair.controller;
    const signed = await vc.signPresentation({
      presentation, suite: suiteFor(keyPair), challenge, domain, documentLoader
    });
    writeFileSync(output, JSON.stringify(signed, null, 2) + '\n');
  } else {
    console.error('usage: node sign.mjs credential|again|presentation|key …');
    process.exit(2);
  }
} catch(error) {
  console.error(`sign.mjs ${command}: ${error.message}`);
  if(error.details) {
    console.error(JSON.stringify(error.details).slice(0, 500));
  }
  process.exit(1);
}
