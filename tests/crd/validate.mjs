// Validate custom resources against the schemas of their CRDs, strictly.
//
// Usage: node tests/crd/validate.mjs NODE_MODULES_DIR < request.json > result.json
//   NODE_MODULES_DIR: what scripts/crd-deps.sh installed (dist/crd-node/node_modules)
//   request.json:     [{"id": ANY, "object": {apiVersion, kind, metadata, spec, ...}}, ...]
//   result.json:      [{"id": ANY, "ok": bool, "schema": "...", "errors": ["...", ...],
//                       "freeForm": ["/spec/...", ...]}, ...]
// Exit code: 0 when the request was read and every object was handled (valid or not;
// the verdicts are in result.json), 2 on a usage or setup error. tests/crd/validate.py
// drives this and turns the verdicts into the test's pass/fail.
//
// Where the schemas come from: the npm packages @kubernetes-models/{gateway-api,
// cert-manager,traefik,prometheus-operator} at the versions pinned in
// tests/crd/package.json. The first three's build (kubernetes-models' crd-generate) reads
// the upstream CRD YAML named in each package's package.json ("crd-generate.input") and
// turns each version's openAPIV3Schema into an ajv validator: compiled ahead of time
// (cert-manager 5.x, traefik 1.x), or a JSON schema compiled by ajv at run time
// (gateway-api 0.5.x). prometheus-operator 6.x is built by kubernetes-models'
// go-generate from the Go API types the operator generates its CRDs from
// (github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1, its
// package.json "go-generate.input"), with their validation markers (patterns, enums,
// required fields), compiled ahead of time. Each model class checks the
// whole object (apiVersion, kind, metadata as ObjectMeta, spec, status): types, enums,
// patterns, formats, lengths, item counts, required fields.
//
// Strictness. crd-generate keeps no "additionalProperties: false", so those validators
// accept unknown fields, which the API server would prune silently (structural schema
// pruning). This script adds that check: the object is handed to the validator through
// proxies that record every property the validator reads. An ajv validator reads each
// property its schema declares (`data.x !== undefined`), enumerates and reads every key
// of a map (additionalProperties with a schema), and reads nothing under a node whose
// schema declares no properties at all. So, for every object the validator reached:
//   - it read at least one name: a field present in the data but never read is not in
//     the schema -> error "unknown field";
//   - it read no name at all: the schema is free-form there (an object without
//     properties; in a structural CRD schema that is x-kubernetes-preserve-unknown-fields,
//     which crd-generate drops) -> not checked, listed in "freeForm".
// What is not checked: CEL rules (x-kubernetes-validations; crd-generate drops them) and
// defaults.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// API group -> npm package whose CRD schemas cover it.
const PACKAGES = {
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "acme.cert-manager.io": "@kubernetes-models/cert-manager",
  "traefik.io": "@kubernetes-models/traefik",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

function die(msg) {
  process.stderr.write(`crd-validate.mjs: ${msg}\n`);
  process.exit(2);
}

if (process.argv.length !== 3) die("usage: node validate.mjs NODE_MODULES_DIR < request.json");
const modulesDir = process.argv[2];
if (!existsSync(join(modulesDir, "@kubernetes-models"))) {
  die(`${modulesDir}/@kubernetes-models not found (run scripts/crd-deps.sh)`);
}

function pkgVersion(pkg) {
  return JSON.parse(readFileSync(join(modulesDir, pkg, "package.json"), "utf8")).version;
}

// "G/V" -> module namespace of the package's G/V index (all kinds of that version),
// or null when the package has no such version.
const versionModules = new Map();
async function versionModule(pkg, group, version) {
  const key = `${pkg} ${group}/${version}`;
  if (!versionModules.has(key)) {
    let mod = null;
    for (const name of ["index.mjs", "index.js"]) {
      const file = join(modulesDir, pkg, group, version, name);
      if (existsSync(file)) {
        mod = await import(pathToFileURL(file).href);
        break;
      }
    }
    versionModules.set(key, mod);
  }
  return versionModules.get(key);
}

function isObject(v) {
  return v !== null && typeof v === "object";
}

function escapeKey(k) {
  return k.replaceAll("~", "~0").replaceAll("/", "~1");
}

// Wraps value in a proxy that records, for each object reached, which property names
// were read. Child objects are wrapped lazily, when the validator reads them.
function track(value, path, seen) {
  const entry = { path, target: value, read: new Set(), isArray: Array.isArray(value) };
  seen.push(entry);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return v;
      entry.read.add(key);
      if (!isObject(v) || !Object.prototype.hasOwnProperty.call(target, key)) return v;
      if (!children.has(key)) children.set(key, track(v, `${path}/${escapeKey(key)}`, seen));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === "string") entry.read.add(key);
      return Reflect.has(target, key);
    },
  });
}

function formatAjvError(err) {
  const where = err.instancePath || "/";
  let msg = err.message || err.keyword;
  if (err.keyword === "enum" && err.params?.allowedValues) {
    msg += ` ${JSON.stringify(err.params.allowedValues)}`;
  } else if (err.keyword === "additionalProperties" && err.params?.additionalProperty) {
    msg += ` (${err.params.additionalProperty})`;
  }
  return `${where}: ${msg}`;
}

async function validateOne(obj) {
  if (!isObject(obj) || Array.isArray(obj)) return { ok: false, errors: ["not a mapping"] };
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !apiVersion.includes("/")) {
    return { ok: false, errors: [`no usable apiVersion/kind (${apiVersion}, ${kind})`] };
  }
  const [group, version] = apiVersion.split("/", 2);
  const pkg = PACKAGES[group];
  if (!pkg) return { ok: false, errors: [`no schema: no CRD package for API group ${group}`] };
  const mod = await versionModule(pkg, group, version);
  const Model = mod?.[kind];
  if (typeof Model !== "function" || Model.kind !== kind || Model.apiVersion !== apiVersion) {
    return {
      ok: false,
      errors: [`no schema: ${pkg}@${pkgVersion(pkg)} has no CRD schema for ${kind} in ${apiVersion}`],
    };
  }
  const schema = `${pkg}@${pkgVersion(pkg)} ${apiVersion} ${kind}`;

  // The model instance is a deep copy of the data; its prototype carries validate().
  const instance = new Model(obj);
  const seen = [];
  const errors = [];
  try {
    track(instance, "", seen).validate();
  } catch (e) {
    if (Array.isArray(e?.errors)) {
      for (const err of e.errors) errors.push(formatAjvError(err));
    } else {
      throw e;
    }
  }
  const root = seen[0];
  if (!root.read.has("apiVersion") || !root.read.has("kind")) {
    // Guard: the validator must have looked at the object.
    return { ok: false, schema, errors: ["internal: the validator did not read the object"] };
  }
  const freeForm = [];
  for (const entry of seen) {
    if (entry.isArray) continue;
    const keys = Object.keys(entry.target);
    if (entry.read.size === 0) {
      if (keys.length > 0) freeForm.push(entry.path || "/");
      continue;
    }
    for (const key of keys) {
      if (!entry.read.has(key)) {
        errors.push(
          `${entry.path}/${escapeKey(key)}: unknown field "${key}" (not in the CRD schema; the API server would drop it)`,
        );
      }
    }
  }
  return { ok: errors.length === 0, schema, errors, freeForm };
}

let request;
try {
  request = JSON.parse(readFileSync(0, "utf8"));
} catch (e) {
  die(`cannot read the request on stdin: ${e.message}`);
}
if (!Array.isArray(request)) die("the request must be a JSON array");

const results = [];
for (const item of request) {
  let result;
  try {
    result = await validateOne(item?.object);
  } catch (e) {
    result = { ok: false, errors: [`internal: ${e?.stack || e}`] };
  }
  results.push({ id: item?.id ?? null, ...result });
}
process.stdout.write(JSON.stringify(results));
