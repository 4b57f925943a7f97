"""The RenderRequest that `matrix-render render|validate ARGS` sends to the core, built the
way crates/host-cli/src/input.rs builds it (the CLI cannot print its request):

  - `-f/--values FILE`: `{"name": FILE as given, "text": the file (UTF-8)}`, in order;
  - `--set` and `--set-string`: the arguments as given, in order (`set`, `setString`);
  - `--static-dir DIR`: every regular file (not following symlinks) directly in DIR/pages and
    DIR/static-assets, keyed `pages/<name>` and `static-assets/<name>`; an error when DIR has
    neither folder;
  - `options`: `{"format": "yaml"|"json", "split": false}` (split is for `--output-dir`).

Paths are relative to the folder the CLI would run in (a fixture's folder, tests/bad).
tests/extism/node_host.cjs builds the same requests on its own.
"""

import os
from pathlib import Path


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def static_files(folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    found_any = False
    for sub in ("pages", "static-assets"):
        path = folder / sub
        if not path.is_dir():
            continue
        found_any = True
        for entry in os.scandir(path):
            if entry.is_file(follow_symlinks=False):
                files[f"{sub}/{entry.name}"] = read_text(Path(entry.path))
    if not found_any:
        raise ValueError(f"{folder}: has neither a pages/ nor a static-assets/ folder")
    return dict(sorted(files.items()))


def request(cwd: Path, argv: list[str], fmt: str) -> dict:
    """The request for CLI arguments `argv` (after the subcommand) run in `cwd`."""
    req: dict = {"values": [], "set": [], "setString": [], "files": {}}
    it = iter(argv)
    for flag in it:
        value = next(it)
        if flag in ("-f", "--values"):
            req["values"].append({"name": value, "text": read_text(cwd / value)})
        elif flag == "--set":
            req["set"].append(value)
        elif flag == "--set-string":
            req["setString"].append(value)
        elif flag == "--static-dir":
            req["files"] = static_files(cwd / value)
        else:
            raise ValueError(f"unsupported flag {flag} in {argv}")
    req["options"] = {"format": fmt, "split": False}
    return req


def fixtures(repo: Path) -> list[tuple[str, Path]]:
    """Every fixture folder with a render.args, by name."""
    root = repo / "tests/fixtures"
    return sorted((p.name, p) for p in root.iterdir() if (p / "render.args").is_file())


def fixture_args(fixture: Path) -> list[str]:
    return (fixture / "render.args").read_text().split()


def fixture_request(fixture: Path, fmt: str) -> dict:
    return request(fixture, fixture_args(fixture), fmt)


def bad_cases(bad: Path) -> list[tuple[str, list[str]]]:
    """tests/bad: each case over `_base.yaml` (unless it says `# base: none`), with the
    flags of its `# args:` lines, as crates/render/tests/shared/corpus.rs runs them."""
    cases = []
    for path in sorted(bad.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        text = path.read_text()
        lines = text.splitlines()
        argv = [] if "# base: none" in lines else ["-f", "_base.yaml"]
        argv += ["-f", path.name]
        for line in lines:
            if line.startswith("# args: "):
                argv += line[len("# args: ") :].split()
        cases.append((path.stem, argv))
    return cases
