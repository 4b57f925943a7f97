//! Redis for Synapse's replication (`redis`), rendered in the stack's namespace while workers
//! run and `redis.host` names no external server: the Deployment and Service
//! `synapse-redis` and its ConfigMap. It keeps nothing on disk (Synapse uses it for
//! publish/subscribe and a cache), and requires the password of `redis.password` from every
//! client: the container writes it into a file its config includes, read from the same
//! Secret key Synapse reads it from.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    KeyToPath, PodSpec, Probe, SecretProjection, TCPSocketAction, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;

use crate::components::{self, Component};
use crate::objects::{
    App, Ctx, DeploymentSpecParts, ServicePortSpec, config_checksum, config_map, config_map_volume,
    container, container_port, container_security, deployment, empty_dir, mount, pod_security,
    service,
};
use crate::policies::Flow;
use crate::secrets::projected_volume;
use crate::synapse;

/// The Deployment, Service, ConfigMap and NetworkPolicy.
pub const NAME: &str = "synapse-redis";
/// A high UID of its own (checkov's CKV_K8S_40): Redis reads its config from the mounted
/// ConfigMap and writes only into emptyDirs, which the pod's fsGroup lets it.
const UID: i64 = 10103;
const CONFIG_DIR: &str = "/config";
const PASSWORD_DIR: &str = "/secrets/redis";
/// Where the container writes the included auth file.
const RUN_DIR: &str = "/run/redis";

#[must_use]
pub fn app() -> App {
    App::new(NAME, "redis", "redis", ("app.kubernetes.io/name", NAME))
}

/// The Service's cluster DNS name.
#[must_use]
pub fn host(c: &Config) -> String {
    format!("{NAME}.{}.svc.cluster.local", c.namespace)
}

/// redis.conf: every address, no persistence, and the auth file written at start.
#[must_use]
pub fn redis_conf(c: &Config) -> String {
    format!(
        "# Redis for Synapse's replication; rendered by matrix-render.\n\
         bind * -::*\n\
         port {}\n\
         protected-mode yes\n\
         save \"\"\n\
         appendonly no\n\
         dir /data\n\
         include {RUN_DIR}/auth.conf\n",
        c.redis.port
    )
}

/// The container's script: `requirepass "<password>"` (quotes and backslashes escaped as
/// redis.conf reads them) into the included file, then Redis.
fn script() -> String {
    format!(
        "pw=$(sed 's/[\\\\\"]/\\\\&/g' {PASSWORD_DIR}/password) && \
         printf 'requirepass \"%s\"\\n' \"$pw\" > {RUN_DIR}/auth.conf && \
         exec redis-server {CONFIG_DIR}/redis.conf"
    )
}

fn render(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    let app = app();
    let cm = config_map(
        ctx,
        NAME,
        &app,
        BTreeMap::from([("redis.conf".to_owned(), redis_conf(c))]),
    );
    let set = synapse::secret_set(c);
    let checksum = config_checksum(ctx, &[&cm], &[]);
    let password = set
        .key_ref(synapse::REDIS_PASSWORD)
        .map(|r| VolumeProjection {
            secret: Some(SecretProjection {
                name: r.name,
                items: Some(vec![KeyToPath {
                    key: r.key,
                    path: "password".to_owned(),
                    ..KeyToPath::default()
                }]),
                ..SecretProjection::default()
            }),
            ..VolumeProjection::default()
        });
    let mut volumes = vec![
        config_map_volume("config", NAME),
        empty_dir("run"),
        empty_dir("data"),
    ];
    volumes.extend(projected_volume("password", password.into_iter().collect()));
    let mut main = container("redis", &c.redis.image);
    main.command = Some(vec!["/bin/sh".to_owned(), "-c".to_owned(), script()]);
    main.ports = Some(vec![container_port("redis", c.redis.port, "TCP")]);
    main.volume_mounts = Some(vec![
        mount("config", CONFIG_DIR, true),
        mount("password", PASSWORD_DIR, true),
        mount("run", RUN_DIR, false),
        mount("data", "/data", false),
    ]);
    main.security_context = Some(container_security(true, &[]));
    let probe = |period: i32| Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String("redis".to_owned()),
            ..TCPSocketAction::default()
        }),
        period_seconds: Some(period),
        ..Probe::default()
    };
    main.readiness_probe = Some(probe(5));
    main.liveness_probe = Some(probe(20));
    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: 1,
            settings: &c.redis.pod,
            recreate: true,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(UID))),
                containers: vec![main],
                volumes: Some(volumes),
                ..PodSpec::default()
            },
        },
    );
    let svc = service(
        ctx,
        &app,
        &[ServicePortSpec {
            name: "redis",
            port: c.redis.port,
            target: "redis",
            protocol: "TCP",
        }],
    );
    ctx.push(&app, NAME, &cm);
    ctx.push(&app, NAME, &dep);
    ctx.push(&app, NAME, &svc);
}

/// Redis in the registry: rendered while workers run without an external server.
pub const COMPONENT: Component = Component {
    name: "redis",
    enabled: |c| c.redis.in_cluster(c),
    namespace: components::main_namespace,
    objects: render,
    flows,
    hosts: components::no_hosts,
    ports: components::no_ports,
    secrets: None,
    images: |c| vec![("redis.image", &c.redis.image)],
    metrics: crate::metrics::none,
    prerequisites: components::no_prerequisites,
    checks: components::no_checks,
    host_ports: components::no_host_ports,
};

/// Synapse's processes reach it; it sends nothing.
fn flows(c: &Config) -> Vec<Flow<'_>> {
    vec![Flow {
        web_ports: Vec::new(),
        from_stack: vec![(crate::workers::synapse_pods(), vec!["redis"])],
        ..Flow::web(c, app(), &c.network_policies.extra_rules.synapse)
    }]
}
