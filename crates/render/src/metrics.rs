//! Prometheus metrics (`metrics`): each component declares its metrics endpoints
//! ([`crate::components::Component::metrics`]); its own module serves them (Synapse's
//! `type: metrics` listener, LiveKit's `prometheus_port`, coturn's `prometheus`) as a port
//! named [`PORT`] of its pod and of a Service. From the declarations come
//!
//! - a ServiceMonitor (`monitoring.coreos.com/v1`) per endpoint, with
//!   `metrics.serviceMonitor.enabled`: it selects the component's Service by its labels
//!   and scrapes the `metrics` port at the endpoint's path;
//! - an ingress rule in the component's NetworkPolicy ([`crate::policies`]): the pods or
//!   addresses of `metrics.prometheus` reach the `metrics` port, nothing else does. No
//!   NetworkPolicy applies to a host-network pod (coturn, LiveKit with `hostNetwork`).
//!
//! No Ingress or HTTPRoute routes a metrics port: the routes name the `http` ports only.

use serde_json::{Map, Value, json};

use matrix_render_model::Config;
use matrix_render_model::config::MetricsEndpoint;

use crate::objects::{App, Ctx};

/// The name of every metrics port, on the containers and the Services.
pub const PORT: &str = "metrics";
const API_VERSION: &str = "monitoring.coreos.com/v1";
const KIND: &str = "ServiceMonitor";

/// One metrics endpoint of a component.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The workload that serves it; its Service (`app.name`) carries the `metrics` port.
    pub app: App,
    /// The namespace the workload runs in.
    pub namespace: String,
    /// The container port.
    pub port: u16,
    /// The HTTP path of the metrics.
    pub path: &'static str,
}

/// The port of a component's metrics setting (`metrics.synapse`, ...), when `metrics` is on
/// and the component's metrics are.
#[must_use]
pub fn port(c: &Config, endpoint: &MetricsEndpoint) -> Option<u16> {
    (c.metrics.enabled && endpoint.enabled).then_some(endpoint.port)
}

/// For components without metrics.
#[must_use]
pub fn none(_: &Config) -> Vec<Endpoint> {
    Vec::new()
}

/// Every metrics endpoint of the components the config runs, in registry order.
#[must_use]
pub fn endpoints(c: &Config) -> Vec<Endpoint> {
    if !c.metrics.enabled {
        return Vec::new();
    }
    crate::components::enabled(c)
        .flat_map(|k| (k.metrics)(c))
        .collect()
}

/// The NetworkPolicy ingress rule that lets `metrics.prometheus` scrape `app`'s metrics
/// port, if `app` serves metrics and the selector selects anything.
#[must_use]
pub fn scrape_rule(c: &Config, app: &App, peers: Vec<Value>) -> Option<Value> {
    let serves = endpoints(c).iter().any(|e| e.app.name == app.name);
    (serves && !peers.is_empty())
        .then(|| json!({"from": peers, "ports": [{"protocol": "TCP", "port": PORT}]}))
}

/// The ServiceMonitors, with `metrics.serviceMonitor.enabled`.
pub fn render(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    let sm = &c.metrics.service_monitor;
    if !sm.enabled {
        return;
    }
    for e in endpoints(c) {
        ctx.set_namespace(&e.namespace);
        let mut meta = ctx.meta(e.app.name, &e.app);
        if let Some(labels) = meta.labels.as_mut() {
            labels.extend(sm.labels.clone());
        }
        // The Service's own labels: its seed selector and its name.
        let mut selector = e.app.selector.clone();
        selector.insert("app.kubernetes.io/name".to_owned(), e.app.name.to_owned());
        selector.insert(
            "app.kubernetes.io/part-of".to_owned(),
            "matrix-stack".to_owned(),
        );
        let mut endpoint = Map::new();
        endpoint.insert("port".to_owned(), json!(PORT));
        endpoint.insert("path".to_owned(), json!(e.path));
        endpoint.insert("scheme".to_owned(), json!("http"));
        if !sm.interval.is_empty() {
            endpoint.insert("interval".to_owned(), json!(sm.interval));
        }
        if !sm.scrape_timeout.is_empty() {
            endpoint.insert("scrapeTimeout".to_owned(), json!(sm.scrape_timeout));
        }
        let value = json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": selector},
                "namespaceSelector": {"matchNames": [e.namespace]},
                "endpoints": [Value::Object(endpoint)],
            },
        });
        ctx.push_value(&e.app, API_VERSION, KIND, e.app.name, value);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::testing::{BASE_RTC, render_items};

    const ON: &str = "metrics: {enabled: true, serviceMonitor: {enabled: true, labels: \
        {release: kube-prometheus-stack}}}\n";

    fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
        items
            .iter()
            .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
    }

    fn named_port(ports: &Value, name: &str) -> Option<Value> {
        ports
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    }

    /// The container port named `metrics` of a Deployment's first container.
    fn container_port(items: &[Value], deployment: &str) -> Option<Value> {
        let dep = find(items, "Deployment", deployment)?;
        named_port(
            &dep["spec"]["template"]["spec"]["containers"][0]["ports"],
            super::PORT,
        )
    }

    #[test]
    fn off_by_default_nothing_changes() {
        let items = render_items(BASE_RTC, "");
        assert!(items.iter().all(|i| i["kind"] != "ServiceMonitor"));
        for dep in ["synapse", "livekit", "coturn"] {
            assert_eq!(container_port(&items, dep), None, "{dep}");
        }
        assert!(find(&items, "Service", "coturn").is_none());
    }

    /// Each ServiceMonitor selects exactly one Service, whose `metrics` port leads to the
    /// container port the program serves its metrics on.
    #[test]
    fn every_service_monitor_reaches_its_metrics_port() {
        let items = render_items(BASE_RTC, ON);
        let monitors: Vec<&Value> = items
            .iter()
            .filter(|i| i["kind"] == "ServiceMonitor")
            .collect();
        let names: Vec<&str> = monitors
            .iter()
            .map(|m| m["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["coturn", "livekit", "synapse"]);
        for m in monitors {
            let ns = &m["metadata"]["namespace"];
            assert_eq!(m["metadata"]["labels"]["release"], "kube-prometheus-stack");
            assert_eq!(m["spec"]["namespaceSelector"]["matchNames"], json!([ns]));
            let selector = m["spec"]["selector"]["matchLabels"].as_object().unwrap();
            let services: Vec<&Value> = items
                .iter()
                .filter(|i| i["kind"] == "Service" && &i["metadata"]["namespace"] == ns)
                .filter(|s| {
                    selector
                        .iter()
                        .all(|(k, v)| &s["metadata"]["labels"][k] == v)
                })
                .collect();
            assert_eq!(services.len(), 1, "{m}");
            let endpoint = &m["spec"]["endpoints"][0];
            assert_eq!(endpoint["port"], "metrics");
            assert_eq!(endpoint["interval"], "30s");
            let port = named_port(&services[0]["spec"]["ports"], "metrics").expect("port");
            assert_eq!(port["targetPort"], "metrics");
            let name = m["metadata"]["name"].as_str().unwrap();
            let container = container_port(&items, name).expect("container port");
            assert_eq!(container["containerPort"], port["port"], "{name}");
        }
        let path = |n: &str| {
            find(&items, "ServiceMonitor", n).unwrap()["spec"]["endpoints"][0]["path"].clone()
        };
        assert_eq!(path("synapse"), "/_synapse/metrics");
        assert_eq!(path("livekit"), "/metrics");
        assert_eq!(path("coturn"), "/metrics");
    }

    /// The programs' own configs open the port the pod declares.
    #[test]
    fn the_programs_serve_metrics_on_the_declared_ports() {
        let items = render_items(
            BASE_RTC,
            "metrics: {enabled: true, synapse: {port: 9100}, livekit: {port: 6790}, \
             coturn: {port: 9650}}\n",
        );
        assert!(items.iter().all(|i| i["kind"] != "ServiceMonitor"));
        let data = |cm: &str, key: &str| {
            find(&items, "ConfigMap", cm).unwrap()["data"][key]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let hs = data("synapse-extra-config", "homeserver.yaml");
        assert!(hs.contains("enable_metrics: true"), "{hs}");
        assert!(
            hs.contains("- type: metrics\n  port: 9100\n  bind_addresses:\n  - \"0.0.0.0\""),
            "{hs}"
        );
        let lk = data("livekit-config", "config.yaml");
        assert!(lk.contains("prometheus_port: 6790"), "{lk}");
        let turn = data("coturn-config", "turnserver.conf");
        assert!(turn.lines().any(|l| l == "prometheus"), "{turn}");
        assert!(turn.lines().any(|l| l == "prometheus-port=9650"), "{turn}");
        for (dep, port) in [("synapse", 9100), ("livekit", 6790), ("coturn", 9650)] {
            let p = container_port(&items, dep).expect(dep);
            assert_eq!(p["containerPort"], port, "{dep}");
        }
        // No route leads to a metrics port.
        for route in items
            .iter()
            .filter(|i| i["kind"] == "Ingress" || i["kind"] == "HTTPRoute")
        {
            let text = route.to_string();
            for port in ["9100", "6790", "9650", "\"metrics\""] {
                assert!(!text.contains(port), "{route}");
            }
        }
    }

    /// A component's metrics can be turned off alone.
    #[test]
    fn a_component_can_keep_its_metrics_off() {
        let items = render_items(
            BASE_RTC,
            "metrics: {enabled: true, coturn: {enabled: false}, serviceMonitor: {enabled: true}}\n",
        );
        assert!(find(&items, "ServiceMonitor", "coturn").is_none());
        assert!(find(&items, "Service", "coturn").is_none());
        assert_eq!(container_port(&items, "coturn"), None);
        let turn = find(&items, "ConfigMap", "coturn-config").unwrap()["data"]["turnserver.conf"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!turn.contains("prometheus"));
        assert!(find(&items, "ServiceMonitor", "synapse").is_some());
    }

    // ---- The NetworkPolicies: a small evaluator of their ingress side (the sources here
    // are pods outside the stack, which no policy of the stack selects for egress).

    /// A pod that tries to reach a stack pod: its namespace, labels and address.
    struct Source {
        namespace: &'static str,
        labels: Value,
        ip: &'static str,
    }

    fn selector_matches(selector: &Value, labels: &Value) -> bool {
        assert!(selector.get("matchExpressions").is_none(), "{selector}");
        selector["matchLabels"]
            .as_object()
            .into_iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v))
    }

    fn peer_matches(peer: &Value, policy_ns: &str, src: &Source) -> bool {
        if let Some(block) = peer.get("ipBlock") {
            let ip: std::net::IpAddr = src.ip.parse().unwrap();
            let within = |text: &Value| {
                matrix_render_model::net::Cidr::parse(text.as_str().unwrap())
                    .unwrap()
                    .contains(ip)
            };
            return within(&block["cidr"])
                && !block["except"].as_array().into_iter().flatten().any(within);
        }
        let ns_ok = match peer.get("namespaceSelector") {
            Some(sel) => {
                selector_matches(sel, &json!({"kubernetes.io/metadata.name": src.namespace}))
            }
            None => src.namespace == policy_ns,
        };
        ns_ok
            && peer
                .get("podSelector")
                .is_none_or(|sel| selector_matches(sel, &src.labels))
    }

    /// Whether `src` may open a TCP connection to the container port `port` of the pods of
    /// Deployment `deployment`.
    fn ingress_allows(items: &[Value], src: &Source, deployment: &str, port: &str) -> bool {
        let dep = find(items, "Deployment", deployment).expect(deployment);
        let ns = dep["metadata"]["namespace"].as_str().unwrap();
        let labels = &dep["spec"]["template"]["metadata"]["labels"];
        let number = named_port(
            &dep["spec"]["template"]["spec"]["containers"][0]["ports"],
            port,
        )
        .expect(port)["containerPort"]
            .clone();
        let policies: Vec<&Value> = items
            .iter()
            .filter(|i| i["kind"] == "NetworkPolicy" && i["metadata"]["namespace"] == ns)
            .filter(|p| selector_matches(&p["spec"]["podSelector"], labels))
            .filter(|p| {
                p["spec"]["policyTypes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == "Ingress")
            })
            .collect();
        assert!(
            !policies.is_empty(),
            "{deployment} is isolated by the default deny"
        );
        policies.iter().any(|pol| {
            pol["spec"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|rule| {
                    let from_ok = rule["from"].as_array().is_none_or(|peers| {
                        peers.is_empty() || peers.iter().any(|p| peer_matches(p, ns, src))
                    });
                    let port_ok = rule["ports"].as_array().is_none_or(|ports| {
                        ports.is_empty()
                            || ports.iter().any(|p| {
                                p["protocol"].as_str().unwrap_or("TCP") == "TCP"
                                    && (p["port"].is_null()
                                        || p["port"] == port
                                        || p["port"] == number)
                            })
                    });
                    from_ok && port_ok
                })
        })
    }

    #[test]
    fn only_the_configured_prometheus_scrapes_and_only_the_metrics_ports() {
        let items = render_items(
            BASE_RTC,
            "matrixrtc: {livekit: {hostNetwork: false}}\n\
             metrics: {enabled: true, prometheus: {namespace: monitoring, podLabels: \
             {app.kubernetes.io/name: prometheus}}}\n",
        );
        let prometheus = Source {
            namespace: "monitoring",
            labels: json!({"app.kubernetes.io/name": "prometheus"}),
            ip: "10.42.7.7",
        };
        let others = [
            // Another pod of the monitoring namespace.
            Source {
                namespace: "monitoring",
                labels: json!({"app.kubernetes.io/name": "grafana"}),
                ip: "10.42.7.8",
            },
            // A pod labelled like Prometheus in another namespace.
            Source {
                namespace: "default",
                labels: json!({"app.kubernetes.io/name": "prometheus"}),
                ip: "10.42.8.8",
            },
            // A pod of the stack's own namespace that is not the stack's (a bridge).
            Source {
                namespace: "matrix",
                labels: json!({"app": "bridge"}),
                ip: "10.42.9.9",
            },
        ];
        for dep in ["synapse", "livekit"] {
            assert!(ingress_allows(&items, &prometheus, dep, "metrics"), "{dep}");
            for other in &others {
                assert!(
                    !ingress_allows(&items, other, dep, "metrics"),
                    "{dep} from {} {}",
                    other.namespace,
                    other.labels
                );
            }
            // Prometheus reaches the metrics port, not the web port.
            assert!(!ingress_allows(&items, &prometheus, dep, "http"), "{dep}");
        }
        // With metrics off, Prometheus reaches nothing.
        let off = render_items(BASE_RTC, "matrixrtc: {livekit: {hostNetwork: false}}\n");
        assert!(!ingress_allows(&off, &prometheus, "synapse", "http"));
        assert!(
            off.iter()
                .filter(|i| i["kind"] == "NetworkPolicy")
                .all(|p| { !p.to_string().contains("monitoring") })
        );
        // A namespace alone lets every pod of it scrape.
        let items = render_items(
            BASE_RTC,
            "metrics: {enabled: true, prometheus: {namespace: monitoring}}\n",
        );
        assert!(ingress_allows(&items, &others[0], "synapse", "metrics"));
        assert!(!ingress_allows(&items, &others[1], "synapse", "metrics"));
    }
}
