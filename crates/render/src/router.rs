//! The router in front of Synapse's processes when workers run: HAProxy, the Deployment
//! `synapse-router`, its ConfigMap (`haproxy.cfg`) and Service, which the Ingress or
//! HTTPRoute of Synapse's host points at.
//!
//! The routes follow Synapse's worker documentation (`docs/workers.md`): each worker type
//! that runs gets the endpoints it serves, in the order of [`ROUTES`] (the first match
//! wins), and everything else goes to the main process. Requests that should meet the same
//! process again hash on a key, consistently (a process that leaves moves only its own
//! share): `/sync` and the device-list endpoints on the user (the localpart in the access
//! token, from the `Authorization` header or the `access_token` parameter), event creation,
//! receipts and `/messages` on the room, inbound federation transactions on the origin
//! server (the `origin` of the `X-Matrix` authorization). Every server is health-checked on
//! `GET /health`; when every process of a type is down, its endpoints fall back to the main
//! process, which serves them all (but media, which only the media worker serves once it
//! runs).
//!
//! Servers are named by their cluster DNS names and resolved at run time (`resolvers` from
//! the pod's resolv.conf), so the router starts before the processes do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{HTTPGetAction, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use matrix_render_model::Config;
use matrix_render_model::workers::{Kind, TYPES};
use serde_json::{Value, json};

use crate::components::{self, Component};
use crate::objects::{
    App, Ctx, DeploymentSpecParts, ServicePortSpec, config_checksum, config_map, config_map_volume,
    container, container_port, container_security, deployment, pod_security, service,
};
use crate::policies::{Egress, Flow};
use crate::workers::{instance_host, main_host};

/// The Deployment, Service, ConfigMap and NetworkPolicy.
pub const NAME: &str = "synapse-router";
/// The Service's and the container's HTTP port.
pub const PORT: u16 = 8008;
/// Where the router answers its own health check (never passed to Synapse).
pub const HEALTH: &str = "/_router/health";
const CONFIG_DIR: &str = "/etc/haproxy-config";
/// A high UID of its own (checkov's CKV_K8S_40): HAProxy reads its config from the mounted
/// ConfigMap and writes no file.
const UID: i64 = 10102;

#[must_use]
pub fn app() -> App {
    App::new(
        NAME,
        "router",
        "synapse-router",
        ("app.kubernetes.io/name", NAME),
    )
}

/// The router's pods, as a NetworkPolicy pod selector.
#[must_use]
pub fn pods() -> Value {
    json!({"matchLabels": app().selector})
}

/// How requests of a route pick a process among those of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// Round robin.
    Any,
    /// Consistent hash of the user (access token's localpart).
    User,
    /// Consistent hash of the room in the path.
    Room,
    /// Consistent hash of the federation origin.
    Origin,
}

impl Key {
    /// The backend name suffix and the balance line.
    fn balance(self) -> (&'static str, &'static str) {
        match self {
            Key::Any => ("", "balance roundrobin"),
            Key::User => ("-by-user", "balance hash var(txn.user)"),
            Key::Room => ("-by-room", "balance hash var(txn.room)"),
            Key::Origin => ("-by-origin", "balance hash var(txn.origin)"),
        }
    }
}

/// One route: the worker type (its key under `synapse.workers`), how to pick a process, and
/// the path patterns (HAProxy `path_reg`, from Synapse's worker documentation).
struct Route {
    worker: &'static str,
    key: Key,
    paths: &'static [&'static str],
}

/// Every route, in matching order.
const ROUTES: &[Route] = &[
    Route {
        worker: "mediaRepository",
        key: Key::Any,
        paths: &[
            "^/_matrix/media/",
            "^/_matrix/client/v1/media/",
            "^/_matrix/federation/v1/media/",
            "^/_synapse/media/",
            "^/_synapse/admin/v1/purge_media_cache$",
            "^/_synapse/admin/v1/room/[^/]+/media",
            "^/_synapse/admin/v1/user/[^/]+/media",
            "^/_synapse/admin/v1/media/",
            "^/_synapse/admin/v1/quarantine_media/",
            "^/_synapse/admin/v1/users/[^/]+/media$",
        ],
    },
    Route {
        worker: "synchrotron",
        key: Key::User,
        paths: &[
            "^/_matrix/client/(r0|v3)/sync$",
            "^/_matrix/client/(api/v1|r0|v3)/events$",
            "^/_matrix/client/(api/v1|r0|v3)/initialSync$",
            "^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
            "^/_matrix/client/unstable/org.matrix.simplified_msc3575/sync$",
        ],
    },
    Route {
        worker: "typing",
        key: Key::Any,
        paths: &["^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/typing"],
    },
    Route {
        worker: "toDevice",
        key: Key::Any,
        paths: &["^/_matrix/client/(r0|v3|unstable)/sendToDevice/"],
    },
    Route {
        worker: "accountData",
        key: Key::Any,
        paths: &[
            "^/_matrix/client/(r0|v3|unstable)/.*/tags",
            "^/_matrix/client/(r0|v3|unstable)/.*/account_data",
        ],
    },
    Route {
        worker: "receipts",
        key: Key::Room,
        paths: &[
            "^/_matrix/client/(r0|v3|unstable)/rooms/[^/]+/receipt",
            "^/_matrix/client/(r0|v3|unstable)/rooms/[^/]+/read_markers",
        ],
    },
    Route {
        worker: "presence",
        key: Key::Any,
        paths: &["^/_matrix/client/(api/v1|r0|v3|unstable)/presence/"],
    },
    Route {
        worker: "pushRules",
        key: Key::Any,
        paths: &["^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/"],
    },
    Route {
        worker: "deviceLists",
        key: Key::User,
        paths: &[
            "^/_matrix/client/(r0|v3)/delete_devices$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)",
            "^/_matrix/client/(r0|v3|unstable)/keys/upload",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$",
        ],
    },
    Route {
        worker: "userDirectory",
        key: Key::Any,
        paths: &["^/_matrix/client/(r0|v3|unstable)/user_directory/search$"],
    },
    Route {
        worker: "eventCreator",
        key: Key::Room,
        paths: &[
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/redact",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/send",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/state/",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/(join|invite|leave|ban|unban|kick)$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/join/",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/knock/",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/profile/",
        ],
    },
    Route {
        worker: "federationReader",
        key: Key::Origin,
        paths: &["^/_matrix/federation/v1/send/"],
    },
    Route {
        worker: "federationReader",
        key: Key::Any,
        paths: &[
            "^/_matrix/federation/v1/version$",
            "^/_matrix/federation/v1/event/",
            "^/_matrix/federation/v1/state/",
            "^/_matrix/federation/v1/state_ids/",
            "^/_matrix/federation/v1/backfill/",
            "^/_matrix/federation/v1/get_missing_events/",
            "^/_matrix/federation/v1/publicRooms",
            "^/_matrix/federation/v1/query/",
            "^/_matrix/federation/v1/make_join/",
            "^/_matrix/federation/v1/make_leave/",
            "^/_matrix/federation/(v1|v2)/send_join/",
            "^/_matrix/federation/(v1|v2)/send_leave/",
            "^/_matrix/federation/v1/make_knock/",
            "^/_matrix/federation/v1/send_knock/",
            "^/_matrix/federation/(v1|v2)/invite/",
            "^/_matrix/federation/v1/event_auth/",
            "^/_matrix/federation/v1/timestamp_to_event/",
            "^/_matrix/federation/v1/exchange_third_party_invite/",
            "^/_matrix/federation/v1/user/devices/",
            "^/_matrix/key/v2/query",
            "^/_matrix/federation/v1/hierarchy/",
        ],
    },
    Route {
        worker: "clientReader",
        key: Key::Room,
        paths: &["^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/messages$"],
    },
    Route {
        worker: "clientReader",
        key: Key::Any,
        paths: &[
            "^/_matrix/client/(api/v1|r0|v3|unstable)/createRoom$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/publicRooms$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/joined_members$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/context/",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/members$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/state$",
            "^/_matrix/client/v1/rooms/[^/]+/hierarchy$",
            "^/_matrix/client/(v1|unstable)/rooms/[^/]+/relations/",
            "^/_matrix/client/v1/rooms/[^/]+/threads$",
            "^/_matrix/client/(r0|v3|unstable)/account/3pid$",
            "^/_matrix/client/(r0|v3|unstable)/account/whoami$",
            "^/_matrix/client/versions$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/voip/turnServer$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/event/",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/joined_rooms$",
            "^/_matrix/client/v1/rooms/[^/]+/timestamp_to_event$",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/search$",
            "^/_matrix/client/(r0|v3|unstable)/user/[^/]+/filter(/|$)",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/directory/room/",
            "^/_matrix/client/(r0|v3|unstable)/capabilities$",
            "^/_matrix/client/(r0|v3|unstable)/notifications$",
            "^/_matrix/client/(r0|v3|unstable)/keys/query$",
            "^/_matrix/client/(r0|v3|unstable)/keys/changes$",
            "^/_matrix/client/(r0|v3|unstable)/keys/claim$",
            "^/_matrix/client/(r0|v3|unstable)/room_keys/",
            "^/_matrix/client/(api/v1|r0|v3|unstable)/login$",
            "^/_matrix/client/(r0|v3|unstable)/register$",
            "^/_matrix/client/(r0|v3|unstable)/register/available$",
            "^/_matrix/client/v1/register/m.login.registration_token/validity$",
            "^/_matrix/client/(r0|v3|unstable)/password_policy$",
        ],
    },
];

/// The worker type of a route's key under `synapse.workers`.
fn kind(worker: &str) -> Option<&'static Kind> {
    TYPES.iter().find(|k| k.key == worker)
}

/// HAProxy's config: the frontend with the keys and the routes of the worker types that
/// run, a backend per (type, key), and the main process's backend.
#[must_use]
pub fn haproxy_cfg(c: &Config) -> String {
    let port = c.synapse.port;
    let mut s = String::new();
    s.push_str("# The router in front of Synapse's processes; rendered by matrix-render.\n");
    s.push_str("global\n    log stdout format raw local0 info\n    maxconn 4096\n\n");
    // The pod's resolv.conf: the cluster DNS and its search path.
    s.push_str("resolvers cluster\n    parse-resolv-conf\n    hold valid 10s\n\n");
    s.push_str(
        "defaults\n    mode http\n    log global\n    option httplog\n    option dontlognull\n    \
         timeout connect 5s\n    timeout http-request 30s\n    timeout queue 30s\n    \
         timeout client 180s\n    timeout server 180s\n    \
         default-server init-addr last,libc,none resolvers cluster check inter 5s fall 3 rise 2\n\n",
    );
    s.push_str("frontend synapse\n");
    // IPv4, as the stack's nginx pods listen: `[::]` would stop HAProxy on a node whose
    // kernel has IPv6 turned off.
    let _ = writeln!(s, "    bind :{port}");
    let _ = writeln!(s, "    monitor-uri {HEALTH}");
    s.push_str(
        "    # The keys requests hash on: the user (the localpart in the access token), the room in\n    \
         # the path, the origin server of a federation request.\n",
    );
    s.push_str(
        "    http-request set-var(txn.user) req.fhdr(authorization),field(2,_) if { req.fhdr(authorization) -m beg \"Bearer \" }\n",
    );
    s.push_str(
        "    http-request set-var(txn.user) url_param(access_token),field(2,_) if !{ req.fhdr(authorization) -m found } { url_param(access_token) -m found }\n",
    );
    s.push_str(
        "    http-request set-var(txn.room) path,regsub(^.*/rooms/,/),field(2,/) if { path_reg /rooms/[^/]+ }\n",
    );
    s.push_str(
        "    http-request set-var(txn.room) path,regsub(^.*/join/,/),field(2,/) if { path_reg /join/[^/]+ }\n",
    );
    s.push_str(
        "    http-request set-var(txn.origin) req.fhdr(authorization),regsub(^.*origin=[^[:alnum:]]?,<),regsub([^[:alnum:]<.:-].*,>) if { req.fhdr(authorization) -m beg \"X-Matrix \" }\n",
    );
    let mut backends: Vec<(String, &'static Kind, Key)> = Vec::new();
    for (i, route) in ROUTES.iter().enumerate() {
        let Some(kind) = kind(route.worker).filter(|k| k.replicas(c) > 0) else {
            continue;
        };
        let (suffix, _) = route.key.balance();
        let backend = format!("{}{suffix}", kind.name);
        let acl = format!("route{i}_{}", kind.name.replace('-', "_"));
        let _ = writeln!(s, "    acl {acl} path_reg {}", route.paths.join(" "));
        if kind.key == "mediaRepository" {
            let _ = writeln!(s, "    use_backend {backend} if {acl}");
        } else {
            // When every process of the type is down, the main process serves the route.
            let _ = writeln!(
                s,
                "    use_backend {backend} if {acl} {{ nbsrv({backend}) gt 0 }}"
            );
        }
        if !backends.iter().any(|(b, ..)| *b == backend) {
            backends.push((backend, kind, route.key));
        }
    }
    s.push_str("    default_backend main\n");
    let _ = write!(
        s,
        "\nbackend main\n    option httpchk GET /health\n    server main {}:{port}\n",
        main_host(c)
    );
    for (backend, kind, key) in &backends {
        let (_, balance) = key.balance();
        let _ = write!(s, "\nbackend {backend}\n    {balance}\n");
        if *key != Key::Any {
            s.push_str("    hash-type consistent\n");
        }
        s.push_str("    option httpchk GET /health\n");
        for instance in kind.instances(c) {
            let _ = writeln!(
                s,
                "    server {instance} {}:{port}",
                instance_host(c, kind, &instance)
            );
        }
    }
    s
}

fn render(ctx: &mut Ctx<'_>) {
    let c = ctx.config;
    let app = app();
    let r = &c.synapse.workers.router;
    let cm = config_map(
        ctx,
        NAME,
        &app,
        BTreeMap::from([("haproxy.cfg".to_owned(), haproxy_cfg(c))]),
    );
    let checksum = config_checksum(ctx, &[&cm], &[]);
    let mut main = container("haproxy", &r.image);
    main.command = Some(
        [
            "haproxy",
            "-W",
            "-db",
            "-f",
            &format!("{CONFIG_DIR}/haproxy.cfg"),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    );
    main.ports = Some(vec![container_port("http", PORT, "TCP")]);
    main.volume_mounts = Some(vec![crate::objects::mount("config", CONFIG_DIR, true)]);
    main.security_context = Some(container_security(true, &[]));
    let probe = |period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(HEALTH.to_owned()),
            port: IntOrString::String("http".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    main.readiness_probe = Some(probe(5, 3));
    main.liveness_probe = Some(probe(20, 3));
    let dep = deployment(
        ctx,
        &app,
        DeploymentSpecParts {
            skips: Vec::new(),
            replicas: i32::from(r.replicas),
            settings: &r.pod,
            recreate: false,
            checksum,
            pod: PodSpec {
                security_context: Some(pod_security(Some(UID))),
                containers: vec![main],
                volumes: Some(vec![config_map_volume("config", NAME)]),
                ..PodSpec::default()
            },
        },
    );
    let svc = service(
        ctx,
        &app,
        &[ServicePortSpec {
            name: "http",
            port: PORT,
            target: "http",
            protocol: "TCP",
        }],
    );
    ctx.push(&app, NAME, &cm);
    ctx.push(&app, NAME, &dep);
    ctx.push(&app, NAME, &svc);
}

/// The router in the registry: on with workers.
pub const COMPONENT: Component = Component {
    name: "synapse-router",
    enabled: |c| c.synapse.workers.enabled,
    namespace: components::main_namespace,
    objects: render,
    flows,
    hosts: components::no_hosts,
    ports: components::no_ports,
    secrets: None,
    images: |c| {
        vec![(
            "synapse.workers.router.image",
            &c.synapse.workers.router.image,
        )]
    },
    metrics: crate::metrics::none,
    prerequisites: components::no_prerequisites,
    checks: components::no_checks,
    host_ports: components::no_host_ports,
};

/// The ingress controller reaches it; it sends DNS and the Synapse processes' `http` port.
fn flows(c: &Config) -> Vec<Flow<'_>> {
    vec![Flow {
        egress: vec![Egress::Dns, Egress::SynapseHttp],
        ..Flow::web(c, app(), &c.network_policies.extra_rules.synapse)
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every worker type that serves endpoints has a route, and every route names a type.
    #[test]
    fn routes_name_worker_types() {
        for route in ROUTES {
            assert!(kind(route.worker).is_some(), "{}", route.worker);
            for p in route.paths {
                assert!(p.starts_with('^') && !p.contains(' '), "{p}");
            }
        }
    }
}
