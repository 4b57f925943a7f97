#!/usr/bin/env python3
"""The Extism plugin in a host written by others: the Python SDK (`extism`, libextism).

    dist/extism-venv/bin/python tests/extism/python_host.py \
        [--wasm dist/matrix-render.extism.wasm] [--cli target/debug/matrix-render] [--runs 50]

Checks, against the committed golden files and the CLI (which runs the raw core in wasmtime):
  - the module imports only `extism:host/env` (no WASI) and exports render, validate,
    schema and version;
  - `schema` is byte for byte `matrix-render schema`; `version` is `matrix-render --version`'s;
  - every fixture in tests/fixtures/*/render.args, sent as the RenderRequest the CLI builds
    (tests/extism/render_request.py), renders to exactly tests/golden/<fixture>.yaml and .json,
    twice; `validate` gives the same diagnostics and no output;
  - every bad input in tests/bad gives, through `validate`, the diagnostics of
    `matrix-render validate --format json` and `ok` as the CLI's exit code;
  - a request that is not RenderRequest JSON is a failed call (extism.Error); a bad config
    is not;
  - the memory limit and the timeout are enforced.
Prints the median time of a `render` call for the seed-rtc fixture (not asserted), and a
closing "N passed, N failed" line; exits non-zero on any failure.

Host settings (docs/extism.md): manifest `"memory": {"max_pages": 8192}` (512 MiB of linear
memory, the CLI's default limit) and `"timeout_ms": 10000` per call; `wasi=False`.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import extism
import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parent))
import render_request  # noqa: E402  (tests/extism/render_request.py)

REPO = Path(__file__).resolve().parents[2]
MAX_PAGES = 8192  # 64 KiB pages: 512 MiB
TIMEOUT_MS = 10_000
EXPORTS = ("render", "validate", "schema", "version")


def manifest(wasm: Path, max_pages: int = MAX_PAGES, timeout_ms: int = TIMEOUT_MS) -> dict:
    return {
        "wasm": [{"path": str(wasm)}],
        "memory": {"max_pages": max_pages},
        "timeout_ms": timeout_ms,
    }


def load(wasm: Path, **limits) -> extism.Plugin:
    return extism.Plugin(manifest(wasm, **limits), wasi=False)


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok


# --- the module itself ---------------------------------------------------------


def leb128(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def wasm_name(data: bytes, i: int) -> tuple[str, int]:
    n, i = leb128(data, i)
    return data[i : i + n].decode(), i + n


def imports_exports(data: bytes) -> tuple[list[tuple[str, str]], list[str], int]:
    """(module, name) of every import, every export name, and the memory's minimum pages."""
    assert data[:8] == b"\0asm\1\0\0\0", "not a wasm module"
    imports: list[tuple[str, str]] = []
    exports: list[str] = []
    min_pages = 0
    i = 8
    while i < len(data):
        section = data[i]
        size, i = leb128(data, i + 1)
        body, end = i, i + size
        if section == 2:  # imports
            count, j = leb128(data, body)
            for _ in range(count):
                module, j = wasm_name(data, j)
                name, j = wasm_name(data, j)
                kind = data[j]
                j += 1
                if kind == 0:  # function: type index
                    _, j = leb128(data, j)
                elif kind == 1:  # table: reftype + limits
                    flags, j = leb128(data, j + 1)
                    _, j = leb128(data, j)
                    if flags & 1:
                        _, j = leb128(data, j)
                elif kind == 2:  # memory: limits
                    flags, j = leb128(data, j)
                    _, j = leb128(data, j)
                    if flags & 1:
                        _, j = leb128(data, j)
                else:  # global: valtype + mutability
                    j += 2
                imports.append((module, name))
        elif section == 5:  # memories
            _, j = leb128(data, body)
            _flags, j = leb128(data, j)
            min_pages, j = leb128(data, j)
        elif section == 7:  # exports
            count, j = leb128(data, body)
            for _ in range(count):
                name, j = wasm_name(data, j)
                _, j = leb128(data, j + 1)
                exports.append(name)
        i = end
    return imports, exports, min_pages


# --- the CLI -------------------------------------------------------------------


def cli(args: argparse.Namespace, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(args.cli), *argv], cwd=cwd, capture_output=True, check=False, timeout=120
    )


CONTRACT = json.loads((REPO / "schema/render-contract.schema.json").read_text())
CONTRACT_CHECKED = {"RenderRequest": 0, "RenderResponse": 0}
CONTRACT_ERRORS: list[str] = []


def conforms(definition: str, document: dict) -> None:
    """Validates `document` against the published contract's `definition`, counting it."""
    schema = dict(CONTRACT, **{"$ref": f"#/$defs/{definition}"})
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    CONTRACT_CHECKED[definition] += 1
    for e in errors[:3]:
        CONTRACT_ERRORS.append(f"{definition} {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}")


def call_json(plugin: extism.Plugin, function: str, request: dict) -> dict:
    conforms("RenderRequest", request)
    response = json.loads(plugin.call(function, json.dumps(request).encode()))
    conforms("RenderResponse", response)
    return response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wasm", type=Path, default=REPO / "dist/matrix-render.extism.wasm")
    parser.add_argument("--cli", type=Path, default=REPO / "target/debug/matrix-render")
    parser.add_argument("--runs", type=int, default=50, help="render calls to time")
    args = parser.parse_args()
    args.cli = args.cli.resolve()
    checks = Checks()
    print(f"python host: extism {extism.extism_version()}, {args.wasm}")

    # The module: imports and exports.
    data = args.wasm.read_bytes()
    imports, exports, min_pages = imports_exports(data)
    foreign = [f"{m}::{n}" for m, n in imports if m != "extism:host/env"]
    checks.check("imports only extism:host/env", not foreign, f"also imports {foreign}")
    missing = [e for e in EXPORTS if e not in exports]
    checks.check("exports render, validate, schema, version", not missing, f"missing {missing}")

    started = time.perf_counter()
    plugin = load(args.wasm)
    load_ms = (time.perf_counter() - started) * 1000

    # schema and version.
    schema = cli(args, ["schema"], REPO)
    checks.check(
        "schema is `matrix-render schema`",
        schema.returncode == 0 and plugin.call("schema", b"") == schema.stdout,
    )
    # The first line, `matrix-render X.Y.Z`; the default images follow it.
    version = cli(args, ["--version"], REPO).stdout.decode().splitlines()[0].split()
    got = plugin.call("version", b"").decode()
    checks.check("version is `matrix-render --version`", version[-1:] == [got], f"{got} vs {version}")

    # Every fixture renders to its golden bytes, twice; validate agrees.
    fixtures = render_request.fixtures(REPO)
    checks.check("at least 7 fixtures", len(fixtures) >= 7, str(len(fixtures)))
    for name, fixture in fixtures:
        for fmt in ("yaml", "json"):
            request = render_request.fixture_request(fixture, fmt)
            golden = (REPO / "tests/golden" / f"{name}.{fmt}").read_bytes()
            body = json.dumps(request).encode()
            first = json.loads(plugin.call("render", body))
            second = json.loads(plugin.call("render", body))
            conforms("RenderRequest", request)
            conforms("RenderResponse", first)
            ok = checks.check(
                f"{name} ({fmt}) renders",
                first["ok"],
                json.dumps(first["diagnostics"], indent=1)[:2000],
            )
            if ok:
                checks.check(
                    f"{name} ({fmt}) is byte-identical to tests/golden/{name}.{fmt}",
                    first["output"].encode() == golden,
                )
                checks.check(f"{name} ({fmt}) is the same twice", first == second)
            checked = json.loads(plugin.call("validate", body))
            checks.check(
                f"{name} ({fmt}) validate: same verdict and diagnostics, no manifests",
                checked["ok"] == first["ok"]
                and checked["diagnostics"] == first["diagnostics"]
                and checked["output"] == ""
                and checked["objects"] == [],
            )

    # Every bad input gives the CLI's diagnostics.
    bad_dir = REPO / "tests/bad"
    cases = render_request.bad_cases(bad_dir)
    checks.check("at least 40 bad inputs", len(cases) >= 40, str(len(cases)))
    for case, argv in cases:
        request = render_request.request(bad_dir, argv, "yaml")
        got = call_json(plugin, "validate", request)
        out = cli(args, ["validate", *argv, "--format", "json"], bad_dir)
        try:
            expected = json.loads(out.stdout)
        except json.JSONDecodeError:
            expected = None
        checks.check(
            f"bad/{case}: the CLI's diagnostics",
            got["diagnostics"] == expected and got["ok"] == (out.returncode == 0),
            f"plugin ok={got['ok']} {json.dumps(got['diagnostics'])[:600]}\n"
            f"  CLI exit {out.returncode} {out.stdout[:600]!r} {out.stderr[:300]!r}",
        )
        rendered = call_json(plugin, "render", request)
        checks.check(
            f"bad/{case}: render agrees with validate",
            rendered["diagnostics"] == got["diagnostics"]
            and rendered["ok"] == got["ok"]
            and (rendered["ok"] or rendered["output"] == ""),
        )

    # No secret in a response: a too-short LiveKit secret given by --set is an error whose
    # `file` names the flag, and a misspelled secret key in flow style is an unknown key; the
    # values appear nowhere in the response bytes.
    seed = REPO / "tests/fixtures/seed"
    leaky = render_request.request(seed, ["-f", "values.yaml", "-f", "secrets.yaml"], "yaml")
    short, typo = "Sh0rtSecretValue9", "Typ0dSecretValue_1234567890abcdef"
    leaky["set"] = ["matrixrtc.enabled=true", f"matrixrtc.livekit.secret={short}"]
    leaky["values"].append(
        {"name": "extra.yaml", "text": f'synapse: {{registration_shared_secert: "{typo}"}}\n'}
    )
    for function in ("render", "validate"):
        raw = plugin.call(function, json.dumps(leaky).encode())
        codes = {d["code"] for d in json.loads(raw)["diagnostics"]}
        checks.check(
            f"{function}: no secret value in the response",
            {"weak-secret", "unknown-key"} <= codes and short.encode() not in raw
            and typo.encode() not in raw,
            f"codes {sorted(codes)}",
        )

    # The published contract: every request sent and response received so far conforms.
    checks.check(
        f"schema/render-contract.schema.json: {CONTRACT_CHECKED['RenderRequest']} requests and "
        f"{CONTRACT_CHECKED['RenderResponse']} responses conform",
        not CONTRACT_ERRORS and min(CONTRACT_CHECKED.values()) >= 50,
        "\n  ".join(CONTRACT_ERRORS[:10]),
    )

    # Errors: only a request that is not RenderRequest JSON fails the call.
    for label, body in [
        ("not JSON", b"{values: nope"),
        ("not UTF-8", b'{"values": "\xff"}'),
        ("an unknown field", b'{"valuez": []}'),
        ("a wrong type", b'{"values": 3}'),
    ]:
        for function in ("render", "validate"):
            try:
                plugin.call(function, body)
                error = ""
            except extism.Error as e:
                error = str(e)
            checks.check(
                f"{function} of {label} is a failed call",
                error.startswith("the render request is not valid: "),
                repr(error),
            )
    empty = call_json(plugin, "render", {})
    checks.check(
        "an empty request is a response with diagnostics",
        not empty["ok"] and any(d["code"] == "missing-value" for d in empty["diagnostics"]),
    )

    # The limits are enforced (and are errors of the call, not responses).
    seed_rtc = dict(fixtures)["seed-rtc"]
    body = json.dumps(render_request.fixture_request(seed_rtc, "yaml")).encode()
    # 60,000 unknown keys: about 1.4 s of work here, so 200 ms always runs out.
    slow = {"values": [{"name": "slow.yaml", "text": "".join(f"k{i}: 1\n" for i in range(60000))}]}
    timed = load(args.wasm, timeout_ms=200)
    try:
        timed.call("render", json.dumps(slow).encode())
        error = ""
    except extism.Error as e:
        error = str(e)
    checks.check("timeout_ms stops a call", "timeout" in error.lower(), repr(error))
    checks.check("a timed-out plugin works again", call_json(timed, "render", {}) == empty)
    try:
        # No room to grow: the 4 MiB input alone does not fit.
        load(args.wasm, max_pages=min_pages).call(
            "render", json.dumps({"values": [{"name": "big.yaml", "text": "#" * (4 << 20)}]})
        )
        error = ""
    except extism.Error as e:
        error = str(e)
    checks.check("memory.max_pages stops a call", error != "", "the call succeeded")
    checks.check("the plugin still works after failed calls", call_json(plugin, "render", {}) == empty)

    # Per-call time (not asserted; the machines are noisy).
    times = []
    for _ in range(max(args.runs, 1)):
        started = time.perf_counter()
        plugin.call("render", body)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"python host: render seed-rtc: median {statistics.median(times):.2f} ms over "
        f"{len(times)} calls (min {min(times):.2f}, max {max(times):.2f}); "
        f"plugin load {load_ms:.0f} ms; {len(data)} bytes"
    )

    print(f"python host: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
