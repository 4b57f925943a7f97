#!/usr/bin/env node
// The browser preview, tested in a real browser against the CLI.
//
//   bash scripts/web-deps.sh && bash scripts/build-web.sh && cargo build --locked -p matrix-render
//   node tests/web/run.mjs --cli target/debug/matrix-render --web dist/web \
//     --out dist/web-test --node-modules dist/web-node/node_modules
//
// Serves --web from its own static server (node:http on 127.0.0.1, an ephemeral port, with
// the right MIME types, application/wasm included), drives Debian's /usr/bin/chromium
// headless through playwright-core (never a browser Playwright downloads) with a fresh
// profile, and fails on any console error, page error, failed or non-local request. Checks:
//
//   a. the example (examples/values.yaml + examples/secrets.yaml) shows as many objects as
//      the CLI renders for it;
//   b. Download gives the CLI's `render -f examples/values.yaml -f examples/secrets.yaml`
//      stdout byte for byte (and so does Copy, through the clipboard);
//   c. typing a typo (`enabeld:` for `enabled:` under synapse.registration) gives an
//      `unknown-key` diagnostic at that line, marked in the editor, and the diagnostic jumps
//      the caret there;
//   d. the MatrixRTC switch changes the object count exactly as the CLI's
//      `--set matrixrtc.enabled=false|true` does;
//   e. the plan lists LiveKit's UDP range as configured (50300-50400, set in the editor);
//   f. screenshots in --out: the example, the typo, RTC on (and the page on any failure);
//   g. a diagnostic after non-ASCII text (é, an emoji) on its line gets the editor's UTF-16
//      column, and jumping to it lands on the key;
//   tabs: the arrow keys switch between the two files;
//   h. a trap in the core (a stand-in glue module whose render throws a RuntimeError) shows
//      "internal error: <the panic message>";
//   i. every request the page sent the core during the checks above, and every response it
//      got, fits the render contract (schema/render-contract.schema.json, generated from the
//      core's types; tests/web/contract.mjs checks it), recorded by a glue module that wraps
//      the real one.
//
// It also prints a benchmark figure, never asserted: the median time of the page's render
// call for the example (the module's `render`, called through page.evaluate, after a
// warm-up). Exits 1 with the failing check's message.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { contractProblems, loadContract } from './contract.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const BENCH_RUNS = 50;
const BENCH_WARMUP = 5;
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.yaml': 'application/yaml; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

const { values: opts } = parseArgs({
  options: {
    cli: { type: 'string' },
    web: { type: 'string', default: 'dist/web' },
    out: { type: 'string', default: 'dist/web-test' },
    'node-modules': { type: 'string', default: 'dist/web-node/node_modules' },
  },
});
if (!opts.cli) {
  console.error('usage: node tests/web/run.mjs --cli CLI [--web DIR] [--out DIR] [--node-modules DIR]');
  process.exit(2);
}
const abs = (p) => path.resolve(process.cwd(), p);
const CLI = abs(opts.cli);
const WEB = abs(opts.web);
const OUT = abs(opts.out);
const require = createRequire(path.join(abs(opts['node-modules']), 'noop.js'));
const { chromium } = require('playwright-core');

class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message);
};
const passed = [];
const pass = (name, detail) => {
  passed.push(`${name}: ${detail}`);
  console.log(`web-test: ok   ${name}: ${detail}`);
};

// --- the CLI's answers ------------------------------------------------------------------

function cli(...args) {
  const run = spawnSync(CLI, args, { cwd: REPO, maxBuffer: 64 << 20 });
  if (run.error) fail(`cannot run ${CLI}: ${run.error.message}`);
  if (run.status !== 0) {
    fail(`${CLI} ${args.join(' ')} exited ${run.status}: ${run.stderr.toString()}`);
  }
  return run.stdout;
}
const FILES = ['-f', 'examples/values.yaml', '-f', 'examples/secrets.yaml'];
const countOf = (...set) => JSON.parse(cli('render', ...FILES, ...set, '--format', 'json')).items.length;
const cliYaml = cli('render', ...FILES);
const cliCount = countOf();
const cliCountRtcOff = countOf('--set', 'matrixrtc.enabled=false');
const cliCountRtcOn = countOf('--set', 'matrixrtc.enabled=true');
if (cliCountRtcOff === cliCountRtcOn) fail('the CLI renders as many objects with RTC off as on');
const valuesText = fs.readFileSync(path.join(REPO, 'examples/values.yaml'), 'utf8');
const secretsText = fs.readFileSync(path.join(REPO, 'examples/secrets.yaml'), 'utf8');
const valuesLines = valuesText.split('\n');

// --- the static server ------------------------------------------------------------------

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let file = path.normalize(path.join(WEB, decodeURIComponent(url.pathname)));
  if (!file.startsWith(WEB)) {
    res.writeHead(403).end();
    return;
  }
  if (url.pathname.endsWith('/')) file = path.join(file, 'index.html');
  fs.readFile(file, (err, body) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(body);
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const ORIGIN = `http://127.0.0.1:${server.address().port}`;

// --- the browser ---------------------------------------------------------------------------

fs.mkdirSync(OUT, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'matrix-render-web-test-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  acceptDownloads: true,
  viewport: { width: 1400, height: 1000 },
  env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
});
const problems = [];
function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A Blob download ends its request that way; anything else is a failure.
    if (r.url().startsWith('blob:') && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`${label}: request failed: ${r.url()} (${r.failure()?.errorText})`);
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${ORIGIN}/`) && !/^(blob|data):/.test(url)) {
      problems.push(`${label}: request outside the page's server: ${url}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} for ${r.url()}`);
  });
}
const noProblems = (when) => {
  if (problems.length) fail(`${when}:\n  ${problems.join('\n  ')}`);
};

const page = context.pages()[0] ?? (await context.newPage());
watch(page, 'page');
const editor = page.getByTestId('config-editor');
const objectCount = async () => (await page.getByTestId('object-count').textContent()).trim();
const renders = async () => Number(await page.evaluate(() => document.body.dataset.renders ?? 0));
const waitRender = (before) =>
  page.waitForFunction((b) => Number(document.body.dataset.renders ?? 0) > b, before, { timeout: 10_000 });
async function edit(text) {
  const before = await renders();
  await editor.fill(text);
  await waitRender(before);
}
// From the top: the config pane is sticky, and stays where the page was scrolled to.
async function shot(name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

// The glue module as the page imports it (each instance by its own query), wrapped so that
// every render call's request and response are kept for check i.
await page.route(/\/matrix_render_web\.js(\?instance=\d+)?$/, (route) => {
  const query = new URL(route.request().url()).search.replace(/^\?/, '');
  const real = `/matrix_render_web.js?unrecorded${query ? `&${query}` : ''}`;
  return route.fulfill({
    contentType: 'text/javascript',
    body: [
      `import init, * as core from '${real}';`,
      `export * from '${real}';`,
      'export default init;',
      'export function render(json) {',
      '  const text = core.render(json);',
      '  if (globalThis.__contract !== false) (globalThis.__contract ??= []).push([json, text]);',
      '  return text;',
      '}',
    ].join('\n'),
  });
});

let benchmark = null;
try {
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(
    () => Number(document.body.dataset.renders ?? 0) >= 1 || !document.getElementById('internal-error').hidden,
    null,
    { timeout: 30_000 },
  );
  noProblems('loading the page');
  const broken = page.getByTestId('internal-error');
  if (await broken.isVisible()) fail(`loading the page: ${await broken.textContent()}`);
  if ((await editor.inputValue()) !== valuesText) fail('the editor does not hold examples/values.yaml');

  // a. object count
  const shown = await objectCount();
  if (shown !== String(cliCount)) fail(`(a) the page shows ${shown} objects, the CLI renders ${cliCount}`);
  const groups = await page.locator('[data-testid="manifest-output"] section').count();
  const details = await page.locator('[data-testid="manifest-output"] details').count();
  if (details !== cliCount) fail(`(a) ${details} expandable objects, want ${cliCount}`);
  pass('a. object count', `${shown} objects in ${groups} components, as the CLI`);
  await shot('example.png');

  // b. download and copy, byte for byte
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = path.join(OUT, 'example-download.yaml');
  await download.saveAs(saved);
  const got = fs.readFileSync(saved);
  if (download.suggestedFilename() !== 'matrix-stack.yaml') {
    fail(`(b) the download is named ${download.suggestedFilename()}`);
  }
  if (!got.equals(cliYaml)) {
    fail(`(b) the downloaded YAML (${got.length} bytes, ${saved}) differs from the CLI's (${cliYaml.length} bytes)`);
  }
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  await page.click('#copy');
  await page.waitForFunction(() => document.getElementById('copy-status').textContent !== '');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== cliYaml.toString('utf8')) fail('(b) the copied YAML differs from the CLI output');
  pass('b. download and copy', `matrix-stack.yaml, ${got.length} bytes, identical to the CLI's stdout`);

  // c. a typo, typed into the editor
  const typoLine = valuesLines.findIndex((l, i) => l === '    enabled: true' && valuesLines[i - 1] === '  registration:') + 1;
  if (typoLine < 1) fail('(c) examples/values.yaml has no synapse.registration.enabled line');
  await editor.focus();
  const start = valuesLines.slice(0, typoLine - 1).join('\n').length + 1 + 4;
  await editor.evaluate((t, s) => t.setSelectionRange(s, s + 'enabled'.length), start);
  await page.keyboard.type('enabeld');
  const typo = page.locator('[data-testid="diagnostics"] [data-code="unknown-key"]', { hasText: 'enabeld' });
  await typo.first().waitFor({ timeout: 10_000 });
  const typoAt = await typo.first().evaluate((b) => ({ ...b.dataset, text: b.textContent }));
  if (typoAt.file !== 'values.yaml' || typoAt.line !== String(typoLine)) {
    fail(`(c) unknown-key at ${typoAt.file}:${typoAt.line}, want values.yaml:${typoLine}`);
  }
  const mark = page.locator(`[data-testid="editor-mark"][data-line="${typoLine}"]`);
  if ((await mark.count()) !== 1 || !(await mark.first().isVisible())) fail(`(c) line ${typoLine} is not marked in the editor`);
  if ((await objectCount()) !== '0') fail('(c) an invalid config still shows objects');
  await shot('typo.png');
  await typo.first().click();
  const caret = await editor.evaluate((t) => t.value.slice(t.selectionStart, t.selectionStart + 7));
  if (caret !== 'enabeld') fail(`(c) jumping to the diagnostic put the caret before "${caret}"`);
  pass('c. typo', `unknown-key at values.yaml:${typoLine}:${typoAt.coreColumn}, line marked, jump lands on the key`);

  await edit(valuesText);
  if ((await objectCount()) !== String(cliCount)) fail('(c) the example does not render again after the fix');

  // The tabs, by keyboard: arrows switch files, and the editor follows.
  await page.focus('#tab-values');
  await page.keyboard.press('ArrowRight');
  const secretsShown = (await editor.inputValue()) === secretsText;
  const selected = await page.getAttribute('#tab-secrets', 'aria-selected');
  const focused = await page.evaluate(() => document.activeElement.id);
  await page.keyboard.press('ArrowLeft');
  if (!secretsShown || selected !== 'true' || focused !== 'tab-secrets' || (await editor.inputValue()) !== valuesText) {
    fail('(tabs) ArrowRight/ArrowLeft on the tabs do not switch between values.yaml and secrets.yaml');
  }
  pass('tabs', 'ArrowRight shows secrets.yaml, ArrowLeft values.yaml again');

  // d. the MatrixRTC switch
  const rtc = page.getByTestId('rtc-switch');
  if (!(await rtc.isChecked())) fail('(d) the switch is off for the example, which has MatrixRTC on');
  let before = await renders();
  await rtc.click();
  await waitRender(before);
  const off = await objectCount();
  before = await renders();
  await rtc.click();
  await waitRender(before);
  const on = await objectCount();
  if (off !== String(cliCountRtcOff) || on !== String(cliCountRtcOn)) {
    fail(`(d) RTC off/on shows ${off}/${on} objects, the CLI --set gives ${cliCountRtcOff}/${cliCountRtcOn}`);
  }
  await shot('rtc-on.png');
  pass('d. RTC switch', `off ${off}, on ${on} objects, as the CLI with --set matrixrtc.enabled=false|true`);

  // e. the plan: LiveKit's UDP range from the config
  await edit(
    valuesText
      .replace('portRangeStart: 50100', 'portRangeStart: 50300')
      .replace('portRangeEnd: 50200', 'portRangeEnd: 50400'),
  );
  if (!(await page.locator('[data-testid="plan"] table').count())) {
    fail(`(e) no plan in the page: "${(await page.getByTestId('plan').textContent()).trim()}" (the core's plan is needed)`);
  }
  const udp = page.locator('[data-testid="plan-ports"] tr[data-component="livekit"][data-protocol="UDP"]');
  const rows = await udp.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent).join(' | ')));
  if (!rows.some((r) => r.includes('50300') && r.includes('50400'))) {
    fail(`(e) no livekit UDP row with 50300 and 50400 in the plan: ${JSON.stringify(rows)}`);
  }
  pass('e. plan', `livekit UDP row "${rows.find((r) => r.includes('50300')).trim()}"`);

  // g. UTF-16 columns: a diagnostic after "é" and an emoji on the same line
  const noticesAt = valuesLines.indexOf('  serverNotices:');
  if (noticesAt < 0) fail('(g) examples/values.yaml has no synapse.serverNotices block');
  const flow = '  serverNotices: {enabled: true, roomName: "Sérver nötices 🎉", bogus: 1}';
  const end = valuesLines.findIndex((l, i) => i > noticesAt && !l.startsWith('    '));
  const utfLines = [...valuesLines.slice(0, noticesAt), flow, ...valuesLines.slice(end)];
  await edit(utfLines.join('\n'));
  const bogus = page.locator('[data-testid="diagnostics"] [data-code="unknown-key"]', { hasText: 'bogus' });
  await bogus.first().waitFor({ timeout: 10_000 });
  const bogusAt = await bogus.first().evaluate((b) => ({ ...b.dataset }));
  const wantColumn = flow.indexOf('bogus') + 1; // a JavaScript (UTF-16) index, 1-based
  const wantCore = [...flow.slice(0, flow.indexOf('bogus'))].length + 1; // in code points
  if (bogusAt.line !== String(noticesAt + 1) || bogusAt.column !== String(wantColumn) || bogusAt.coreColumn !== String(wantCore)) {
    fail(`(g) unknown-key at line ${bogusAt.line}, column ${bogusAt.column} (core ${bogusAt.coreColumn}); want line ${noticesAt + 1}, column ${wantColumn} (core ${wantCore})`);
  }
  await bogus.first().click();
  const atBogus = await editor.evaluate((t) => t.value.slice(t.selectionStart, t.selectionStart + 5));
  if (atBogus !== 'bogus') fail(`(g) the jump put the caret before "${atBogus}"`);
  pass('g. UTF-16 column', `line ${noticesAt + 1}: core column ${wantCore}, editor column ${wantColumn}, caret on the key`);

  // i. the page's requests and the core's responses, against the contract
  await edit(valuesText);
  const calls = await page.evaluate(() => {
    const recorded = globalThis.__contract ?? [];
    globalThis.__contract = false;
    return recorded;
  });
  const contract = loadContract(REPO);
  const shapes = new Set();
  for (const [json, text] of calls) {
    const request = JSON.parse(json);
    shapes.add(JSON.stringify(request.options ?? {}));
    const wrong = [
      ...contractProblems(contract, 'RenderRequest', request),
      ...contractProblems(contract, 'RenderResponse', JSON.parse(text)),
    ];
    if (wrong.length) fail(`(i) a render call does not fit schema/render-contract.schema.json: ${wrong.slice(0, 5).join('; ')}`);
  }
  if (calls.length < 5) fail(`(i) only ${calls.length} render calls were recorded`);
  pass('i. contract', `${calls.length} requests and responses fit schema/render-contract.schema.json (options ${[...shapes].join(', ')})`);

  // The benchmark: the example as the page sends it, straight into the module's render.
  benchmark = await page.evaluate(
    async ({ values, secrets, runs, warmup }) => {
      const core = await import('/matrix_render_web.js');
      const json = JSON.stringify({
        values: [
          { name: 'values.yaml', text: values },
          { name: 'secrets.yaml', text: secrets },
        ],
        set: [],
        options: { split: true, plan: true },
      });
      for (let i = 0; i < warmup; i += 1) core.render(json);
      const times = [];
      for (let i = 0; i < runs; i += 1) {
        const start = performance.now();
        core.render(json);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1], page: document.getElementById('status').dataset.ms };
    },
    { values: valuesText, secrets: secretsText, runs: BENCH_RUNS, warmup: BENCH_WARMUP },
  );
  noProblems('the checks');

  // h. a trap in the core, with a stand-in glue module
  const trap = await context.newPage();
  watch(trap, 'trap page');
  await trap.route(/\/matrix_render_web\.js(\?.*)?$/, (route) =>
    route.fulfill({
      contentType: 'text/javascript',
      body: [
        'export default async function init() {}',
        "export function render() { throw new WebAssembly.RuntimeError('unreachable'); }",
        "export function panicMessage() { return \"panicked at crates/render/src/lib.rs:1:1:\\nweb test panic\"; }",
        "export function version() { return 'test'; }",
        'export function utf16Column(text, line, column) { return column; }',
      ].join('\n'),
    }),
  );
  await trap.goto(`${ORIGIN}/`);
  const banner = trap.getByTestId('internal-error');
  await banner.waitFor({ state: 'visible', timeout: 10_000 });
  const said = await banner.textContent();
  if (!said.startsWith('internal error: panicked at') || !said.includes('web test panic')) {
    fail(`(h) the trap shows "${said}"`);
  }
  await trap.close();
  noProblems('the trap check');
  pass('h. trap', `"${said.replace(/\n/g, ' ')}" shown`);
  pass('f. screenshots', ['example.png', 'typo.png', 'rtc-on.png'].map((f) => path.join(opts.out, f)).join(', '));
} catch (e) {
  await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`web-test: FAILED ${e instanceof Failure ? e.message : e.stack}`);
  if (problems.length && !String(e.message).includes(problems[0])) {
    console.error(`web-test: page problems:\n  ${problems.join('\n  ')}`);
  }
  console.error(`web-test: screenshot of the page: ${path.join(opts.out, 'failure.png')}`);
  process.exitCode = 1;
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

if (process.exitCode !== 1) {
  console.log(`web-test: all ${passed.length} checks passed (${ORIGIN}, ${CHROMIUM})`);
  const f = (x) => `${Number(x).toFixed(2)} ms`;
  console.log(
    `web-test: benchmark (not asserted): the example's render call in the page, median of ${BENCH_RUNS} ` +
      `after ${BENCH_WARMUP} warm-up: ${f(benchmark.median)} (min ${f(benchmark.min)}, max ${f(benchmark.max)}; ` +
      `the page's own last render: ${f(benchmark.page)})`,
  );
}
