//! coturn: turnserver.conf (no secret in it), the shared secret, a host-network
//! Deployment, and the cert-manager Certificate for TURN over TLS.

use crate::components::{self, Component, Host, port};
use matrix_render_model::api::{DnsTarget, PortRule, Protocol};
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, PodSpec, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;
use serde_json::json;

use crate::objects::{
    App, Ctx, DeploymentSpecParts, ServicePortSpec, config_checksum, config_map, config_map_volume,
    container, container_port, container_security, deployment, empty_dir, mount, pod_security,
    secret_volume, service,
};
use crate::secrets::SecretSet;
use matrix_render_model::Diagnostic;
use matrix_render_model::net::{Cidr, NOT_PUBLIC_V4, NOT_PUBLIC_V6};
use matrix_render_model::validate::{self, HostPort};

pub const CONFIG_MAP: &str = "coturn-config";
pub const SECRET: &str = "coturn-secret";
pub const SECRET_KEY: &str = "TURN_SHARED_SECRET";
pub const CERTIFICATE: &str = "coturn-tls";
const CONF_DIR: &str = "/etc/coturn/conf";
const TLS_DIR: &str = "/etc/coturn/tls";
/// `nobody`, the coturn image's user.
const UID: i64 = 65534;

pub fn app() -> App {
    App::new("coturn", "turn", "coturn", ("app", "coturn"))
}

/// The TURN shared secret (Synapse mounts it too).
pub fn secret_set(c: &Config) -> SecretSet<'_> {
    SecretSet::new(
        SECRET,
        &[(
            SECRET_KEY,
            "coturn.turn_shared_secret",
            &c.coturn.turn_shared_secret,
        )],
    )
}

/// turnserver.conf. The shared secret is passed on the command line from the Secret.
pub fn turnserver_conf(ctx: &Ctx<'_>) -> String {
    let t = &ctx.config.coturn;
    let mut lines = vec![
        "# Rendered by matrix-render. static-auth-secret comes from the coturn-secret Secret"
            .to_owned(),
        "# on the command line, never from this file.".to_owned(),
        format!("listening-port={}", t.listening_port),
        format!("tls-listening-port={}", t.tls_listening_port),
        "listening-ip=0.0.0.0".to_owned(),
    ];
    if !t.relay_ip.is_empty() {
        lines.push(format!("relay-ip={}", t.relay_ip));
    }
    if !t.public_ip_static.is_empty() {
        lines.push(format!("external-ip={}", t.public_ip_static));
    }
    lines.extend([
        format!("realm={}", t.realm),
        format!("server-name={}", t.realm),
        "use-auth-secret".to_owned(),
        "fingerprint".to_owned(),
        format!("min-port={}", t.min_port),
        format!("max-port={}", t.max_port),
        "no-multicast-peers".to_owned(),
        "no-cli".to_owned(),
        "no-tlsv1".to_owned(),
        "no-tlsv1_1".to_owned(),
        "log-file=stdout".to_owned(),
        "simple-log".to_owned(),
        format!("cert={TLS_DIR}/tls.crt"),
        format!("pkey={TLS_DIR}/tls.key"),
        "pidfile=/tmp/turnserver.pid".to_owned(),
    ]);
    if let Some(port) = crate::metrics::port(ctx.config, &ctx.config.metrics.coturn) {
        // Prometheus metrics over HTTP on every address of the node (host network).
        lines.push("prometheus".to_owned());
        lines.push(format!("prometheus-port={port}"));
    }
    if !t.tcp_relay {
        // Calls relay UDP; a TCP relay would let a caller open connections (RFC 6062).
        lines.push("no-tcp-relay".to_owned());
    }
    lines.extend(
        denied_peers(ctx.config)
            .iter()
            .map(|r| format!("denied-peer-ip={r}")),
    );
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The peers coturn never relays to, as coturn ranges: every range that is not the public
/// internet (IPv4 and IPv6, [`matrix_render_model::net`]), `networkPolicies.deniedRanges`, and the
/// node's own addresses (`relay_ip`, `public_ip_static`) unless a range already holds them:
/// through its own public address a relay would reach the node's ports (the API server,
/// the kubelet, LiveKit). Two clients that both relay through this server then cannot
/// reach each other's relayed address; they still meet through their own addresses.
pub fn denied_peers(c: &Config) -> Vec<String> {
    let mut ranges: Vec<Cidr> = NOT_PUBLIC_V4
        .iter()
        .chain(NOT_PUBLIC_V6)
        .copied()
        .chain(c.network_policies.denied_ranges.iter().map(String::as_str))
        .filter_map(Cidr::parse)
        .collect();
    for own in [&c.coturn.relay_ip, &c.coturn.public_ip_static] {
        if let Some(own) = Cidr::parse(own)
            && !ranges.iter().any(|r| r.covers(&own))
        {
            ranges.push(own);
        }
    }
    ranges.iter().map(Cidr::coturn_range).collect()
}

pub fn render(ctx: &mut Ctx<'_>) {
    let app = app();
    let c = ctx.config;
    let t = &c.coturn;
    let cm = config_map(
        ctx,
        CONFIG_MAP,
        &app,
        BTreeMap::from([("turnserver.conf".to_owned(), turnserver_conf(ctx))]),
    );
    let set = secret_set(ctx.config);
    let sec = set.object(ctx, &app);
    let checksum = config_checksum(ctx, &[&cm], &sec.iter().collect::<Vec<_>>());

    let mut turn = container("coturn", &t.image);
    turn.command = Some(vec!["turnserver".to_owned()]);
    turn.args = Some(vec![
        "-c".to_owned(),
        format!("{CONF_DIR}/turnserver.conf"),
        format!("--static-auth-secret=$({SECRET_KEY})"),
    ]);
    turn.env = Some(vec![EnvVar {
        name: SECRET_KEY.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: set.key_ref(SECRET_KEY),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }]);
    turn.volume_mounts = Some(vec![
        mount("config", CONF_DIR, true),
        mount("tls", TLS_DIR, true),
        mount("tmp", "/tmp", false),
    ]);
    let metrics_port = crate::metrics::port(c, &c.metrics.coturn);
    let mut ports = vec![
        container_port("turn-udp", t.listening_port, "UDP"),
        container_port("turn-tcp", t.listening_port, "TCP"),
        container_port("turns", t.tls_listening_port, "TCP"),
    ];
    ports.extend(metrics_port.map(|p| container_port(crate::metrics::PORT, p, "TCP")));
    turn.ports = Some(ports);
    let listening = Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String("turn-tcp".to_owned()),
            ..TCPSocketAction::default()
        }),
        period_seconds: Some(20),
        ..Probe::default()
    };
    turn.readiness_probe = Some(listening.clone());
    turn.liveness_probe = Some(listening);
    turn.security_context = Some(container_security(true, &[]));

    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            replicas: 1,
            recreate: true,
            checksum,
            settings: &t.pod,
            skips: vec![
                (
                    "CKV_K8S_19",
                    "TURN relays media on the node's own ports and addresses; hostNetwork avoids NAT",
                ),
                (
                    "CKV_K8S_35",
                    "coturn takes static-auth-secret only from its config file or command line; the \
                     env var feeds the command line so the ConfigMap holds no secret",
                ),
            ],
            pod: PodSpec {
                host_network: Some(true),
                dns_policy: Some("ClusterFirstWithHostNet".to_owned()),
                security_context: Some(pod_security(Some(UID))),
                containers: vec![turn],
                volumes: Some(vec![
                    config_map_volume("config", CONFIG_MAP),
                    secret_volume("tls", &t.tls_secret_name),
                    empty_dir("tmp"),
                ]),
                ..PodSpec::default()
            },
        },
    );
    ctx.push(&app, CONFIG_MAP, &cm);
    if let Some(sec) = &sec {
        ctx.push(&app, SECRET, sec);
    }
    ctx.push(&app, "coturn", &dep);
    // coturn needs no Service for TURN (clients reach the node); the metrics port gets one
    // for the ServiceMonitor to find the pod.
    if let Some(port) = metrics_port {
        let svc = service(
            ctx,
            &app,
            &[ServicePortSpec {
                name: crate::metrics::PORT,
                port,
                target: crate::metrics::PORT,
                protocol: "TCP",
            }],
        );
        ctx.push(&app, "coturn", &svc);
    }

    if !c.ingress.cluster_issuer.is_empty() {
        let mut names = vec![t.turn_url.clone()];
        if t.realm != t.turn_url {
            names.push(t.realm.clone());
        }
        let meta = ctx.meta(CERTIFICATE, &app);
        ctx.push_value(
            &app,
            "cert-manager.io/v1",
            "Certificate",
            CERTIFICATE,
            json!({
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": meta,
                "spec": {
                    "secretName": t.tls_secret_name,
                    "issuerRef": {"name": c.ingress.cluster_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
                    "dnsNames": names,
                },
            }),
        );
    }
}

/// coturn in the registry: on with `coturn.enabled`, in the host-network namespace.
pub const COMPONENT: Component = Component {
    name: "coturn",
    enabled: |c| c.coturn.enabled,
    namespace: Config::coturn_namespace,
    objects: render,
    // On the host network no NetworkPolicy applies to the pod.
    flows: components::no_flows,
    hosts,
    ports,
    secrets: Some(secret_set),
    images,
    metrics,
    prerequisites: components::no_prerequisites,
    checks,
    host_ports,
};

/// coturn's Prometheus endpoint, with `metrics.coturn`.
fn metrics(c: &Config) -> Vec<crate::metrics::Endpoint> {
    crate::metrics::port(c, &c.metrics.coturn)
        .map(|port| crate::metrics::Endpoint {
            app: app(),
            namespace: c.coturn_namespace().to_owned(),
            port,
            path: "/metrics",
        })
        .into_iter()
        .collect()
}

fn hosts(c: &Config) -> Vec<Host> {
    vec![Host {
        host: c.coturn.turn_url.clone(),
        target: DnsTarget::Node,
        serves: "coturn: STUN and TURN (host network)".to_owned(),
        proxy: Some(
            "TURN is not HTTP: an HTTP proxy cannot carry it, so the record must be DNS-only",
        ),
    }]
}

fn ports(c: &Config) -> Vec<PortRule> {
    let t = &c.coturn;
    let node = "the node that runs coturn (host network)";
    let listen = (t.listening_port, t.listening_port);
    let tls = (t.tls_listening_port, t.tls_listening_port);
    vec![
        port("coturn", Protocol::Udp, listen, node, "STUN and TURN"),
        port(
            "coturn",
            Protocol::Tcp,
            listen,
            node,
            "STUN and TURN over TCP",
        ),
        port("coturn", Protocol::Tcp, tls, node, "TURN over TLS"),
        port(
            "coturn",
            Protocol::Udp,
            (t.min_port, t.max_port),
            node,
            "TURN relay range",
        ),
    ]
}

fn images(c: &Config) -> Vec<(&'static str, &matrix_render_model::config::Image)> {
    vec![("coturn.image", &c.coturn.image)]
}

/// Its host names, addresses, ports and secret.
fn checks(c: &Config, out: &mut Vec<Diagnostic>) {
    let t = &c.coturn;
    if t.enabled {
        validate::need(out, "coturn.realm", &t.realm, "the TURN realm");
        validate::need(out, "coturn.turn_url", &t.turn_url, "the TURN host name");
        validate::host_name(out, "coturn.realm", &t.realm);
        validate::host_name(out, "coturn.turn_url", &t.turn_url);
    }
    validate::ip(out, "coturn.relay_ip", &t.relay_ip);
    validate::ip(out, "coturn.public_ip_static", &t.public_ip_static);
    if !t.enabled {
        return;
    }
    validate::port(out, "coturn.listeningPort", t.listening_port);
    validate::port(out, "coturn.tlsListeningPort", t.tls_listening_port);
    validate::port(out, "coturn.minPort", t.min_port);
    if t.min_port > t.max_port {
        out.push(
            Diagnostic::error(
                "invalid-port-range",
                "coturn.maxPort",
                format!(
                    "the relay range ends ({}) before it starts ({})",
                    t.max_port, t.min_port
                ),
            )
            .with_hint("make `coturn.minPort` less than or equal to `coturn.maxPort`"),
        );
    }
    validate::need_secret(
        out,
        "coturn.turn_shared_secret",
        &t.turn_shared_secret,
        "coturn (and Synapse's TURN credentials)",
    );
}

/// On the host network: the TURN and TLS ports (UDP and TCP) and the relay range.
fn host_ports(c: &Config) -> Vec<HostPort> {
    let t = &c.coturn;
    let mut host = Vec::new();
    for protocol in ["UDP", "TCP"] {
        host.push(HostPort::one(
            "coturn.listeningPort",
            "coturn's TURN port",
            protocol,
            t.listening_port,
        ));
        host.push(HostPort::one(
            "coturn.tlsListeningPort",
            "coturn's TLS port",
            protocol,
            t.tls_listening_port,
        ));
    }
    if t.min_port <= t.max_port {
        host.push(HostPort {
            path: "coturn.minPort",
            what: "coturn's relay range",
            protocol: "UDP",
            start: t.min_port,
            end: t.max_port,
        });
    }
    host
}

#[cfg(test)]
mod tests {
    /// The rendered turnserver.conf of a valid base config with `extra` layered over it.
    fn conf(extra: &str) -> Vec<String> {
        let items = crate::testing::render_items(crate::testing::BASE, extra);
        let cm = items
            .iter()
            .find(|i| i["kind"] == "ConfigMap" && i["metadata"]["name"] == super::CONFIG_MAP)
            .expect("coturn's ConfigMap");
        cm["data"]["turnserver.conf"]
            .as_str()
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn denied(lines: &[String]) -> Vec<&str> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix("denied-peer-ip="))
            .collect()
    }

    #[test]
    fn its_hosts_ports_and_secret_are_checked_when_it_runs() {
        use crate::testing::{BASE, findings, pairs};
        let extra = "coturn: {realm: Turn.Example.com, minPort: 50000, maxPort: 40000, turn_shared_secret: ''}\n";
        assert_eq!(
            findings(BASE, extra),
            pairs(&[
                ("invalid-host", "coturn.realm"),
                ("invalid-port-range", "coturn.maxPort"),
                ("missing-secret", "coturn.turn_shared_secret"),
            ])
        );
        let off = "coturn: {enabled: false, realm: '', turn_shared_secret: '', relay_ip: x}\n";
        assert_eq!(
            findings(BASE, off),
            pairs(&[("invalid-ip", "coturn.relay_ip")])
        );
    }

    #[test]
    fn every_range_that_is_not_public_is_denied_in_both_families() {
        let lines = conf("");
        let denied = denied(&lines);
        for range in [
            "0.0.0.0-0.255.255.255",
            "10.0.0.0-10.255.255.255",
            "100.64.0.0-100.127.255.255",
            "127.0.0.0-127.255.255.255",
            "169.254.0.0-169.254.255.255",
            "172.16.0.0-172.31.255.255",
            "192.0.0.0-192.0.0.255",
            "192.0.2.0-192.0.2.255",
            "192.168.0.0-192.168.255.255",
            "198.18.0.0-198.19.255.255",
            "198.51.100.0-198.51.100.255",
            "203.0.113.0-203.0.113.255",
            "224.0.0.0-239.255.255.255",
            "240.0.0.0-255.255.255.255",
            "::-::ffff:ffff:ffff",
            "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(denied.contains(&range), "{range} missing from {denied:?}");
        }
        assert!(lines.iter().any(|l| l == "no-tcp-relay"));
        assert!(lines.iter().any(|l| l == "no-multicast-peers"));
        // Nothing allows a peer back in.
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("allowed-peer-ip") || l.starts_with("allow-loopback-peers"))
        );
    }

    #[test]
    fn the_nodes_own_addresses_and_denied_ranges_are_denied_and_tcp_relay_is_a_setting() {
        let lines = conf(
            "coturn: {public_ip_static: 198.51.99.7, relay_ip: 10.0.0.5, tcpRelay: true}\n\
             networkPolicies: {deniedRanges: [81.2.69.0/24, \"2a01:4f8::/32\"]}\n",
        );
        let ranges = denied(&lines);
        // The public address alone; the private relay address is inside 10.0.0.0/8 already.
        assert!(ranges.contains(&"198.51.99.7"), "{ranges:?}");
        assert!(!ranges.contains(&"10.0.0.5"), "{ranges:?}");
        assert!(ranges.contains(&"81.2.69.0-81.2.69.255"), "{ranges:?}");
        assert!(
            ranges.contains(&"2a01:4f8::-2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff"),
            "{ranges:?}"
        );
        assert!(!lines.iter().any(|l| l == "no-tcp-relay"));
        let lines = conf("coturn: {relay_ip: 81.2.70.9}\n");
        assert!(denied(&lines).contains(&"81.2.70.9"));
    }
}
