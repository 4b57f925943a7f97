#!/usr/bin/env node
// The Extism plugin in a host written by others: the Node SDK (`@extism/extism`).
//
//   node tests/extism/node_host.cjs [--wasm dist/matrix-render.extism.wasm]
//     [--cli target/debug/matrix-render] [--node-modules dist/node-tools/node_modules]
//     [--runs 50]
//
// The same checks as tests/extism/python_host.py, with the RenderRequests built here on
// their own (mirroring crates/host-cli/src/input.rs): imports and exports; schema and
// version against the CLI; every fixture byte-identical to its golden YAML and JSON, twice;
// every bad input with the diagnostics of `matrix-render validate --format json`; a
// request that is not RenderRequest JSON is a failed call, a bad config is not; the limits
// are enforced. Prints the median render time for seed-rtc and "N passed, N failed".
//
// Host settings (docs/extism.md): `runInWorker: true` (the SDK's timeouts need a worker),
// `timeoutMs: 10000` per call, `memory: {maxPages: 8192}` (in this SDK the limit counts
// Extism's host-side blocks: input, output, vars; the module's own linear memory is not
// capped), `useWasi: false`, and `plugin.reset()` after each call (2.0.0-rc13 keeps every
// call's blocks in a worker plugin otherwise, until maxPages trips).
'use strict';

// Loading the SDK loads node:wasi, which warns that it is experimental; this plugin does
// not use WASI (useWasi: false), so keep that one warning out of the test's output.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!(w.name === 'ExperimentalWarning' && /WASI/.test(w.message))) console.warn(w);
});

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const REPO = path.resolve(__dirname, '../..');
const TIMEOUT_MS = 10000;
const MAX_PAGES = 8192;
const EXPORTS = ['render', 'validate', 'schema', 'version'];

function parseArgs(argv) {
  const args = {
    wasm: path.join(REPO, 'dist/matrix-render.extism.wasm'),
    cli: path.join(REPO, 'target/debug/matrix-render'),
    nodeModules: path.join(REPO, 'dist/node-tools/node_modules'),
    runs: 50,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--wasm') args.wasm = path.resolve(value);
    else if (flag === '--cli') args.cli = path.resolve(value);
    else if (flag === '--node-modules') args.nodeModules = path.resolve(value);
    else if (flag === '--runs') args.runs = Number(value);
    else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

// --- RenderRequests as the CLI builds them ----------------------------------------

function readText(file) {
  return new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(file));
}

function isDir(p) {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function staticFiles(dir) {
  const files = {};
  let foundAny = false;
  for (const sub of ['pages', 'static-assets']) {
    const folder = path.join(dir, sub);
    if (!isDir(folder)) continue;
    foundAny = true;
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      // Regular files only; like the CLI, symlinks are not followed.
      if (entry.isFile()) files[`${sub}/${entry.name}`] = readText(path.join(folder, entry.name));
    }
  }
  if (!foundAny) throw new Error(`${dir}: has neither a pages/ nor a static-assets/ folder`);
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function request(cwd, argv, format) {
  const req = { values: [], set: [], setString: [], files: {} };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '-f' || flag === '--values') {
      req.values.push({ name: value, text: readText(path.join(cwd, value)) });
    } else if (flag === '--set') req.set.push(value);
    else if (flag === '--set-string') req.setString.push(value);
    else if (flag === '--static-dir') req.files = staticFiles(path.join(cwd, value));
    else throw new Error(`unsupported flag ${flag} in ${argv.join(' ')}`);
  }
  req.options = { format, split: false };
  return req;
}

function fixtures() {
  const root = path.join(REPO, 'tests/fixtures');
  return fs
    .readdirSync(root)
    .sort()
    .map((name) => [name, path.join(root, name)])
    .filter(([, dir]) => fs.existsSync(path.join(dir, 'render.args')));
}

function fixtureRequest(dir, format) {
  const argv = fs.readFileSync(path.join(dir, 'render.args'), 'utf8').split(/\s+/).filter(Boolean);
  return request(dir, argv, format);
}

function badCases(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && !f.startsWith('_'))
    .sort()
    .map((file) => {
      const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
      const argv = lines.includes('# base: none') ? [] : ['-f', '_base.yaml'];
      argv.push('-f', file);
      for (const line of lines) {
        if (line.startsWith('# args: ')) argv.push(...line.slice(8).split(/\s+/).filter(Boolean));
      }
      return [file.slice(0, -'.yaml'.length), argv];
    });
}

// --- checks ---------------------------------------------------------------------------

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed += 1;
  else {
    failed += 1;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

function deepEqual(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function cli(args, argv, cwd) {
  return spawnSync(args.cli, argv, { cwd, timeout: 120000, maxBuffer: 64 << 20 });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const extism = require(path.join(args.nodeModules, '@extism/extism'));
  const sdk = require(path.join(args.nodeModules, '@extism/extism/package.json')).version;
  console.log(`node host: @extism/extism ${sdk}, node ${process.version}, ${args.wasm}`);

  const options = (limits = {}) => ({
    useWasi: false,
    runInWorker: true,
    timeoutMs: limits.timeoutMs ?? TIMEOUT_MS,
    memory: { maxPages: limits.maxPages ?? MAX_PAGES },
  });
  const load = (limits) => extism.createPlugin({ wasm: [{ path: args.wasm }] }, options(limits));
  const call = async (plugin, fn, input) => {
    try {
      const out = await plugin.call(fn, input);
      return out === null ? '' : out.text();
    } finally {
      await plugin.reset();
    }
  };
  const callJson = async (plugin, fn, req) => JSON.parse(await call(plugin, fn, JSON.stringify(req)));
  const failure = async (plugin, fn, input) => {
    try {
      await call(plugin, fn, input);
      return '';
    } catch (e) {
      return String(e.message || e);
    }
  };

  // The module: imports and exports.
  const bytes = fs.readFileSync(args.wasm);
  const mod = new WebAssembly.Module(bytes);
  const foreign = WebAssembly.Module.imports(mod).filter((i) => i.module !== 'extism:host/env');
  check('imports only extism:host/env', foreign.length === 0, JSON.stringify(foreign));
  const exported = WebAssembly.Module.exports(mod).map((e) => e.name);
  const missing = EXPORTS.filter((e) => !exported.includes(e));
  check('exports render, validate, schema, version', missing.length === 0, missing.join(', '));

  let started = performance.now();
  const plugin = await load();
  const loadMs = performance.now() - started;

  // schema and version.
  const schema = cli(args, ['schema'], REPO);
  check(
    'schema is `matrix-render schema`',
    schema.status === 0 && (await call(plugin, 'schema', '')) === schema.stdout.toString('utf8'),
  );
  // The first line, `matrix-render X.Y.Z`; the default images follow it.
  const cliVersion = cli(args, ['--version'], REPO).stdout.toString().split('\n')[0].trim().split(/\s+/).pop();
  const version = await call(plugin, 'version', '');
  check('version is `matrix-render --version`', version === cliVersion, `${version} vs ${cliVersion}`);

  // Every fixture renders to its golden bytes, twice; validate agrees.
  const all = fixtures();
  check('at least 7 fixtures', all.length >= 7, String(all.length));
  for (const [name, dir] of all) {
    for (const format of ['yaml', 'json']) {
      const body = JSON.stringify(fixtureRequest(dir, format));
      const golden = fs.readFileSync(path.join(REPO, 'tests/golden', `${name}.${format}`));
      const first = JSON.parse(await call(plugin, 'render', body));
      const second = JSON.parse(await call(plugin, 'render', body));
      if (check(`${name} (${format}) renders`, first.ok, JSON.stringify(first.diagnostics).slice(0, 2000))) {
        check(
          `${name} (${format}) is byte-identical to tests/golden/${name}.${format}`,
          Buffer.from(first.output, 'utf8').equals(golden),
        );
        check(`${name} (${format}) is the same twice`, deepEqual(first, second));
      }
      const checked = JSON.parse(await call(plugin, 'validate', body));
      check(
        `${name} (${format}) validate: same verdict and diagnostics, no manifests`,
        checked.ok === first.ok &&
          deepEqual(checked.diagnostics, first.diagnostics) &&
          checked.output === '' &&
          deepEqual(checked.objects, []),
      );
    }
  }

  // Every bad input gives the CLI's diagnostics.
  const badDir = path.join(REPO, 'tests/bad');
  const cases = badCases(badDir);
  check('at least 40 bad inputs', cases.length >= 40, String(cases.length));
  for (const [name, argv] of cases) {
    const req = request(badDir, argv, 'yaml');
    const got = await callJson(plugin, 'validate', req);
    const out = cli(args, ['validate', ...argv, '--format', 'json'], badDir);
    let expected = null;
    try {
      expected = JSON.parse(out.stdout.toString('utf8'));
    } catch {
      expected = null;
    }
    check(
      `bad/${name}: the CLI's diagnostics`,
      deepEqual(got.diagnostics, expected) && got.ok === (out.status === 0),
      `plugin ok=${got.ok} ${JSON.stringify(got.diagnostics).slice(0, 600)}\n  CLI exit ${out.status} ${out.stdout.toString().slice(0, 600)} ${out.stderr.toString().slice(0, 300)}`,
    );
    const rendered = await callJson(plugin, 'render', req);
    check(
      `bad/${name}: render agrees with validate`,
      deepEqual(rendered.diagnostics, got.diagnostics) && rendered.ok === got.ok && (rendered.ok || rendered.output === ''),
    );
  }

  // No secret in a response: a too-short LiveKit secret given by --set (its diagnostic's
  // `file` names the flag) and a misspelled secret key in flow style appear nowhere in it.
  const seed = path.join(REPO, 'tests/fixtures/seed');
  const leaky = request(seed, ['-f', 'values.yaml', '-f', 'secrets.yaml'], 'yaml');
  const short = 'Sh0rtSecretValue9';
  const typo = 'Typ0dSecretValue_1234567890abcdef';
  leaky.set = ['matrixrtc.enabled=true', `matrixrtc.livekit.secret=${short}`];
  leaky.values.push({ name: 'extra.yaml', text: `synapse: {registration_shared_secert: "${typo}"}\n` });
  for (const fn of ['render', 'validate']) {
    const raw = await call(plugin, fn, JSON.stringify(leaky));
    const codes = new Set(JSON.parse(raw).diagnostics.map((d) => d.code));
    check(
      `${fn}: no secret value in the response`,
      codes.has('weak-secret') && codes.has('unknown-key') && !raw.includes(short) && !raw.includes(typo),
      `codes ${[...codes].sort().join(', ')}`,
    );
  }

  // Errors: only a request that is not RenderRequest JSON fails the call.
  const badBodies = [
    ['not JSON', Buffer.from('{values: nope')],
    ['not UTF-8', Buffer.from([...Buffer.from('{"values": "'), 0xff, ...Buffer.from('"}')])],
    ['an unknown field', Buffer.from('{"valuez": []}')],
    ['a wrong type', Buffer.from('{"values": 3}')],
  ];
  for (const [label, body] of badBodies) {
    for (const fn of ['render', 'validate']) {
      const error = await failure(plugin, fn, new Uint8Array(body));
      check(`${fn} of ${label} is a failed call`, error.includes('the render request is not valid: '), JSON.stringify(error));
    }
  }
  const empty = await callJson(plugin, 'render', {});
  check(
    'an empty request is a response with diagnostics',
    !empty.ok && empty.diagnostics.some((d) => d.code === 'missing-value'),
  );

  // The limits are enforced (errors of the call, not responses).
  const slow = {
    values: [{ name: 'slow.yaml', text: Array.from({ length: 60000 }, (_, i) => `k${i}: 1\n`).join('') }],
  };
  // 60,000 unknown keys: about 2 s of work here; the limit also covers instantiation.
  const timed = await load({ timeoutMs: 500 });
  const timeoutError = await failure(timed, 'render', JSON.stringify(slow));
  check('timeoutMs stops a call', /timeout/i.test(timeoutError), JSON.stringify(timeoutError));
  check('a timed-out plugin works again', deepEqual(await callJson(timed, 'render', {}), empty));
  await timed.close();
  const small = await load({ maxPages: 16 });
  const big = JSON.stringify({ values: [{ name: 'big.yaml', text: '#'.repeat(4 << 20) }] });
  const memoryError = await failure(small, 'render', big);
  check('memory.maxPages stops a call', memoryError !== '', 'the call succeeded');
  await small.close();
  check('the plugin still works after failed calls', deepEqual(await callJson(plugin, 'render', {}), empty));

  // Per-call time (not asserted).
  const seedRtc = all.find(([name]) => name === 'seed-rtc');
  const body = JSON.stringify(fixtureRequest(seedRtc[1], 'yaml'));
  const times = [];
  for (let i = 0; i < Math.max(args.runs, 1); i += 1) {
    started = performance.now();
    await call(plugin, 'render', body);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(
    `node host: render seed-rtc: median ${median.toFixed(2)} ms over ${times.length} calls (with reset; min ${times[0].toFixed(2)}, max ${times[times.length - 1].toFixed(2)}); plugin load ${loadMs.toFixed(0)} ms`,
  );
  await plugin.close();

  console.log(`node host: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  // Exit at once: the SDK leaves each call's timeout timer pending.
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
