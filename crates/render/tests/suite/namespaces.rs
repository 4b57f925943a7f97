//! The namespace layout: whatever namespace an object lands in, what it refers to by name is
//! in the same namespace (a pod mounts ConfigMaps and Secrets of its own namespace only; an
//! Ingress or HTTPRoute routes to Services of its own), and the Namespace objects carry the
//! Pod Security level of the pods they hold.

use std::collections::BTreeSet;

use matrix_render_model::api::Format;
use serde_json::Value;

use crate::common::{fixtures, request};

fn items(name: &str, dir: &std::path::Path) -> Vec<Value> {
    let response = matrix_render_renderer::render(&request(dir, Format::Json));
    assert!(response.ok, "{name}: {:?}", response.diagnostics);
    let list: Value = serde_json::from_str(&response.output).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_str)
}

/// (kind, name) of every ConfigMap and Secret a pod template uses.
fn pod_references(pod: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for v in pod["volumes"].as_array().into_iter().flatten() {
        if let Some(n) = str_at(v, &["configMap", "name"]) {
            out.push(("ConfigMap", n.to_owned()));
        }
        if let Some(n) = str_at(v, &["secret", "secretName"]) {
            out.push(("Secret", n.to_owned()));
        }
        for s in v["projected"]["sources"].as_array().into_iter().flatten() {
            if let Some(n) = str_at(s, &["configMap", "name"]) {
                out.push(("ConfigMap", n.to_owned()));
            }
            if let Some(n) = str_at(s, &["secret", "name"]) {
                out.push(("Secret", n.to_owned()));
            }
        }
    }
    for key in ["initContainers", "containers"] {
        for c in pod[key].as_array().into_iter().flatten() {
            for e in c["env"].as_array().into_iter().flatten() {
                if let Some(n) = str_at(e, &["valueFrom", "secretKeyRef", "name"]) {
                    out.push(("Secret", n.to_owned()));
                }
                if let Some(n) = str_at(e, &["valueFrom", "configMapKeyRef", "name"]) {
                    out.push(("ConfigMap", n.to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn references_stay_in_their_namespace() {
    let mut checked = 0;
    let mut split = 0;
    for (name, dir) in fixtures() {
        let items = items(&name, &dir);
        let rendered: BTreeSet<(String, String, String)> = items
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap_or_default().to_owned(),
                    str_at(i, &["metadata", "namespace"])
                        .unwrap_or_default()
                        .to_owned(),
                    str_at(i, &["metadata", "name"])
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        let namespaces: BTreeSet<&str> = items
            .iter()
            .filter_map(|i| str_at(i, &["metadata", "namespace"]))
            .collect();
        if namespaces.len() > 1 {
            split += 1;
        }
        // Rendered anywhere but not in `ns` is a reference across namespaces; rendered
        // nowhere is an object the operator or cert-manager provides.
        let check = |what: &str, ns: &str, kind: &str, target: &str| {
            let anywhere = rendered.iter().any(|(k, _, n)| k == kind && n == target);
            let here = rendered.contains(&(kind.to_owned(), ns.to_owned(), target.to_owned()));
            assert!(
                here || !anywhere,
                "{name}: {what} in namespace {ns} uses {kind} {target}, which is rendered in another namespace only"
            );
        };
        for i in &items {
            let ns = str_at(i, &["metadata", "namespace"]).unwrap_or_default();
            let obj = format!(
                "{} {}",
                i["kind"].as_str().unwrap_or_default(),
                str_at(i, &["metadata", "name"]).unwrap_or_default()
            );
            match i["kind"].as_str() {
                Some("Deployment") => {
                    for (kind, target) in pod_references(&i["spec"]["template"]["spec"]) {
                        check(&obj, ns, kind, &target);
                        checked += 1;
                    }
                }
                Some("Ingress") => {
                    for rule in i["spec"]["rules"].as_array().into_iter().flatten() {
                        for path in rule["http"]["paths"].as_array().into_iter().flatten() {
                            let svc = str_at(path, &["backend", "service", "name"]).unwrap();
                            check(&obj, ns, "Service", svc);
                            checked += 1;
                        }
                    }
                    // A Traefik Middleware is named `<namespace>-<name>@kubernetescrd`.
                    if let Some(mw) = str_at(
                        i,
                        &[
                            "metadata",
                            "annotations",
                            "traefik.ingress.kubernetes.io/router.middlewares",
                        ],
                    ) {
                        let local = mw
                            .strip_prefix(&format!("{ns}-"))
                            .and_then(|m| m.strip_suffix("@kubernetescrd"))
                            .unwrap_or_else(|| {
                                panic!("{name}: {obj}: middleware {mw} not of {ns}")
                            });
                        check(&obj, ns, "Middleware", local);
                        assert!(
                            rendered.contains(&(
                                "Middleware".to_owned(),
                                ns.to_owned(),
                                local.to_owned()
                            )),
                            "{name}: {obj}: Middleware {local} missing in {ns}"
                        );
                    }
                }
                Some("HTTPRoute") => {
                    for rule in i["spec"]["rules"].as_array().into_iter().flatten() {
                        for b in rule["backendRefs"].as_array().into_iter().flatten() {
                            assert!(
                                b.get("namespace").is_none(),
                                "{name}: {obj}: cross-namespace backend"
                            );
                            check(&obj, ns, "Service", str_at(b, &["name"]).unwrap());
                            checked += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(checked > 100, "only {checked} references checked");
    assert!(split >= 1, "no fixture spans two namespaces");
}

#[test]
fn namespace_objects_label_the_level_their_pods_need() {
    let mut labelled = 0;
    for (name, dir) in fixtures() {
        let items = items(&name, &dir);
        let namespaces: Vec<&Value> = items.iter().filter(|i| i["kind"] == "Namespace").collect();
        for ns in &namespaces {
            let ns_name = str_at(ns, &["metadata", "name"]).unwrap();
            let labels = &ns["metadata"]["labels"];
            let level = labels["pod-security.kubernetes.io/enforce"]
                .as_str()
                .unwrap();
            for mode in ["audit", "warn"] {
                assert_eq!(
                    labels[format!("pod-security.kubernetes.io/{mode}")].as_str(),
                    Some(level),
                    "{name}: {ns_name}"
                );
            }
            for mode in ["enforce", "audit", "warn"] {
                assert!(
                    labels[format!("pod-security.kubernetes.io/{mode}-version")].is_string(),
                    "{name}: {ns_name}: no {mode}-version"
                );
            }
            let host_network = items.iter().any(|i| {
                i["kind"] == "Deployment"
                    && str_at(i, &["metadata", "namespace"]) == Some(ns_name)
                    && i["spec"]["template"]["spec"]["hostNetwork"] == true
            });
            // The fixtures ask for `auto` or `restricted`: the strictest level the pods meet.
            let expected = if host_network {
                "privileged"
            } else {
                "restricted"
            };
            assert_eq!(level, expected, "{name}: {ns_name}");
            labelled += 1;
        }
        if !namespaces.is_empty() {
            for i in &items {
                if let Some(ns) = str_at(i, &["metadata", "namespace"]) {
                    assert!(
                        namespaces
                            .iter()
                            .any(|n| str_at(n, &["metadata", "name"]) == Some(ns)),
                        "{name}: {} {} is in namespace {ns}, which has no Namespace object",
                        i["kind"],
                        i["metadata"]["name"]
                    );
                }
            }
        }
    }
    assert!(labelled >= 3, "only {labelled} Namespace objects checked");
}
