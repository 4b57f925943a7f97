"""Checks for tests/deploy/*.sh, reading YAML with PyYAML (YAML 1.1, as kubectl does).

Each subcommand exits 0 when the check holds and 1 with a reason on stderr otherwise:

  objects FILE                       a stream of Kubernetes objects only; prints the count
  argocd-install BUILT REPO          the kustomize build of the Argo CD install fixture
  announce FILE [EXPECTED_FILE...]   a dynamic parameter announcement for values-files
  same-objects STREAM DIR            DIR's files (in name order) hold the objects of STREAM, and
                                     DIR/.matrix-render-files lists exactly those files
  kustomize-compare BUILT DIRECT K=V the generator's objects equal the CLI's, plus label K=V
  field FILE PATH                    sorted unique values at PATH (keys joined by |), one a line
  flux DIR                           the Flux example objects in DIR
"""

import json
import os
import re
import sys

import yaml


class CheckError(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise CheckError(msg)


def load_stream(path):
    with open(path, "rb") as f:
        return list(yaml.safe_load_all(f))


def load_one(path):
    docs = [d for d in load_stream(path) if d is not None]
    need(len(docs) == 1, f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0]


def check_objects(docs, where):
    need(docs, f"{where}: no objects")
    for i, doc in enumerate(docs):
        need(isinstance(doc, dict), f"{where}: document {i + 1} is not a mapping: {doc!r:.80}")
        for key in ("apiVersion", "kind"):
            need(isinstance(doc.get(key), str) and doc[key], f"{where}: document {i + 1} has no {key}")
        meta = doc.get("metadata")
        need(isinstance(meta, dict) and isinstance(meta.get("name"), str) and meta["name"],
             f"{where}: document {i + 1} ({doc['kind']}) has no metadata.name")


def cmd_objects(path):
    docs = load_stream(path)
    check_objects(docs, path)
    print(len(docs))


def key(obj):
    return (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


# --- Argo CD -----------------------------------------------------------------------------

def cmd_argocd_install(built_path, repo):
    plugin_path = os.path.join(repo, "deploy/argocd/plugin.yaml")
    script_path = os.path.join(repo, "deploy/argocd/generate.sh")
    patch_path = os.path.join(repo, "deploy/argocd/repo-server-patch.yaml")
    stub_path = os.path.join(repo, "tests/deploy/fixtures/argocd-install/repo-server-stub.yaml")

    docs = load_stream(built_path)
    check_objects(docs, built_path)
    by_kind = {d["kind"]: d for d in docs}
    need(sorted(by_kind) == ["ConfigMap", "Deployment"] and len(docs) == 2,
         f"expected one ConfigMap and one Deployment, got {[key(d) for d in docs]}")
    cm, dep = by_kind["ConfigMap"], by_kind["Deployment"]

    # The ConfigMap carries the two files byte for byte, under a hashed name.
    need(re.fullmatch(r"matrix-render-cmp-[a-z0-9]{10}", cm["metadata"]["name"]),
         f"ConfigMap name {cm['metadata']['name']!r} is not matrix-render-cmp-<hash>")
    need(cm["metadata"].get("namespace") == "argocd", "ConfigMap not in namespace argocd")
    with open(plugin_path, encoding="utf-8") as f:
        need(cm["data"].get("plugin.yaml") == f.read(), "ConfigMap plugin.yaml differs from deploy/argocd/plugin.yaml")
    with open(script_path, encoding="utf-8") as f:
        need(cm["data"].get("generate.sh") == f.read(), "ConfigMap generate.sh differs from deploy/argocd/generate.sh")

    # The patch parses and targets argocd-repo-server.
    patch = load_one(patch_path)
    need(patch.get("kind") == "Deployment" and patch["metadata"]["name"] == "argocd-repo-server",
         "repo-server-patch.yaml does not target Deployment argocd-repo-server")

    # The Deployment: the stub's repo-server container untouched, plus the sidecar.
    stub = load_one(stub_path)
    spec = dep["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    need(sorted(containers) == ["argocd-repo-server", "matrix-render"],
         f"containers are {sorted(containers)}")
    stub_spec = stub["spec"]["template"]["spec"]
    need(containers["argocd-repo-server"] == stub_spec["containers"][0], "the repo-server container changed")
    need(spec.get("initContainers") == stub_spec["initContainers"], "the init containers changed")

    side = containers["matrix-render"]
    need(side.get("command") == ["/var/run/argocd/argocd-cmp-server"],
         f"sidecar command is {side.get('command')}")
    need(side.get("image") == "ghcr.io/example/matrix-render:0.1.0-test",
         f"kustomize images: did not retarget the sidecar image ({side.get('image')})")
    sc = side.get("securityContext", {})
    need(sc.get("runAsUser") == 999 and sc.get("runAsNonRoot") is True, "sidecar does not run as user 999")

    volumes = {v["name"]: v for v in spec["volumes"]}
    for v in stub_spec["volumes"]:
        need(volumes.get(v["name"]) == v, f"volume {v['name']} changed or missing")
    mounts = {m["mountPath"]: m for m in side["volumeMounts"]}
    want = {
        "/var/run/argocd": ("var-files", None),
        "/home/argocd/cmp-server/plugins": ("plugins", None),
        "/home/argocd/cmp-server/config/plugin.yaml": (None, "plugin.yaml"),
        "/home/argocd/cmp-server/config/generate.sh": (None, "generate.sh"),
        "/tmp": (None, None),
    }
    for path, (vol, sub) in want.items():
        need(path in mounts, f"sidecar does not mount {path}")
        m = mounts[path]
        if vol:
            need(m["name"] == vol, f"{path} mounts {m['name']}, not {vol}")
        if sub:
            need(m.get("subPath") == sub, f"{path} has subPath {m.get('subPath')}, not {sub}")
            source = volumes[m["name"]].get("configMap", {}).get("name")
            need(source == cm["metadata"]["name"],
                 f"{path} comes from ConfigMap {source}, not the generated {cm['metadata']['name']}")
    repo_tmp = [m["name"] for m in containers["argocd-repo-server"]["volumeMounts"] if m["mountPath"] == "/tmp"]
    need(mounts["/tmp"]["name"] not in repo_tmp, "the sidecar shares the repo-server's /tmp volume")
    need("emptyDir" in volumes[mounts["/tmp"]["name"]], "the sidecar's /tmp is not an emptyDir")

    # plugin.yaml: the ConfigManagementPlugin, whose commands run the mounted generate.sh.
    plugin = load_one(plugin_path)
    need(plugin.get("apiVersion") == "argoproj.io/v1alpha1", "plugin.yaml apiVersion")
    need(plugin.get("kind") == "ConfigManagementPlugin", "plugin.yaml kind")
    need(plugin["metadata"]["name"] == "matrix-render", "plugin.yaml metadata.name")
    ps = plugin["spec"]
    script = "/home/argocd/cmp-server/config/generate.sh"
    for where, command, verb in (
        ("generate", ps["generate"]["command"], "generate"),
        ("discover.find", ps["discover"]["find"]["command"], "discover"),
        ("parameters.dynamic", ps["parameters"]["dynamic"]["command"], "announce"),
    ):
        need(command == ["/bin/sh", script, verb], f"plugin.yaml {where}.command is {command}")
    static = {p["name"]: p for p in ps["parameters"]["static"]}
    need(sorted(static) == ["namespace-from-app", "set", "set-string", "static-dir"],
         f"static parameters are {sorted(static)}")
    for p in static.values():
        if p.get("collectionType") == "array":
            need(isinstance(p.get("array"), list), f"parameter {p['name']} has no array default")
        else:
            need(isinstance(p.get("string"), str), f"parameter {p['name']} has no string default")
    print(f"{cm['metadata']['name']}; sidecar mounts {len(mounts)} paths")


def cmd_announce(path, *expected):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    need(isinstance(data, list) and len(data) == 1, f"announcement is not a one-item list: {data}")
    item = data[0]
    need(item.get("name") == "values-files" and item.get("collectionType") == "array",
         f"announcement item: {item}")
    need(item.get("array") == list(expected), f"announced {item.get('array')}, expected {list(expected)}")


# --- output-dir, kustomize -----------------------------------------------------------------

def cmd_same_objects(stream_path, directory):
    want = load_stream(stream_path)
    check_objects(want, stream_path)
    names = sorted(n for n in os.listdir(directory) if n.endswith(".yaml"))
    listing = ".matrix-render-files"  # the files the render wrote, for the next one
    need(sorted(os.listdir(directory)) == sorted(names + [listing]),
         f"{directory} holds files other than *.yaml and {listing}")
    with open(os.path.join(directory, listing), encoding="utf-8") as f:
        listed = [line.rstrip("\n") for line in f if not line.startswith("#")]
    need(listed == names, f"{directory}/{listing} does not list exactly its *.yaml files")
    got = []
    for n in names:
        got.extend(d for d in load_stream(os.path.join(directory, n)) if d is not None)
    # The files sort by kind in install order, and within a kind by file name
    # (`element-static.yaml` before `element.yaml`), the stream by object name.
    need([o["kind"] for o in got] == [o["kind"] for o in want],
         f"{directory}: the files in name order do not apply the kinds in the stream's order")
    fullkey = lambda o: (*key(o), o["metadata"].get("namespace", ""))
    need(sorted(got, key=fullkey) == sorted(want, key=fullkey),
         f"{directory}: {len(got)} objects differ from the {len(want)} of {stream_path}")
    print(len(got))


def cmd_kustomize_compare(built_path, direct_path, label):
    lkey, _, lvalue = label.partition("=")
    built, direct = load_stream(built_path), load_stream(direct_path)
    check_objects(built, built_path)
    check_objects(direct, direct_path)
    need(len(built) == len(direct), f"kustomize gave {len(built)} objects, the CLI {len(direct)}")
    bmap, dmap = {key(o): o for o in built}, {key(o): o for o in direct}
    need(len(bmap) == len(built), "duplicate objects in the kustomize output")
    need(sorted(bmap) == sorted(dmap),
         f"objects differ: only kustomize {sorted(set(bmap) - set(dmap))}, only CLI {sorted(set(dmap) - set(bmap))}")
    for k, b in bmap.items():
        labels = dict(b["metadata"].get("labels") or {})
        need(labels.get(lkey) == lvalue, f"{k}: label {lkey}={lvalue} missing")
        del labels[lkey]
        stripped = json.loads(json.dumps(b))
        if labels:
            stripped["metadata"]["labels"] = labels
        else:
            del stripped["metadata"]["labels"]
        need(stripped == dmap[k], f"{k}: differs from the CLI's object beyond the added label")
    kinds = {}
    for k in bmap:
        kinds[k[1]] = kinds.get(k[1], 0) + 1
    print(f"{len(built)} objects: " + ", ".join(f"{n} {kd}" for kd, n in sorted(kinds.items())))


def cmd_field(path, dotted):
    values = set()
    for obj in load_stream(path):
        cur = obj
        for part in dotted.split("|"):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is not None:
            values.add(str(cur))
    for v in sorted(values):
        print(v)


# --- Flux ----------------------------------------------------------------------------------

DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")


def cmd_flux(directory):
    repo = load_one(os.path.join(directory, "flux-ocirepository.yaml"))
    kust = load_one(os.path.join(directory, "flux-kustomization.yaml"))
    check_objects([repo, kust], directory)
    need(repo["apiVersion"] == "source.toolkit.fluxcd.io/v1" and repo["kind"] == "OCIRepository",
         f"OCIRepository is {repo['apiVersion']} {repo['kind']}")
    rs = repo["spec"]
    need(rs["url"].startswith("oci://"), "OCIRepository url does not start with oci://")
    need(DURATION.match(rs["interval"]), "OCIRepository interval is not a duration")
    ref = rs.get("ref", {})
    need(set(ref) <= {"tag", "semver", "semverFilter", "digest"} and ref, f"OCIRepository ref {ref}")
    need(kust["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1" and kust["kind"] == "Kustomization",
         f"Kustomization is {kust['apiVersion']} {kust['kind']}")
    ks = kust["spec"]
    need(DURATION.match(ks["interval"]), "Kustomization interval is not a duration")
    src = ks["sourceRef"]
    need(src.get("kind") == "OCIRepository" and src.get("name") == repo["metadata"]["name"],
         f"sourceRef {src} does not name the OCIRepository")
    need(src.get("namespace", kust["metadata"].get("namespace")) == repo["metadata"].get("namespace"),
         "the Kustomization's sourceRef is in another namespace")
    need(isinstance(ks.get("prune"), bool), "Kustomization has no prune")
    need("targetNamespace" not in ks, "targetNamespace would break the Traefik middleware references")
    print(f"{repo['metadata']['name']} -> {kust['metadata']['name']}")


def main(argv):
    commands = {
        "objects": cmd_objects,
        "argocd-install": cmd_argocd_install,
        "announce": cmd_announce,
        "same-objects": cmd_same_objects,
        "kustomize-compare": cmd_kustomize_compare,
        "field": cmd_field,
        "flux": cmd_flux,
    }
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        commands[argv[1]](*argv[2:])
    except (CheckError, yaml.YAMLError, OSError, KeyError, TypeError, ValueError, AttributeError) as e:
        print(f"check.py {argv[1]}: {type(e).__name__ if not isinstance(e, CheckError) else 'check failed'}: {e}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
