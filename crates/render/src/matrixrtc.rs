//! MatrixRTC: the LiveKit SFU (config without keys; keys from the Secret through env) and
//! lk-jwt-service, with their Services and the `matrix-rtc` Ingress.

use crate::components::{Component, Host, port};
use crate::policies::{Egress, Flow};
use matrix_render_model::api::{DnsTarget, PortRule, Protocol};
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, PodSpec, Service, ServicePort as K8sServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;
use matrix_render_model::Diagnostic;
use matrix_render_model::config::RtcServiceType;
use matrix_render_model::validate::{self, HostPort, LIVEKIT_MIN_SECRET};
use serde_json::{Map, Value, json};

use crate::ingress::{IngressOverrides, Route, expose};
use crate::objects::{
    App, Ctx, DeploymentSpecParts, ServicePortSpec, config_checksum, config_map, config_map_volume,
    container, container_port, container_security, deployment, http_probe, http_service, mount,
    pod_security, service, tcp_probe,
};
use crate::secrets::{SecretSet, projected_volume};
use crate::yaml;

pub const LIVEKIT: &str = "livekit";
pub const LIVEKIT_CONFIG: &str = "livekit-config";
pub const JWT: &str = "matrixrtc-jwt";
pub const INGRESS: &str = "matrix-rtc";
/// The Service that exposes LiveKit's media ports without the host network.
pub const RTC_SERVICE: &str = "livekit-rtc";
const SFU_PATH: &str = "/livekit/sfu";
const JWT_PATH: &str = "/livekit/jwt";
const JWT_CONTAINER_PORT: u16 = 8080;
const JWT_SECRETS_DIR: &str = "/secrets/livekit";
/// A non-root user for the static Go binaries of LiveKit and lk-jwt-service (the
/// distroless `nonroot` user); neither writes files nor binds ports below 1024.
const NONROOT_UID: i64 = 65532;

pub fn livekit_app() -> App {
    App::new(LIVEKIT, "sfu", "matrixrtc", ("app", LIVEKIT))
}

pub fn jwt_app() -> App {
    App::new(JWT, "rtc-auth", "matrixrtc", ("app", JWT))
}

/// The lk-jwt-service URL advertised to clients in `.well-known` (`rtc_foci`).
pub fn jwt_service_url(c: &Config) -> String {
    let explicit = &c.matrixrtc.element.livekit_service_url;
    if explicit.is_empty() {
        format!("https://{}{JWT_PATH}", c.matrixrtc.host)
    } else {
        explicit.clone()
    }
}

/// LiveKit's config.yaml. API keys come from `LIVEKIT_KEYS` in the environment.
pub fn livekit_config(c: &Config) -> String {
    let l = &c.matrixrtc.livekit;
    let mut rtc = Map::new();
    rtc.insert("tcp_port".to_owned(), json!(l.rtc.tcp_port));
    if l.rtc.udp_port == 0 {
        rtc.insert("port_range_start".to_owned(), json!(l.rtc.port_range_start));
        rtc.insert("port_range_end".to_owned(), json!(l.rtc.port_range_end));
    } else {
        // One UDP port for every participant (a mux); LiveKit ignores it next to a range.
        rtc.insert("udp_port".to_owned(), json!(l.rtc.udp_port));
    }
    rtc.insert("use_external_ip".to_owned(), json!(l.rtc.use_external_ip));
    if !l.rtc.node_ip.is_empty() {
        rtc.insert("node_ip".to_owned(), json!(l.rtc.node_ip));
    }
    let mut config = json!({
        "port": l.service.port,
        "rtc": Value::Object(rtc),
        "room": {"auto_create": false},
        "logging": {"level": "info"},
    });
    if let (Some(port), Some(map)) = (
        crate::metrics::port(c, &c.metrics.livekit),
        config.as_object_mut(),
    ) {
        // Prometheus metrics at `/metrics`, on every address LiveKit binds.
        map.insert("prometheus_port".to_owned(), json!(port));
    }
    yaml::document(&config)
}

/// The `livekit-rtc` Service: LiveKit's ICE/TCP port and UDP mux port, reachable from
/// outside the cluster at the same port numbers LiveKit advertises, so that LiveKit needs
/// no host network. `externalTrafficPolicy: Local` keeps the clients' addresses and sends
/// the media only to the node that runs LiveKit.
fn rtc_service(ctx: &Ctx<'_>, app: &App) -> Option<Service> {
    let l = &ctx.config.matrixrtc.livekit;
    let node_ports = match l.rtc.service_type {
        RtcServiceType::None => return None,
        RtcServiceType::LoadBalancer => false,
        RtcServiceType::NodePort => true,
    };
    if l.host_network || l.rtc.udp_port == 0 {
        return None;
    }
    let port = |name: &str, number: u16, protocol: &str| K8sServicePort {
        name: Some(name.to_owned()),
        port: i32::from(number),
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some(protocol.to_owned()),
        node_port: node_ports.then_some(i32::from(number)),
        ..K8sServicePort::default()
    };
    let mut metadata = ctx.meta(RTC_SERVICE, app);
    if !l.rtc.service_annotations.is_empty() {
        metadata.annotations = Some(l.rtc.service_annotations.clone());
    }
    Some(Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(
                if node_ports {
                    "NodePort"
                } else {
                    "LoadBalancer"
                }
                .to_owned(),
            ),
            external_traffic_policy: Some("Local".to_owned()),
            selector: Some(app.selector.clone()),
            ports: Some(vec![
                port("rtc-tcp", l.rtc.tcp_port, "TCP"),
                port("rtc-udp", l.rtc.udp_port, "UDP"),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

fn secret_env(name: &str, set: &SecretSet<'_>, file: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: set.key_ref(file),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// The checkov checks LiveKit cannot pass, with the reasons.
fn livekit_skips(host_network: bool) -> Vec<(&'static str, &'static str)> {
    let mut skips = vec![(
        "CKV_K8S_35",
        "LiveKit takes its keys from LIVEKIT_KEYS or a key file that must be mode 0600, which a \
         Secret volume readable by a non-root user cannot be",
    )];
    if host_network {
        skips.push((
            "CKV_K8S_19",
            "matrixrtc.livekit.hostNetwork is on: WebRTC media uses the node's own UDP ports and address",
        ));
    }
    skips
}

fn env(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value),
        ..EnvVar::default()
    }
}

/// LiveKit's API key and secret (the JWT service reads them too).
pub fn secret_set(c: &Config) -> SecretSet<'_> {
    let lk = &c.matrixrtc.livekit;
    SecretSet::new(
        JWT,
        &[
            ("LIVEKIT_KEY", "matrixrtc.livekit.key", &lk.key),
            ("LIVEKIT_SECRET", "matrixrtc.livekit.secret", &lk.secret),
        ],
    )
}

pub fn render(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    let rtc = &c.matrixrtc;
    let lk = livekit_app();
    let jwt = jwt_app();

    let keys = secret_set(c);
    let keys_secret = keys.object(ctx, &jwt);
    let keys_secrets: Vec<_> = keys_secret.iter().collect();
    let lk_cm = config_map(
        ctx,
        LIVEKIT_CONFIG,
        &lk,
        BTreeMap::from([("config.yaml".to_owned(), livekit_config(c))]),
    );

    // LiveKit.
    let mut sfu = container("livekit", &rtc.livekit.image);
    // `--bind` is LiveKit's documented way to listen beyond 127.0.0.1.
    sfu.args = Some(
        ["--config", "/etc/livekit/config.yaml", "--bind", "0.0.0.0"]
            .map(str::to_owned)
            .to_vec(),
    );
    sfu.env = Some(vec![
        secret_env("LIVEKIT_API_KEY", &keys, "LIVEKIT_KEY"),
        secret_env("LIVEKIT_API_SECRET", &keys, "LIVEKIT_SECRET"),
        env(
            "LIVEKIT_KEYS",
            "$(LIVEKIT_API_KEY): $(LIVEKIT_API_SECRET)".to_owned(),
        ),
    ]);
    let mut sfu_ports = vec![
        container_port("http", rtc.livekit.service.port, "TCP"),
        container_port("rtc-tcp", rtc.livekit.rtc.tcp_port, "TCP"),
    ];
    if rtc.livekit.rtc.udp_port != 0 {
        sfu_ports.push(container_port("rtc-udp", rtc.livekit.rtc.udp_port, "UDP"));
    }
    let metrics_port = crate::metrics::port(c, &c.metrics.livekit);
    sfu_ports.extend(metrics_port.map(|p| container_port(crate::metrics::PORT, p, "TCP")));
    sfu.ports = Some(sfu_ports);
    sfu.volume_mounts = Some(vec![mount("config", "/etc/livekit", true)]);
    sfu.readiness_probe = Some(tcp_probe());
    sfu.liveness_probe = Some(tcp_probe());
    sfu.security_context = Some(container_security(true, &[]));
    let lk_dep = deployment(
        ctx,
        &lk,
        DeploymentSpecParts {
            skips: livekit_skips(rtc.livekit.host_network),
            replicas: 1,
            settings: &rtc.livekit.pod,
            recreate: rtc.livekit.host_network,
            checksum: config_checksum(ctx, &[&lk_cm], &keys_secrets),
            pod: PodSpec {
                host_network: rtc.livekit.host_network.then_some(true),
                dns_policy: rtc
                    .livekit
                    .host_network
                    .then(|| "ClusterFirstWithHostNet".to_owned()),
                enable_service_links: Some(false),
                security_context: Some(pod_security(Some(NONROOT_UID))),
                containers: vec![sfu],
                volumes: Some(vec![config_map_volume("config", LIVEKIT_CONFIG)]),
                ..PodSpec::default()
            },
        },
    );
    let mut lk_ports = vec![ServicePortSpec {
        name: "http",
        port: rtc.livekit.service.port,
        target: "http",
        protocol: "TCP",
    }];
    if !rtc.livekit.host_network {
        lk_ports.push(ServicePortSpec {
            name: "rtc-tcp",
            port: rtc.livekit.rtc.tcp_port,
            target: "rtc-tcp",
            protocol: "TCP",
        });
    }
    // Never routed: the Ingress and HTTPRoute name the `http` port.
    lk_ports.extend(metrics_port.map(|port| ServicePortSpec {
        name: crate::metrics::PORT,
        port,
        target: crate::metrics::PORT,
        protocol: "TCP",
    }));
    let lk_svc = service(ctx, &lk, &lk_ports);
    let lk_rtc_svc = rtc_service(ctx, &lk);

    // lk-jwt-service.
    let mut auth = container("jwt", &rtc.jwt.image);
    auth.env = Some(vec![
        env("LIVEKIT_JWT_PORT", JWT_CONTAINER_PORT.to_string()),
        env("LIVEKIT_URL", format!("wss://{}{SFU_PATH}", rtc.host)),
        env(
            "LIVEKIT_KEY_FROM_FILE",
            format!("{JWT_SECRETS_DIR}/LIVEKIT_KEY"),
        ),
        env(
            "LIVEKIT_SECRET_FROM_FILE",
            format!("{JWT_SECRETS_DIR}/LIVEKIT_SECRET"),
        ),
        // Users are on the Matrix server name (`@alice:example.org`), not Synapse's host.
        env(
            "LIVEKIT_FULL_ACCESS_HOMESERVERS",
            c.global.server_name().to_owned(),
        ),
    ]);
    auth.ports = Some(vec![container_port("http", JWT_CONTAINER_PORT, "TCP")]);
    let jwt_secrets = projected_volume("keys", keys.projections(&[]));
    if jwt_secrets.is_some() {
        auth.volume_mounts = Some(vec![mount("keys", JWT_SECRETS_DIR, true)]);
    }
    auth.readiness_probe = Some(http_probe("/healthz"));
    auth.liveness_probe = Some(http_probe("/healthz"));
    auth.security_context = Some(container_security(true, &[]));
    let jwt_dep = deployment(
        ctx,
        &jwt,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: rtc.jwt.replicas,
            settings: &rtc.jwt.pod,
            recreate: false,
            checksum: config_checksum(ctx, &[], &keys_secrets),
            pod: PodSpec {
                enable_service_links: Some(false),
                security_context: Some(pod_security(Some(NONROOT_UID))),
                containers: vec![auth],
                volumes: jwt_secrets.map(|v| vec![v]),
                ..PodSpec::default()
            },
        },
    );
    let jwt_svc = http_service(ctx, &jwt, rtc.jwt.service.port);

    let overrides = IngressOverrides {
        class: (!rtc.ingress_class_name.is_empty()).then(|| rtc.ingress_class_name.clone()),
        issuer: (!rtc.cert_manager_cluster_issuer.is_empty())
            .then(|| rtc.cert_manager_cluster_issuer.clone()),
        strip_prefix: true,
    };
    expose(
        ctx,
        &lk,
        INGRESS,
        &rtc.host,
        &c.ingress.hosts.matrixrtc,
        &overrides,
        &[
            Route::new(SFU_PATH, LIVEKIT, rtc.livekit.service.port),
            Route::new(JWT_PATH, JWT, rtc.jwt.service.port),
        ],
    );

    if let Some(sec) = &keys_secret {
        ctx.push(&jwt, JWT, sec);
    }
    ctx.push(&lk, LIVEKIT_CONFIG, &lk_cm);
    ctx.push(&lk, LIVEKIT, &lk_dep);
    ctx.push(&lk, LIVEKIT, &lk_svc);
    if let Some(svc) = &lk_rtc_svc {
        ctx.push(&lk, RTC_SERVICE, svc);
    }
    ctx.push(&jwt, JWT, &jwt_dep);
    ctx.push(&jwt, JWT, &jwt_svc);
}

/// MatrixRTC (LiveKit and lk-jwt-service) in the registry: on with `matrixrtc.enabled`.
pub const COMPONENT: Component = Component {
    name: "matrixrtc",
    enabled: |c| c.matrixrtc.enabled,
    namespace: Config::matrixrtc_namespace,
    objects: render,
    flows,
    hosts,
    ports,
    secrets: Some(secret_set),
    images,
    metrics,
    prerequisites: crate::components::no_prerequisites,
    checks,
    host_ports,
};

/// lk-jwt-service reaches the stack's public URLs (and with `jwtFederation` the internet);
/// LiveKit off the host network takes media from anyone and sends to the internet (on the
/// host network no NetworkPolicy applies to it).
fn flows(c: &Config) -> Vec<Flow<'_>> {
    let extra = &c.network_policies.extra_rules;
    let namespace = c.matrixrtc_namespace().to_owned();
    let mut jwt_egress = vec![Egress::Dns, Egress::PublicUrls];
    if c.network_policies.jwt_federation {
        jwt_egress.push(Egress::Internet);
    }
    let mut flows = vec![Flow {
        namespace: namespace.clone(),
        egress: jwt_egress,
        ..Flow::web(c, jwt_app(), &extra.jwt)
    }];
    let lk = &c.matrixrtc.livekit;
    if !lk.host_network {
        let udp = if lk.rtc.udp_port == 0 {
            ("UDP", lk.rtc.port_range_start, Some(lk.rtc.port_range_end))
        } else {
            ("UDP", lk.rtc.udp_port, None)
        };
        flows.push(Flow {
            namespace,
            public_ports: vec![("TCP", lk.rtc.tcp_port, None), udp],
            egress: vec![Egress::Dns, Egress::Internet],
            ..Flow::web(c, livekit_app(), &extra.livekit)
        });
    }
    flows
}

/// LiveKit's Prometheus endpoint, with `metrics.livekit`. lk-jwt-service serves no metrics.
fn metrics(c: &Config) -> Vec<crate::metrics::Endpoint> {
    crate::metrics::port(c, &c.metrics.livekit)
        .map(|port| crate::metrics::Endpoint {
            app: livekit_app(),
            namespace: c.matrixrtc_namespace().to_owned(),
            port,
            path: "/metrics",
        })
        .into_iter()
        .collect()
}

fn hosts(c: &Config) -> Vec<Host> {
    vec![Host {
        host: c.matrixrtc.host.clone(),
        target: DnsTarget::Ingress,
        serves: "matrixrtc: LiveKit signalling (/livekit/sfu) and lk-jwt-service (/livekit/jwt)"
            .to_owned(),
        proxy: Some(
            "DNS-only is best: LiveKit's WebSocket signalling and its media must reach the \
             same address without a proxy's timeouts",
        ),
    }]
}

fn ports(c: &Config) -> Vec<PortRule> {
    let lk = &c.matrixrtc.livekit;
    let exposed = lk.rtc.udp_port != 0;
    let node = match lk.rtc.service_type {
        _ if lk.host_network => "the node that runs LiveKit (host network)",
        RtcServiceType::LoadBalancer if exposed => "the livekit-rtc LoadBalancer Service's address",
        RtcServiceType::NodePort if exposed => {
            "the node that runs LiveKit (NodePort Service livekit-rtc)"
        }
        _ => {
            "the LiveKit pod: matrixrtc.livekit.hostNetwork is off, so expose these yourself \
             (a LoadBalancer or NodePort Service)"
        }
    };
    let tcp = (lk.rtc.tcp_port, lk.rtc.tcp_port);
    let mut out = vec![port(
        "livekit",
        Protocol::Tcp,
        tcp,
        node,
        "WebRTC over TCP (ICE fallback)",
    )];
    out.push(if exposed {
        let media = (lk.rtc.udp_port, lk.rtc.udp_port);
        port(
            "livekit",
            Protocol::Udp,
            media,
            node,
            "WebRTC media, every participant on one port",
        )
    } else {
        let media = (lk.rtc.port_range_start, lk.rtc.port_range_end);
        port("livekit", Protocol::Udp, media, node, "WebRTC media range")
    });
    out
}

fn images(c: &Config) -> Vec<(&'static str, &matrix_render_model::config::Image)> {
    vec![
        ("matrixrtc.livekit.image", &c.matrixrtc.livekit.image),
        ("matrixrtc.jwt.image", &c.matrixrtc.jwt.image),
    ]
}

/// Its host name, the LiveKit URL Element is given, LiveKit's address, ports and secrets, and
/// how LiveKit is exposed.
fn checks(c: &Config, out: &mut Vec<Diagnostic>) {
    let rtc = &c.matrixrtc;
    let lk = &rtc.livekit;
    if rtc.enabled {
        validate::need(out, "matrixrtc.host", &rtc.host, "the MatrixRTC host name");
        validate::host_name(out, "matrixrtc.host", &rtc.host);
    }
    validate::url(
        out,
        "matrixrtc.element.livekit_service_url",
        &rtc.element.livekit_service_url,
    );
    validate::ip(out, "matrixrtc.livekit.rtc.nodeIp", &lk.rtc.node_ip);
    if rtc.enabled {
        validate::port(out, "matrixrtc.livekit.service.port", lk.service.port);
        validate::port(out, "matrixrtc.livekit.rtc.tcpPort", lk.rtc.tcp_port);
        validate::port(
            out,
            "matrixrtc.livekit.rtc.portRangeStart",
            lk.rtc.port_range_start,
        );
        validate::port(out, "matrixrtc.jwt.service.port", rtc.jwt.service.port);
        if lk.rtc.port_range_start > lk.rtc.port_range_end {
            out.push(
                Diagnostic::error(
                    "invalid-port-range",
                    "matrixrtc.livekit.rtc.portRangeEnd",
                    format!(
                        "the UDP range ends ({}) before it starts ({})",
                        lk.rtc.port_range_end, lk.rtc.port_range_start
                    ),
                )
                .with_hint("make `portRangeStart` less than or equal to `portRangeEnd`"),
            );
        }
    }
    validate::replicas(out, "matrixrtc.jwt.replicas", rtc.jwt.replicas);
    if rtc.enabled {
        secrets(out, c);
    }
    livekit_exposure(out, c);
}

/// LiveKit's API key and secret, long enough for LiveKit.
fn secrets(out: &mut Vec<Diagnostic>, c: &Config) {
    let lk = &c.matrixrtc.livekit;
    validate::need_secret(out, "matrixrtc.livekit.key", &lk.key, "MatrixRTC");
    validate::need_secret(out, "matrixrtc.livekit.secret", &lk.secret, "MatrixRTC");
    let len = lk.secret.inline().map_or(0, |s| s.chars().count());
    if len > 0 && len < LIVEKIT_MIN_SECRET {
        out.push(
            Diagnostic::error(
                "weak-secret",
                "matrixrtc.livekit.secret",
                format!(
                    "LiveKit refuses API secrets shorter than {LIVEKIT_MIN_SECRET} characters \
                     (this one has {len})"
                ),
            )
            .with_hint("generate one with `openssl rand -hex 32`"),
        );
    }
}

/// LiveKit without the host network, exposed through a Service of its media ports.
fn livekit_exposure(out: &mut Vec<Diagnostic>, c: &Config) {
    let lk = &c.matrixrtc.livekit;
    if !c.matrixrtc.enabled || lk.rtc.service_type == RtcServiceType::None {
        return;
    }
    if lk.host_network {
        out.push(
            Diagnostic::warning(
                "unused-setting",
                "matrixrtc.livekit.rtc.serviceType",
                "with `hostNetwork` LiveKit's media ports are the node's own; no `livekit-rtc` \
                 Service is rendered",
            )
            .with_hint(
                "set `matrixrtc.livekit.hostNetwork: false` to expose LiveKit through the Service",
            )
            .related(&["matrixrtc.livekit.hostNetwork"]),
        );
        return;
    }
    if lk.rtc.udp_port == 0 {
        out.push(
            Diagnostic::error(
                "missing-value",
                "matrixrtc.livekit.rtc.udpPort",
                "a Service cannot carry LiveKit's UDP media range; it needs one UDP port",
            )
            .with_hint("set `matrixrtc.livekit.rtc.udpPort` (LiveKit's `udp_port`, e.g. `7882`; with NodePort e.g. `30882`)")
            .related(&["matrixrtc.livekit.rtc.serviceType"]),
        );
    }
    if lk.rtc.service_type == RtcServiceType::NodePort {
        for (path, port) in [
            ("matrixrtc.livekit.rtc.tcpPort", lk.rtc.tcp_port),
            ("matrixrtc.livekit.rtc.udpPort", lk.rtc.udp_port),
        ] {
            if port != 0 && !(30000..=32767).contains(&port) {
                out.push(
                    Diagnostic::warning(
                        "invalid-port",
                        path,
                        format!(
                            "{port} is outside Kubernetes' default node port range (30000-32767); \
                             LiveKit advertises this port, so the node port must be the same"
                        ),
                    )
                    .with_hint("pick a port from 30000 to 32767, unless your API server's `--service-node-port-range` allows it")
                    .related(&["matrixrtc.livekit.rtc.serviceType"]),
                );
            }
        }
    }
}

/// On the host network: LiveKit's signalling and ICE/TCP ports and its UDP media port (or
/// range).
fn host_ports(c: &Config) -> Vec<HostPort> {
    let rtc = &c.matrixrtc.livekit;
    if !rtc.host_network {
        return Vec::new();
    }
    let mut host = vec![
        HostPort::one(
            "matrixrtc.livekit.service.port",
            "LiveKit's signalling port",
            "TCP",
            rtc.service.port,
        ),
        HostPort::one(
            "matrixrtc.livekit.rtc.tcpPort",
            "LiveKit's ICE/TCP port",
            "TCP",
            rtc.rtc.tcp_port,
        ),
    ];
    if rtc.rtc.udp_port != 0 {
        host.push(HostPort::one(
            "matrixrtc.livekit.rtc.udpPort",
            "LiveKit's UDP media port",
            "UDP",
            rtc.rtc.udp_port,
        ));
    } else if rtc.rtc.port_range_start <= rtc.rtc.port_range_end {
        host.push(HostPort {
            path: "matrixrtc.livekit.rtc.portRangeStart",
            what: "LiveKit's UDP media range",
            protocol: "UDP",
            start: rtc.rtc.port_range_start,
            end: rtc.rtc.port_range_end,
        });
    }
    host
}

#[cfg(test)]
mod tests {
    use crate::testing::{BASE_RTC, config_file, findings, pairs, render_items};
    use serde_json::Value;

    #[test]
    fn livekit_and_jwt_get_the_configured_ports_and_urls() {
        let extra = "matrixrtc:\n  livekit: {rtc: {portRangeStart: 50300, portRangeEnd: 50400}}\n";
        let items = render_items(BASE_RTC, extra);
        let text = config_file(&items, "livekit-config", "config.yaml");
        let livekit: Value = serde_yaml::from_str(text).expect("config.yaml parses");
        assert_eq!(livekit["rtc"]["port_range_start"], 50300);
        assert_eq!(livekit["rtc"]["port_range_end"], 50400);
        assert!(!text.contains("0123456789abcdef0123456789abcdef"), "{text}");
        let jwt = items
            .iter()
            .find(|i| i["kind"] == "Deployment" && i["metadata"]["name"] == "matrixrtc-jwt")
            .expect("the jwt Deployment");
        let env = &jwt["spec"]["template"]["spec"]["containers"][0]["env"];
        let url = env
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "LIVEKIT_URL")
            .expect("LIVEKIT_URL");
        assert_eq!(url["value"], "wss://rtc.example.com/livekit/sfu");
    }

    #[test]
    fn its_secret_ranges_and_host_ports_are_checked() {
        let extra = "matrixrtc:\n  livekit:\n    secret: short\n    rtc: {portRangeStart: 9, portRangeEnd: 8}\n";
        assert_eq!(
            findings(BASE_RTC, extra),
            pairs(&[
                ("invalid-port-range", "matrixrtc.livekit.rtc.portRangeEnd"),
                ("weak-secret", "matrixrtc.livekit.secret"),
            ])
        );
        // On the host network LiveKit's ports may not meet coturn's.
        let extra = "matrixrtc:\n  livekit: {rtc: {tcpPort: 3478}}\n";
        assert_eq!(
            findings(BASE_RTC, extra),
            pairs(&[("port-collision", "matrixrtc.livekit.rtc.tcpPort")])
        );
        // Off, its needs are not checked; the form of its addresses is.
        let off = "matrixrtc: {enabled: false, host: '', livekit: {rtc: {nodeIp: 1.2.3}}}\n";
        assert_eq!(
            findings(BASE_RTC, off),
            pairs(&[("invalid-ip", "matrixrtc.livekit.rtc.nodeIp")])
        );
    }
}
