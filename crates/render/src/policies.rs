//! Policies over the rendered workloads: NetworkPolicies (deny everything, then allow exactly
//! the stack's flows) and a PodDisruptionBudget for every Deployment with more than one
//! replica.

use serde_json::{Map, Value, json};

use crate::objects::{App, Ctx};
use crate::tree::Node;
use crate::{element, matrixrtc, static_pages, synapse, wellknown};

const NETWORK_POLICY: &str = "networking.k8s.io/v1";
const PDB: &str = "policy/v1";
/// The port of cert-manager's HTTP-01 solver pods.
const ACME_SOLVER_PORT: u16 = 8089;

/// Where a workload may send traffic.
enum Egress {
    /// Nowhere (not even DNS).
    None,
    /// Anywhere: federation, URL previews, push, and the services' public URLs.
    Any,
}

/// One workload's allowed flows.
struct Flows {
    app: App,
    /// The namespace it runs in.
    namespace: String,
    /// Named container ports the ingress controller may reach.
    web_ports: Vec<&'static str>,
    /// Ports open to the whole internet (protocol, port, end port).
    public_ports: Vec<(&'static str, u16, Option<u16>)>,
    egress: Egress,
}

pub fn render(ctx: &mut Ctx<'_>) {
    if ctx.config.network_policies.enabled {
        network_policies(ctx);
    }
    disruption_budgets(ctx);
}

fn network_policies(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    let main = c.namespace.clone();
    let mut flows = vec![
        Flows {
            app: synapse::app(),
            namespace: main.clone(),
            web_ports: vec!["http"],
            public_ports: Vec::new(),
            egress: Egress::Any,
        },
        Flows {
            app: element::app(),
            namespace: main.clone(),
            web_ports: vec!["http"],
            public_ports: Vec::new(),
            egress: Egress::None,
        },
    ];
    if c.element.static_pages.enabled {
        flows.push(Flows {
            app: static_pages::app(),
            namespace: main.clone(),
            web_ports: vec!["http"],
            public_ports: Vec::new(),
            egress: Egress::None,
        });
    }
    if c.global.delegates() {
        flows.push(Flows {
            app: wellknown::app(),
            namespace: main.clone(),
            web_ports: vec!["http"],
            public_ports: Vec::new(),
            egress: Egress::None,
        });
    }
    if c.matrixrtc.enabled {
        let rtc_ns = c.matrixrtc_namespace().to_owned();
        flows.push(Flows {
            app: matrixrtc::jwt_app(),
            namespace: rtc_ns.clone(),
            web_ports: vec!["http"],
            public_ports: Vec::new(),
            egress: Egress::Any,
        });
        // On the host network the pod is not subject to NetworkPolicies.
        let lk = &c.matrixrtc.livekit;
        if !lk.host_network {
            let udp = if lk.rtc.udp_port == 0 {
                ("UDP", lk.rtc.port_range_start, Some(lk.rtc.port_range_end))
            } else {
                ("UDP", lk.rtc.udp_port, None)
            };
            flows.push(Flows {
                app: matrixrtc::livekit_app(),
                namespace: rtc_ns,
                web_ports: vec!["http"],
                public_ports: vec![("TCP", lk.rtc.tcp_port, None), udp],
                egress: Egress::Any,
            });
        }
    }

    let stack = App::new(
        "matrix-stack",
        "network-policy",
        "network",
        ("app.kubernetes.io/part-of", "matrix-stack"),
    );
    // Every namespace the stack renders into denies by default.
    let namespaces: Vec<String> = crate::namespaces::layout(c)
        .into_iter()
        .map(|n| n.name)
        .collect();
    for ns in &namespaces {
        ctx.set_namespace(ns);
        let deny = json!({
            "apiVersion": NETWORK_POLICY,
            "kind": "NetworkPolicy",
            "metadata": ctx.meta("default-deny", &stack),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        });
        ctx.push_value(
            &stack,
            NETWORK_POLICY,
            "NetworkPolicy",
            "default-deny",
            deny,
        );
    }

    let controller = controller_peer(ctx);
    for f in flows {
        ctx.set_namespace(&f.namespace);
        let mut ingress: Vec<Value> = Vec::new();
        if !f.web_ports.is_empty() {
            let ports: Vec<Value> = f
                .web_ports
                .iter()
                .map(|p| json!({"protocol": "TCP", "port": p}))
                .collect();
            ingress.push(json!({"from": [controller.clone()], "ports": ports}));
        }
        if !f.public_ports.is_empty() {
            let ports: Vec<Value> = f
                .public_ports
                .iter()
                .map(|(protocol, port, end)| {
                    let mut p = json!({"protocol": protocol, "port": port});
                    if let (Some(end), Some(map)) = (end, p.as_object_mut()) {
                        map.insert("endPort".to_owned(), json!(end));
                    }
                    p
                })
                .collect();
            ingress.push(json!({
                "from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}],
                "ports": ports,
            }));
        }
        let mut spec = Map::new();
        spec.insert(
            "podSelector".to_owned(),
            json!({"matchLabels": f.app.selector}),
        );
        let mut types = vec!["Ingress"];
        spec.insert("ingress".to_owned(), Value::Array(ingress));
        if matches!(f.egress, Egress::Any) {
            types.push("Egress");
            spec.insert("egress".to_owned(), json!([{}]));
        }
        spec.insert("policyTypes".to_owned(), json!(types));
        let value = json!({
            "apiVersion": NETWORK_POLICY,
            "kind": "NetworkPolicy",
            "metadata": ctx.meta(f.app.name, &f.app),
            "spec": spec,
        });
        ctx.push_value(&f.app, NETWORK_POLICY, "NetworkPolicy", f.app.name, value);
    }

    // cert-manager answers HTTP-01 challenges from solver pods in the namespace of the
    // Ingress or Certificate that asks for the certificate.
    if c.routing.mode != matrix_render_model::config::RoutingMode::Ingress {
        return;
    }
    let issuers = [
        c.ingress.cluster_issuer.as_str(),
        c.matrixrtc.cert_manager_cluster_issuer.as_str(),
    ];
    for ns in &namespaces {
        let solves = if *ns == main {
            issuers.iter().any(|i| !i.is_empty())
        } else {
            ctx.objects().iter().any(|o| {
                o.namespace.as_deref() == Some(ns.as_str())
                    && (o.kind == "Certificate"
                        || (o.kind == "Ingress"
                            && o.value
                                .at(&["metadata", "annotations", "cert-manager.io/cluster-issuer"])
                                .is_some()))
            })
        };
        if !solves {
            continue;
        }
        ctx.set_namespace(ns);
        let name = "acme-http01-solver";
        let value = json!({
            "apiVersion": NETWORK_POLICY,
            "kind": "NetworkPolicy",
            "metadata": ctx.meta(name, &stack),
            "spec": {
                "podSelector": {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [controller.clone()],
                    "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}],
                }],
            },
        });
        ctx.push_value(&stack, NETWORK_POLICY, "NetworkPolicy", name, value);
    }
}

/// The ingress controller's (or Gateway's) pods.
fn controller_peer(ctx: &Ctx<'_>) -> Value {
    let ic = &ctx.config.network_policies.ingress_controller;
    let mut peer = Map::new();
    peer.insert(
        "namespaceSelector".to_owned(),
        json!({"matchLabels": {"kubernetes.io/metadata.name": ic.namespace}}),
    );
    if !ic.pod_labels.is_empty() {
        peer.insert(
            "podSelector".to_owned(),
            json!({"matchLabels": ic.pod_labels}),
        );
    }
    Value::Object(peer)
}

/// A PodDisruptionBudget (one pod may be down at a time) for each Deployment with more than
/// one replica.
fn disruption_budgets(ctx: &mut Ctx<'_>) {
    let mut budgets = Vec::new();
    for o in ctx.objects().iter().filter(|o| o.kind == "Deployment") {
        let replicas = o.value.at(&["spec", "replicas"]).and_then(Node::as_i64);
        if replicas.is_none_or(|r| r <= 1) {
            continue;
        }
        let labels = o.value.at(&["metadata", "labels"]).map(Node::to_value);
        let selector = o.value.at(&["spec", "selector"]).map(Node::to_value);
        budgets.push((
            o.name.clone(),
            o.namespace.clone(),
            o.component,
            labels,
            selector,
        ));
    }
    for (name, namespace, component, labels, selector) in budgets {
        if let Some(ns) = &namespace {
            ctx.set_namespace(ns);
        }
        let app = App {
            name: "",
            role: "",
            component,
            selector: Default::default(),
        };
        let mut meta = json!({"name": name, "namespace": namespace});
        if let (Some(labels), Some(m)) = (labels, meta.as_object_mut()) {
            m.insert("labels".to_owned(), labels);
        }
        let value = json!({
            "apiVersion": PDB,
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"maxUnavailable": 1, "selector": selector},
        });
        ctx.push_value(&app, PDB, "PodDisruptionBudget", &name, value);
    }
}
