"""Schema conformance: an independent validator (Python jsonschema, Draft 2020-12) must agree
with matrix-render about which values files are valid by schema.

- the committed schema is itself a valid Draft 2020-12 schema;
- every values file of every good fixture (tests/fixtures/*/*.yaml) and examples/ validates;
- for every bad input (tests/bad/*.yaml), jsonschema rejects the file exactly when
  matrix-render's reviewed snapshot (tests/bad/*.snap) holds a schema-level diagnostic
  (unknown key, wrong type, value not allowed, out of range, missing key) located in that
  file. Cases that are not YAML that PyYAML reads the same way (syntax errors, duplicate
  keys, tags, alias bombs) and KRM ResourceList envelopes are counted as skipped, as are
  cases marked `# yaml11: differs`:
  PyYAML reads YAML 1.1, where an unquoted `yes` is a boolean, and matrix-render YAML 1.2.

Usage: python conformance.py REPO_ROOT
"""

import json
import pathlib
import re
import sys

import jsonschema
import yaml

SCHEMA_CODES = {"unknown-key", "invalid-type", "invalid-value", "out-of-range", "missing-key"}
YAML_CODES = {"yaml-syntax", "duplicate-key", "too-deep", "too-many-aliases", "unsupported-yaml", "not-a-mapping"}
# A KRM ResourceList is an envelope around the values, not a values file: the schema does not
# apply to it as a whole.
ENVELOPE_CODES = {"invalid-resource-list"}


def main(root: pathlib.Path) -> int:
    schema = json.loads((root / "schema/matrix-render.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    passed = failed = skipped = 0

    good = sorted(root.glob("tests/fixtures/*/*.yaml")) + sorted(root.glob("examples/*.yaml"))
    for path in good:
        data = yaml.safe_load(path.read_text()) or {}
        errors = list(validator.iter_errors(data))
        if errors:
            failed += 1
            print(f"FAIL {path.relative_to(root)}: valid for matrix-render, rejected by jsonschema:")
            for e in errors[:5]:
                print(f"     {'/'.join(map(str, e.absolute_path))}: {e.message}")
        else:
            passed += 1

    for snap in sorted(root.glob("tests/bad/*.snap")):
        case = snap.with_suffix(".yaml")
        text = snap.read_text()
        diagnostics = text.split("--- diagnostics\n", 1)[1].split("--- stderr\n", 1)[0]
        ours = set()
        for line in diagnostics.splitlines():
            m = re.match(r"(error|warning) (\S+) `[^`]*` at (\S+?)(?::\d+:\d+)?: ", line)
            if m and m.group(3) == case.name:
                ours.add(m.group(2))
        if ours & (YAML_CODES | ENVELOPE_CODES) or "# yaml11: differs" in case.read_text().splitlines():
            skipped += 1
            continue
        try:
            data = yaml.safe_load(case.read_text()) or {}
        except yaml.YAMLError:
            skipped += 1
            continue
        theirs = list(validator.iter_errors(data))
        we_reject = bool(ours & SCHEMA_CODES)
        if we_reject == bool(theirs):
            passed += 1
        else:
            failed += 1
            verdict = "rejects" if we_reject else "accepts"
            print(f"FAIL {case.relative_to(root)}: matrix-render {verdict} it by schema ({sorted(ours)}), jsonschema does not agree:")
            for e in theirs[:5]:
                print(f"     {'/'.join(map(str, e.absolute_path))}: {e.message}")

    print(f"schema-conformance: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
