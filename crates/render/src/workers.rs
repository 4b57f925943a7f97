//! Synapse's worker processes (`synapse.workers`): for each worker type that runs, a
//! StatefulSet `synapse-<type>` whose pods are the workers `synapse-<type>-<i>`, and a
//! headless Service of the same name that gives each pod the stable DNS name
//! `synapse-<type>-<i>.synapse-<type>.<namespace>.svc.cluster.local` that `instance_map`
//! names; one ConfigMap `synapse-workers` with each type's worker config, layered on the
//! shared homeserver.yaml; and the shared options that hand the streams and duties to them
//! ([`shared_config`], written into homeserver.yaml by [`crate::synapse`]).
//!
//! A worker's name is its pod's name: the container writes `worker_name` from the pod's
//! name (downward API) into a third config file before it starts Synapse, so every pod of
//! a StatefulSet runs the same template. The main process (the `synapse` Deployment) keeps
//! every endpoint no worker takes, and its replication listener.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaimVolumeSource,
    PodSpec, Secret, Service, ServicePort, ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;
use matrix_render_model::workers::{Kind, Role, TYPES, running};
use serde_json::{Map, Value, json};

use crate::components::{self, Component};
use crate::objects::{
    App, Ctx, DeploymentSpecParts, config_checksum, config_map, config_map_volume, container,
    container_port, container_security, deployment, empty_dir, mount, pod_security,
};
use crate::policies::{Egress, Flow};
use crate::{synapse, yaml};

/// The ConfigMap of the worker configs, one `<type>.yaml` each.
pub const CONFIG_MAP: &str = "synapse-workers";
/// Where a worker pod mounts it.
pub const CONFIG_DIR: &str = "/worker";
/// The replication listener of the main process and of every stream writer.
pub const REPLICATION_PORT: u16 = 9093;
/// The named port of the replication listener.
pub const REPLICATION: &str = "replication";
/// The `app.kubernetes.io/component` of every worker pod.
pub const ROLE: &str = "synapse-worker";
/// What every Synapse process sends while workers run: what one process sends (DNS, the
/// public internet, the database), plus Redis and the other processes' replication ports.
pub const EGRESS: [Egress; 5] = [
    Egress::Dns,
    Egress::Internet,
    Egress::Database,
    Egress::Redis,
    Egress::Replication,
];
/// The env var that carries the pod's name into the worker config.
const NAME_VAR: &str = "SYNAPSE_WORKER_NAME";
/// The file the container writes `worker_name` into.
const NAME_FILE: &str = "/tmp/worker-name.yaml";

/// A worker type's workload.
#[must_use]
pub fn app(kind: &Kind) -> App {
    App::new(
        kind.object,
        ROLE,
        "synapse-workers",
        ("app.kubernetes.io/name", kind.object),
    )
}

/// The cluster DNS name of the main process's Service.
#[must_use]
pub fn main_host(c: &Config) -> String {
    format!("synapse.{}.svc.cluster.local", c.namespace)
}

/// The stable DNS name of one worker pod.
#[must_use]
pub fn instance_host(c: &Config, kind: &Kind, instance: &str) -> String {
    format!(
        "{instance}.{}.{}.svc.cluster.local",
        kind.object, c.namespace
    )
}

/// Whether a worker type writes streams (and so takes replication requests).
fn writes(kind: &Kind) -> bool {
    matches!(kind.role, Role::Writes(_))
}

/// Whether the media repository runs in a worker (which then alone mounts the data volume).
#[must_use]
pub fn media_worker(c: &Config) -> bool {
    running(c).any(|(k, _)| k.key == "mediaRepository")
}

/// The media worker's workload, which mounts the data volume when it runs.
#[must_use]
pub fn media_app() -> App {
    let kind = TYPES
        .iter()
        .find(|k| k.key == "mediaRepository")
        .unwrap_or(&TYPES[0]);
    app(kind)
}

/// The shared options that hand the streams and duties to the workers that run, for
/// homeserver.yaml; `None` without workers.
#[must_use]
pub fn shared_config(c: &Config, secrets_dir: &str) -> Option<Map<String, Value>> {
    if !c.synapse.workers.enabled {
        return None;
    }
    let mut m = Map::new();
    let r = &c.redis;
    let host = if r.host.is_empty() {
        crate::redis::host(c)
    } else {
        r.host.clone()
    };
    let mut redis = json!({
        "enabled": true,
        "host": host,
        "port": r.port,
        "password_path": format!("{secrets_dir}/{}", synapse::REDIS_PASSWORD),
    });
    if r.tls {
        redis["use_tls"] = json!(true);
    }
    m.insert("redis".to_owned(), redis);
    m.insert(
        "worker_replication_secret_path".to_owned(),
        json!(format!("{secrets_dir}/{}", synapse::REPLICATION_SECRET)),
    );
    let mut instance_map = Map::new();
    instance_map.insert(
        "main".to_owned(),
        json!({"host": main_host(c), "port": REPLICATION_PORT}),
    );
    let mut writers = Map::new();
    for (kind, _) in running(c) {
        let instances = kind.instances(c);
        match kind.role {
            Role::Endpoints => {}
            Role::Writes(streams) => {
                for i in &instances {
                    instance_map.insert(
                        i.clone(),
                        json!({"host": instance_host(c, kind, i), "port": REPLICATION_PORT}),
                    );
                }
                for stream in streams {
                    writers.insert((*stream).to_owned(), json!(instances));
                }
            }
            Role::Duty(option) => {
                // One name for a single process's duty, else the list.
                let value = match instances.as_slice() {
                    [one] if !kind.many => json!(one),
                    _ => json!(instances),
                };
                m.insert(option.to_owned(), value);
                if kind.key == "mediaRepository" {
                    m.insert("enable_media_repo".to_owned(), json!(false));
                }
            }
        }
    }
    m.insert("instance_map".to_owned(), Value::Object(instance_map));
    if !writers.is_empty() {
        m.insert("stream_writers".to_owned(), Value::Object(writers));
    }
    Some(m)
}

/// One worker type's config file: its app, its listeners, and what it alone turns on.
fn worker_config(c: &Config, kind: &Kind) -> Value {
    let names: &[&str] = match (kind.key, kind.role) {
        ("mediaRepository", _) => &["media"],
        // It serves the user directory's search, a client endpoint.
        ("userDirectory", _) => &["client"],
        (_, Role::Duty(_)) => &["health"],
        _ => &["client", "federation"],
    };
    let mut listeners = vec![json!({
        "type": "http",
        "port": c.synapse.port,
        "tls": false,
        "x_forwarded": true,
        "resources": [{"names": names, "compress": false}],
    })];
    if writes(kind) {
        listeners.push(json!({
            "type": "http",
            "port": REPLICATION_PORT,
            "tls": false,
            "resources": [{"names": ["replication"]}],
        }));
    }
    if let Some(port) = crate::metrics::port(c, &c.metrics.synapse) {
        listeners.push(json!({"type": "metrics", "port": port, "bind_addresses": ["0.0.0.0"]}));
    }
    let mut m = Map::new();
    m.insert("worker_app".to_owned(), json!("synapse.app.generic_worker"));
    m.insert("worker_listeners".to_owned(), Value::Array(listeners));
    if kind.key == "mediaRepository" {
        m.insert("enable_media_repo".to_owned(), json!(true));
    }
    Value::Object(m)
}

/// The worker ConfigMap's data: one file per worker type, those that do not run included
/// (turning one on changes no other file).
fn config_files(c: &Config) -> BTreeMap<String, String> {
    TYPES
        .iter()
        .map(|k| {
            (
                format!("{}.yaml", k.name),
                yaml::document(&worker_config(c, k)),
            )
        })
        .collect()
}

/// The container's command: `worker_name` from the pod's name, then Synapse's generic
/// worker on the shared config, the further config files, the type's file and that name.
fn command(config_args: &[String], kind: &Kind) -> Vec<String> {
    let mut script = format!(
        "printf 'worker_name: %s\\n' \"${NAME_VAR}\" > {NAME_FILE} && exec python -m synapse.app.generic_worker"
    );
    for arg in config_args
        .iter()
        .map(String::as_str)
        .chain(["--config-path", &format!("{CONFIG_DIR}/{}.yaml", kind.name)])
        .chain(["--config-path", NAME_FILE])
    {
        script.push(' ');
        script.push_str(arg);
    }
    vec!["/bin/sh".to_owned(), "-c".to_owned(), script]
}

/// The workers' objects. Synapse's module calls it with what its pods share
/// ([`synapse::PodParts`]) and its config objects, which key the pods' checksum with the
/// workers' ConfigMap: a change of the shared config rolls every process.
pub fn render(
    ctx: &mut Ctx<'_>,
    parts: &synapse::PodParts,
    config_maps: &[&ConfigMap],
    secrets: &[&Secret],
) {
    let c = ctx.config;
    let files = config_files(c);
    let owner = App::new(
        CONFIG_MAP,
        ROLE,
        "synapse-workers",
        ("app.kubernetes.io/name", CONFIG_MAP),
    );
    let cm = config_map(ctx, CONFIG_MAP, &owner, files);
    let mut maps = config_maps.to_vec();
    maps.push(&cm);
    let checksum = config_checksum(ctx, &maps, secrets);
    ctx.push(&owner, CONFIG_MAP, &cm);
    let media_pvc = media_worker(c);
    for (kind, replicas) in running(c) {
        let app = app(kind);
        let media = kind.key == "mediaRepository";
        let mut volumes = parts.volumes.clone();
        volumes.push(empty_dir("tmp"));
        let mut mounts = parts.mounts.clone();
        volumes.push(config_map_volume("worker", CONFIG_MAP));
        mounts.push(mount("worker", CONFIG_DIR, true));
        if media && media_pvc {
            volumes.push(Volume {
                name: "data".to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: synapse::PVC.to_owned(),
                    ..PersistentVolumeClaimVolumeSource::default()
                }),
                ..Volume::default()
            });
            mounts.push(mount("data", "/data", false));
        }
        let mut main = container("synapse", &c.synapse.image);
        main.command = Some(command(&parts.config_args, kind));
        let mut ports = vec![container_port("http", c.synapse.port, "TCP")];
        if writes(kind) {
            ports.push(container_port(REPLICATION, REPLICATION_PORT, "TCP"));
        }
        if let Some(p) = crate::metrics::port(c, &c.metrics.synapse) {
            ports.push(container_port(crate::metrics::PORT, p, "TCP"));
        }
        main.ports = Some(ports);
        let mut env = vec![EnvVar {
            name: NAME_VAR.to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.name".to_owned(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        }];
        env.extend(parts.env.iter().cloned());
        main.env = Some(env);
        main.volume_mounts = Some(mounts);
        main.security_context = Some(container_security(true, &[]));
        synapse::health_probes(&mut main);
        let settings = worker_settings(c, kind);
        let dep = deployment(
            ctx,
            &app,
            DeploymentSpecParts {
                skips: synapse::synapse_skips(c),
                replicas: i32::from(replicas),
                settings: &settings,
                recreate: false,
                checksum: checksum.clone(),
                pod: PodSpec {
                    security_context: Some(pod_security(Some(synapse::UID))),
                    containers: vec![main],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                },
            },
        );
        let spec = dep.spec.unwrap_or_default();
        let set = StatefulSet {
            metadata: dep.metadata,
            spec: Some(StatefulSetSpec {
                replicas: spec.replicas,
                revision_history_limit: spec.revision_history_limit,
                selector: spec.selector,
                service_name: Some(kind.object.to_owned()),
                // The workers of a type do not depend on each other's order.
                pod_management_policy: Some("Parallel".to_owned()),
                template: spec.template,
                ..StatefulSetSpec::default()
            }),
            ..StatefulSet::default()
        };
        ctx.push(&app, kind.object, &set);
        let svc = headless_service(ctx, &app, kind);
        ctx.push(&app, kind.object, &svc);
    }
}

/// The pod settings of a worker type: the workers' shared ones, with the type's own
/// `resources` when it sets them.
fn worker_settings(c: &Config, kind: &Kind) -> matrix_render_model::config::PodSettings {
    let w = &c.synapse.workers;
    let mut settings = w.pod.clone();
    if let Some(r) = &(kind.get)(w).resources {
        settings.resources = r.clone();
    }
    settings
}

/// The headless Service that gives each pod of a type its DNS name; not-ready pods are
/// published too, so that a restarting writer keeps its name while the others wait for it.
fn headless_service(ctx: &Ctx<'_>, app: &App, kind: &Kind) -> Service {
    let c = ctx.config;
    let mut ports = vec![ServicePort {
        name: Some("http".to_owned()),
        port: i32::from(c.synapse.port),
        target_port: Some(IntOrString::String("http".to_owned())),
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    }];
    if writes(kind) {
        ports.push(ServicePort {
            name: Some(REPLICATION.to_owned()),
            port: i32::from(REPLICATION_PORT),
            target_port: Some(IntOrString::String(REPLICATION.to_owned())),
            protocol: Some("TCP".to_owned()),
            ..ServicePort::default()
        });
    }
    if let Some(p) = crate::metrics::port(c, &c.metrics.synapse) {
        ports.push(ServicePort {
            name: Some(crate::metrics::PORT.to_owned()),
            port: i32::from(p),
            target_port: Some(IntOrString::String(crate::metrics::PORT.to_owned())),
            protocol: Some("TCP".to_owned()),
            ..ServicePort::default()
        });
    }
    Service {
        metadata: ctx.meta(app.name, app),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(app.selector.clone()),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// Every Synapse process's pods: the main process and the workers.
#[must_use]
pub fn synapse_pods() -> Value {
    json!({
        "matchExpressions": [{
            "key": "app.kubernetes.io/component",
            "operator": "In",
            "values": [synapse::ROLE, ROLE],
        }],
        "matchLabels": {"app.kubernetes.io/part-of": "matrix-stack"},
    })
}

/// The workers in the registry: on with `synapse.workers.enabled`. Their objects come from
/// Synapse's module ([`render`]), which builds what all Synapse pods share once.
pub const COMPONENT: Component = Component {
    name: "synapse-workers",
    enabled: |c| c.synapse.workers.enabled,
    namespace: components::main_namespace,
    objects: |_| {},
    flows,
    hosts: components::no_hosts,
    ports: components::no_ports,
    secrets: None,
    images: |_| Vec::new(),
    metrics,
    prerequisites,
    checks: |c, out| out.extend(matrix_render_model::workers::check(c)),
    host_ports: components::no_host_ports,
};

/// Each worker type: the router reaches its `http` port, the Synapse processes the
/// replication port of the writers; it sends what the main process sends (DNS, the public
/// internet, the database), plus Redis and the other processes' replication ports.
fn flows(c: &Config) -> Vec<Flow<'_>> {
    running(c)
        .map(|(kind, _)| Flow {
            app: app(kind),
            namespace: c.namespace.clone(),
            web_ports: Vec::new(),
            public_ports: Vec::new(),
            egress: EGRESS.to_vec(),
            extra: &c.network_policies.extra_rules.synapse,
            from_stack: vec![(crate::router::pods(), vec!["http"])]
                .into_iter()
                .chain(writes(kind).then(|| (synapse_pods(), vec![REPLICATION])))
                .collect(),
        })
        .collect()
}

/// The database every process connects to, sized for all of them; an external Redis.
fn prerequisites(c: &Config) -> Vec<String> {
    let p = &c.synapse.database.postgresql;
    let processes = 1 + running(c).map(|(_, n)| u32::from(n)).sum::<u32>();
    let mut out = vec![format!(
        "PostgreSQL: the database `{}` on {}:{} for the user `{}`, created with ENCODING 'UTF8' \
         LC_COLLATE='C' LC_CTYPE='C'; {processes} Synapse processes open up to {} connections \
         each ({} in all), which the server's max_connections must allow",
        p.database,
        p.host,
        p.port,
        p.user,
        p.cp_max,
        u32::from(p.cp_max) * processes,
    )];
    if !c.redis.host.is_empty() {
        out.push(format!(
            "Redis: {}:{}{}, reachable from the namespace `{}`, requiring the password of \
             `redis.password`",
            c.redis.host,
            c.redis.port,
            if c.redis.tls { " over TLS" } else { "" },
            c.namespace,
        ));
    }
    out
}

/// Each worker type's metrics listener, with `metrics.synapse`.
fn metrics(c: &Config) -> Vec<crate::metrics::Endpoint> {
    let Some(port) = crate::metrics::port(c, &c.metrics.synapse) else {
        return Vec::new();
    };
    running(c)
        .map(|(kind, _)| crate::metrics::Endpoint {
            app: app(kind),
            namespace: c.namespace.clone(),
            port,
            path: "/_synapse/metrics",
        })
        .collect()
}
