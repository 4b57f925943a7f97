//! NetworkPolicies and PodDisruptionBudgets agree with the workloads they protect.
//!
//! The flow tests evaluate the rendered NetworkPolicies with a small model of Kubernetes'
//! semantics (policies select pods of their namespace; a pod selected by a policy of a
//! direction is isolated in that direction; a flow passes when the source's egress and the
//! destination's ingress both allow it; peers are pod and namespace selectors with
//! `matchLabels` and `matchExpressions`, or `ipBlock` with `except`; ports by number, range
//! or container-port name; a missing `from`/`to`/`ports` allows all). Pods are the rendered
//! Deployments plus stand-ins for what a cluster has around the stack: the ingress
//! controller, CoreDNS, a bridge and a database in the stack's namespace, Prometheus. The
//! model lets `ipBlock` match pod addresses too (as Calico does), so a pod is never
//! reachable by accident of an address range.

use std::collections::BTreeMap;
use std::net::IpAddr;

use matrix_render_model::NamedText;
use matrix_render_model::api::Format;
use serde_json::{Value, json};

use crate::common::{fixtures, repo, request};

fn matches(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
}

fn items(name: &str, dir: &std::path::Path) -> Vec<Value> {
    let response = matrix_render_renderer::render(&request(dir, Format::Json));
    assert!(response.ok, "{name}");
    let list: Value = serde_json::from_str(&response.output).unwrap();
    list["items"].as_array().unwrap().clone()
}

/// A fixture rendered with `extra` (YAML) merged over its values.
fn items_with(fixture: &str, extra: &str) -> Vec<Value> {
    let dir = repo().join("tests/fixtures").join(fixture);
    let mut req = request(&dir, Format::Json);
    req.values.push(NamedText {
        name: "extra.yaml".to_owned(),
        text: extra.to_owned(),
    });
    let response = matrix_render_renderer::render(&req);
    assert!(
        response.ok,
        "{fixture} + {extra}: {:?}",
        response.diagnostics
    );
    let list: Value = serde_json::from_str(&response.output).unwrap();
    list["items"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------
// The evaluator.

#[derive(Debug, Clone)]
struct Pod {
    namespace: String,
    labels: Value,
    ip: IpAddr,
    /// Container port names to numbers.
    ports: BTreeMap<String, u16>,
}

#[derive(Debug, Clone)]
enum End {
    Pod(Pod),
    Outside(IpAddr),
}

impl End {
    fn ip(&self) -> IpAddr {
        match self {
            End::Pod(p) => p.ip,
            End::Outside(ip) => *ip,
        }
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn pod(namespace: &str, labels: Value, addr: &str, ports: &[(&str, u16)]) -> Pod {
    Pod {
        namespace: namespace.to_owned(),
        labels,
        ip: ip(addr),
        ports: ports.iter().map(|(n, p)| ((*n).to_owned(), *p)).collect(),
    }
}

fn selector_matches(selector: &Value, labels: &Value) -> bool {
    if !selector.is_object() {
        return false;
    }
    let labels_ok = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap();
            let value = labels.get(key);
            let values: Vec<&Value> = e["values"].as_array().into_iter().flatten().collect();
            match e["operator"].as_str().unwrap() {
                "In" => value.is_some_and(|v| values.contains(&v)),
                "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => panic!("operator {other}"),
            }
        });
    labels_ok && exprs_ok
}

/// Parses a CIDR into (first, last) as u128 with the family.
fn cidr(text: &str) -> (bool, u128, u128) {
    let (addr, prefix) = text.split_once('/').unwrap();
    let prefix: u32 = prefix.parse().unwrap();
    match ip(addr) {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            let first = u32::from(a) & mask;
            assert_eq!(first, u32::from(a), "{text} is not canonical");
            (true, u128::from(first), u128::from(first | !mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            let first = u128::from(a) & mask;
            assert_eq!(first, u128::from(a), "{text} is not canonical");
            (false, first, first | !mask)
        }
    }
}

fn in_cidr(text: &str, addr: IpAddr) -> bool {
    let (v4, first, last) = cidr(text);
    let (is_v4, n) = match addr {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, u128::from(a)),
    };
    v4 == is_v4 && first <= n && n <= last
}

fn ns_labels(namespace: &str) -> Value {
    json!({"kubernetes.io/metadata.name": namespace})
}

/// Whether `peer` (of a policy in `policy_ns`) matches the other end of a flow.
fn peer_matches(peer: &Value, policy_ns: &str, other: &End) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        let addr = other.ip();
        let base = block["cidr"].as_str().unwrap();
        let except = block["except"].as_array().into_iter().flatten();
        for e in except.clone() {
            let (v4, f, l) = cidr(e.as_str().unwrap());
            let (bv4, bf, bl) = cidr(base);
            assert!(
                v4 == bv4 && bf <= f && l <= bl && (f, l) != (bf, bl),
                "{e} outside {base}"
            );
        }
        return in_cidr(base, addr)
            && !except
                .into_iter()
                .any(|e| in_cidr(e.as_str().unwrap(), addr));
    }
    let End::Pod(p) = other else {
        return false;
    };
    let ns_ok = match peer.get("namespaceSelector") {
        Some(sel) => selector_matches(sel, &ns_labels(&p.namespace)),
        None => p.namespace == policy_ns,
    };
    let pod_ok = match peer.get("podSelector") {
        Some(sel) => selector_matches(sel, &p.labels),
        None => true,
    };
    assert!(
        peer.get("namespaceSelector").is_some() || peer.get("podSelector").is_some(),
        "empty peer {peer}"
    );
    ns_ok && pod_ok
}

/// Whether a rule's `ports` allow (protocol, port) at `dest`.
fn ports_match(ports: Option<&Value>, protocol: &str, port: u16, dest: &End) -> bool {
    let Some(list) = ports.and_then(Value::as_array).filter(|l| !l.is_empty()) else {
        return true;
    };
    list.iter().any(|p| {
        let proto = p["protocol"].as_str().unwrap_or("TCP");
        if proto != protocol {
            return false;
        }
        match &p["port"] {
            Value::Null => true,
            Value::Number(n) => {
                let start = n.as_u64().unwrap();
                let end = p["endPort"].as_u64().unwrap_or(start);
                (start..=end).contains(&u64::from(port))
            }
            Value::String(name) => match dest {
                End::Pod(d) => d.ports.get(name) == Some(&port),
                End::Outside(_) => false,
            },
            other => panic!("port {other}"),
        }
    })
}

struct Cluster {
    policies: Vec<Value>,
}

impl Cluster {
    fn new(items: &[Value]) -> Self {
        Self {
            policies: items
                .iter()
                .filter(|i| i["kind"] == "NetworkPolicy")
                .cloned()
                .collect(),
        }
    }

    /// The policies of `kind` ("Ingress"/"Egress") that select `p`.
    fn selecting(&self, p: &Pod, kind: &str) -> Vec<&Value> {
        self.policies
            .iter()
            .filter(|pol| pol["metadata"]["namespace"] == p.namespace.as_str())
            .filter(|pol| selector_matches(&pol["spec"]["podSelector"], &p.labels))
            .filter(|pol| {
                pol["spec"]["policyTypes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == kind)
            })
            .collect()
    }

    fn side_allows(
        &self,
        subject: &End,
        other: &End,
        dest: &End,
        proto: &str,
        port: u16,
        egress: bool,
    ) -> bool {
        let End::Pod(p) = subject else {
            return true; // outside the cluster: no policy applies
        };
        let (kind, key, peers_key) = if egress {
            ("Egress", "egress", "to")
        } else {
            ("Ingress", "ingress", "from")
        };
        let policies = self.selecting(p, kind);
        if policies.is_empty() {
            return true; // not isolated
        }
        policies.iter().any(|pol| {
            pol["spec"][key]
                .as_array()
                .into_iter()
                .flatten()
                .any(|rule| {
                    let peers_ok = match rule.get(peers_key).and_then(Value::as_array) {
                        None => true,
                        Some(list) if list.is_empty() => true,
                        Some(list) => list.iter().any(|peer| {
                            peer_matches(
                                peer,
                                pol["metadata"]["namespace"].as_str().unwrap(),
                                other,
                            )
                        }),
                    };
                    peers_ok && ports_match(rule.get("ports"), proto, port, dest)
                })
        })
    }

    fn allows(&self, from: &End, to: &End, proto: &str, port: u16) -> bool {
        self.side_allows(from, to, to, proto, port, true)
            && self.side_allows(to, from, to, proto, port, false)
    }
}

/// A workload: its pods come from a template.
fn is_workload(item: &Value) -> bool {
    item["kind"] == "Deployment" || item["kind"] == "StatefulSet"
}

/// The rendered Deployments and StatefulSets as pods (addresses from the pod network
/// 10.42.0.0/16).
fn stack_pods(items: &[Value]) -> BTreeMap<String, Pod> {
    let mut out = BTreeMap::new();
    for (i, dep) in items.iter().filter(|i| is_workload(i)).enumerate() {
        let t = &dep["spec"]["template"];
        let ports = t["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .filter_map(|p| {
                Some((
                    p["name"].as_str()?.to_owned(),
                    u16::try_from(p["containerPort"].as_u64()?).ok()?,
                ))
            })
            .collect();
        out.insert(
            dep["metadata"]["name"].as_str().unwrap().to_owned(),
            Pod {
                namespace: dep["metadata"]["namespace"].as_str().unwrap().to_owned(),
                labels: t["metadata"]["labels"].clone(),
                ip: ip(&format!("10.42.1.{}", i + 10)),
                ports,
            },
        );
    }
    out
}

/// What a cluster has around the stack.
struct Around {
    controller: End,
    dns: End,
    metrics_server: End,
    bridge: End,
    database: End,
    prometheus: End,
}

fn around(stack_ns: &str) -> Around {
    Around {
        controller: End::Pod(pod(
            "kube-system",
            json!({"app.kubernetes.io/name": "traefik"}),
            "10.42.0.5",
            &[("web", 8000), ("websecure", 8443)],
        )),
        dns: End::Pod(pod(
            "kube-system",
            json!({"k8s-app": "kube-dns"}),
            "10.42.0.3",
            &[("dns", 53), ("dns-tcp", 53)],
        )),
        metrics_server: End::Pod(pod(
            "kube-system",
            json!({"k8s-app": "metrics-server"}),
            "10.42.0.4",
            &[("https", 10250)],
        )),
        bridge: End::Pod(pod(
            stack_ns,
            json!({"app": "mautrix-telegram"}),
            "10.42.2.7",
            &[("http", 29317)],
        )),
        database: End::Pod(pod(
            "db",
            json!({"app": "postgres"}),
            "10.42.3.9",
            &[("postgres", 5432)],
        )),
        prometheus: End::Pod(pod(
            "monitoring",
            json!({"app": "prometheus"}),
            "10.42.4.2",
            &[("web", 9090)],
        )),
    }
}

fn out(addr: &str) -> End {
    End::Outside(ip(addr))
}

/// Asserts each (from, to, protocol, port, allowed) case and names the failures together.
fn expect(cluster: &Cluster, cases: &[(&str, &End, &End, &str, u16, bool)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(_, f, t, proto, port, want)| cluster.allows(f, t, proto, *port) != *want)
        .map(|(what, _, _, proto, port, want)| {
            format!(
                "{what} ({proto} {port}) should be {}",
                if *want { "allowed" } else { "denied" }
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The flows.

#[test]
fn the_stack_gets_exactly_the_flows_it_uses() {
    let items = items_with("rtc-custom", "");
    let cluster = Cluster::new(&items);
    let pods = stack_pods(&items);
    let a = around("matrix");
    let p = |name: &str| {
        End::Pod(
            pods.get(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .clone(),
        )
    };
    let (synapse, element, jwt, livekit) =
        (p("synapse"), p("element"), p("matrixrtc-jwt"), p("livekit"));
    let synapse_http = pods["synapse"].ports["http"];
    let jwt_http = pods["matrixrtc-jwt"].ports["http"];
    let lk_http = pods["livekit"].ports["http"];
    let internet = out("81.2.69.160");
    expect(
        &cluster,
        &[
            // Needed.
            (
                "controller → synapse",
                &a.controller,
                &synapse,
                "TCP",
                synapse_http,
                true,
            ),
            (
                "controller → element",
                &a.controller,
                &element,
                "TCP",
                pods["element"].ports["http"],
                true,
            ),
            (
                "controller → lk-jwt-service",
                &a.controller,
                &jwt,
                "TCP",
                jwt_http,
                true,
            ),
            (
                "controller → livekit",
                &a.controller,
                &livekit,
                "TCP",
                lk_http,
                true,
            ),
            ("synapse → DNS", &synapse, &a.dns, "UDP", 53, true),
            ("synapse → DNS over TCP", &synapse, &a.dns, "TCP", 53, true),
            (
                "synapse → federation on 8448",
                &synapse,
                &out("8.8.8.8"),
                "TCP",
                8448,
                true,
            ),
            (
                "synapse → federation on 443",
                &synapse,
                &out("8.8.8.8"),
                "TCP",
                443,
                true,
            ),
            (
                "synapse → federation on 8443",
                &synapse,
                &out("8.8.8.8"),
                "TCP",
                8443,
                true,
            ),
            (
                "synapse → URL preview on 8080",
                &synapse,
                &out("93.184.215.14"),
                "TCP",
                8080,
                true,
            ),
            (
                "synapse → federation over IPv6",
                &synapse,
                &out("2606:4700::1111"),
                "TCP",
                443,
                true,
            ),
            (
                "synapse → IPv4 through NAT64",
                &synapse,
                &out("64:ff9b::808:808"),
                "TCP",
                443,
                true,
            ),
            ("lk-jwt-service → DNS", &jwt, &a.dns, "UDP", 53, true),
            // The OpenID check goes to the homeserver's public name: the controller, then Synapse.
            (
                "lk-jwt-service → controller (homeserver's public URL)",
                &jwt,
                &a.controller,
                "TCP",
                8443,
                true,
            ),
            ("livekit → DNS", &livekit, &a.dns, "UDP", 53, true),
            (
                "livekit → a client's media port",
                &livekit,
                &internet,
                "UDP",
                61000,
                true,
            ),
            (
                "client → livekit ICE/TCP",
                &internet,
                &livekit,
                "TCP",
                7891,
                true,
            ),
            (
                "client → livekit UDP range",
                &internet,
                &livekit,
                "UDP",
                51050,
                true,
            ),
            // Not stack pods: untouched by the stack's policies.
            (
                "prometheus → bridge",
                &a.prometheus,
                &a.bridge,
                "TCP",
                29317,
                true,
            ),
            (
                "bridge → API server",
                &a.bridge,
                &out("10.0.0.1"),
                "TCP",
                6443,
                true,
            ),
            ("bridge → internet", &a.bridge, &internet, "TCP", 443, true),
            // Must not happen.
            (
                "synapse → cloud metadata",
                &synapse,
                &out("169.254.169.254"),
                "TCP",
                80,
                false,
            ),
            (
                "synapse → API server",
                &synapse,
                &out("10.0.0.1"),
                "TCP",
                6443,
                false,
            ),
            (
                "synapse → kubernetes Service",
                &synapse,
                &out("10.43.0.1"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → kubelet on a node",
                &synapse,
                &out("192.168.1.20"),
                "TCP",
                10250,
                false,
            ),
            (
                "synapse → CGNAT",
                &synapse,
                &out("100.64.0.1"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → benchmark range",
                &synapse,
                &out("198.18.0.1"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → 192.0.0.0/24",
                &synapse,
                &out("192.0.0.170"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → loopback",
                &synapse,
                &out("127.0.0.1"),
                "TCP",
                8008,
                false,
            ),
            (
                "synapse → ULA",
                &synapse,
                &out("fd00::1"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → IPv6 link-local",
                &synapse,
                &out("fe80::1"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → IPv4-mapped private",
                &synapse,
                &out("::ffff:10.0.0.1"),
                "TCP",
                6443,
                false,
            ),
            (
                "synapse → IPv6 loopback",
                &synapse,
                &out("::1"),
                "TCP",
                8008,
                false,
            ),
            (
                "synapse → a bridge's pod",
                &synapse,
                &a.bridge,
                "TCP",
                29317,
                false,
            ),
            (
                "synapse → metrics-server",
                &synapse,
                &a.metrics_server,
                "TCP",
                10250,
                false,
            ),
            (
                "synapse → DNS on another port",
                &synapse,
                &a.dns,
                "TCP",
                9153,
                false,
            ),
            (
                "synapse → coredns-like pod elsewhere",
                &synapse,
                &a.prometheus,
                "UDP",
                53,
                false,
            ),
            (
                "lk-jwt-service → internet",
                &jwt,
                &out("1.1.1.1"),
                "TCP",
                443,
                false,
            ),
            (
                "lk-jwt-service → synapse pod directly",
                &jwt,
                &synapse,
                "TCP",
                synapse_http,
                false,
            ),
            (
                "lk-jwt-service → API server",
                &jwt,
                &out("10.0.0.1"),
                "TCP",
                6443,
                false,
            ),
            (
                "lk-jwt-service → cloud metadata",
                &jwt,
                &out("169.254.169.254"),
                "TCP",
                80,
                false,
            ),
            ("element → internet", &element, &internet, "TCP", 443, false),
            ("element → DNS", &element, &a.dns, "UDP", 53, false),
            (
                "livekit → API server",
                &livekit,
                &out("10.0.0.1"),
                "TCP",
                6443,
                false,
            ),
            (
                "livekit → cloud metadata",
                &livekit,
                &out("169.254.169.254"),
                "TCP",
                80,
                false,
            ),
            (
                "internet → synapse",
                &internet,
                &synapse,
                "TCP",
                synapse_http,
                false,
            ),
            (
                "bridge → synapse (not allowed unless asked)",
                &a.bridge,
                &synapse,
                "TCP",
                synapse_http,
                false,
            ),
            (
                "prometheus → synapse",
                &a.prometheus,
                &synapse,
                "TCP",
                synapse_http,
                false,
            ),
            (
                "internet → livekit API",
                &internet,
                &livekit,
                "TCP",
                lk_http,
                false,
            ),
        ],
    );
}

#[test]
fn the_database_is_reachable_where_the_config_says_and_nowhere_else() {
    let a = around("chat");
    // The postgres fixture names a host outside the cluster: every private range and every
    // pod, on the database port only.
    let items = items_with("postgres", "");
    let cluster = Cluster::new(&items);
    let synapse = End::Pod(stack_pods(&items)["synapse"].clone());
    expect(
        &cluster,
        &[
            (
                "synapse → database pod",
                &synapse,
                &a.database,
                "TCP",
                5432,
                true,
            ),
            (
                "synapse → private database",
                &synapse,
                &out("10.1.2.3"),
                "TCP",
                5432,
                true,
            ),
            (
                "synapse → private host, other port",
                &synapse,
                &out("10.1.2.3"),
                "TCP",
                22,
                false,
            ),
            (
                "synapse → database pod, other port",
                &synapse,
                &a.database,
                "TCP",
                5433,
                false,
            ),
        ],
    );
    // An address: exactly that address.
    let items = items_with(
        "postgres",
        "synapse: {database: {postgresql: {host: 10.5.0.7}}}\n",
    );
    let cluster = Cluster::new(&items);
    let synapse = End::Pod(stack_pods(&items)["synapse"].clone());
    expect(
        &cluster,
        &[
            (
                "synapse → 10.5.0.7",
                &synapse,
                &out("10.5.0.7"),
                "TCP",
                5432,
                true,
            ),
            (
                "synapse → 10.5.0.8",
                &synapse,
                &out("10.5.0.8"),
                "TCP",
                5432,
                false,
            ),
            (
                "synapse → database pod",
                &synapse,
                &a.database,
                "TCP",
                5432,
                false,
            ),
        ],
    );
    // A Service name: the pods of its namespace.
    let items = items_with(
        "postgres",
        "synapse: {database: {postgresql: {host: postgres.db.svc.cluster.local}}}\n",
    );
    let cluster = Cluster::new(&items);
    let synapse = End::Pod(stack_pods(&items)["synapse"].clone());
    expect(
        &cluster,
        &[
            (
                "synapse → db/postgres",
                &synapse,
                &a.database,
                "TCP",
                5432,
                true,
            ),
            (
                "synapse → monitoring pod on 5432",
                &synapse,
                &a.prometheus,
                "TCP",
                5432,
                false,
            ),
            (
                "synapse → private address",
                &synapse,
                &out("10.1.2.3"),
                "TCP",
                5432,
                false,
            ),
        ],
    );
    // Said explicitly.
    let items = items_with(
        "postgres",
        "networkPolicies: {database: {namespace: db, podLabels: {app: postgres}}}\n",
    );
    let cluster = Cluster::new(&items);
    let synapse = End::Pod(stack_pods(&items)["synapse"].clone());
    let other_db = End::Pod(pod("db", json!({"app": "redis"}), "10.42.3.10", &[]));
    expect(
        &cluster,
        &[
            (
                "synapse → db/postgres",
                &synapse,
                &a.database,
                "TCP",
                5432,
                true,
            ),
            (
                "synapse → db/redis",
                &synapse,
                &other_db,
                "TCP",
                5432,
                false,
            ),
        ],
    );
}

#[test]
fn ingress_sources_denied_ranges_federation_and_extra_rules_are_settings() {
    let extra = r#"
networkPolicies:
  ingressController:
    namespace: ""
    ipBlocks: [{cidr: 192.168.10.0/24, except: [192.168.10.128/25]}]
  deniedRanges: [8.8.8.0/24, "2606:4700::/32"]
  jwtFederation: true
  extraRules:
    synapse:
      ingress:
      - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
        ports: [{port: 9000}]
    element:
      egress:
      - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
        ports: [{protocol: TCP, port: 443}]
"#;
    let items = items_with("rtc-custom", extra);
    let cluster = Cluster::new(&items);
    let pods = stack_pods(&items);
    let a = around("matrix");
    let p = |name: &str| End::Pod(pods[name].clone());
    let (synapse, element, jwt) = (p("synapse"), p("element"), p("matrixrtc-jwt"));
    let node = out("192.168.10.5");
    let http = pods["synapse"].ports["http"];
    expect(
        &cluster,
        &[
            (
                "host-network controller (node address) → synapse",
                &node,
                &synapse,
                "TCP",
                http,
                true,
            ),
            (
                "excepted node → synapse",
                &out("192.168.10.200"),
                &synapse,
                "TCP",
                http,
                false,
            ),
            (
                "other LAN address → synapse",
                &out("192.168.11.5"),
                &synapse,
                "TCP",
                http,
                false,
            ),
            (
                "controller pod (no longer configured) → synapse",
                &a.controller,
                &synapse,
                "TCP",
                http,
                false,
            ),
            (
                "lk-jwt-service → controller on the node, 443",
                &jwt,
                &node,
                "TCP",
                443,
                true,
            ),
            (
                "lk-jwt-service → controller on the node, 8448",
                &jwt,
                &node,
                "TCP",
                8448,
                true,
            ),
            (
                "lk-jwt-service → kubelet on the node",
                &jwt,
                &node,
                "TCP",
                10250,
                false,
            ),
            (
                "lk-jwt-service → other homeservers (jwtFederation)",
                &jwt,
                &out("1.1.1.1"),
                "TCP",
                8448,
                true,
            ),
            (
                "lk-jwt-service → API server, even so",
                &jwt,
                &out("10.0.0.1"),
                "TCP",
                6443,
                false,
            ),
            (
                "synapse → a denied range",
                &synapse,
                &out("8.8.8.8"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → a denied IPv6 range",
                &synapse,
                &out("2606:4700::1111"),
                "TCP",
                443,
                false,
            ),
            (
                "synapse → elsewhere",
                &synapse,
                &out("1.1.1.1"),
                "TCP",
                443,
                true,
            ),
            (
                "prometheus → synapse metrics (extra rule)",
                &a.prometheus,
                &synapse,
                "TCP",
                9000,
                true,
            ),
            (
                "prometheus → synapse http",
                &a.prometheus,
                &synapse,
                "TCP",
                http,
                false,
            ),
            (
                "bridge → synapse metrics",
                &a.bridge,
                &synapse,
                "TCP",
                9000,
                false,
            ),
            (
                "element → extra egress",
                &element,
                &out("203.0.113.9"),
                "TCP",
                443,
                true,
            ),
            (
                "element → elsewhere",
                &element,
                &out("1.1.1.1"),
                "TCP",
                443,
                false,
            ),
        ],
    );
}

#[test]
fn bad_ranges_are_reported_at_their_setting() {
    let dir = repo().join("tests/fixtures/rtc-custom");
    for (extra, path) in [
        (
            "networkPolicies: {deniedRanges: [10.0.0.1/8]}\n",
            "networkPolicies.deniedRanges[0]",
        ),
        (
            "networkPolicies: {dns: {ipBlocks: [{cidr: 169.254.20.10}]}}\n",
            "networkPolicies.dns.ipBlocks[0].cidr",
        ),
        (
            "networkPolicies: {ingressController: {ipBlocks: [{cidr: 10.0.0.0/24, except: [10.1.0.0/24]}]}}\n",
            "networkPolicies.ingressController.ipBlocks[0].except[0]",
        ),
        (
            "networkPolicies: {extraRules: {jwt: {egress: [{to: [{ipBlock: {cidr: 300.0.0.0/8}}]}]}}}\n",
            "networkPolicies.extraRules.jwt.egress[0].to[0].ipBlock.cidr",
        ),
    ] {
        let mut req = request(&dir, Format::Json);
        req.values.push(NamedText {
            name: "extra.yaml".to_owned(),
            text: extra.to_owned(),
        });
        let response = matrix_render_renderer::render(&req);
        assert!(!response.ok, "{extra}");
        assert!(
            response
                .diagnostics
                .iter()
                .any(|d| d.code == "invalid-cidr" && d.path == path),
            "{extra}: {:?}",
            response.diagnostics
        );
    }
}

#[test]
fn every_pod_off_the_host_network_has_exactly_its_flows() {
    let mut pods_checked = 0;
    for (name, dir) in fixtures() {
        let items = items(&name, &dir);
        let policies: Vec<&Value> = items
            .iter()
            .filter(|i| i["kind"] == "NetworkPolicy")
            .collect();
        if policies.is_empty() {
            continue;
        }
        for dep in items.iter().filter(|i| is_workload(i)) {
            let dep_name = dep["metadata"]["name"].as_str().unwrap();
            let namespace = &dep["metadata"]["namespace"];
            let pod = &dep["spec"]["template"];
            // Every namespace with a workload denies by default, for the stack's pods only.
            let deny = policies
                .iter()
                .find(|p| {
                    p["metadata"]["name"] == "default-deny"
                        && p["metadata"]["namespace"] == *namespace
                })
                .unwrap_or_else(|| panic!("{name}: namespace {namespace} has no default-deny"));
            assert!(
                selector_matches(&deny["spec"]["podSelector"], &pod["metadata"]["labels"]),
                "{name}: default-deny misses {dep_name}"
            );
            assert!(
                !selector_matches(&deny["spec"]["podSelector"], &json!({"app": "other"})),
                "{name}: default-deny selects pods that are not the stack's"
            );
            assert_eq!(
                deny["spec"]["policyTypes"],
                serde_json::json!(["Ingress", "Egress"]),
                "{name}"
            );
            if pod["spec"]["hostNetwork"] == true {
                continue;
            }
            let own: Vec<&&Value> = policies
                .iter()
                .filter(|p| p["metadata"]["name"] != "default-deny")
                .filter(|p| p["metadata"]["namespace"] == *namespace)
                .filter(|p| matches(&p["spec"]["podSelector"], &pod["metadata"]["labels"]))
                .collect();
            assert_eq!(
                own.len(),
                1,
                "{name}: Deployment {dep_name} needs exactly one policy of its own"
            );
            let port_names: Vec<&Value> = pod["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .map(|p| &p["name"])
                .collect();
            for rule in own[0]["spec"]["ingress"].as_array().unwrap() {
                // A rule without sources would let everyone in.
                assert!(
                    rule["from"].as_array().is_some_and(|f| !f.is_empty()),
                    "{name}: {dep_name} has an ingress rule open to every source"
                );
                for port in rule["ports"].as_array().unwrap() {
                    if port["port"].is_string() {
                        assert!(
                            port_names.contains(&&port["port"]),
                            "{name}: {dep_name}'s policy opens port {} that no container has",
                            port["port"]
                        );
                    }
                }
            }
            for rule in own[0]["spec"]["egress"].as_array().unwrap() {
                assert!(
                    rule["to"].as_array().is_some_and(|t| !t.is_empty()),
                    "{name}: {dep_name} has an egress rule open to every destination"
                );
            }
            pods_checked += 1;
        }
    }
    assert!(pods_checked >= 20, "only {pods_checked} pods checked");
}

#[test]
fn every_replicated_deployment_has_a_disruption_budget() {
    let mut budgets = 0;
    for (name, dir) in fixtures() {
        let items = items(&name, &dir);
        for dep in items.iter().filter(|i| is_workload(i)) {
            let dep_name = &dep["metadata"]["name"];
            let replicas = dep["spec"]["replicas"].as_i64().unwrap();
            let pdbs: Vec<&Value> = items
                .iter()
                .filter(|i| i["kind"] == "PodDisruptionBudget")
                .filter(|p| p["metadata"]["namespace"] == dep["metadata"]["namespace"])
                .filter(|p| {
                    matches(
                        &p["spec"]["selector"],
                        &dep["spec"]["template"]["metadata"]["labels"],
                    )
                })
                .collect();
            if replicas > 1 {
                assert_eq!(pdbs.len(), 1, "{name}: {dep_name} has {replicas} replicas");
                assert_eq!(pdbs[0]["spec"]["maxUnavailable"], 1);
                assert_eq!(pdbs[0]["spec"]["selector"], dep["spec"]["selector"]);
                budgets += 1;
            } else {
                assert!(pdbs.is_empty(), "{name}: {dep_name} has one replica");
            }
        }
    }
    assert!(budgets >= 2, "no fixture has a replicated Deployment");
}

/// With workers: the controller reaches the router only; the router reaches every Synapse
/// process's `http` port; replication ports (the main process's and the stream writers')
/// take the Synapse processes alone; Redis takes the Synapse processes alone; a bridge in
/// the namespace reaches none of it.
#[test]
fn workers_replicate_among_themselves_and_take_http_from_the_router() {
    let items = items_with("workers", "");
    let cluster = Cluster::new(&items);
    let pods = stack_pods(&items);
    let a = around("matrix");
    let p = |name: &str| {
        End::Pod(
            pods.get(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .clone(),
        )
    };
    let (main, router, redis) = (p("synapse"), p("synapse-router"), p("synapse-redis"));
    let (sync, creator, typing, persister, media, sender) = (
        p("synapse-synchrotron"),
        p("synapse-event-creator"),
        p("synapse-typing"),
        p("synapse-event-persister"),
        p("synapse-media-repository"),
        p("synapse-federation-sender"),
    );
    let http = pods["synapse"].ports["http"];
    let replication = pods["synapse"].ports["replication"];
    let redis_port = pods["synapse-redis"].ports["redis"];
    let router_http = pods["synapse-router"].ports["http"];
    // The example's database: `postgres.matrix.svc.cluster.local`.
    let db = End::Pod(pod(
        "matrix",
        json!({"app": "postgres"}),
        "10.42.3.10",
        &[("postgres", 5432)],
    ));
    assert!(
        !pods["synapse-synchrotron"]
            .ports
            .contains_key("replication"),
        "only the main process and stream writers listen for replication"
    );
    expect(
        &cluster,
        &[
            (
                "controller → router",
                &a.controller,
                &router,
                "TCP",
                router_http,
                true,
            ),
            (
                "controller → synapse (now behind the router)",
                &a.controller,
                &main,
                "TCP",
                http,
                false,
            ),
            (
                "controller → synchrotron",
                &a.controller,
                &sync,
                "TCP",
                http,
                false,
            ),
            ("router → synapse", &router, &main, "TCP", http, true),
            ("router → synchrotron", &router, &sync, "TCP", http, true),
            (
                "router → media repository",
                &router,
                &media,
                "TCP",
                http,
                true,
            ),
            (
                "router → synapse replication",
                &router,
                &main,
                "TCP",
                replication,
                false,
            ),
            ("router → redis", &router, &redis, "TCP", redis_port, false),
            (
                "router → the internet",
                &router,
                &out("8.8.8.8"),
                "TCP",
                443,
                false,
            ),
            (
                "synchrotron → main replication",
                &sync,
                &main,
                "TCP",
                replication,
                true,
            ),
            (
                "event creator → event persister replication",
                &creator,
                &persister,
                "TCP",
                replication,
                true,
            ),
            (
                "main → typing writer replication",
                &main,
                &typing,
                "TCP",
                replication,
                true,
            ),
            (
                "federation sender → redis",
                &sender,
                &redis,
                "TCP",
                redis_port,
                true,
            ),
            ("main → redis", &main, &redis, "TCP", redis_port, true),
            (
                "federation sender → federation on 8448",
                &sender,
                &out("8.8.8.8"),
                "TCP",
                8448,
                true,
            ),
            (
                "media repository → the database",
                &media,
                &db,
                "TCP",
                5432,
                true,
            ),
            (
                "bridge → main replication",
                &a.bridge,
                &main,
                "TCP",
                replication,
                false,
            ),
            (
                "bridge → typing writer replication",
                &a.bridge,
                &typing,
                "TCP",
                replication,
                false,
            ),
            (
                "bridge → redis",
                &a.bridge,
                &redis,
                "TCP",
                redis_port,
                false,
            ),
            (
                "redis → the internet",
                &redis,
                &out("8.8.8.8"),
                "TCP",
                443,
                false,
            ),
            (
                "synchrotron → router",
                &sync,
                &router,
                "TCP",
                router_http,
                false,
            ),
        ],
    );
}
