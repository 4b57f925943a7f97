// matrix-render preview: the page's controller.
//
// Loads the core (the wasm-bindgen module built from crates/plugin-wasm with the `web`
// feature) and the example values, then re-renders 150 ms after the last keystroke. Every
// render is one `render(requestJson)` call with the same RenderRequest the CLI sends for
// `matrix-render render -f values.yaml -f secrets.yaml [--set matrixrtc.enabled=...]`,
// plus `options.split` (each object's YAML) and `options.plan`; the topology is drawn from a
// second call that asks for the JSON format. The page itself decides nothing about the stack.
//
// If the core traps (a panic is a bug in the core), the page shows
// "internal error: <the panic message>" and loads a fresh instance for the next render.

import { createEditor } from './editor.js';
import { showDiagnostics, showManifests, showPlan, summary } from './view.js';
import { topologySvg } from './topology.js';

const FILES = ['values.yaml', 'secrets.yaml'];
const EXAMPLES = { 'values.yaml': 'examples/values.yaml', 'secrets.yaml': 'examples/secrets.yaml' };
const GLUE = './matrix_render_web.js';
const WASM = new URL('./matrix_render_web_bg.wasm', import.meta.url);
const DEBOUNCE_MS = 150;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  internalError: $('internal-error'),
  tabs: [...document.querySelectorAll('[role="tab"]')],
  panel: $('editor-panel'),
  editorLabel: $('editor-label'),
  editorProblems: $('editor-problems'),
  rtc: $('rtc-switch'),
  rtcNote: $('rtc-note'),
  diagnostics: $('diagnostics'),
  diagnosticCount: $('diagnostic-count'),
  objectCount: $('object-count'),
  manifests: $('manifests'),
  copy: $('copy'),
  download: $('download'),
  expand: $('expand'),
  copyStatus: $('copy-status'),
  plan: $('plan'),
  topology: $('topology'),
  version: $('version'),
};

const state = {
  core: null, // the loaded glue module
  compiled: null, // WebAssembly.Module, compiled once
  instances: 0,
  reloading: null, // the promise of a fresh instance after a trap
  texts: { 'values.yaml': '', 'secrets.yaml': '' },
  views: {}, // per file: { scrollTop, caret }
  file: 'values.yaml',
  rtcTouched: false, // untouched: the files decide; touched: --set matrixrtc.enabled=...
  response: null,
  open: new Set(),
  renders: 0,
  timer: 0,
};

// --- the core -------------------------------------------------------------------

async function compileCore() {
  const response = await fetch(WASM);
  if (!response.ok) throw new Error(`${WASM.pathname}: HTTP ${response.status}`);
  if ((response.headers.get('content-type') ?? '').startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

// A fresh instance: a new import of the glue module (a query string makes it another
// module record, with its own memory), initialised with the compiled module.
async function loadCore() {
  state.compiled ??= await compileCore();
  const url = state.instances === 0 ? GLUE : `${GLUE}?instance=${state.instances}`;
  state.instances += 1;
  const glue = await import(url);
  await glue.default({ module_or_path: state.compiled });
  return glue;
}

class InternalError extends Error {}

// One render call, timed around the wasm call only.
function call(request) {
  const core = state.core;
  if (!core) throw new InternalError('the core is not loaded');
  const json = JSON.stringify(request);
  const start = performance.now();
  let text;
  try {
    text = core.render(json);
  } catch (e) {
    let message = '';
    try {
      message = core.panicMessage();
    } catch {
      // The instance is unusable; the trap's own message will do.
    }
    state.core = null;
    state.reloading = loadCore().then(
      (fresh) => {
        state.core = fresh;
      },
      (err) => showInternalError(`could not reload the core: ${err.message}`),
    );
    throw new InternalError(message || String(e?.message ?? e));
  }
  const ms = performance.now() - start;
  return { response: JSON.parse(text), ms };
}

function showInternalError(message) {
  ui.internalError.textContent = `internal error: ${message}`;
  ui.internalError.hidden = false;
  ui.status.textContent = 'The core failed; see the error above.';
  ui.status.classList.add('failed');
}

// --- the request ------------------------------------------------------------------

// A RenderRequest as schema/render-contract.schema.json (generated from the core's types)
// defines it, with its field names; tests/web checks every request the page sends, and every
// response, against that schema.
function request(options) {
  const values = FILES.map((name) => ({ name, text: state.texts[name] }));
  const set = state.rtcTouched ? [`matrixrtc.enabled=${ui.rtc.checked}`] : [];
  return { values, set, options };
}

// --- rendering ----------------------------------------------------------------------

function render() {
  clearTimeout(state.timer);
  state.texts[state.file] = editor.text;
  if (!state.core) {
    // After a trap: render again once the fresh instance is there.
    state.reloading?.then(render);
    return;
  }
  let main;
  try {
    main = call(request({ split: true, plan: true }));
  } catch (e) {
    if (e instanceof InternalError) {
      showInternalError(e.message);
      return;
    }
    throw e;
  }
  ui.internalError.hidden = true;
  ui.copyStatus.textContent = '';
  const { response, ms } = main;
  state.response = response;

  const counts = summary(response.diagnostics);
  ui.status.classList.toggle('failed', !response.ok);
  ui.status.textContent = response.ok
    ? `rendered in ${ms.toFixed(1)} ms · ${response.objects.length} objects · ${counts}`
    : `checked in ${ms.toFixed(1)} ms · nothing rendered · ${counts}`;
  ui.status.dataset.ms = ms.toFixed(3);
  ui.diagnosticCount.textContent = `(${counts})`;

  showDiagnostics(ui.diagnostics, response.diagnostics, { editorColumn, jump });
  markEditor();
  ui.objectCount.textContent = String(response.objects.length);
  showManifests(ui.manifests, response.objects, state.open);
  ui.copy.disabled = ui.download.disabled = !response.ok;
  showPlan(ui.plan, response);
  drawTopology(response);
  followRtc(response);

  state.renders += 1;
  document.body.dataset.renders = String(state.renders);
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(render, DEBOUNCE_MS);
}

function drawTopology(response) {
  if (!response.ok) {
    ui.topology.replaceChildren(Object.assign(document.createElement('p'), {
      className: 'empty',
      textContent: 'No topology: the config has errors.',
    }));
    return;
  }
  let json;
  try {
    json = call(request({ format: 'json' }));
  } catch (e) {
    if (e instanceof InternalError) showInternalError(e.message);
    else throw e;
    return;
  }
  const items = JSON.parse(json.response.output).items ?? [];
  ui.topology.innerHTML = topologySvg(items, response.plan);
  ui.topology.dataset.ms = json.ms.toFixed(3);
}

// Untouched, the switch shows what the files say (MatrixRTC objects rendered or not).
function followRtc(response) {
  if (!state.rtcTouched && response.ok) {
    ui.rtc.checked = response.objects.some((o) => o.component === 'matrixrtc');
  }
  ui.rtcNote.textContent = state.rtcTouched
    ? `--set matrixrtc.enabled=${ui.rtc.checked}`
    : 'as in the files';
}

// --- diagnostics in the editor -----------------------------------------------------------

// The core counts columns in Unicode scalar values; the textarea in UTF-16 code units.
function editorColumn(d) {
  if (!FILES.includes(d.file) || !d.line || !d.column || !state.core) return d.column ?? null;
  return state.core.utf16Column(state.texts[d.file], d.line, d.column);
}

function markEditor() {
  const diagnostics = state.response?.diagnostics ?? [];
  const here = diagnostics.filter((d) => d.file === state.file && d.line);
  editor.setMarks(here.map((d) => ({ line: d.line, severity: d.severity, message: `${d.code}: ${d.message}` })));
  ui.editorProblems.textContent = here.length
    ? `Problems in ${state.file}: ${here.map((d) => `line ${d.line}: ${d.message}`).join('; ')}`
    : '';
  for (const tab of ui.tabs) {
    const mine = diagnostics.filter((d) => d.file === tab.dataset.file);
    const badge = tab.querySelector('.badge');
    badge.textContent = mine.length ? String(mine.length) : '';
    badge.classList.toggle('warning', mine.every((d) => d.severity === 'warning'));
    tab.setAttribute('aria-label', mine.length ? `${tab.dataset.file}, ${summary(mine)}` : tab.dataset.file);
  }
}

function jump(d, column) {
  if (FILES.includes(d.file)) {
    selectTab(d.file);
    editor.goTo(d.line ?? 1, column ?? 1);
  } else if ((d.file ?? '').startsWith('--set')) {
    ui.rtc.focus();
  }
}

// --- tabs ---------------------------------------------------------------------------------

function selectTab(file) {
  if (file === state.file) return;
  state.texts[state.file] = editor.text;
  state.views[state.file] = { scrollTop: editor.textarea.scrollTop, caret: editor.textarea.selectionStart };
  state.file = file;
  for (const tab of ui.tabs) {
    const selected = tab.dataset.file === file;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected) ui.panel.setAttribute('aria-labelledby', tab.id);
  }
  ui.editorLabel.textContent = file;
  editor.text = state.texts[file];
  const view = state.views[file];
  if (view) {
    editor.textarea.setSelectionRange(view.caret, view.caret);
    editor.textarea.scrollTop = view.scrollTop;
  }
  markEditor();
}

document.getElementById('tabs').addEventListener('keydown', (event) => {
  const at = ui.tabs.indexOf(document.activeElement);
  if (at < 0) return;
  const next = {
    ArrowRight: (at + 1) % ui.tabs.length,
    ArrowLeft: (at - 1 + ui.tabs.length) % ui.tabs.length,
    Home: 0,
    End: ui.tabs.length - 1,
  }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  ui.tabs[next].focus();
  selectTab(ui.tabs[next].dataset.file);
});
for (const tab of ui.tabs) tab.addEventListener('click', () => selectTab(tab.dataset.file));

// --- output actions -------------------------------------------------------------------------

ui.copy.addEventListener('click', async () => {
  const output = state.response?.ok ? state.response.output : '';
  try {
    await navigator.clipboard.writeText(output);
    ui.copyStatus.textContent = `Copied ${state.response.objects.length} objects.`;
  } catch (e) {
    ui.copyStatus.textContent = `Could not copy: ${e.message}. Use Download instead.`;
  }
});

ui.download.addEventListener('click', () => {
  if (!state.response?.ok) return;
  const url = URL.createObjectURL(new Blob([state.response.output], { type: 'application/yaml' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: 'matrix-stack.yaml' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
});

ui.expand.addEventListener('click', () => {
  const all = [...ui.manifests.querySelectorAll('details')];
  const open = !all.every((d) => d.open);
  for (const d of all) d.open = open;
  ui.expand.textContent = open ? 'Collapse all' : 'Expand all';
});

ui.rtc.addEventListener('change', () => {
  state.rtcTouched = true;
  render();
});

// --- start ----------------------------------------------------------------------------------

const editor = createEditor(ui.panel, { onInput: schedule });

async function start() {
  try {
    const [core, ...texts] = await Promise.all([
      loadCore(),
      ...FILES.map(async (name) => {
        const response = await fetch(EXAMPLES[name]);
        if (!response.ok) throw new Error(`${EXAMPLES[name]}: HTTP ${response.status}`);
        return response.text();
      }),
    ]);
    state.core = core;
    FILES.forEach((name, i) => {
      state.texts[name] = texts[i];
    });
  } catch (e) {
    showInternalError(`could not load the page: ${e.message}`);
    return;
  }
  ui.version.textContent = state.core.version();
  editor.text = state.texts[state.file];
  render();
}

start();
