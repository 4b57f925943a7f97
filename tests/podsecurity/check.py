#!/usr/bin/env python3
"""Pod Security Standards check of rendered manifests, independent of matrix-render's code.

Usage: check.py FILE.yaml...      check every pod template in every file
       check.py --self-test       prove that each rule refuses a pod that breaks it

Written from the published Pod Security Standards
(https://kubernetes.io/docs/concepts/security/pod-security-standards/), not from the
renderer. The level of a namespace is read from the Namespace objects in the same file:
their `pod-security.kubernetes.io/enforce` label. Every pod template (Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) in a namespace labelled `baseline`
or `restricted` must meet every control of that level; `privileged` has none. A file that
renders Namespace objects must render one for every namespace its objects use. In a
namespace without a label, pods must meet `restricted` too, except that a pod on the host
network may use the host's namespace and ports (that pod needs `privileged`).

Exit 1 on any violation, and when no file holds a `restricted` namespace with a pod in it
(a check that checked nothing proves nothing).
"""

import copy
import sys

import yaml

LEVEL_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")

# Baseline: capabilities a container may add (the container runtime's default set).
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}
# Baseline: sysctls that are namespaced and isolated from other pods.
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
PROFILE_TYPES = {"RuntimeDefault", "Localhost"}
# Restricted: the only volume sources a pod may use.
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}


def containers(spec):
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            yield c


def sc(obj):
    return obj.get("securityContext") or {}


def baseline(meta, spec):
    """Violations of the Baseline controls, as (control, detail)."""
    out = []
    pod_sc = sc(spec)
    all_sc = [("pod", pod_sc)] + [(f"container {c.get('name')}", sc(c)) for c in containers(spec)]

    for who, s in all_sc:
        if (s.get("windowsOptions") or {}).get("hostProcess"):
            out.append(("hostProcess", f"{who} sets windowsOptions.hostProcess"))
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(("host namespaces", f"{field}=true"))
    for c in containers(spec):
        name = c.get("name")
        s = sc(c)
        if s.get("privileged"):
            out.append(("privileged", f"container {name} is privileged"))
        added = set((s.get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:
            out.append(("capabilities", f"container {name} adds {sorted(added - BASELINE_CAPABILITIES)}"))
        for p in c.get("ports") or []:
            # On the host network the API server defaults hostPort to containerPort.
            host_port = p.get("hostPort") or (p.get("containerPort") if spec.get("hostNetwork") else None)
            if host_port:
                out.append(("hostPorts", f"container {name} uses hostPort {host_port}"))
        handlers = [(k, c.get(k)) for k in ("livenessProbe", "readinessProbe", "startupProbe")]
        for hook in ("postStart", "preStop"):
            handlers.append((hook, (c.get("lifecycle") or {}).get(hook)))
        for where, h in handlers:
            for action in ("httpGet", "tcpSocket"):
                if ((h or {}).get(action) or {}).get("host"):
                    out.append(("host probes", f"container {name} {where}.{action}.host is set"))
        if s.get("procMount") not in (None, "Default"):
            out.append(("procMount", f"container {name} procMount={s['procMount']}"))
    for v in spec.get("volumes") or []:
        if "hostPath" in v:
            out.append(("hostPath", f"volume {v.get('name')} is a hostPath"))
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/"):
            if value != "runtime/default" and not str(value).startswith("localhost/"):
                out.append(("AppArmor", f"annotation {key}={value}"))
    for who, s in all_sc:
        apparmor = (s.get("appArmorProfile") or {}).get("type")
        if apparmor is not None and apparmor not in PROFILE_TYPES:
            out.append(("AppArmor", f"{who} appArmorProfile.type={apparmor}"))
        selinux = s.get("seLinuxOptions") or {}
        if selinux.get("type", "") not in SELINUX_TYPES:
            out.append(("SELinux", f"{who} seLinuxOptions.type={selinux['type']}"))
        if selinux.get("user") or selinux.get("role"):
            out.append(("SELinux", f"{who} sets seLinuxOptions user or role"))
        seccomp = (s.get("seccompProfile") or {}).get("type")
        if seccomp is not None and seccomp not in PROFILE_TYPES:
            out.append(("seccomp", f"{who} seccompProfile.type={seccomp}"))
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            out.append(("sysctls", f"sysctl {sysctl.get('name')} is not in the safe set"))
    return out


def restricted(meta, spec):
    """Violations of the Restricted controls (Baseline's included)."""
    out = baseline(meta, spec)
    pod_sc = sc(spec)
    for v in spec.get("volumes") or []:
        sources = set(v) - {"name"}
        if not sources or sources - RESTRICTED_VOLUMES:
            out.append(("volume types", f"volume {v.get('name')} uses {sorted(sources)}"))
    pod_non_root = pod_sc.get("runAsNonRoot")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_non_root is False:
        out.append(("runAsNonRoot", "pod sets runAsNonRoot=false"))
    if pod_sc.get("runAsUser") == 0:
        out.append(("runAsUser", "pod runs as UID 0"))
    for c in containers(spec):
        name = c.get("name")
        s = sc(c)
        if s.get("allowPrivilegeEscalation") is not False:
            out.append(("allowPrivilegeEscalation", f"container {name} does not set it to false"))
        non_root = s.get("runAsNonRoot")
        if non_root is False or (non_root is None and pod_non_root is not True):
            out.append(("runAsNonRoot", f"container {name} may run as root"))
        if s.get("runAsUser") == 0:
            out.append(("runAsUser", f"container {name} runs as UID 0"))
        seccomp = (s.get("seccompProfile") or {}).get("type")
        if seccomp is None and pod_seccomp not in PROFILE_TYPES:
            out.append(("seccomp", f"container {name} has no RuntimeDefault or Localhost profile"))
        caps = s.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(("capabilities", f"container {name} does not drop ALL"))
        added = set(caps.get("add") or [])
        if added - {"NET_BIND_SERVICE"}:
            out.append(("capabilities", f"container {name} adds {sorted(added - {'NET_BIND_SERVICE'})}"))
    return out


CHECKS = {"baseline": baseline, "restricted": restricted}


def pod_template(obj):
    """(metadata, spec) of the pod an object creates, or None."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return obj.get("metadata") or {}, spec
    if kind in WORKLOADS:
        template = spec.get("template") or {}
    elif kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    else:
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


def check_objects(objects):
    """Returns (violations, counts by level)."""
    levels = {}
    for o in objects:
        if o.get("kind") == "Namespace":
            meta = o.get("metadata") or {}
            levels[meta.get("name")] = (meta.get("labels") or {}).get(LEVEL_LABEL)
    violations = []
    counts = {level: 0 for level in LEVELS + (None, "host network")}
    for o in objects:
        meta = o.get("metadata") or {}
        ns = meta.get("namespace")
        if levels and ns is not None and ns not in levels:
            violations.append(f"{o.get('kind')} {meta.get('name')}: namespace {ns} has no Namespace object")
        template = pod_template(o)
        if template is None:
            continue
        level = levels.get(ns)
        if level not in (None,) + LEVELS:
            violations.append(f"namespace {ns}: unknown level {level!r}")
            continue
        counts[level] += 1
        if level is None:
            # No label: the pod must still meet restricted, except that a host-network pod
            # needs the host namespace and its ports (it needs privileged).
            found = restricted(*template)
            if template[1].get("hostNetwork"):
                counts["host network"] += 1
                found = [(c, d) for c, d in found if c not in ("host namespaces", "hostPorts")]
            for control, detail in found:
                violations.append(f"{o.get('kind')} {ns}/{meta.get('name')} (no label, restricted expected): {control}: {detail}")
            continue
        for control, detail in CHECKS.get(level, lambda m, s: [])(*template):
            violations.append(f"{o.get('kind')} {ns}/{meta.get('name')} ({level}): {control}: {detail}")
    return violations, counts


def check_files(paths):
    failed = False
    restricted_pods = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            objects = [d for d in yaml.safe_load_all(f) if d]
        violations, counts = check_objects(objects)
        restricted_pods += counts["restricted"]
        summary = ", ".join(f"{counts[l]} {l}" for l in ("restricted", "baseline", "privileged"))
        print(
            f"{path}: {summary}; {counts[None]} in namespaces without a level "
            f"({counts['host network']} on the host network)"
        )
        for v in violations:
            print(f"  FAIL {v}")
        failed |= bool(violations)
    if restricted_pods == 0:
        print("no pod template in a namespace labelled restricted: nothing was checked")
        failed = True
    return 1 if failed else 0


# ---- self-test: each rule refuses a pod that breaks it -------------------------------

def good_pod():
    return {
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [{
            "name": "app",
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            },
        }],
        "volumes": [{"name": "c", "configMap": {"name": "c"}}, {"name": "d", "persistentVolumeClaim": {"claimName": "d"}}],
    }


def set_path(obj, path, value):
    *parents, last = path
    for key in parents:
        obj = obj[key] if isinstance(key, int) else obj.setdefault(key, {})
    obj[last] = value


C = ("containers", 0)
CSC = C + ("securityContext",)
# (rule, level that refuses it, change to the good pod)
BREAKS = [
    ("host namespaces", "baseline", [(("hostNetwork",), True)]),
    ("host namespaces", "baseline", [(("hostPID",), True)]),
    ("host namespaces", "baseline", [(("hostIPC",), True)]),
    ("hostPorts", "baseline", [(C + ("ports", 0, "hostPort"), 3478)]),
    ("privileged", "baseline", [(CSC + ("privileged",), True)]),
    ("capabilities", "baseline", [(CSC + ("capabilities", "add"), ["NET_ADMIN"])]),
    ("hostPath", "baseline", [(("volumes", 0), {"name": "h", "hostPath": {"path": "/"}})]),
    ("hostProcess", "baseline", [(("securityContext", "windowsOptions"), {"hostProcess": True})]),
    ("host probes", "baseline", [(C + ("readinessProbe", "httpGet", "host"), "10.0.0.1")]),
    ("AppArmor", "baseline", [(CSC + ("appArmorProfile",), {"type": "Unconfined"})]),
    ("SELinux", "baseline", [(CSC + ("seLinuxOptions",), {"type": "spc_t"})]),
    ("SELinux", "baseline", [(("securityContext", "seLinuxOptions"), {"user": "root"})]),
    ("procMount", "baseline", [(CSC + ("procMount",), "Unmasked")]),
    ("seccomp", "baseline", [(CSC + ("seccompProfile",), {"type": "Unconfined"})]),
    ("sysctls", "baseline", [(("securityContext", "sysctls"), [{"name": "kernel.msgmax", "value": "1"}])]),
    ("volume types", "restricted", [(("volumes", 0), {"name": "n", "nfs": {"server": "x", "path": "/"}})]),
    ("allowPrivilegeEscalation", "restricted", [(CSC + ("allowPrivilegeEscalation",), True)]),
    ("runAsNonRoot", "restricted", [(("securityContext", "runAsNonRoot"), False)]),
    ("runAsNonRoot", "restricted", [(CSC + ("runAsNonRoot",), False)]),
    ("runAsUser", "restricted", [(("securityContext", "runAsUser"), 0)]),
    ("runAsUser", "restricted", [(CSC + ("runAsUser",), 0)]),
    ("seccomp", "restricted", [(("securityContext", "seccompProfile"), {})]),
    ("capabilities", "restricted", [(CSC + ("capabilities", "drop"), ["NET_RAW"])]),
    ("capabilities", "restricted", [(CSC + ("capabilities", "add"), ["CHOWN"])]),
]


def self_test():
    failures = []
    for level, check in CHECKS.items():
        found = check({}, good_pod())
        if found:
            failures.append(f"the compliant pod fails {level}: {found}")
    for rule, level, changes in BREAKS:
        pod = good_pod()
        for path, value in changes:
            set_path(pod, path, value)
        for checked in ("baseline", "restricted"):
            controls = {c for c, _ in CHECKS[checked]({}, copy.deepcopy(pod))}
            refuses = checked == "restricted" or level == "baseline"
            if refuses and rule not in controls:
                failures.append(f"{checked} lets through a pod that breaks {rule}: {changes}")
            if not refuses and controls:
                failures.append(f"baseline refuses a pod that only breaks restricted's {rule}: {controls}")
    # Through the namespace labels: the same host-network pod is refused in a restricted
    # namespace, accepted in a privileged one, and a namespace without a Namespace object
    # is reported.
    def stack(level, host_network):
        pod = good_pod()
        pod["hostNetwork"] = host_network
        return [
            {"kind": "Namespace", "metadata": {"name": "ns", "labels": {LEVEL_LABEL: level}}},
            {"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
             "spec": {"template": {"metadata": {}, "spec": pod}}},
        ]
    violations, counts = check_objects(stack("restricted", True))
    if not violations or counts["restricted"] != 1:
        failures.append(f"a host-network Deployment passed a restricted namespace: {violations}")
    if not any("hostPorts" in v for v in violations):
        failures.append(f"a host-network pod's containerPort was not taken as a hostPort: {violations}")
    violations, _ = check_objects(stack("privileged", True))
    if violations:
        failures.append(f"a privileged namespace refused a pod: {violations}")
    objects = stack("restricted", False) + [
        {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "elsewhere"}}]
    violations, _ = check_objects(objects)
    if not any("has no Namespace object" in v for v in violations):
        failures.append("an object in a namespace without a Namespace object went unnoticed")
    cron = {"kind": "CronJob", "metadata": {"name": "j", "namespace": "ns"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": dict(good_pod(), hostPID=True)}}}}}
    violations, _ = check_objects(stack("restricted", False) + [cron])
    if not any("CronJob" in v for v in violations):
        failures.append("a CronJob's pod template was not checked")
    for f in failures:
        print(f"FAIL {f}")
    print(f"self-test: {len(BREAKS)} broken pods, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if not sys.argv[1:]:
        sys.exit(__doc__)
    sys.exit(check_files(sys.argv[1:]))
