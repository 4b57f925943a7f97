#!/usr/bin/env python3
"""YAML 1.1 read-back check with PyYAML.

Usage: python roundtrip.py DIR

For every DIR/*.yaml that has a sibling DIR/*.json (a Kubernetes List), load
the YAML stream with PyYAML's safe loader (YAML 1.1 resolver: `yes`, `on`,
`y`, `0777`, `1_000`, unquoted dates ... are NOT strings) and require that
document i equals items[i] of the JSON List exactly, with strict types at
every level (a YAML bool never equals a JSON string, an int never equals a
float or a bool).

The loader is yaml.SafeLoader with one addition: a mapping with the same key
twice is an error (PyYAML would silently keep the last value, while kubectl's
strict decoding rejects it). The JSON side rejects duplicate keys as well.

Prints one line per mismatch, then `yaml11-pyyaml: N passed, M failed`
(counting file pairs). Exit 1 if any pair failed or if no pair was found.
"""

import glob
import json
import math
import os
import sys

import yaml


class DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


class StrictSafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader (same YAML 1.1 resolver) that rejects duplicate keys."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class reports unhashable keys itself
                marker = (type(key), key)
                if marker in seen:
                    raise DuplicateKeyError(
                        "while constructing a mapping", node.start_mark,
                        "found duplicate key %r (first at %s)" % (key, seen[marker]),
                        key_node.start_mark)
                seen[marker] = "line %d" % (key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def load_yaml_documents(text, name="<yaml>"):
    """All documents of the stream; a trailing empty document is dropped."""
    loader = StrictSafeLoader(text)
    loader.name = name  # used in error marks
    docs = []
    trailing_empty = False
    try:
        while loader.check_node():
            node = loader.get_node()
            trailing_empty = (
                isinstance(node, yaml.ScalarNode)
                and node.tag == "tag:yaml.org,2002:null"
                and node.value == ""
            )
            docs.append(loader.construct_document(node))
    finally:
        loader.dispose()
    if docs and docs[-1] is None and trailing_empty:
        docs.pop()
    return docs


def _no_duplicate_pairs(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key %r in JSON object" % k)
        obj[k] = v
    return obj


def load_json_items(text):
    data = json.loads(text, object_pairs_hook=_no_duplicate_pairs)
    if not isinstance(data, dict):
        raise ValueError("JSON top level is %s, expected an object" % type(data).__name__)
    if data.get("apiVersion") != "v1" or data.get("kind") != "List":
        raise ValueError("JSON top level is not apiVersion v1 kind List (got %r/%r)"
                         % (data.get("apiVersion"), data.get("kind")))
    items = data.get("items")
    if not isinstance(items, list):
        raise ValueError("JSON List has no 'items' array")
    return items


def pointer(parts):
    if not parts:
        return "/"
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def short(value, limit=200):
    try:
        s = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        s = repr(value)
    s = "%s %s" % (type(value).__name__, s)
    return s if len(s) <= limit else s[:limit] + "..."


def compare(y, j, path, out):
    """Append (path, message) for every difference between YAML value y and JSON value j."""
    # Exact type match first: bool is a subclass of int and True == 1 in Python.
    if type(y) is not type(j):
        out.append((pointer(path), "type mismatch: yaml=%s json=%s" % (short(y), short(j))))
        return
    if isinstance(y, dict):
        for k in y:
            if not isinstance(k, str):
                out.append((pointer(path + [k]),
                             "non-string mapping key in YAML: %s" % short(k)))
        ykeys = {k for k in y if isinstance(k, str)}
        jkeys = set(j)
        for k in sorted(ykeys - jkeys):
            out.append((pointer(path + [k]),
                        "only in yaml: yaml=%s json=<missing>" % short(y[k])))
        for k in sorted(jkeys - ykeys):
            out.append((pointer(path + [k]),
                        "only in json: yaml=<missing> json=%s" % short(j[k])))
        for k in sorted(ykeys & jkeys):
            compare(y[k], j[k], path + [k], out)
    elif isinstance(y, list):
        if len(y) != len(j):
            out.append((pointer(path),
                        "sequence length differs: yaml=%d json=%d" % (len(y), len(j))))
        for i, (a, b) in enumerate(zip(y, j)):
            compare(a, b, path + [i], out)
    elif isinstance(y, float):
        if not (y == j and math.copysign(1.0, y) == math.copysign(1.0, j)):
            out.append((pointer(path), "value differs: yaml=%s json=%s" % (short(y), short(j))))
    elif y is None:
        pass
    elif y != j:
        out.append((pointer(path), "value differs: yaml=%s json=%s" % (short(y), short(j))))


def describe(obj):
    if isinstance(obj, dict):
        kind = obj.get("kind")
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(kind, str):
            return " (%s/%s)" % (kind, name if isinstance(name, str) else "?")
    return ""


def check_pair(yaml_path, json_path):
    """Return a list of failure lines for one pair (empty list = pass)."""
    failures = []
    try:
        with open(yaml_path, encoding="utf-8") as f:
            docs = load_yaml_documents(f.read(), yaml_path)
    except Exception as e:  # noqa: BLE001 - any load error is a failed check
        return ["%s: YAML does not load: %s" % (yaml_path, str(e).replace("\n", " "))]
    try:
        with open(json_path, encoding="utf-8") as f:
            items = load_json_items(f.read())
    except Exception as e:  # noqa: BLE001
        return ["%s: JSON does not load: %s" % (json_path, e)]

    if len(docs) != len(items):
        failures.append("%s: document count differs: yaml=%d json items=%d"
                        % (yaml_path, len(docs), len(items)))
    for i, (doc, item) in enumerate(zip(docs, items)):
        diffs = []
        compare(doc, item, [], diffs)
        for p, msg in diffs:
            failures.append("%s: document %d%s: %s: %s"
                            % (yaml_path, i, describe(item), p, msg))
    return failures


def main(argv):
    if len(argv) != 2:
        print("usage: %s DIR" % argv[0], file=sys.stderr)
        return 2
    directory = argv[1]
    if not os.path.isdir(directory):
        print("yaml11-pyyaml: %s is not a directory" % directory, file=sys.stderr)
        return 1
    passed = failed = 0
    for yaml_path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        json_path = yaml_path[: -len(".yaml")] + ".json"
        if not os.path.isfile(json_path):
            continue
        failures = check_pair(yaml_path, json_path)
        if failures:
            failed += 1
            for line in failures:
                print("FAIL " + line)
        else:
            passed += 1
    if passed + failed == 0:
        print("yaml11-pyyaml: no .yaml/.json pairs found in %s" % directory)
    print("yaml11-pyyaml: %d passed, %d failed" % (passed, failed))
    return 1 if failed or passed + failed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
