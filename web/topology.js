// The topology picture: an inline SVG drawn from a render's objects (the items of a JSON
// render) and its plan. Four columns, left to right:
//
//   host names ─► Ingresses / HTTPRoutes ─► Services ─► workloads (Deployments ...)
//
// Edges follow what Kubernetes follows: an Ingress rule's host and backend Service, an
// HTTPRoute's hostnames and backendRefs, a Service's selector over a pod template's labels.
// Pods on the node's network (coturn; LiveKit with hostNetwork) are outlined, with their
// public ports from the plan (or, without a plan, their container ports); a host name whose
// certificate such a pod mounts, or that the plan points at a node, links to it directly
// (dashed). Only structure is read here; nothing is rendered or decided that the core did not.
//
//   topologySvg(items, plan) -> string of <svg ...>...</svg>, with <title>, <desc>, role="img"

const BOX_W = 184;
const BOX_H = 40;
const ROW = 52;
const COLS = [10, 244, 478, 712];
const PORTS_X = COLS[3] + BOX_W + 12;
const WIDTH = PORTS_X + 230;
const TOP = 44;
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

const esc = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const range = (p) => (p.endPort && p.endPort !== p.port ? `${p.port}–${p.endPort}` : `${p.port}`);

function model(items, plan) {
  const nodes = new Map(); // id -> {id, col, name, sub, title, cls, ports}
  const edges = new Map(); // "a>b" -> {from, to, cls}
  const add = (id, node) => {
    if (!nodes.has(id)) nodes.set(id, { id, ports: [], ...node });
    return nodes.get(id);
  };
  const link = (from, to, cls = '') => edges.set(`${from}>${to}`, { from, to, cls });
  const hostId = (h) => `host:${h}`;
  const dns = new Map((plan?.dns ?? []).map((r) => [r.host, r]));
  const addHost = (h) => {
    const record = dns.get(h);
    const sub = record
      ? `DNS → ${record.target}${record.proxyAllowed ? '' : ', DNS only'}`
      : 'host name';
    return add(hostId(h), { col: 0, name: h, sub, title: record?.serves?.join('; ') ?? h, cls: 'host' });
  };

  for (const o of items) {
    const name = o.metadata?.name ?? '';
    if (o.kind === 'Ingress') {
      const paths = [];
      const id = `route:Ingress/${name}`;
      add(id, { col: 1, name, sub: 'Ingress', cls: 'route' });
      for (const rule of o.spec?.rules ?? []) {
        if (rule.host) link(addHost(rule.host).id, id);
        for (const p of rule.http?.paths ?? []) {
          paths.push(p.path ?? '/');
          const svc = p.backend?.service?.name;
          if (svc) link(id, `svc:${svc}`);
        }
      }
      nodes.get(id).sub = `Ingress ${[...new Set(paths)].join(' ')}`;
      nodes.get(id).title = `Ingress ${name}: ${paths.join(', ')}`;
    } else if (o.kind === 'HTTPRoute') {
      const paths = [];
      const id = `route:HTTPRoute/${name}`;
      add(id, { col: 1, name, sub: 'HTTPRoute', cls: 'route' });
      for (const h of o.spec?.hostnames ?? []) link(addHost(h).id, id);
      for (const rule of o.spec?.rules ?? []) {
        for (const m of rule.matches ?? []) paths.push(m.path?.value ?? '/');
        for (const b of rule.backendRefs ?? []) {
          if (!b.kind || b.kind === 'Service') link(id, `svc:${b.name}`);
        }
      }
      nodes.get(id).sub = `HTTPRoute ${[...new Set(paths)].join(' ')}`;
      nodes.get(id).title = `HTTPRoute ${name}: ${paths.join(', ')}`;
    }
  }

  const services = items.filter((o) => o.kind === 'Service');
  const workloads = items.filter((o) => WORKLOADS.has(o.kind));
  for (const s of services) {
    const name = s.metadata?.name ?? '';
    const ports = (s.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
    add(`svc:${name}`, { col: 2, name, sub: `Service ${ports.join(' ')}`, title: `Service ${name}`, cls: 'service' });
    const selector = Object.entries(s.spec?.selector ?? {});
    if (selector.length === 0) continue;
    for (const w of workloads) {
      const labels = w.spec?.template?.metadata?.labels ?? {};
      if (selector.every(([k, v]) => labels[k] === v)) {
        link(`svc:${name}`, `work:${w.kind}/${w.metadata?.name}`);
      }
    }
  }

  for (const w of workloads) {
    const name = w.metadata?.name ?? '';
    const pod = w.spec?.template?.spec ?? {};
    const id = `work:${w.kind}/${name}`;
    const node = add(id, { col: 3, name, sub: w.kind, title: `${w.kind} ${name}`, cls: 'workload' });
    if (!pod.hostNetwork) continue;
    node.cls = 'workload hostnet';
    node.sub = `${w.kind} · node network`;
    const planned = (plan?.ports ?? []).filter((p) => p.component === name);
    node.ports = planned.length
      ? planned.map((p) => `${p.protocol} ${range(p)}`)
      : (pod.containers ?? []).flatMap((c) =>
          (c.ports ?? []).map((p) => `${p.protocol ?? 'TCP'} ${p.hostPort ?? p.containerPort}`),
        );
    node.title = `${w.kind} ${name} on the node's network: ${node.ports.join(', ')}`;
    // A host name whose certificate this pod mounts reaches it on the node's address.
    const mounted = new Set((pod.volumes ?? []).map((v) => v.secret?.secretName).filter(Boolean));
    for (const cert of items.filter((o) => o.kind === 'Certificate')) {
      if (mounted.has(cert.spec?.secretName)) {
        for (const h of cert.spec?.dnsNames ?? []) link(addHost(h).id, id, 'node-link');
      }
    }
    for (const record of plan?.dns ?? []) {
      if (record.target === 'node' && record.serves.some((s) => s.toLowerCase().includes(name))) {
        link(addHost(record.host).id, id, 'node-link');
      }
    }
  }
  for (const record of plan?.dns ?? []) addHost(record.host);
  // Edges to Services that were not rendered (none expected) are dropped.
  for (const [key, e] of edges) if (!nodes.has(e.to) || !nodes.has(e.from)) edges.delete(key);
  return { nodes, edges: [...edges.values()] };
}

// Orders each column after the one before it, so that edges mostly run straight across.
function layout(nodes, edges) {
  const columns = [[], [], [], []];
  const placed = new Set();
  const place = (n) => {
    if (!placed.has(n.id)) {
      placed.add(n.id);
      columns[n.col].push(n);
    }
  };
  for (const n of nodes.values()) if (n.col === 0) place(n);
  for (let col = 1; col < 4; col += 1) {
    for (const from of columns[col - 1]) {
      for (const e of edges) if (e.from === from.id && nodes.get(e.to).col === col) place(nodes.get(e.to));
    }
    for (const n of nodes.values()) if (n.col === col) place(n);
  }
  columns.forEach((list) =>
    list.forEach((n, i) => {
      n.x = COLS[n.col];
      n.y = TOP + i * ROW;
    }),
  );
  return { columns, height: TOP + Math.max(1, ...columns.map((c) => c.length)) * ROW };
}

function describe(nodes, edges) {
  const out = (id) => edges.filter((e) => e.from === id).map((e) => nodes.get(e.to));
  const label = (n) => `${n.sub.split(' ')[0]} ${n.name}`;
  const lines = [];
  for (const host of nodes.values()) {
    if (host.col !== 0) continue;
    const next = out(host.id);
    if (next.length === 0) lines.push(`${host.name}: ${host.sub}, nothing in the cluster routes it.`);
    for (const n of next) {
      if (n.col === 3) {
        lines.push(`${host.name} → ${label(n)} on the node's network.`);
        continue;
      }
      const chains = out(n.id).flatMap((svc) => {
        const work = out(svc.id);
        return work.length ? work.map((w) => `${label(svc)} → ${label(w)}`) : [label(svc)];
      });
      lines.push(`${host.name} → ${label(n)} → ${chains.join('; ') || 'no Service'}.`);
    }
  }
  for (const n of nodes.values()) {
    if (n.ports.length) lines.push(`${label(n)} listens on the node's network: ${n.ports.join(', ')}.`);
  }
  return lines;
}

export function topologySvg(items, plan) {
  const { nodes, edges } = model(items, plan);
  const { columns, height } = layout(nodes, edges);
  const lines = describe(nodes, edges);
  const hosts = columns[0].length;
  const workloads = columns[3].length;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 ${WIDTH} ${height}"`,
    ` aria-label="${esc(`Topology: ${hosts} host names, ${columns[1].length} routes, ${columns[2].length} Services, ${workloads} workloads`)}"`,
    ` aria-describedby="topology-desc">`,
    `<title id="topology-title">Topology of the rendered stack</title>`,
    `<desc id="topology-desc">${esc(lines.join(' '))}</desc>`,
  );
  ['Host names', 'Ingress / HTTPRoute', 'Services', 'Workloads'].forEach((t, i) =>
    parts.push(`<text class="col" x="${COLS[i]}" y="22">${esc(t)}</text>`),
  );
  if (columns[3].some((n) => n.ports.length)) {
    parts.push(`<text class="col" x="${PORTS_X}" y="22">Node ports</text>`);
  }
  for (const e of edges) {
    const a = nodes.get(e.from);
    const b = nodes.get(e.to);
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = b.x;
    const y2 = b.y + BOX_H / 2;
    const mid = (x1 + x2) / 2;
    parts.push(
      `<path class="${e.cls}" d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}"/>`,
    );
  }
  for (const n of nodes.values()) {
    parts.push(
      `<g class="node ${n.cls}"><title>${esc(n.title ?? n.name)}</title>`,
      `<rect x="${n.x}" y="${n.y}" width="${BOX_W}" height="${BOX_H}" rx="5"/>`,
      `<text x="${n.x + 8}" y="${n.y + 16}">${esc(clip(n.name, 27))}</text>`,
      `<text class="sub" x="${n.x + 8}" y="${n.y + 31}">${esc(clip(n.sub, 33))}</text>`,
    );
    // Two ports a line, so that a workload's ports stay beside its box.
    for (let i = 0; i < n.ports.length; i += 2) {
      const line = n.ports.slice(i, i + 2).join(' · ');
      parts.push(`<text class="port" x="${PORTS_X}" y="${n.y + 12 + (i / 2) * 13}">${esc(line)}</text>`);
    }
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}
