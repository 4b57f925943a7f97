//! The plan: what an operator sets up outside the cluster for a config. DNS records, the
//! public ports to open and forward, the secrets to provide, and the proxy notes the seed's
//! README gave by hand. Derived from the same settings the objects are, so that it cannot
//! disagree with them: hosts are those the routes use, ports those the pods listen on,
//! secrets the components' own secret sets.

use matrix_render_model::Config;
use matrix_render_model::api::{DnsRecord, DnsTarget, Plan, PortRule, Protocol};
use matrix_render_model::config::{DatabaseKind, RoutingMode, RtcServiceType};

use crate::{matrixrtc, namespaces};

/// The plan for a valid config.
#[must_use]
pub fn build(c: &Config) -> Plan {
    Plan {
        dns: dns(c),
        ports: ports(c),
        secrets: secrets(c),
        notes: notes(c),
        namespaces: namespaces::layout(c),
        prerequisites: prerequisites(c),
    }
}

/// What the cluster must provide before the stack is applied.
fn prerequisites(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let rtc = &c.matrixrtc;
    let rtc_ns = c.matrixrtc_namespace();
    match c.routing.mode {
        RoutingMode::Ingress => {
            let mut classes = vec![c.ingress.class_name.as_str()];
            if rtc.enabled && !rtc.ingress_class_name.is_empty() {
                classes.push(rtc.ingress_class_name.as_str());
            }
            classes.dedup();
            let classes: Vec<String> = classes.iter().map(|c| format!("`{c}`")).collect();
            out.push(format!(
                "An ingress controller for the Ingress class {}.",
                classes.join(" and ")
            ));
            let rtc_class = if rtc.ingress_class_name.is_empty() {
                c.ingress.class_name.as_str()
            } else {
                rtc.ingress_class_name.as_str()
            };
            if rtc.enabled && rtc_class == "traefik" {
                out.push(format!(
                    "Traefik's CRDs (Middleware, traefik.io/v1alpha1): the `{}` Ingress strips \
                     its path prefixes with the Middleware `{}-strip-prefix` in namespace `{rtc_ns}`.",
                    matrixrtc::INGRESS,
                    matrixrtc::INGRESS
                ));
            }
        }
        RoutingMode::Gateway => {
            let gw = &c.routing.gateway;
            let gw_ns = if gw.namespace.is_empty() {
                c.namespace.as_str()
            } else {
                gw.namespace.as_str()
            };
            out.push(format!(
                "The Gateway API CRDs (HTTPRoute, gateway.networking.k8s.io/v1) and the Gateway \
                 `{}` in namespace `{gw_ns}`, with TLS for the routes' host names.",
                gw.name
            ));
            let mut route_namespaces = vec![c.namespace.as_str()];
            if rtc.enabled && rtc_ns != c.namespace {
                route_namespaces.push(rtc_ns);
            }
            let foreign: Vec<String> = route_namespaces
                .iter()
                .filter(|ns| **ns != gw_ns)
                .map(|ns| format!("`{ns}`"))
                .collect();
            if !foreign.is_empty() {
                out.push(format!(
                    "The Gateway's listeners must accept HTTPRoutes from namespace {} \
                     (`allowedRoutes.namespaces`).",
                    foreign.join(" and ")
                ));
            }
        }
    }
    // Who asks cert-manager for certificates: the Ingresses (through their annotation) and
    // coturn's Certificate.
    let mut issuers: Vec<&str> = Vec::new();
    if c.routing.mode == RoutingMode::Ingress || c.coturn.enabled {
        issuers.push(c.ingress.cluster_issuer.as_str());
    }
    if c.routing.mode == RoutingMode::Ingress && rtc.enabled {
        issuers.push(rtc.cert_manager_cluster_issuer.as_str());
    }
    issuers.retain(|i| !i.is_empty());
    issuers.dedup();
    if !issuers.is_empty() {
        let names: Vec<String> = issuers.iter().map(|i| format!("`{i}`")).collect();
        let restricted = namespaces::layout(c)
            .iter()
            .any(|n| n.enforces == Some(matrix_render_model::api::PodSecurityLevel::Restricted));
        let solver = if restricted {
            " HTTP-01 solver pods run in the certificate's namespace; where that enforces \
             `restricted`, cert-manager 1.10 or newer (older solver pods do not meet it)."
        } else {
            ""
        };
        out.push(format!(
            "cert-manager with the ClusterIssuer {}.{solver}",
            names.join(" and ")
        ));
    }
    if c.network_policies.enabled {
        out.push(
            "A network plugin that enforces NetworkPolicies (k3s's embedded policy controller \
             does; flannel alone does not): without one the policies are accepted and ignored."
                .to_owned(),
        );
    }
    if c.pod_security.enabled {
        out.push(
            "Pod Security Admission (built into Kubernetes 1.25 and newer) reads the Namespaces' \
             `pod-security.kubernetes.io/*` labels."
                .to_owned(),
        );
    }
    let lk = &rtc.livekit;
    if rtc.enabled
        && !lk.host_network
        && lk.rtc.service_type == RtcServiceType::LoadBalancer
        && lk.rtc.udp_port != 0
    {
        out.push(format!(
            "A load balancer for Services of type LoadBalancer with TCP and UDP ports (k3s's \
             ServiceLB, MetalLB, a cloud's) for `{}`.",
            matrixrtc::RTC_SERVICE
        ));
    }
    out.extend(crate::components::enabled(c).flat_map(|k| (k.prerequisites)(c)));
    out
}

/// A host and what it serves, in the order of the components, merged when two components
/// share a host name.
fn dns(c: &Config) -> Vec<DnsRecord> {
    let mut records: Vec<DnsRecord> = Vec::new();
    let mut add = |host: &str, target: DnsTarget, serves: &str, proxy: Option<&str>| {
        let index = match records.iter().position(|r| r.host == host) {
            Some(i) => i,
            None => {
                records.push(DnsRecord {
                    host: host.to_owned(),
                    target,
                    serves: Vec::new(),
                    proxy_allowed: true,
                    note: None,
                });
                records.len() - 1
            }
        };
        let record = &mut records[index];
        // A host-network pod's node wins over the ingress: its ports are not HTTP.
        record.target = record.target.max(target);
        record.serves.push(serves.to_owned());
        if let Some(why) = proxy {
            record.proxy_allowed = false;
            record.note = Some(match record.note.take() {
                Some(earlier) => format!("{earlier}; {why}"),
                None => why.to_owned(),
            });
        }
    };
    for host in crate::components::enabled(c).flat_map(|k| (k.hosts)(c)) {
        add(&host.host, host.target, &host.serves, host.proxy);
    }
    records
}

fn ports(c: &Config) -> Vec<PortRule> {
    let mut out = Vec::new();
    let mut rule = |component: &str, protocol, ports, nodes: &str, purpose: &str| {
        out.push(crate::components::port(
            component, protocol, ports, nodes, purpose,
        ));
    };
    let (edge, edge_nodes) = match c.routing.mode {
        RoutingMode::Ingress => (
            "ingress",
            "the ingress controller's nodes or load balancer (k3s: every node, through ServiceLB)",
        ),
        RoutingMode::Gateway => ("gateway", "the Gateway's load balancer or nodes"),
    };
    rule(
        edge,
        Protocol::Tcp,
        (80, 80),
        edge_nodes,
        "HTTP: cert-manager's HTTP-01 challenges and redirects to HTTPS",
    );
    rule(edge, Protocol::Tcp, (443, 443), edge_nodes, "HTTPS");
    out.extend(crate::components::enabled(c).flat_map(|k| (k.ports)(c)));
    out
}

fn secrets(c: &Config) -> Vec<matrix_render_model::api::SecretItem> {
    let s = &c.synapse;
    let captcha = s.registration.enabled && s.registration.captcha_enabled;
    let required = |path: &str| match path {
        "synapse.recaptcha.siteKey" | "synapse.recaptcha.secretKey" => captcha,
        "synapse.database.postgresql.password" => s.database.kind == DatabaseKind::Postgresql,
        // Synapse generates its key on the data volume unless workers need it in a Secret.
        "synapse.signingKey" => s.workers.enabled,
        _ => true,
    };
    crate::components::enabled(c)
        .filter_map(|k| k.secrets)
        .flat_map(|secret_set| secret_set(c).items(required))
        .collect()
}

fn notes(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if c.coturn.enabled {
        out.push(format!(
            "Behind Cloudflare (proxy or tunnel): {} must be DNS-only (grey cloud); TURN does not \
             pass through Cloudflare's HTTP proxy.",
            c.coturn.turn_url
        ));
    }
    if c.matrixrtc.enabled {
        out.push(format!(
            "Behind Cloudflare: {} is best DNS-only, for stable WebRTC signalling and media.",
            c.matrixrtc.host
        ));
    }
    let mut bypass = vec![
        format!("https://{}/_matrix/*", c.global.domain),
        format!("https://{}/_synapse/*", c.global.domain),
    ];
    if c.global.delegates() {
        bypass.push(format!(
            "https://{}/.well-known/matrix/*",
            c.global.server_name()
        ));
    }
    if c.matrixrtc.enabled {
        bypass.push(format!("https://{}/livekit/*", c.matrixrtc.host));
    }
    if c.coturn.enabled {
        bypass.push(format!("all traffic to {}", c.coturn.turn_url));
    }
    out.push(format!(
        "With Cloudflare Access (or any login proxy), bypass authentication for: {}.",
        bypass.join(", ")
    ));
    if c.coturn.enabled && !c.ingress.cluster_issuer.is_empty() {
        out.push(format!(
            "If the ClusterIssuer {} solves HTTP-01, cert-manager proves {} on port 80: the \
             node its record points to must also pass port 80 to the ingress controller.",
            c.ingress.cluster_issuer, c.coturn.turn_url
        ));
    }
    let lk = &c.matrixrtc.livekit;
    if c.matrixrtc.enabled
        && !lk.host_network
        && lk.rtc.service_type == RtcServiceType::LoadBalancer
        && lk.rtc.node_ip.is_empty()
    {
        out.push(format!(
            "LiveKit advertises the address it discovers (matrixrtc.livekit.rtc.useExternalIp) or \
             its pod's: unless the {} load balancer shares the node's public address (k3s's \
             ServiceLB does), set matrixrtc.livekit.rtc.nodeIp to the load balancer's public address.",
            matrixrtc::RTC_SERVICE
        ));
    }
    if let Some(r) = c.coturn.turn_shared_secret.external()
        && c.coturn.enabled
        && c.coturn_namespace() != c.namespace
    {
        out.push(format!(
            "coturn runs in namespace {} and Synapse in {}: create the Secret {} (key {}) in \
             both, with the same value.",
            c.coturn_namespace(),
            c.namespace,
            r.name,
            r.key
        ));
    }
    if c.matrixrtc.enabled && c.matrixrtc_namespace() != c.namespace {
        let refs: Vec<String> = [&lk.key, &lk.secret]
            .iter()
            .filter_map(|v| v.external())
            .map(|r| format!("{} (key {})", r.name, r.key))
            .collect();
        if !refs.is_empty() {
            out.push(format!(
                "MatrixRTC runs in namespace {}: create {} there.",
                c.matrixrtc_namespace(),
                refs.join(" and ")
            ));
        }
    }
    if c.coturn.enabled && c.coturn.public_ip_static.is_empty() {
        out.push(
            "coturn.public_ip_static is empty: behind NAT, set it to the node's public IP so \
             that coturn advertises a reachable relay address."
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use matrix_render_model::api::SecretSource;
    use matrix_render_model::{LoadInput, NamedText, load};

    use super::*;

    /// A valid base config with coturn on, and `extra` layered over it.
    fn config(extra: &str) -> Config {
        let base = "global: {domain: matrix.example.com, elementDomain: element.example.com}\n\
             synapse: {registration_shared_secret: s3cret, registration: {enabled: false, captchaEnabled: false}}\n\
             coturn: {realm: turn.example.com, turn_url: turn.example.com, turn_shared_secret: t}\n";
        let doc = |name: &str, text: &str| NamedText {
            name: name.to_owned(),
            text: text.to_owned(),
        };
        let values = [doc("values.yaml", base), doc("extra.yaml", extra)];
        let loaded = load(LoadInput {
            values: &values,
            set: &[],
            set_string: &[],
            ..Default::default()
        });
        assert!(
            loaded.diagnostics.iter().all(|d| !d.is_error()),
            "{:#?}",
            loaded.diagnostics
        );
        loaded.config.expect("valid config")
    }

    #[test]
    fn ports_follow_the_config() {
        let c = config(
            "matrixrtc: {enabled: true, host: rtc.example.com, livekit: {key: k, \
             secret: 0123456789abcdef0123456789abcdef, rtc: {portRangeStart: 50300, portRangeEnd: 50400}}}\n",
        );
        let plan = build(&c);
        let udp = plan
            .ports
            .iter()
            .find(|p| p.component == "livekit" && p.protocol == Protocol::Udp)
            .expect("LiveKit's UDP range");
        assert_eq!((udp.port, udp.end_port), (50300, 50400));
        let relay = plan
            .ports
            .iter()
            .find(|p| p.purpose == "TURN relay range")
            .expect("coturn's relay range");
        assert_eq!(
            (relay.port, relay.end_port),
            (c.coturn.min_port, c.coturn.max_port)
        );
        let turn = plan
            .dns
            .iter()
            .find(|d| d.host == "turn.example.com")
            .expect("TURN host");
        assert_eq!(turn.target, DnsTarget::Node);
        assert!(!turn.proxy_allowed);
        let rtc = plan.dns.iter().find(|d| d.host == "rtc.example.com");
        assert!(rtc.is_some_and(|d| d.target == DnsTarget::Ingress && !d.proxy_allowed));
        let secrets: Vec<(&str, SecretSource)> = plan
            .secrets
            .iter()
            .map(|s| (s.path.as_str(), s.source))
            .collect();
        assert_eq!(
            secrets,
            [
                ("synapse.registration_shared_secret", SecretSource::Inline),
                ("coturn.turn_shared_secret", SecretSource::Inline),
                ("matrixrtc.livekit.key", SecretSource::Inline),
                ("matrixrtc.livekit.secret", SecretSource::Inline),
            ]
        );
    }

    #[test]
    fn off_components_leave_no_trace() {
        let c = config("coturn: {enabled: false}\nmatrixrtc: {enabled: false}\n");
        let plan = build(&c);
        assert!(
            plan.ports
                .iter()
                .all(|p| p.component == "ingress" && p.protocol == Protocol::Tcp)
        );
        assert!(plan.dns.iter().all(|d| d.target == DnsTarget::Ingress));
        assert!(plan.secrets.iter().all(|s| s.path.starts_with("synapse.")));
        let text = format!("{plan:?}");
        assert!(!text.contains("turn.example.com"), "{text}");
        assert!(!text.contains("s3cret"), "a secret value leaked: {text}");
    }

    #[test]
    fn references_name_the_operators_secret() {
        let c = config(
            "synapse: {registration_shared_secret: {existingSecret: {name: ops, key: reg}}}\n",
        );
        let item = build(&c)
            .secrets
            .into_iter()
            .find(|s| s.path == "synapse.registration_shared_secret")
            .expect("listed");
        assert_eq!(item.source, SecretSource::ExistingSecret);
        assert_eq!((item.secret.as_str(), item.key.as_str()), ("ops", "reg"));
    }

    #[test]
    fn namespaces_name_their_pod_security_level() {
        use matrix_render_model::api::PodSecurityLevel as Level;
        let rtc = "matrixrtc: {enabled: true, host: rtc.example.com, livekit: {key: k, \
                   secret: 0123456789abcdef0123456789abcdef}}\n";
        // One namespace, coturn and host-network LiveKit in it, nothing labelled.
        let plan = build(&config(rtc));
        let levels: Vec<(&str, Level, Option<Level>)> = plan
            .namespaces
            .iter()
            .map(|n| (n.name.as_str(), n.needs, n.enforces))
            .collect();
        assert_eq!(levels, [("matrix", Level::Privileged, None)]);
        // Split: the main namespace is restricted, the host-network one privileged.
        let plan = build(&config(&format!(
            "{rtc}podSecurity: {{enabled: true, hostNetworkNamespace: matrix-host}}\n"
        )));
        let levels: Vec<(&str, Level, Option<Level>)> = plan
            .namespaces
            .iter()
            .map(|n| (n.name.as_str(), n.needs, n.enforces))
            .collect();
        assert_eq!(
            levels,
            [
                ("matrix", Level::Restricted, Some(Level::Restricted)),
                ("matrix-host", Level::Privileged, Some(Level::Privileged)),
            ]
        );
        assert!(
            plan.namespaces[1]
                .holds
                .contains(&"coturn (host network)".to_owned())
        );
        assert!(
            plan.namespaces[1]
                .holds
                .contains(&"lk-jwt-service".to_owned())
        );
        let pre = plan.prerequisites.join("\n");
        assert!(pre.contains("ClusterIssuer `letsencrypt`"), "{pre}");
        assert!(pre.contains("cert-manager 1.10 or newer"), "{pre}");
        assert!(pre.contains("Traefik's CRDs"), "{pre}");
        assert!(pre.contains("namespace `matrix-host`"), "{pre}");
        // No host network at all: one restricted namespace, and the Gateway API instead.
        let plan = build(&config(
            "coturn: {enabled: false}\nrouting: {mode: gateway, gateway: {name: public, namespace: gw}}\n\
             podSecurity: {enabled: true}\n",
        ));
        assert_eq!(plan.namespaces.len(), 1);
        assert_eq!(plan.namespaces[0].enforces, Some(Level::Restricted));
        let pre = plan.prerequisites.join("\n");
        assert!(pre.contains("Gateway API CRDs"), "{pre}");
        assert!(
            pre.contains("accept HTTPRoutes from namespace `matrix`"),
            "{pre}"
        );
        assert!(!pre.contains("Traefik"), "{pre}");
    }

    /// Workers add no DNS record and no port; they add the database sized for every
    /// process, an external Redis when one is named, and the secrets they need.
    #[test]
    fn workers_add_prerequisites_and_secrets_not_records() {
        let base = build(&config(""));
        let workers = "synapse: {database: {type: postgresql, postgresql: {host: db.example.org, \
             password: p}}, signingKey: k, workers: {enabled: true, replicationSecret: r, \
             synchrotron: {replicas: 3}}}\n";
        let plan = build(&config(&format!("{workers}redis: {{password: x}}\n")));
        assert_eq!(plan.dns.len(), base.dns.len());
        assert_eq!(plan.ports.len(), base.ports.len());
        let pre = plan.prerequisites.join("\n");
        // main + client reader + federation reader + 3 synchrotrons + event creator + event
        // persister + federation sender + media repository = 10 processes of 10 connections.
        assert!(
            pre.contains("10 Synapse processes open up to 10 connections each (100 in all)"),
            "{pre}"
        );
        assert!(!pre.contains("Redis:"), "{pre}");
        let secrets: Vec<&str> = plan.secrets.iter().map(|s| s.path.as_str()).collect();
        for path in [
            "synapse.signingKey",
            "synapse.workers.replicationSecret",
            "redis.password",
        ] {
            assert!(secrets.contains(&path), "{secrets:?}");
        }
        let plan = build(&config(&format!(
            "{workers}redis: {{host: redis.example.org, port: 6380, tls: true, password: x}}\n"
        )));
        let pre = plan.prerequisites.join("\n");
        assert!(
            pre.contains("Redis: redis.example.org:6380 over TLS"),
            "{pre}"
        );
    }

    #[test]
    fn livekit_behind_a_service_opens_one_udp_port() {
        let plan = build(&config(
            "matrixrtc: {enabled: true, host: rtc.example.com, livekit: {key: k, \
             secret: 0123456789abcdef0123456789abcdef, hostNetwork: false, \
             rtc: {udpPort: 7882, serviceType: LoadBalancer}}}\n",
        ));
        let udp: Vec<(u16, u16)> = plan
            .ports
            .iter()
            .filter(|p| p.component == "livekit" && p.protocol == Protocol::Udp)
            .map(|p| (p.port, p.end_port))
            .collect();
        assert_eq!(udp, [(7882, 7882)]);
        assert!(plan.notes.iter().any(|n| n.contains("rtc.nodeIp")));
        assert!(plan.prerequisites.iter().any(|p| p.contains("livekit-rtc")));
    }

    #[test]
    fn delegation_adds_the_server_name_host() {
        let c = config("global: {serverName: example.com}\n");
        let plan = build(&c);
        let host = plan.dns.iter().find(|d| d.host == "example.com");
        assert!(host.is_some_and(|d| d.serves[0].contains("delegation")));
        let synapse = plan.dns.iter().find(|d| d.host == "matrix.example.com");
        assert!(synapse.is_some_and(|d| !d.serves[0].contains("well-known")));
    }
}
