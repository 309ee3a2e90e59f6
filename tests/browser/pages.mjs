// Drives zegel's public pages in a real headless browser (Debian's Chromium over the DevTools
// protocol, via playwright-core; no browser is downloaded). Starts `zegel serve` itself on a free
// loopback port with a temporary SQLite database and key, issues credentials over the API, and
// checks what a person sees: the verdict of a valid, a revoked and an expired credential, that a
// hostile credential's fields stay text, the badge image and the baked-badge downloads, and the
// upload flow of /verify (a credential and a baked PNG or SVG badge). Screenshots of every
// page state are saved (the run's artifacts).
//
//   node tests/browser/pages.mjs            (from the repo root, after `cargo build`)
//
// Environment: ZEGEL (binary, default target/debug/zegel), CHROMIUM (default /usr/bin/chromium),
// ZEGEL_SHARED_DIR (default ../shared), SCREENSHOTS (default target/browser-screenshots).
// Exit 0 only when every expectation held; each prints one line.

import {chromium} from 'playwright-core';
import {execFileSync, spawn} from 'node:child_process';
import {mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ZEGEL = resolve(ROOT, process.env.ZEGEL ?? 'target/debug/zegel');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHARED = resolve(ROOT, process.env.ZEGEL_SHARED_DIR ?? '../shared');
const SHOTS = resolve(ROOT, process.env.SCREENSHOTS ?? 'target/browser-screenshots');
const FIXTURES = join(SHARED, 'testvectors/ob3-examples/1edtech-validator');

let passed = 0;
let failed = 0;
const ok = name => { passed++; console.log(`  ok    ${name}`); };
const bad = (name, detail = '') => {
  failed++;
  console.log(`  FAIL  ${name}`);
  if(detail) {
    console.log(String(detail).split('\n').map(l => `          ${l}`).join('\n'));
  }
};
const expect = (name, condition, detail) => (condition ? ok(name) : bad(name, detail));

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => res(port));
    });
    server.on('error', rej);
  });
}

/** `zegel serve` on a fresh database and key; resolves to {url, env, stop}. */
async function startZegel(dir) {
  execFileSync(ZEGEL, ['keys', 'generate', '--dir', join(dir, 'keys'), '--json'], {stdio: 'pipe'});
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env, DATABASE_URL: `sqlite:${join(dir, 'zegel.db')}`, ZEGEL_KEYS_DIR: join(dir, 'keys'),
    ZEGEL_GENERATE_KEYS: 'false', ZEGEL_LISTEN: `127.0.0.1:${port}`, ZEGEL_PUBLIC_URL: url,
    ZEGEL_INSTITUTION_BRIN: '21PB', ZEGEL_ISSUER_NAME: 'Hogeschool Zegel (browser test)', ZEGEL_LOG: 'warn',
    ZEGEL_WORKERS: '2'
  };
  const child = spawn(ZEGEL, ['serve'], {env, stdio: ['ignore', 'ignore', 'inherit']});
  for(let i = 0; i < 300; i++) {
    try {
      if((await fetch(`${url}/ready`)).ok) {
        return {url, env, stop: () => child.kill('SIGTERM')};
      }
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('zegel serve did not become ready in 30 s');
}

async function api(server, token, method, path, body) {
  const response = await fetch(`${server.url}${path}`, {
    method, headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const text = await response.text();
  if(!response.ok) {
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

/** The verdict a page states, from the headline a person reads first. */
async function verdictOf(page) {
  const headline = page.locator('h2#verdict');
  if(await headline.count() === 0) {
    return 'no verdict on the page';
  }
  const text = (await headline.first().innerText()).toLowerCase();
  for(const [verdict, words] of [
    ['revoked', ['revoked', 'ingetrokken']], ['suspended', ['suspended', 'geschorst']],
    ['expired', ['expired', 'verlopen']], ['invalid', ['not valid', 'ongeldig']],
    ['valid', ['valid', 'geldig']]
  ]) {
    if(words.some(w => text.includes(w))) {
      return verdict;
    }
  }
  return `unknown: ${text}`;
}

async function shot(page, name) {
  await page.screenshot({path: join(SHOTS, `${name}.png`), fullPage: true});
}

async function main() {
  mkdirSync(SHOTS, {recursive: true});
  const dir = mkdtempSync(join(tmpdir(), 'zegel-browser-'));
  const server = await startZegel(dir);
  const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']});
  try {
    const client = JSON.parse(execFileSync(ZEGEL, ['clients', 'create', '--name', 'browser', '--scopes', 'admin',
      '--json'], {env: server.env}).toString());
    const token = client.token;
    await api(server, token, 'POST', '/api/v1/achievements', {
      type: 'micro_credential', name: 'Data Literacy for Professionals',
      description: 'Working with data in a professional context.', criteria: 'Passed the final assignment.',
      learning_outcomes: ['Analyses a data set and reports the findings.'], ects: 5, eqf_level: 6, nlqf_level: '6',
      assessment_type: ['written_exam'], participation_type: ['blended'], identity_checked: true,
      assessment_supervised: true, quality_assurance: {name: 'NVAO accreditation', url: 'https://example.org/qa',
        description: 'The programme is accredited by the NVAO.'},
      language: 'nl', course_codes: ['MC-DATA-26']
    });
    const award = n => api(server, token, 'POST', '/api/v1/awards', {
      source_record_id: `browser-${n}`, course_code: 'MC-DATA-26',
      learner: {eppn: `s${n}@uni.example.nl`, given_name: 'Zoë', surname_prefix: 'de', surname: 'Vries'},
      result: {grade: '8.5', completed_on: '2026-06-30'}
    });
    const valid = await award(1);
    const validJson = await (await fetch(valid.credential_url, {headers: {accept: 'application/ld+json'}})).text();
    writeFileSync(join(dir, 'valid.json'), validJson);
    const revoked = await award(2);
    await api(server, token, 'POST', `/api/v1/credentials/${revoked.credential_id}/revoke`,
      {reason: 'Examination board decision 2026-117'});

    const page = await browser.newPage({locale: 'en-GB'});
    const dialogs = [];
    page.on('dialog', dialog => { dialogs.push(dialog.message()); dialog.dismiss(); });

    // 1. A valid credential.
    await page.goto(valid.credential_url, {waitUntil: 'load'});
    await shot(page, '1-valid-en');
    expect('a valid credential\'s page says valid', (await verdictOf(page)) === 'valid', await verdictOf(page));
    await page.goto(`${valid.credential_url}?lang=nl`, {waitUntil: 'load'});
    await shot(page, '1-valid-nl');
    const dutch = await verdictOf(page);
    expect('the Dutch page says geldig', dutch === 'valid' && (await page.locator('html').getAttribute('lang')) === 'nl', dutch);
    await page.setViewportSize({width: 390, height: 844});
    await page.goto(valid.credential_url, {waitUntil: 'load'});
    await shot(page, '1-valid-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    expect('on a phone-sized screen the page does not scroll sideways', !overflow);
    await page.setViewportSize({width: 1280, height: 900});

    // 1b. The badge image shows, and the baked badges the page offers download and verify.
    await page.goto(valid.credential_url, {waitUntil: 'load'});
    const badgeWidth = await page.locator('img[src$=".svg"]').first().evaluate(img => img.naturalWidth);
    expect('the page shows the badge image (the baked SVG)', badgeWidth > 0, badgeWidth);
    const downloads = {};
    for(const extension of ['png', 'svg']) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator(`a[href$=".${extension}"][download]`).first().click()
      ]);
      downloads[extension] = join(dir, `badge.${extension}`);
      await download.saveAs(downloads[extension]);
      expect(`the .${extension} download is named after the achievement`,
        download.suggestedFilename().startsWith('data-literacy-for-professionals-') &&
        download.suggestedFilename().endsWith(`.${extension}`), download.suggestedFilename());
    }

    // 2. A revoked credential, with the reason the issuer recorded.
    await page.goto(revoked.credential_url, {waitUntil: 'load'});
    await shot(page, '2-revoked');
    const revokedText = await page.locator('body').innerText();
    expect('a revoked credential\'s page says revoked', (await verdictOf(page)) === 'revoked', revokedText);
    expect('… with the recorded reason', revokedText.includes('Examination board decision 2026-117'));

    // 3. An expired credential (1EdTech's fixture), through the upload flow of /verify.
    const verifyPage = async (file, name) => {
      await page.goto(`${server.url}/verify`, {waitUntil: 'load'});
      await page.locator('input[type=file]').first().setInputFiles(file);
      await Promise.all([
        page.waitForLoadState('load'),
        page.locator('form button[type=submit], form input[type=submit]').first().click()
      ]);
      await shot(page, name);
      return verdictOf(page);
    };
    const expired = await verifyPage(join(FIXTURES, 'invalid/simple-err-expired.json'), '3-expired-upload');
    expect('an uploaded expired credential is reported expired', expired === 'expired', expired);
    const uploadedValid = await verifyPage(join(dir, 'valid.json'), '4-valid-upload').catch(e => `error: ${e}`);
    expect('an uploaded valid zegel credential is reported valid', uploadedValid === 'valid', uploadedValid);
    for(const extension of ['png', 'svg']) {
      const baked = await verifyPage(downloads[extension], `4-valid-upload-${extension}`).catch(e => `error: ${e}`);
      expect(`an uploaded baked .${extension} badge is reported valid`, baked === 'valid', baked);
    }

    // 5. A hostile credential: markup in every field a page shows stays text.
    const hostile = JSON.parse(readFileSync(join(FIXTURES, 'valid/simple.json'), 'utf8'));
    const payload = '"><img src=x onerror="alert(1)"><script>alert(2)</script>';
    hostile.name = `Badge ${payload}`;
    hostile.issuer = {...(typeof hostile.issuer === 'object' ? hostile.issuer : {id: hostile.issuer}),
      name: `Issuer ${payload}`, url: 'javascript:alert(3)'};
    hostile.credentialSubject.achievement.name = `Achievement ${payload}`;
    hostile.credentialSubject.achievement.description = `<b>bold</b> ${payload}`;
    writeFileSync(join(dir, 'hostile.json'), JSON.stringify(hostile));
    await verifyPage(join(dir, 'hostile.json'), '5-hostile-upload');
    const injected = await page.evaluate(() => ({
      images: document.querySelectorAll('img[src="x"]').length,
      bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length,
      javascriptLinks: [...document.querySelectorAll('a')].filter(a => a.href.startsWith('javascript:')).length
    }));
    expect('a hostile credential injects no element, script or javascript: link',
      injected.images === 0 && injected.bold === 0 && injected.javascriptLinks === 0 && dialogs.length === 0,
      JSON.stringify({...injected, dialogs}));
    expect('… and its markup is shown as text', (await page.locator('body').innerText()).includes('<script>alert(2)</script>'));
  } finally {
    await browser.close();
    server.stop();
    rmSync(dir, {recursive: true, force: true});
  }
  console.log(`\nbrowser: ${passed} passed, ${failed} failed; screenshots in ${SHOTS}`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main().catch(e => { console.error(e); return 1; });
