// The result views: the diagnostics list, the manifests grouped by component, and the plan
// tables. Each takes a part of a RenderResponse (the contract in crates/model/src/api.rs)
// and redraws its container; none decides anything the core did not.

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'className') node.className = v;
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return node;
};

// The same words as the core's summary (model::diag::summary): "1 error, 2 warnings".
export function summary(diagnostics) {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

// diagnostics: the response's; editorColumn(d): the UTF-16 column of d in its file, or
// null; jump(d): called when the entry is activated (click, Enter or Space).
export function showDiagnostics(list, diagnostics, { editorColumn, jump }) {
  if (diagnostics.length === 0) {
    list.replaceChildren(el('li', { className: 'none' }, 'No problems.'));
    return;
  }
  list.replaceChildren(
    ...diagnostics.map((d) => {
      const where = [d.file, d.line, d.column].filter((x) => x !== undefined).join(':');
      const column = editorColumn(d);
      const body = [
        el('strong', {}, `${d.severity}[${d.code}]`),
        ' ',
        where ? el('span', { className: 'where' }, where) : null,
        where ? ' ' : null,
        d.message,
        d.path ? el('span', { className: 'hint' }, `path: ${d.path}`) : null,
        d.hint ? el('span', { className: 'hint' }, `hint: ${d.hint}`) : null,
      ];
      const data = {
        code: d.code,
        severity: d.severity,
        file: d.file ?? '',
        line: d.line ?? '',
        coreColumn: d.column ?? '',
        column: column ?? '',
      };
      const target = d.file
        ? el('button', { type: 'button', dataset: data, title: 'Show in the editor' }, ...body)
        : el('div', { dataset: data }, ...body);
      if (d.file) target.addEventListener('click', () => jump(d, column));
      return el('li', { className: d.severity }, target);
    }),
  );
}

// Objects grouped by component, in output order; each one a <details> whose YAML is filled
// in when it is first opened. `open` holds the keys ("Kind/name") left open, kept across
// renders.
export function showManifests(container, objects, open) {
  if (objects.length === 0) {
    container.replaceChildren(el('p', { className: 'empty' }, 'No manifests: the config has errors.'));
    return;
  }
  const groups = new Map();
  for (const o of objects) {
    if (!groups.has(o.component)) groups.set(o.component, []);
    groups.get(o.component).push(o);
  }
  const sections = [...groups].map(([component, list]) => {
    const id = `component-${component}`;
    return el(
      'section',
      { 'aria-labelledby': id, dataset: { component } },
      el('h3', { id }, component, ' ', el('span', { className: 'count' }, `(${list.length})`)),
      ...list.map((o) => {
        const key = `${o.kind}/${o.name}`;
        const pre = el('pre', { tabindex: '0', 'aria-label': `${o.kind} ${o.name} YAML` });
        const details = el(
          'details',
          { dataset: { key, file: o.fileName } },
          el('summary', {}, el('span', { className: 'kind' }, o.kind), ' ', o.name),
          pre,
        );
        const fill = () => {
          if (details.open && !pre.textContent) pre.textContent = o.document ?? '';
          if (details.open) open.add(key);
          else open.delete(key);
        };
        details.addEventListener('toggle', fill);
        if (open.has(key)) {
          details.open = true;
          pre.textContent = o.document ?? '';
        }
        return details;
      }),
    );
  });
  container.replaceChildren(...sections);
}

const table = (caption, testid, head, rows) =>
  el(
    'table',
    { dataset: { testid } },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows),
  );

const ports = (p) => (p.endPort !== undefined && p.endPort !== p.port ? `${p.port}–${p.endPort}` : `${p.port}`);

// The plan (response.plan): DNS records, ports to open and forward, secrets, notes.
export function showPlan(container, response) {
  const plan = response.plan;
  if (!plan) {
    container.replaceChildren(
      el(
        'p',
        { className: 'empty' },
        response.ok
          ? 'This build of the core computes no plan.'
          : 'No plan: the config has errors.',
      ),
    );
    return;
  }
  const parts = [];
  parts.push(
    table(
      'DNS records',
      'plan-dns',
      ['Host', 'Points at', 'Serves', 'Proxy (e.g. Cloudflare)', 'Note'],
      plan.dns.map((r) =>
        el(
          'tr',
          { dataset: { host: r.host, target: r.target } },
          el('td', {}, el('code', {}, r.host)),
          el('td', {}, r.target === 'node' ? "the node's public address" : "the ingress's public address"),
          el('td', {}, r.serves.join('; ')),
          el('td', { className: r.proxyAllowed ? '' : 'no' }, r.proxyAllowed ? 'allowed' : 'DNS only'),
          el('td', {}, r.note ?? ''),
        ),
      ),
    ),
    table(
      'Ports to open and forward',
      'plan-ports',
      ['Component', 'Protocol', 'Port', 'Forward to', 'Purpose'],
      plan.ports.map((p) =>
        el(
          'tr',
          { dataset: { component: p.component, protocol: p.protocol } },
          el('td', {}, p.component),
          el('td', {}, p.protocol),
          el('td', {}, ports(p)),
          el('td', {}, p.nodes),
          el('td', {}, p.purpose),
        ),
      ),
    ),
    table(
      'Secrets',
      'plan-secrets',
      ['Setting', 'Value from', 'Secret', 'Key', 'Required'],
      plan.secrets.map((s) =>
        el(
          'tr',
          { dataset: { path: s.path, source: s.source } },
          el('td', {}, el('code', {}, s.path)),
          el('td', { className: s.source === 'missing' && s.required ? 'no' : '' }, s.source),
          el('td', {}, s.secret),
          el('td', {}, s.key),
          el('td', {}, s.required ? 'yes' : 'no'),
        ),
      ),
    ),
    table(
      'Namespaces and Pod Security',
      'plan-namespaces',
      ['Namespace', 'Level its pods need', 'Labelled', 'Runs'],
      (plan.namespaces ?? []).map((n) =>
        el(
          'tr',
          { dataset: { namespace: n.name, needs: n.needs } },
          el('td', {}, el('code', {}, n.name)),
          el('td', {}, n.needs),
          el('td', {}, n.enforces ?? 'not labelled (podSecurity.enabled is off)'),
          el('td', {}, n.holds.join(', ')),
        ),
      ),
    ),
  );
  if (plan.prerequisites?.length) {
    parts.push(
      el('h3', {}, 'Prerequisites'),
      el('ul', {}, ...plan.prerequisites.map((n) => el('li', {}, n))),
    );
  }
  if (plan.notes.length) {
    parts.push(el('h3', {}, 'Notes'), el('ul', {}, ...plan.notes.map((n) => el('li', {}, n))));
  }
  container.replaceChildren(...parts);
}
