// The render contract, schema/render-contract.schema.json (generated from the core's types),
// as a checker of what the browser page sends to the core and gets back. A small validator
// of the keywords that schema uses (type, const, oneOf, anyOf, $ref into $defs, properties,
// additionalProperties, required, items, minimum, maximum); an unknown keyword is an error,
// so a schema that grows a new one cannot pass unchecked.

import fs from 'node:fs';
import path from 'node:path';

const ANNOTATIONS = new Set(['title', 'description', 'default', 'format', '$schema', '$id']);
const KEYWORDS = new Set([
  'type', 'const', 'oneOf', 'anyOf', '$ref', 'properties', 'additionalProperties', 'required',
  'items', 'minimum', 'maximum',
]);

function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function typeMatches(value, type) {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

export function loadContract(repo) {
  return JSON.parse(fs.readFileSync(path.join(repo, 'schema/render-contract.schema.json'), 'utf8'));
}

// The problems of `value` against `$defs/<name>` of the contract, as `path: what` strings.
export function contractProblems(contract, name, value) {
  const problems = [];
  const check = (schema, v, at) => {
    for (const key of Object.keys(schema)) {
      if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key)) problems.push(`${at}: the schema uses \`${key}\`, which this checker does not know`);
    }
    if (schema.$ref) {
      const target = schema.$ref.replace('#/$defs/', '');
      if (!contract.$defs[target]) problems.push(`${at}: unknown $ref ${schema.$ref}`);
      else check(contract.$defs[target], v, at);
    }
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => typeMatches(v, t))) {
        problems.push(`${at}: ${typeOf(v)}, want ${types.join(' or ')}`);
        return;
      }
    }
    if ('const' in schema && v !== schema.const) problems.push(`${at}: ${JSON.stringify(v)}, want ${JSON.stringify(schema.const)}`);
    if (schema.minimum !== undefined && typeof v === 'number' && v < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && typeof v === 'number' && v > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
    const fits = (s) => {
      const before = problems.length;
      check(s, v, at);
      const ok = problems.length === before;
      problems.length = before;
      return ok;
    };
    if (schema.oneOf && schema.oneOf.filter(fits).length !== 1) problems.push(`${at}: not exactly one of oneOf`);
    if (schema.anyOf && !schema.anyOf.some(fits)) problems.push(`${at}: none of anyOf`);
    if (typeOf(v) === 'object') {
      const props = schema.properties ?? {};
      for (const key of schema.required ?? []) {
        if (!(key in v)) problems.push(`${at}: missing \`${key}\``);
      }
      for (const [key, child] of Object.entries(v)) {
        if (props[key]) check(props[key], child, `${at}.${key}`);
        else if (schema.additionalProperties === false) problems.push(`${at}: \`${key}\` is not in the contract`);
        else if (typeof schema.additionalProperties === 'object') check(schema.additionalProperties, child, `${at}.${key}`);
      }
    }
    if (typeOf(v) === 'array' && schema.items) v.forEach((item, i) => check(schema.items, item, `${at}[${i}]`));
  };
  if (!contract.$defs?.[name]) return [`the contract has no $defs/${name}`];
  check(contract.$defs[name], value, name);
  return problems;
}
