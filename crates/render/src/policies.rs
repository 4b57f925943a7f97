//! Policies over the rendered workloads: NetworkPolicies (deny everything, then allow exactly
//! the stack's flows) and a PodDisruptionBudget for every Deployment with more than one
//! replica.
//!
//! Each namespace the stack renders into gets a `default-deny` that selects the stack's own
//! pods only (by `app.kubernetes.io/part-of` and `managed-by`), so bridges, databases,
//! backup jobs or Prometheus sharing the namespace keep their traffic. Each workload then
//! gets one policy with its flows:
//!
//! | workload | ingress | egress |
//! |---|---|---|
//! | Synapse | controller → `http` | DNS; the public internet, any port (federation names any port, as do URL previews; push gateways and identity servers are public HTTPS); the database |
//! | Element, static pages, well-known | controller → `http` | none |
//! | LiveKit (off the host network) | controller → `http`; anyone → media ports | DNS; the public internet (media to clients, STUN) |
//! | lk-jwt-service | controller → `http` | DNS; the stack's public URLs (below); with `jwtFederation` the public internet |
//! | with workers: the router | controller → `http` | DNS; the Synapse processes' `http` port |
//! | with workers: Synapse and each worker type | the router → `http`; the Synapse processes → `replication` (main and stream writers) | as Synapse, plus Redis and the processes' replication port |
//! | with workers: Redis | the Synapse processes → `redis` | none |
//!
//! With `metrics.enabled`, a workload that serves metrics ([`crate::metrics`]) also takes
//! `metrics.prometheus` → `metrics`.
//!
//! "The public internet" is `0.0.0.0/0` and `::/0` less every range of [`matrix_render_model::net`]
//! and `networkPolicies.deniedRanges`. Kubernetes documents `ipBlock` for cluster-external
//! addresses: whether a pod's own IP or a Service's virtual IP is matched by an `ipBlock`
//! depends on the network plugin (some match pod IPs, some never do; Service addresses are
//! rewritten to pod addresses before or after the policy, depending on the plugin). Pod,
//! Service and node networks normally sit in the private ranges, which the rule leaves
//! out whatever the plugin does; a cluster with public pod or node addresses (or a public
//! API server endpoint) lists them in `deniedRanges`.
//!
//! lk-jwt-service checks a caller's OpenID token with the homeserver's federation API and
//! creates rooms through LiveKit's URL, both by public name over TLS (`wss://`/`https://`):
//! it never talks to the Synapse or LiveKit pods directly (they speak plain HTTP). In the
//! cluster the public name leads to the ingress controller: kube-proxy (and its
//! replacements) short-circuit a LoadBalancer address to the controller's pods, which the
//! policy allows on any port (their container ports are not known here), or to the node
//! addresses of a host-network controller (`ingressController.ipBlocks`), allowed on 443
//! and the federation port 8448. A load balancer known only by host name, or one whose
//! `ipMode` is `Proxy`, is reached at its own address: add that address as an extra egress
//! rule of `jwt`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use matrix_render_model::Config;
use matrix_render_model::config::{
    ComponentRules, DatabaseKind, IpBlock, PeerSelector, RoutingMode,
};

use crate::objects::{App, Ctx};
use crate::tree::Node;
use matrix_render_model::net::{Cidr, NOT_PUBLIC_V4, NOT_PUBLIC_V6};

const NETWORK_POLICY: &str = "networking.k8s.io/v1";
const PDB: &str = "policy/v1";
/// The port of cert-manager's HTTP-01 solver pods.
const ACME_SOLVER_PORT: u16 = 8089;
/// The ports of the stack's public URLs: HTTPS, and the Matrix federation default.
const PUBLIC_URL_PORTS: [u16; 2] = [443, 8448];
/// Private ranges a database known only by a DNS name may live in.
const PRIVATE_RANGES: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// Where a workload sends traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// The cluster DNS, UDP and TCP 53.
    Dns,
    /// The public internet, any port.
    Internet,
    /// Synapse's PostgreSQL server, on its port.
    Database,
    /// The stack's own public URLs, through the ingress controller.
    PublicUrls,
    /// Redis, which carries replication between Synapse's processes (with workers).
    Redis,
    /// The replication listeners of the other Synapse processes (with workers).
    Replication,
    /// The `http` port of every Synapse process (the router).
    SynapseHttp,
}

/// One workload's allowed flows, which its component declares ([`crate::components`]).
#[derive(Debug, Clone)]
pub struct Flow<'c> {
    pub app: App,
    /// The namespace it runs in.
    pub namespace: String,
    /// Named container ports the ingress controller may reach.
    pub web_ports: Vec<&'static str>,
    /// Ports open to the whole internet (protocol, port, end port).
    pub public_ports: Vec<(&'static str, u16, Option<u16>)>,
    pub egress: Vec<Egress>,
    /// `networkPolicies.extraRules.<component>`.
    pub extra: &'c ComponentRules,
    /// Pods of the stack that may reach named container ports of it: (pod selector, ports).
    pub from_stack: Vec<(Value, Vec<&'static str>)>,
}

impl<'c> Flow<'c> {
    /// A web workload in the stack's namespace: the ingress controller reaches its `http`
    /// port, and it sends nothing.
    #[must_use]
    pub fn web(c: &Config, app: App, extra: &'c ComponentRules) -> Self {
        Flow {
            app,
            namespace: c.namespace.clone(),
            web_ports: vec!["http"],
            public_ports: Vec::new(),
            egress: Vec::new(),
            extra,
            from_stack: Vec::new(),
        }
    }
}

pub fn render(ctx: &mut Ctx<'_>) {
    if ctx.config.network_policies.enabled {
        network_policies(ctx);
    }
    disruption_budgets(ctx);
}

/// The labels every pod of the stack carries, and only its pods.
fn stack_pods() -> Value {
    json!({"matchLabels": {
        "app.kubernetes.io/managed-by": "matrix-render",
        "app.kubernetes.io/part-of": "matrix-stack",
    }})
}

fn namespace_selector(namespace: &str) -> Value {
    json!({"matchLabels": {"kubernetes.io/metadata.name": namespace}})
}

fn ip_block(block: &IpBlock) -> Value {
    json!({"ipBlock": block})
}

/// The peers of a [`PeerSelector`]: its pods (`main` when it names no namespace), then its
/// address ranges.
fn peers(sel: &PeerSelector, main: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if sel.selects_pods() {
        let ns = if sel.namespace.is_empty() {
            main
        } else {
            &sel.namespace
        };
        let mut peer = Map::new();
        peer.insert("namespaceSelector".to_owned(), namespace_selector(ns));
        if !sel.pod_labels.is_empty() {
            peer.insert(
                "podSelector".to_owned(),
                json!({"matchLabels": sel.pod_labels}),
            );
        }
        out.push(Value::Object(peer));
    }
    out.extend(sel.ip_blocks.iter().map(ip_block));
    out
}

/// The public internet: everything less the ranges that are not public.
fn internet(denied: &[String]) -> Vec<Value> {
    let extra: Vec<(Cidr, &str)> = denied
        .iter()
        .filter_map(|d| Cidr::parse(d).map(|c| (c, d.as_str())))
        .collect();
    [
        ("0.0.0.0/0", NOT_PUBLIC_V4, true),
        ("::/0", NOT_PUBLIC_V6, false),
    ]
    .into_iter()
    .map(|(cidr, builtin, v4)| {
        let mut except: Vec<String> = builtin.iter().map(|r| (*r).to_owned()).collect();
        for (c, text) in &extra {
            let covered = builtin
                .iter()
                .filter_map(|r| Cidr::parse(r))
                .any(|b| b.covers(c));
            if c.is_ipv4() == v4 && c.prefix > 0 && !covered && !except.iter().any(|e| e == text) {
                except.push((*text).to_owned());
            }
        }
        json!({"ipBlock": {"cidr": cidr, "except": except}})
    })
    .collect()
}

/// Where Synapse's database is, from `networkPolicies.database` or the host name.
fn database_peers(ctx: &Ctx<'_>) -> Vec<Value> {
    let c = ctx.config;
    let main = c.namespace.as_str();
    if !c.network_policies.database.is_empty() {
        return peers(&c.network_policies.database, main);
    }
    host_peers(main, &c.synapse.database.postgresql.host)
}

fn to_values<T: Serialize>(rules: &[T]) -> Vec<Value> {
    rules
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect()
}

/// Where a server known by `host` (an address, a Service name or any DNS name) is, as
/// NetworkPolicy peers.
fn host_peers(main: &str, host: &str) -> Vec<Value> {
    if let Some(ip) = Cidr::parse(host).filter(|_| !host.contains('/')) {
        let len = if ip.is_ipv4() { 32 } else { 128 };
        return vec![json!({"ipBlock": {"cidr": format!("{}/{len}", ip.first)}})];
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() == 1 && !host.is_empty() {
        // A Service of the stack's namespace.
        return vec![json!({"namespaceSelector": namespace_selector(main)})];
    }
    if labels.len() >= 3 && labels[2] == "svc" {
        // NAME.NAMESPACE.svc[.cluster.local]: a Service of that namespace.
        return vec![json!({"namespaceSelector": namespace_selector(labels[1])})];
    }
    // Any other name may be a Service of another namespace (`NAME.NAMESPACE` through the
    // search path) or a private address outside the cluster: every pod and every private
    // range, on the server's port only.
    let mut out = vec![json!({"namespaceSelector": {}})];
    out.extend(
        PRIVATE_RANGES
            .iter()
            .map(|r| json!({"ipBlock": {"cidr": r}})),
    );
    out
}

fn egress_rules(ctx: &Ctx<'_>, wanted: &[Egress]) -> Vec<Value> {
    let c = ctx.config;
    let np = &c.network_policies;
    let mut rules = Vec::new();
    for e in wanted {
        match e {
            Egress::Dns => {
                let to = peers(&np.dns, &c.namespace);
                if !to.is_empty() {
                    rules.push(json!({"to": to, "ports": [
                        {"protocol": "UDP", "port": 53},
                        {"protocol": "TCP", "port": 53},
                    ]}));
                }
            }
            Egress::Internet => rules.push(json!({"to": internet(&np.denied_ranges)})),
            Egress::Database => {
                if c.synapse.database.kind == DatabaseKind::Postgresql {
                    rules.push(json!({
                        "to": database_peers(ctx),
                        "ports": [{"protocol": "TCP", "port": c.synapse.database.postgresql.port}],
                    }));
                }
            }
            Egress::Redis => {
                let r = &c.redis;
                let to = if r.in_cluster(c) {
                    vec![json!({"podSelector": {"matchLabels": crate::redis::app().selector}})]
                } else {
                    host_peers(&c.namespace, &r.host)
                };
                rules.push(json!({"to": to, "ports": [{"protocol": "TCP", "port": r.port}]}));
            }
            Egress::Replication => rules.push(json!({
                "to": [{"podSelector": crate::workers::synapse_pods()}],
                "ports": [{"protocol": "TCP", "port": crate::workers::REPLICATION_PORT}],
            })),
            Egress::SynapseHttp => rules.push(json!({
                "to": [{"podSelector": crate::workers::synapse_pods()}],
                "ports": [{"protocol": "TCP", "port": c.synapse.port}],
            })),
            Egress::PublicUrls => {
                let ic = &np.ingress_controller;
                let pods: Vec<Value> = peers(
                    &PeerSelector {
                        ip_blocks: Vec::new(),
                        ..ic.clone()
                    },
                    &c.namespace,
                );
                if !pods.is_empty() {
                    rules.push(json!({"to": pods}));
                }
                if !ic.ip_blocks.is_empty() {
                    let ports: Vec<Value> = PUBLIC_URL_PORTS
                        .iter()
                        .map(|p| json!({"protocol": "TCP", "port": p}))
                        .collect();
                    rules.push(json!({
                        "to": ic.ip_blocks.iter().map(ip_block).collect::<Vec<_>>(),
                        "ports": ports,
                    }));
                }
            }
        }
    }
    rules
}

fn network_policies(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    let main = c.namespace.clone();
    let flows: Vec<Flow<'_>> = crate::components::enabled(c)
        .flat_map(|k| (k.flows)(c))
        .collect();

    let stack = App::new(
        "matrix-stack",
        "network-policy",
        "network",
        ("app.kubernetes.io/part-of", "matrix-stack"),
    );
    // Every namespace the stack renders into denies by default, for the stack's pods.
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
            "spec": {"podSelector": stack_pods(), "policyTypes": ["Ingress", "Egress"]},
        });
        ctx.push_value(
            &stack,
            NETWORK_POLICY,
            "NetworkPolicy",
            "default-deny",
            deny,
        );
    }

    let controller = peers(&c.network_policies.ingress_controller, &main);
    let scrapers = peers(&c.metrics.prometheus, &main);
    for f in flows {
        ctx.set_namespace(&f.namespace);
        let mut ingress: Vec<Value> = Vec::new();
        // A rule without peers would allow every source: none is rendered.
        if !f.web_ports.is_empty() && !controller.is_empty() {
            let ports: Vec<Value> = f
                .web_ports
                .iter()
                .map(|p| json!({"protocol": "TCP", "port": p}))
                .collect();
            ingress.push(json!({"from": controller.clone(), "ports": ports}));
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
        for (pods, ports) in &f.from_stack {
            let ports: Vec<Value> = ports
                .iter()
                .map(|p| json!({"protocol": "TCP", "port": p}))
                .collect();
            ingress.push(json!({"from": [{"podSelector": pods}], "ports": ports}));
        }
        if let Some(rule) = crate::metrics::scrape_rule(c, &f.app, scrapers.clone()) {
            ingress.push(rule);
        }
        ingress.extend(to_values(&f.extra.ingress));
        let mut egress = egress_rules(ctx, &f.egress);
        egress.extend(to_values(&f.extra.egress));
        let value = json!({
            "apiVersion": NETWORK_POLICY,
            "kind": "NetworkPolicy",
            "metadata": ctx.meta(f.app.name, &f.app),
            "spec": {
                "podSelector": {"matchLabels": f.app.selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress,
                "egress": egress,
            },
        });
        ctx.push_value(&f.app, NETWORK_POLICY, "NetworkPolicy", f.app.name, value);
    }

    // cert-manager answers HTTP-01 challenges from solver pods in the namespace of the
    // Ingress or Certificate that asks for the certificate.
    if c.routing.mode != RoutingMode::Ingress || controller.is_empty() {
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
                    "from": controller.clone(),
                    "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}],
                }],
            },
        });
        ctx.push_value(&stack, NETWORK_POLICY, "NetworkPolicy", name, value);
    }
}

/// A PodDisruptionBudget (one pod may be down at a time) for each Deployment or StatefulSet
/// with more than one replica.
fn disruption_budgets(ctx: &mut Ctx<'_>) {
    let mut budgets = Vec::new();
    for o in ctx
        .objects()
        .iter()
        .filter(|o| o.kind == "Deployment" || o.kind == "StatefulSet")
    {
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
